"""The keyspace: one region's data, the cache tier in front of the store tier.

Reads go to the cache, then through to the store (and refill the cache).
Writes go to both, each stamped with a new hybrid-logical-clock version.
This is where "a key" means the same thing whichever tier holds it; the
command table and, later, replication work only through it.
"""

from __future__ import annotations

import attrs
from twisted.logger import Logger

from geolru.cache import CacheEntry, LRUCache
from geolru.hlc import HybridClock
from geolru.merge import increment, merge
from geolru.record import Record
from geolru.store import Store


@attrs.define(eq=False)
class Keyspace:
    cache: LRUCache
    store: Store
    origin: str
    _clock: object
    hlc: HybridClock = attrs.field(default=None)
    log = Logger()
    hits: int = attrs.field(default=0, init=False)
    misses: int = attrs.field(default=0, init=False)
    expired: int = attrs.field(default=0, init=False)
    writes: int = attrs.field(default=0, init=False)
    # why this region's data must not be served (a peer found it older than deletes
    # the cluster has collected: it was forgotten), or None
    stale: str | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self):
        if self.hlc is None:
            self.hlc = HybridClock(self._clock)

    def now_ms(self) -> int:
        return int(self._clock.seconds() * 1000)

    # ------------------------------------------------------------ reads

    def lookup(self, key: bytes) -> CacheEntry | None:
        """The live value of ``key`` (counting a keyspace hit or miss)."""
        entry = self.peek(key)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def peek(self, key: bytes) -> CacheEntry | None:
        """Like ``lookup`` without the hit/miss statistics (for writes)."""
        now_ms = self.now_ms()
        entry = self.cache.get(key, now_ms)
        if entry is not None:
            return entry
        record = self.store.get(key)
        if record is None or not record.live_at(now_ms):
            return None
        self.cache.refill(key, record.value, record.deadline)
        return CacheEntry(record.value, record.deadline, 0.0)

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    # ------------------------------------------------------------ writes

    def write(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """Store ``value`` (with an absolute deadline in unix ms, or none)."""
        record = Record(value, deadline, self.hlc.now(), self.origin)
        self.store.put(key, record)
        self.cache.put(key, value, deadline)
        self.writes += 1

    def increment(self, key: bytes, delta: int, current_value: int,
                  deadline: int | None) -> bytes:
        """Add ``delta`` as this region's contribution to the counter at ``key``.

        ``current_value``/``deadline`` are the key's live value and deadline
        (0/None when absent).  Returns the new value.
        """
        current = self.store.get(key)
        if current is not None and not current.live_at(self.now_ms()):
            current = Record(None, None, current.version, current.origin)  # expired
        record = increment(current, self.hlc.now(), self.origin, delta, current_value,
                           deadline)
        self.store.put(key, record)
        self.cache.put(key, record.value, record.deadline)
        self.writes += 1
        return record.value

    def apply(self, key: bytes, incoming: Record) -> bool:
        """Merge a record from another region; ``True`` if it changed this one."""
        self.hlc.observe(incoming.version)
        current = self.store.get(key)
        merged = merge(current, incoming)
        if merged == current:
            return False
        self.store.put(key, merged)
        if key in self.cache:  # each region keeps its own hot set: refresh, never add
            if merged.live_at(self.now_ms()):
                self.cache.put(key, merged.value, merged.deadline)
            else:
                self.cache.discard(key)
        return True

    def delete(self, key: bytes) -> bool:
        """Delete ``key``; ``True`` if it was live."""
        if self.peek(key) is None:
            return False
        self.store.put(key, Record(None, None, self.hlc.now(), self.origin))
        self.cache.discard(key)
        self.writes += 1
        return True

    def flush_all(self) -> None:
        """Delete every key, here and (as tombstones that replicate) everywhere."""
        self.store.delete_all(self.hlc.now(), self.origin)
        self.cache.clear()

    # ------------------------------------------------------------ housekeeping

    def expire_due(self, limit: int = 500) -> int:
        """Remove up to ``limit`` keys whose deadline passed; return how many."""
        due = self.store.due(self.now_ms(), limit)
        if due:
            self.store.expire(due)
            for key, _ in due:
                self.cache.discard(key)
            self.expired += len(due)
        return len(due)

    def collect_tombstones(self, horizon: int | None = None) -> None:
        """Forget deletes at store positions up to ``horizon`` (every one without:
        a region with no peers); replication says how far (``geolru.stability``)."""
        self.store.collect_tombstones(self.store.seq if horizon is None else horizon)

    def count(self) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        return self.store.count_live(self.now_ms())

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return self.store.scan(cursor, count, self.now_ms())
