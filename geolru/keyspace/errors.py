"""What the keyspace raises."""


class WrongType(Exception):
    """A command for one type met a key holding another (``-WRONGTYPE``)."""
