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
from geolru.merge import expired, increment, merge, visible
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
    syncing: bool = attrs.field(default=False, init=False)  # replication: catching up

    def __attrs_post_init__(self):
        if self.hlc is None:
            self.hlc = HybridClock(self._clock)
        self.hlc.observe(self.store.newest_version)  # a restart never goes back in time

    def refuse(self, why: str) -> None:
        """This region's data must not be served any more: a peer found it older than
        deletes the cluster has collected (it was forgotten, or restored from an old
        copy).  Key commands answer ``-STALE`` from now on."""
        self.stale = why

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
        seen = visible(self.store.get(key), now_ms)
        if seen is None:
            return None
        self.cache.refill(key, *seen)
        return CacheEntry(*seen, 0.0)

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    # ------------------------------------------------------------ writes

    def write(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """Store ``value`` (with an absolute deadline in unix ms, or none)."""
        record = Record(value, deadline, self.hlc.now(), self.origin)
        self.store.put(key, record)
        self.cache.put(key, value, deadline)
        self.writes += 1

    def increment(self, key: bytes, delta: int) -> bytes:
        """Add ``delta`` as this region's contribution to the counter at ``key``
        (whose live value the caller checked is an integer); the new value."""
        now_ms = self.now_ms()
        current = self.store.get(key)
        if current is not None:
            self.hlc.observe(current.version)  # (already, unless the clock went back)
        record = increment(current, self.hlc.now(), now_ms, self.origin, delta)
        self.store.put(key, record)
        value, deadline = visible(record, now_ms)
        self.cache.put(key, value, deadline)
        self.writes += 1
        return value

    def apply(self, key: bytes, incoming: Record) -> bool:
        """Merge a record from another region; ``True`` if it changed this one."""
        self.hlc.observe(incoming.version)
        current = self.store.get(key)
        merged = merge(current, incoming)
        if merged == current:
            return False
        if (current is not None and current.value is None and current == expired(merged)
                and visible(merged, self.now_ms()) is None):
            # a copy of what expired here, dead here too: storing it would only send
            # it on again (and back, from a peer where it expired as well)
            return False
        self.store.put(key, merged)
        if key in self.cache:  # each region keeps its own hot set: refresh, never add
            seen = visible(merged, self.now_ms())
            if seen is not None:
                self.cache.put(key, *seen)
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
            self.store.expire([(key, record, expired(record)) for key, record in due])
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
