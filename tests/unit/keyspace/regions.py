"""Two regions' keyspaces and command tables on real stores, which exchange their
writes by hand (hashes and sets tests)."""

from geolru.commands.table import CommandTable, Session
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.store.store import Store

EPOCH = 1_700_000_000


class Region:
    """A keyspace and its command table, with an outbox of what it wrote."""

    def __init__(self, tmp_path, name, clock, **cache):
        self.store = Store(str(tmp_path / name), clock, threaded=False)
        self.store.open()
        self.keyspace = Keyspace(LRUCache(clock, **cache), self.store, name, clock)
        self.table = CommandTable(self.keyspace, clock, name=name)
        self.session = Session(1)
        self.outbox = []
        self.store.listeners.append(lambda key, record, seq: self.outbox.append((key, record)))

    def __call__(self, *args):
        return self.table.execute(self.session, [
            a if isinstance(a, bytes) else str(a).encode() for a in args])

    def send_to(self, other, reverse=False):
        """Deliver what this region wrote to ``other`` (each write once)."""
        sent, self.outbox = self.outbox, []
        for key, record in (reversed(sent) if reverse else sent):
            other.keyspace.apply(key, record)

    def fields(self, key) -> dict:
        reply = self("HGETALL", key)
        parts = reply.split(b"\r\n")[2::2]
        return dict(zip(parts[0::2], parts[1::2], strict=True))


def exchange(a, b, reverse=False):
    a.send_to(b, reverse)
    b.send_to(a, reverse)
