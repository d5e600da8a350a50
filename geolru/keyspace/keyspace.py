"""The keyspace: one region's data, the cache tier in front of the store tier.

Reads go to the cache, then through to the store (and refill the cache).
Writes go to both, each stamped with a new hybrid-logical-clock version.
This is where "a key" means the same thing whichever tier holds it; the
command table and, later, replication work only through it.

A hash is a header under its key (its type, deadline, and when it was last
cleared: ``geolru.model.hashkeys.HashMeta``) and one record per field, each written
and merged alone: ``HSET`` of one field of a 10,000-field hash reads and writes
that field and the header, nothing else.  The header's value says whether the
hash has a field here (``b""``) or none (``None``: a tombstone, so ``EXISTS``,
``DBSIZE`` and ``SCAN`` count only hashes with fields, and an emptied hash is
collected like a deleted key); each region keeps that flag true of its own
fields (``_settle``), whatever a peer's copy of the header says.
"""

from __future__ import annotations

import attrs
from twisted.logger import Logger

from geolru.keyspace.lru import CacheEntry, HashEntry, LRUCache
from geolru.model.hashkeys import HashMeta, field_id, is_field, key_id, parse
from geolru.model.hlc import HybridClock
from geolru.model.merge import (
    clear_point,
    expired,
    expiry_tombstone,
    field_visible,
    header,
    increment,
    merge,
    visible,
)
from geolru.model.record import Record
from geolru.store.store import Store

LATE_EXPIRY = 1.0  # seconds between expire_due calls after which the process was stalled


