"""Hashes in the keyspace: a header under the key and one record per field.

A hash's header holds its type, deadline, and when it was last cleared
(``geolru.model.hashkeys.HashMeta``); each field is a record of its own, written
and merged alone: ``HSET`` of one field of a 10,000-field hash reads and writes
that field and the header, nothing else.  The header's value says whether the
hash has a field here (``b""``) or none (``None``: a tombstone, so ``EXISTS``,
``DBSIZE`` and ``SCAN`` count only hashes with fields, and an emptied hash is
collected like a deleted key).  A hash read whole is cached whole.

``HashOperations`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``): it
uses the keyspace's cache, store, clock and counters.
"""

from __future__ import annotations

from geolru.keyspace.errors import WrongType
from geolru.keyspace.lru import HashEntry
from geolru.model import members
from geolru.model.counters import increment
from geolru.model.hashkeys import ELEMENT_MARK, HASH, LIST, HashMeta, field_id, key_id
from geolru.model.headers import clear_point, expiry_tombstone, header
from geolru.model.merge import field_visible, merge, visible
from geolru.model.record import Record


class HashOperations:
    __slots__ = ()

    def header_of(self, key: bytes) -> Record | None:
        """The header of the live collection (hash or set) at ``key``, None if there
        is none; ``WrongType`` if ``key`` holds a string."""
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

    def new_header(self, key: bytes, version: int, kind: str) -> Record:
        """The header of a new collection of ``kind`` at ``key``, which holds none
        live: cleared at what the key held before."""
        current = self.store.get(key_id(key))
        cleared = clear_point(current, kind)
        if current is not None and current.hash_meta is not None \
                and current.deadline is not None and current.deadline <= self.now_ms():
            # a new one, after the expired one (whose delete is not made yet)
            cleared = clear_point(expiry_tombstone(current))
        return header(version, self.origin, HashMeta(cleared, (version, self.origin), kind),
                      None)

    def hash_header(self, key: bytes, kind: str = HASH) -> Record | None:
        """The header of the live hash (with ``kind``, of that kind of collection) at
        ``key``, None if there is none; ``WrongType`` if ``key`` holds another type."""
        head = self.header_of(key)
        if head is not None and head.hash_meta.kind != kind:
            raise WrongType(key)
        return head

    def cached_hash(self, key: bytes, kind: str = HASH) -> HashEntry | None:
        """The cached hash (with ``kind``, collection of that kind) at ``key``, or
        None; ``WrongType`` if ``key`` holds another type."""
        entry = self.cache.get(key, self.now_ms())
        if entry is None:
            return None
        if entry.value is not None or entry.kind != kind:
            raise WrongType(key)
        return entry

    def hash_field(self, key: bytes, field: bytes) -> bytes | None:
        """One field's value (None: no such field, or no hash)."""
        entry = self.cached_hash(key)
        if entry is not None:
            self.hits += 1
            return entry.fields.get(field)
        head = self.hash_header(key)
        if head is None:
            self.misses += 1
            return None
        self.hits += 1
        return field_visible(self.store.get(field_id(key, field)), head.hash_meta.cleared)

    def hash_items(self, key: bytes) -> dict:
        """Every field of the hash at ``key`` and its value (empty: no hash).
        A hash read whole is cached whole."""
        entry = self.cached_hash(key)
        if entry is not None:
            self.hits += 1
            return entry.fields
        head = self.hash_header(key)
        if head is None:
            self.misses += 1
            return {}
        self.hits += 1
        fields = self.visible_elements(key, head.hash_meta.cleared)
        self.cache.misses += 1
        return self.cache.put_hash(key, fields, head.deadline).fields

    def visible_elements(self, key: bytes, cleared: tuple, kind: str = HASH,
                         limit: int | None = None) -> dict:
        """The elements of the collection of ``kind`` at ``key``, cleared at
        ``cleared``, in the store's order: a hash's fields and their values, a set's
        members (each to ``b""``), a sorted set's (each to its score's ``repr``), a
        list's elements (each name to its value)."""
        if kind == LIST:
            return self.list_elements(key, cleared, limit)
        found = {}
        for _, element, record in self.store.fields(key, b"", ELEMENT_MARK[kind]):
            value = field_visible(record, cleared) if kind == HASH \
                else members.cached_value(record, cleared)
            if value is not None:
                found[element] = value
                if len(found) == limit:
                    break
        return found

    def hash_scan(self, key: bytes, start: bytes, count: int,
                  resume_bytes: int, kind: str = HASH) -> tuple[bytes | None, dict]:
        """Fields (with ``kind`` "set", members) from the store's place ``start`` on:
        at least ``count`` unless the collection ends first, up to a place whose first
        ``resume_bytes`` differ from ``start``'s, so that a scan resumed from that
        much of it goes forward; the place to go on from (None: the end).  An element
        present throughout a scan is met at least once."""
        entry = self.cached_hash(key, kind)
        if entry is not None and not start and len(entry.fields) <= count:
            return None, dict(entry.fields)  # (in the order HGETALL gives)
        head = self.hash_header(key, kind)
        if head is None:
            return None, {}
        cleared = head.hash_meta.cleared
        begun = start.ljust(resume_bytes, b"\0")[:resume_bytes]
        found = {}
        for place, field, record in self.store.fields(key, start, ELEMENT_MARK[kind]):
            if len(found) >= count and place[:resume_bytes].ljust(resume_bytes, b"\0") != begun:
                return place, found
            value = field_visible(record, cleared) if kind == HASH \
                else members.cached_value(record, cleared)
            if value is not None:
                found[field] = value
        return None, found

    def hash_set(self, key: bytes, pairs: dict, only_new: bool = False) -> int:
        """Set fields of the hash at ``key`` (making it if there is none): with
        ``only_new``, only fields it lacks.  How many fields were new."""
        head = self.hash_header(key)
        version = self.hlc.now()
        if head is None:
            head = self.new_header(key, version, HASH)
            # (fields here may be newer than that: they came before their own header)
            old = self.visible_elements(key, head.hash_meta.cleared)
        else:
            head = header(version, self.origin, head.hash_meta, head.deadline)
            old = None
        entry = self.cached_hash(key) if old is None else self.cache.put_hash(
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
        head = self.hash_header(key)
        if head is None:
            return 0
        entry = self.cached_hash(key)
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
            live = bool(entry.fields) if entry is not None else bool(
                self.visible_elements(key, cleared, limit=1))
            self.store.put(key_id(key), header(version, self.origin, head.hash_meta,
                                               head.deadline, live))
            if not live:
                self.cache.discard(key)
            self.writes += 1
        return removed

    def hash_increment(self, key: bytes, field: bytes, delta: int) -> bytes:
        """``HINCRBY``: add ``delta`` as this region's contribution to the counter
        in ``field`` (whose value the caller checked is an integer); the new value."""
        head = self.hash_header(key)
        if head is None:
            self.hash_set(key, {})  # (makes the header)
            head = self.hash_header(key)
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
        entry = self.cached_hash(key)
        if entry is not None:
            self.cache.resized(key, entry.set(field, value))
        self.writes += 1
        return value

    def hash_length(self, key: bytes) -> int:
        return len(self.hash_items(key))

    def holds_fields(self, key: bytes, head: Record) -> bool:
        """What a header's flag says here: the collection has an element of its kind
        (a hash a field, a set a member).  (Its deadline passing is not this: it then
        waits in the store's deadline index for its expiry, a delete that
        replicates.)"""
        return bool(self.visible_elements(key, head.hash_meta.cleared,
                                          head.hash_meta.kind, limit=1))
