"""Hash commands for both clients, written once: ``GeoCache`` answers at once,
``TxGeoCache`` with a Deferred; each says how through ``_then``."""

from __future__ import annotations


def _as_dict(reply) -> dict:
    """HGETALL's reply: a dict (redis-py makes one) or a flat list (hiredis)."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[0::2], reply[1::2], strict=True))


class HashMethods:
    """Each field of a hash replicates and merges on its own: two regions setting
    different fields at once both keep theirs; ``hincrby`` from every region counts."""

    def _then(self, reply, function):
        raise NotImplementedError

    def hset(self, key, field=None, value=None, mapping: dict | None = None):
        """Set one field, or the fields of ``mapping``; how many were new."""
        pairs = dict(mapping or {})
        if field is not None:
            pairs[field] = value
        return self.execute("HSET", key, *(x for pair in pairs.items() for x in pair))

    def hsetnx(self, key, field, value):
        return self._then(self.execute("HSETNX", key, field, value), bool)

    def hget(self, key, field):
        return self.execute("HGET", key, field)

    def hmget(self, key, *fields) -> list:
        return self.execute("HMGET", key, *fields)

    def hgetall(self, key) -> dict:
        return self._then(self.execute("HGETALL", key), _as_dict)

    def hkeys(self, key) -> list:
        return self.execute("HKEYS", key)

    def hvals(self, key) -> list:
        return self.execute("HVALS", key)

    def hlen(self, key) -> int:
        return self.execute("HLEN", key)

    def hexists(self, key, field) -> bool:
        return self._then(self.execute("HEXISTS", key, field), bool)

    def hdel(self, key, *fields) -> int:
        return self.execute("HDEL", key, *fields)

    def hincrby(self, key, field, amount: int = 1) -> int:
        return self.execute("HINCRBY", key, field, amount)

    def hincrbyfloat(self, key, field, amount: float) -> float:
        return self._then(self.execute("HINCRBYFLOAT", key, field, amount), float)