class WrongType(Exception):
    """A command for one type met a key holding another."""


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
    _expired_at: float | None = attrs.field(default=None, init=False)  # expire_due's last call

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
            if entry.value is None:
                raise WrongType(key)
            return entry
        record = self.store.get(key_id(key))
        if record is not None and record.hash_meta is not None:
            if record.live_at(now_ms):
                raise WrongType(key)
            return None
        seen = visible(record, now_ms)
        if seen is None:
            return None
        self.cache.refill(key, *seen)
        return CacheEntry(*seen, 0.0)

    def kind(self, key: bytes) -> str | None:
        """``"string"``, ``"hash"``, or None: what ``key`` holds."""
        try:
            return None if self.peek(key) is None else "string"
        except WrongType:
            return "hash"

    def expiry(self, key: bytes, counted: bool = False) -> tuple[bool, int | None]:
        """(whether ``key`` is live, its deadline or None), whatever its type; with
        ``counted``, the read counts as a keyspace hit or miss (``lookup``)."""
        try:
            entry = self.lookup(key) if counted else self.peek(key)
        except WrongType:
            head = self._hash(key)
            return head is not None, None if head is None else head.deadline
        return entry is not None, None if entry is None else entry.deadline

    def record(self, key: bytes) -> Record | None:
        """``key``'s record as stored (what WATCH compares)."""
        return self.store.get(key_id(key))

    def exists(self, key: bytes) -> bool:
        return self.kind(key) is not None

    # ------------------------------------------------------------ writes

    def write(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """Store ``value`` (with an absolute deadline in unix ms, or none)."""
        record = Record(value, deadline, self.hlc.now(), self.origin)
        self.store.put(key_id(key), record)  # (it removes a hash's fields: Store._replace)
        self.cache.put(key, value, deadline)
        self.writes += 1

    def increment(self, key: bytes, delta: int) -> bytes:
        """Add ``delta`` as this region's contribution to the counter at ``key``
        (whose live value the caller checked is an integer); the new value."""
        now_ms = self.now_ms()
        current = self.store.get(key_id(key))
        if current is not None:
            self.hlc.observe(current.version)  # (already, unless the clock went back)
            if current.hash_meta is not None:  # an emptied or expired hash: none
                current = Record(None, None, *clear_point(current))
        record = increment(current, self.hlc.now(), now_ms, self.origin, delta)
        self.store.put(key_id(key), record)
        value, deadline = visible(record, now_ms)
        self.cache.put(key, value, deadline)
        self.writes += 1
        return value

    def apply(self, key: bytes, incoming: Record) -> bool:
        """Merge a record from another region (``key`` an identity: a key's or a
        field's); ``True`` if it changed this one."""
        self.hlc.observe(incoming.version)
        if is_field(key):
            return self._apply_field(key, incoming)
        current = self.store.get(key)
        if incoming.hash_meta is not None or (current is not None
                                              and current.hash_meta is not None):
            return self._apply_header(key, current, incoming)
        merged = merge(current, incoming)
        if merged == current:
            return False
        if (current is not None and current.value is None and current == expired(merged)
                and visible(merged, self.now_ms()) is None):
            # a copy of what expired here, dead here too: storing it would only send
            # it on again (and back, from a peer where it expired as well)
            return False
        self.store.put(key, merged)
        key = parse(key)[0]
        if key in self.cache:  # each region keeps its own hot set: refresh, never add
            seen = visible(merged, self.now_ms())
            if seen is not None:
                self.cache.put(key, *seen)
            else:
                self.cache.discard(key)
        return True

    def delete(self, key: bytes) -> bool:
        """Delete ``key`` (of any type); ``True`` if it was live."""
        if not self.exists(key):
            return False
        self.store.put(key_id(key), Record(None, None, self.hlc.now(), self.origin))
        self.cache.discard(key)
        self.writes += 1
        return True

    def flush_all(self) -> None:
        """Delete every key, here and (as tombstones that replicate) everywhere."""
        self.store.delete_all(self.hlc.now(), self.origin)
        self.cache.clear()

    # ------------------------------------------------------------ hashes

    def _hash(self, key: bytes) -> Record | None:
        """The header of the live hash at ``key``, None if there is none;
        ``WrongType`` if ``key`` holds a string."""
        entry = self.cache.get(key, self.now_ms())
        if entry is not None and entry.value is not None:
            raise WrongType(key)
        record = self.store.get(key_id(key))
        if record is None or not record.live_at(self.now_ms()):
            return None
        if record.hash_meta is None:
            if visible(record, self.now_ms()) is not None:
                raise WrongType(key)
            return None
        return record

    def _cached_hash(self, key: bytes) -> HashEntry | None:
        entry = self.cache.get(key, self.now_ms())
        if entry is None:
            return None
        if entry.value is not None:
            raise WrongType(key)
        return entry

    def hash_field(self, key: bytes, field: bytes) -> bytes | None:
        """One field's value (None: no such field, or no hash)."""
        entry = self._cached_hash(key)
        if entry is not None:
            self.hits += 1
            return entry.fields.get(field)
        head = self._hash(key)
        if head is None:
            self.misses += 1
            return None
        self.hits += 1
        return field_visible(self.store.get(field_id(key, field)), head.hash_meta.cleared)

    def hash_items(self, key: bytes) -> dict:
        """Every field of the hash at ``key`` and its value (empty: no hash).
        A hash read whole is cached whole."""
        entry = self._cached_hash(key)
        if entry is not None:
            self.hits += 1
            return entry.fields
        head = self._hash(key)
        if head is None:
            self.misses += 1
            return {}
        self.hits += 1
        fields = self._visible_fields(key, head.hash_meta.cleared)
        self.cache.misses += 1
        return self.cache.put_hash(key, fields, head.deadline).fields

    def _visible_fields(self, key: bytes, cleared: tuple, start: bytes = b"",
                        limit: int | None = None) -> dict:
        fields = {}
        for _, field, record in self.store.fields(key, start):
            value = field_visible(record, cleared)
            if value is not None:
                fields[field] = value
                if len(fields) == limit:
                    break
        return fields

    def hash_scan(self, key: bytes, start: bytes, count: int,
                  resume_bytes: int) -> tuple[bytes | None, dict]:
        """Fields from the store's place ``start`` on: at least ``count`` unless the
        hash ends first, up to a place whose first ``resume_bytes`` differ from
        ``start``'s, so that a scan resumed from that much of it goes forward; the
        place to go on from (None: the end).  A field present throughout a scan is
        met at least once."""
        entry = self._cached_hash(key)
        if entry is not None and not start and len(entry.fields) <= count:
            return None, dict(entry.fields)  # (in the order HGETALL gives)
        head = self._hash(key)
        if head is None:
            return None, {}
        cleared = head.hash_meta.cleared
        begun = start.ljust(resume_bytes, b"\0")[:resume_bytes]
        found = {}
        for place, field, record in self.store.fields(key, start):
            if len(found) >= count and place[:resume_bytes].ljust(resume_bytes, b"\0") != begun:
                return place, found
            value = field_visible(record, cleared)
            if value is not None:
                found[field] = value
        return None, found

    def hash_set(self, key: bytes, pairs: dict, only_new: bool = False) -> int:
        """Set fields of the hash at ``key`` (making it if there is none): with
        ``only_new``, only fields it lacks.  How many fields were new."""
        head = self._hash(key)
        version = self.hlc.now()
        if head is None:
            current = self.store.get(key_id(key))
            cleared = clear_point(current)
            if current is not None and current.hash_meta is not None \
                    and current.deadline is not None and current.deadline <= self.now_ms():
                # a new hash, after the expired one (whose delete is not made yet)
                cleared = clear_point(expiry_tombstone(current))
            meta = HashMeta(cleared, (version, self.origin))
            head = header(version, self.origin, meta, None)
            # (fields here may be newer than that: they came before their own header)
            old = self._visible_fields(key, meta.cleared)
        else:
            head = header(version, self.origin, head.hash_meta, head.deadline)
            old = None
        entry = self._cached_hash(key) if old is None else self.cache.put_hash(
            key, old, None)
        cleared = head.hash_meta.cleared
        added = 0
        for field, value in pairs.items():
            if old is None:
                had = entry.fields.get(field) if entry is not None else field_visible(
                    self.store.get(field_id(key, field)), cleared)
            else:
                had = old.get(field)
            if had is None:
                added += 1
            elif only_new:
                continue
            self.store.put(field_id(key, field), Record(value, None, version, self.origin))
            if entry is not None:
                self.cache.resized(key, entry.set(field, value))
        if added or not only_new:
            self.store.put(key_id(key), head)
            if entry is not None:
                entry.deadline = head.deadline
            self.writes += 1
        return added

    def hash_delete(self, key: bytes, fields: list) -> int:
        """Remove fields of the hash at ``key``; how many it had."""
        head = self._hash(key)
        if head is None:
            return 0
        entry = self._cached_hash(key)
        cleared = head.hash_meta.cleared
        version = self.hlc.now()
        removed = 0
        for field in dict.fromkeys(fields):
            had = entry.fields.get(field) if entry is not None else field_visible(
                self.store.get(field_id(key, field)), cleared)
            if had is None:
                continue
            removed += 1
            self.store.put(field_id(key, field), Record(None, None, version, self.origin))
            if entry is not None:
                self.cache.resized(key, entry.set(field, None))
        if removed:
            live = bool(entry.fields) if entry is not None else self._has_field(key, cleared)
            self.store.put(key_id(key), header(version, self.origin, head.hash_meta,
                                               head.deadline, live))
            if not live:
                self.cache.discard(key)
            self.writes += 1
        return removed

    def hash_increment(self, key: bytes, field: bytes, delta: int) -> bytes:
        """``HINCRBY``: add ``delta`` as this region's contribution to the counter
        in ``field`` (whose value the caller checked is an integer); the new value."""
        head = self._hash(key)
        if head is None:
            self.hash_set(key, {})  # (makes the header)
            head = self._hash(key)
        cleared = head.hash_meta.cleared
        # what the increment builds on: the field as stored, seen through the clear
        # (so an HDEL or a clear newer than other regions' increments voids them)
        current = merge(self.store.get(field_id(key, field)), Record(None, None, *cleared))
        version = self.hlc.now()
        record = increment(current, version, self.now_ms(), self.origin, delta)
        self.store.put(field_id(key, field), record)
        self.store.put(key_id(key), header(version, self.origin, head.hash_meta,
                                           head.deadline))
        value = field_visible(record, cleared)
        entry = self._cached_hash(key)
        if entry is not None:
            self.cache.resized(key, entry.set(field, value))
        self.writes += 1
        return value

    def hash_length(self, key: bytes) -> int:
        return len(self.hash_items(key))

    def set_deadline(self, key: bytes, deadline: int | None) -> None:
        """Give the live ``key`` (of any type) a new deadline (None: none)."""
        try:
            entry = self.peek(key)
        except WrongType:
            head = self._hash(key)
            version = self.hlc.now()
            meta = HashMeta(head.hash_meta.cleared, (version, self.origin))
            self.store.put(key_id(key), header(version, self.origin, meta, deadline))
            cached = self._cached_hash(key)
            if cached is not None:
                cached.deadline = deadline
            self.writes += 1
            return
        self.write(key, entry.value, deadline)

    def _has_field(self, key: bytes, cleared: tuple) -> bool:
        return bool(self._visible_fields(key, cleared, limit=1))

    def _alive(self, key: bytes, head: Record) -> bool:
        """What a header's flag says here: the hash has a field.  (Its deadline
        passing is not this: the hash then waits in the store's deadline index for
        its expiry, a delete that replicates.)"""
        return self._has_field(key, head.hash_meta.cleared)

    def _apply_field(self, identity: bytes, incoming: Record) -> bool:
        key, field = parse(identity)
        head = self.store.get(key_id(key))
        cleared = clear_point(head)
        if (incoming.version, incoming.origin) <= cleared:
            return False  # written before its hash was cleared here: not part of it
        current = self.store.get(identity)
        merged = merge(current, incoming)
        if merged == current:
            return False
        self.store.put(identity, merged)
        if head is not None and head.hash_meta is not None:
            value = field_visible(merged, cleared)
            entry = self.cache.entry(key)
            if entry is not None and entry.value is None:
                self.cache.resized(key, entry.set(field, value))
            if (value is not None) != (head.value is not None):
                self._settle(key, head)
        return True

    def _apply_header(self, identity: bytes, current: Record | None,
                      incoming: Record) -> bool:
        merged = merge(current, incoming)
        key = parse(identity)[0]
        if merged.hash_meta is not None:
            live = self._alive(key, merged)
            if (merged.value is not None) != live:
                merged = header(merged.version, merged.origin, merged.hash_meta,
                                merged.deadline, live)
        if merged == current:
            return False
        self.store.put(identity, merged)
        entry = self.cache.entry(key)
        if entry is not None:
            if (entry.value is None and merged.hash_meta is not None
                    and merged.value is not None
                    and current is not None and current.hash_meta is not None
                    and merged.hash_meta.cleared == current.hash_meta.cleared):
                entry.deadline = merged.deadline
            else:
                self.cache.discard(key)
        return True

    def _settle(self, key: bytes, head: Record) -> None:
        """Make the header's flag say whether the hash has a field here, keeping its
        place in the store: it is this region's fact, not a write to replicate."""
        live = self._alive(key, head)
        if live != (head.value is not None):
            self.store.restate(key_id(key), header(head.version, head.origin,
                                                   head.hash_meta, head.deadline, live))
        if not live:
            self.cache.discard(key)

    # ------------------------------------------------------------ housekeeping

    def expire_due(self, limit: int = 500) -> int:
        """Remove up to ``limit`` keys whose deadline passed; return how many."""
        now = self._clock.seconds()
        # called late (this process was frozen, or starved): what peers sent meanwhile,
        # a PERSIST made in time among it, waits unread; a hash's expiry, which wins
        # everywhere, waits for the next call (a string's is local: it goes on)
        late = self._expired_at is not None and now - self._expired_at > LATE_EXPIRY
        self._expired_at = now
        due = self.store.due(self.now_ms(), limit)
        strings = [(key, record, expired(record)) for key, record in due
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
            self.expired += 1
        return len(due)

    def collect_tombstones(self, horizon: int | None = None) -> None:
        """Forget deletes at store positions up to ``horizon`` (every one without:
        a region with no peers); replication says how far (``geolru.replication.stability``)."""
        self.store.collect_tombstones(self.store.seq if horizon is None else horizon)

    def count(self) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        return self.store.count_live(self.now_ms())

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return self.store.scan(cursor, count, self.now_ms())
