"""Sets in the keyspace: a header under the key (as a hash's, of kind "set") and one
record per member, which holds the member's adds and removes from every region
(``geolru.model.members``): a remove removes the adds its region had seen, so an add
made at the same time elsewhere survives it.

``SADD`` writes an add of each member it names, present or not (so that it wins
over a remove made elsewhere at the same time), and the header; ``SREM`` a remove of
each present member it names.  A set read whole is cached whole, as a hash is.

``SetOperations`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

from geolru.keyspace.lru import HashEntry
from geolru.model import members
from geolru.model.hashkeys import ELEMENT_MARK, SET, key_id, member_id
from geolru.model.headers import header


class SetOperations:
    __slots__ = ()

    def set_members(self, key: bytes) -> dict:
        """The members of the set at ``key`` (each to ``b""``; empty: no set).  A set
        read whole is cached whole."""
        entry = self.cached_hash(key, SET)
        if entry is not None:
            self.hits += 1
            return entry.fields
        head = self.hash_header(key, SET)
        if head is None:
            self.misses += 1
            return {}
        self.hits += 1
        found = self.visible_elements(key, head.hash_meta.cleared, SET)
        self.cache.misses += 1
        return self.cache.put_hash(key, found, head.deadline, SET).fields

    def set_contains(self, key: bytes, member: bytes) -> bool:
        entry = self.cached_hash(key, SET)
        if entry is not None:
            self.hits += 1
            return member in entry.fields
        head = self.hash_header(key, SET)
        if head is None:
            self.misses += 1
            return False
        self.hits += 1
        return members.present(self.store.get(member_id(key, member)),
                               head.hash_meta.cleared)

    def set_add(self, key: bytes, new: list) -> int:
        """Add ``new`` members to the set at ``key`` (making it if there is none);
        how many it lacked."""
        head = self.hash_header(key, SET)
        version = self.hlc.now()
        old = None
        if head is None:
            head = self.new_header(key, version, SET)
            # (members here may be newer than that: they came before their own header)
            old = self.visible_elements(key, head.hash_meta.cleared, SET)
            entry = self.cache.put_hash(key, old, None, SET)
        else:
            head = header(version, self.origin, head.hash_meta, head.deadline)
            entry = self.cached_hash(key, SET)
        cleared = head.hash_meta.cleared
        added = 0
        for member in dict.fromkeys(new):
            identity = member_id(key, member)
            current = self.store.get(identity)
            if old is not None:
                had = member in old
            elif entry is not None:
                had = member in entry.fields
            else:
                had = members.present(current, cleared)
            added += not had
            self.store.put(identity, members.since(
                members.added(current, version, self.origin), cleared))
            if entry is not None and not had:
                self.cache.resized(key, entry.set(member, b""))
        self.store.put(key_id(key), head)
        if entry is not None:
            entry.deadline = head.deadline
        self.writes += 1
        return added

    def set_remove(self, key: bytes, gone: list) -> int:
        """Remove members of the set at ``key``; how many it had."""
        return self.remove_elements(key, gone, SET)

    def remove_elements(self, key: bytes, gone: list, kind: str) -> int:
        """Remove members of the set (with ``kind`` "zset", the sorted set) at
        ``key``: a remove of the adds this region had seen of each; how many it had."""
        head = self.hash_header(key, kind)
        if head is None:
            return 0
        entry: HashEntry | None = self.cached_hash(key, kind)
        cleared = head.hash_meta.cleared
        removed = 0
        version = None
        for member in dict.fromkeys(gone):
            identity = member_id(key, member, ELEMENT_MARK[kind])
            current = self.store.get(identity)
            if members.cached_value(current, cleared) is None:
                continue
            removed += 1
            if version is None:
                version = self.hlc.now()
            self.store.put(identity, members.since(
                members.removed(current, (version, self.origin)), cleared))
            if entry is not None:
                self.cache.resized(key, entry.set(member, None))
        if removed:
            live = bool(entry.fields) if entry is not None else self.holds_fields(key, head)
            self.store.put(key_id(key), header(version, self.origin, head.hash_meta,
                                               head.deadline, live))
            if not live:
                self.cache.discard(key)
            self.writes += 1
        return removed

    def set_replace(self, key: bytes, new: list) -> None:
        """Make ``key`` the set of ``new`` (deleting it if there are none), whatever it
        held: one unit for the peers (``SINTERSTORE`` and the like)."""
        with self.transaction():
            self.delete(key)
            if new:
                self.set_add(key, new)
