"""Deadlines in the keyspace: setting them, and removing what passed them.

A string's expiry is local: each region removes it when its deadline passes and
keeps the same tombstone (``geolru.model.merge``).  A hash's expiry is a delete
that replicates, the same in every region, so its fields go everywhere; a region
that is syncing, or whose housekeeping runs late, expires no hash until it has
read what its peers sent meanwhile (a PERSIST made in time may be among it).

``Expiry`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

import heapq

from geolru.keyspace.errors import WrongType
from geolru.model.hashkeys import HashMeta, key_id, parse
from geolru.model.headers import expiry_tombstone, header
from geolru.model.merge import tombstone_when_expired, visible

LATE_EXPIRY = 1.0  # seconds between expire_due calls after which the process was stalled


class Expiry:
    __slots__ = ()

    def set_deadline(self, key: bytes, deadline: int | None) -> None:
        """Give the live ``key`` (of any type) a new deadline (None: none)."""
        try:
            entry = self.peek(key)
        except WrongType:
            head = self.header_of(key)
            version = self.hlc.now()
            meta = HashMeta(head.hash_meta.cleared, (version, self.origin),
                            head.hash_meta.kind)
            self.store.put(key_id(key), header(version, self.origin, meta, deadline))
            cached = self.cache.entry(key)
            if cached is not None and cached.value is None:  # (the collection, cached)
                cached.deadline = deadline
            self.writes += 1
            return
        self.write(key, entry.value, deadline)

    def expire_due(self, limit: int = 500) -> int:
        """Remove up to ``limit`` keys whose deadline passed; return how many."""
        now = self.clock.seconds()
        # called late (this process was frozen, or starved): what peers sent meanwhile,
        # a PERSIST made in time among it, waits unread; a hash's expiry, which wins
        # everywhere, waits for the next call (a string's is local: it goes on)
        late = self.last_expiry_run is not None and now - self.last_expiry_run > LATE_EXPIRY
        self.last_expiry_run = now
        due = self.store.due(self.now_ms(), limit)
        strings = [(key, record, tombstone_when_expired(record)) for key, record in due
                   if record.hash_meta is None]
        if strings:
            self.store.expire(strings)
        for key, record in due:
            if record.hash_meta is not None:
                if self.syncing or late:
                    continue  # it may lack a PERSIST made in time: expire once caught up
                # a delete that replicates, the same in every region: its fields go
                # everywhere, and a region that forgets the hash cannot bring them back
                tombstone = expiry_tombstone(record)
                self.hlc.observe(tombstone.version)
                self.store.put(key, tombstone)
            self.cache.discard(parse(key)[0])
            self.expired_keys += 1
            if self.watch_changes:
                self.changed(parse(key)[0], "expired")
        self._expire_parts()
        return len(due)

    def part_expires(self, key: bytes, record, seen) -> None:
        """Note when the counter ``record`` at ``key`` (``seen``: what a client sees of
        it, ``merge.visible``) changes value though the key lives on: its base
        expires, increments made without it stand.  Nothing for any other record."""
        if record.counter is None or seen is None or seen[1] is None \
                or seen[1] == record.deadline:
            return
        at_ms = seen[1]
        at = self.part_expiries
        if at.get(key) != at_ms:
            at[key] = at_ms
            heap = self.part_expiry_heap
            heapq.heappush(heap, (at_ms, key))
            if len(heap) > 2 * len(at) + 64:  # (moved ones, left behind: out)
                heap[:] = [(when, name) for name, when in at.items()]
                heapq.heapify(heap)

    def _expire_parts(self) -> None:
        """Say ``expired`` of each counter whose base expired and left it a value: the
        key as it was is gone (a near cache holding its old value drops it), and
        the increments made elsewhere without it stand (wide seed 3000801571)."""
        heap, at = self.part_expiry_heap, self.part_expiries
        now_ms = self.now_ms()
        while heap and heap[0][0] <= now_ms:
            when, key = heapq.heappop(heap)
            if at.get(key) != when:
                continue  # (a later write moved it)
            del at[key]
            record = self.store.get(key_id(key))
            if record is None or record.counter is None:
                continue  # (written over since)
            seen, was = visible(record, now_ms), visible(record, when - 1)
            if seen == was or (seen is not None and was is not None and seen[0] == was[0]):
                continue  # (made anew since: the part is not its)
            self.cache.discard(key)
            if self.watch_changes:
                self.changed(key, "expired")
            self.part_expires(key, record, seen)

    def collect_tombstones(self, horizon: int | None = None) -> None:
        """Forget deletes at store positions up to ``horizon`` (every one without:
        a region with no peers); replication says how far (``geolru.replication.stability``)."""
        horizon = self.store.seq if horizon is None else horizon
        self.store.collect_tombstones(horizon)
        if self.replaced_own_order:
            self.prune_replaced(horizon)
