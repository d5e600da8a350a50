"""Applying other regions' records to the keyspace.

A record from a peer is merged with this region's (``geolru.model.merge``); only a
change is stored, and the cache is refreshed, never filled, by it (each region keeps
its own hot set).  A hash's fields (a set's members) and header merge alone; each
region keeps its header's flag (the collection has an element here) true of its own
elements (``settle``), whatever a peer's copy of the header says.  A member's record
joins its adds and removes (``geolru.model.members``).

``PeerRecords`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

import heapq

from twisted.logger import Logger

from geolru.keyspace.lists import element_id, own_joined
from geolru.model import listpos, members
from geolru.model.counters import counter_origins
from geolru.model.hashkeys import (
    ESCAPE,
    FIELD_MARK,
    HASH,
    LIST,
    LIST_MARK,
    MEMBER_MARK,
    SET,
    ZMEMBER_MARK,
    ZSET,
    HashMeta,
    is_zmember,
    key_id,
    parse,
)
from geolru.model.headers import clear_point, header
from geolru.model.merge import field_visible, merge, tombstone_when_expired, visible
from geolru.model.record import Record

REBUILD_SLACK = 1024  # heap entries of notes gone since, beyond twice the notes'


class PeerRecords:
    __slots__ = ()
    log = Logger()

    def apply(self, key: bytes, incoming: Record) -> bool:
        """Merge a record from another region (``key`` an identity: a key's or a
        field's); ``True`` if it changed this one."""
        self.hlc.observe(incoming.version)
        if key[:2] == ESCAPE:  # (an element's identity, or an escaped key's)
            mark = key[:3]
            if mark == MEMBER_MARK or mark == ZMEMBER_MARK:
                return self._apply_member(key, incoming)
            if mark == LIST_MARK:
                return self._apply_list_element(key, incoming)
            if mark == FIELD_MARK:
                return self._apply_field(key, incoming)
        elif incoming.counter is None and incoming.hash_meta is None \
                and not self.watch_changes:
            # most records: a plain one over a plain one or none, decided by their
            # versions alone (what ``merge`` does), without decoding what is stored
            have = self.store.plain_stamp(key, self.own_stamps)
            if have is not None and have[0] != incoming.version:
                if have[0] > incoming.version:
                    return False
                if have[2]:
                    self._replacing(key, have[1], incoming, (have[0], None, None))
                elif self.replaced_own and key in self.replaced_own:
                    self._restamp(key, incoming)
                self.store.put(key, incoming)
                self._refresh(key, incoming)
                return True
        current = self.store.get(key)
        if incoming.hash_meta is not None or (current is not None
                                              and current.hash_meta is not None):
            return self._apply_header(key, current, incoming)
        merged = merge(current, incoming)
        if merged == current:
            return False
        if (current is not None and current.value is None
                and current == tombstone_when_expired(merged)
                and visible(merged, self.now_ms()) is None):
            # a copy of what expired here, dead here too: storing it would only send
            # it on again (and back, from a peer where it expired as well)
            return False
        self._replaced(key, current, merged)
        self.store.put(key, merged)
        key = parse(key)[0]
        self._refresh(key, merged)
        if self.watch_changes:
            now = self.now_ms()
            after, before = visible(merged, now), visible(current, now)
            if _expired_unsaid(current, now) and not _expired_unsaid(merged, now):
                # (it had expired, unseen: the expiry job would have said so, and now
                # will not, the record being another that is not due; a near cache may
                # still hold it)
                self.changed(key, "expired")
            if after != before:
                self.changed(key, _plain_event(before, after))
        return True

    def _replaced(self, identity: bytes, current: Record | None, merged: Record) -> None:
        """Note it if a peer's record (``merged``) is about to replace one of ours; or
        that it stands now for one of ours that an earlier record replaced."""
        if current is not None and current.origin in self.own_origins:
            self._replacing(identity, self.store.position_of(identity), merged,
                            _stamp_of(current))
        elif self.replaced_own and identity in self.replaced_own:
            self._restamp(identity, merged)

    def _replacing(self, identity: bytes, position: int | None, merged: Record,
                   ours: tuple) -> None:
        """Our record of ``identity`` (``ours``: ``_stamp_of`` it), at ``position``,
        gives way to ``merged``: if that is another region's, note where ours was, and
        which record stands for it (``replaced_own``: position, origin, version,
        whether it carries our write, and ``ours``).  A stream to a peer that may lack
        ours keeps its claims below ours until that record goes: our later writes
        would tell the peer that ours is there while it had neither (wide seed
        6010001902)."""
        if merged.origin in self.own_origins or not position:
            return
        notes = self.replaced_own
        if not notes and self._forget_replaced not in self.store.listeners:
            self.store.listeners.append(self._forget_replaced)
        notes[identity] = (position, merged.origin, listpos.newest_of(identity, merged),
                           _carries(ours, merged), ours)
        order = self.replaced_own_order
        heapq.heappush(order, (position, identity))
        if len(order) > 2 * len(notes) + REBUILD_SLACK:  # (entries of notes gone since)
            order[:] = [(note[0], noted) for noted, note in notes.items()]
            heapq.heapify(order)

    def prune_replaced(self, horizon: int) -> None:
        """Drop the notes of writes of ours at positions up to ``horizon``: every region
        committed our stream through it (each has our write, or the record that
        replaced it: a stream's *through* stays below a write of ours until that
        record went; docs/replication.md)."""
        order, notes = self.replaced_own_order, self.replaced_own
        while order and order[0][0] <= horizon:
            position, identity = heapq.heappop(order)
            note = notes.get(identity)
            if note is not None and note[0] == position:
                del notes[identity]

    def _restamp(self, identity: bytes, merged: Record) -> None:
        """Another region's record replaces the one that stood for a write of ours: it
        stands for it now."""
        position, _, _, _, ours = self.replaced_own[identity]
        self.replaced_own[identity] = (position, merged.origin,
                                       listpos.newest_of(identity, merged),
                                       _carries(ours, merged), ours)

    def _forget_replaced(self, key: bytes, record: Record, seq: int) -> None:
        """(A store listener, once a note was made.)  A write of ours replaces the
        record that stood for an older one: the stream sends it, in order."""
        if record.origin in self.own_origins and self.replaced_own:
            self.replaced_own.pop(key, None)

    def _refresh(self, key: bytes, merged: Record) -> None:
        """A key's record changed by a peer's: what the cache holds of it, and when a
        counter's value changes."""
        cached = key in self.cache
        if cached or merged.counter is not None:
            seen = visible(merged, self.now_ms())
            self.part_expires(key, merged, seen)  # (a counter's base may expire first)
            if cached:  # each region keeps its own hot set: refresh, never add
                if seen is not None:
                    self.cache.put(key, *seen)
                else:
                    self.cache.discard(key)

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
        self._replaced(identity, current, merged)
        self.store.put(identity, merged)
        if self.watch_changes and field_visible(merged, cleared) != field_visible(
                current, cleared):
            self.changed(key, "hset" if field_visible(merged, cleared) is not None
                         else "hdel")
        if head is not None and head.hash_meta is not None and head.hash_meta.kind == HASH:
            value = field_visible(merged, cleared)
            entry = self.cache.entry(key)
            if entry is not None and entry.value is None and entry.kind == HASH:
                self.cache.resized(key, entry.set(field, value))
            if (value is not None) != (head.value is not None):
                self.settle(key, head)
        return True

    def _apply_member(self, identity: bytes, incoming) -> bool:
        """A set's member, or a sorted set's: their states join."""
        key, member = parse(identity)
        head = self.store.get(key_id(key))
        cleared = clear_point(head)
        if (incoming.version, incoming.origin) <= cleared:
            return False  # written before its collection was cleared here
        current = self.store.get(identity)
        merged = members.since(members.join(current, incoming), cleared)
        if merged is None or merged == current:
            return False
        self._replaced(identity, current, merged)  # (a member's record carries ours)
        self.store.put(identity, merged)
        kind = ZSET if is_zmember(identity) else SET
        if self.watch_changes:
            after = members.cached_value(merged, cleared)
            if after != members.cached_value(current, cleared):
                self.changed(key, ("zadd" if after is not None else "zrem") if kind == ZSET
                             else ("sadd" if after is not None else "srem"))
        if head is not None and head.hash_meta is not None and head.hash_meta.kind == kind:
            value = members.cached_value(merged, cleared)
            entry = self.cache.entry(key)
            if entry is not None and entry.value is None and entry.kind == kind:
                self.cache.resized(key, entry.set(member, value))
            if (value is not None) != (head.value is not None):
                self.settle(key, head)
        return True

    def _apply_list_element(self, identity: bytes, incoming: Record) -> bool:
        """A list's element, or a run of them: a removed one stays removed
        (``listpos.join``, ``listpos.run_join``)."""
        key, name = parse(identity)
        head = self.store.get(key_id(key))
        cleared = clear_point(head)
        if listpos.created(name) <= cleared:
            return False  # inserted before its list was cleared here
        run = listpos.is_run(name)
        if run and not listpos.well_formed(incoming):
            self.log.warn("dropped a peer's record of the run {name!r} of list {key!r}: "
                          "its counts and sizes do not add up", name=name, key=key)
            return False
        current = self.store.get(identity)
        given = None if run else self._given(key, name)
        if given is not None and given.value is None:
            return False  # removed from its run here: for good, whatever comes
        merged = (listpos.run_join if run else listpos.join)(current, incoming)
        if merged == current or (current is None and given is not None
                                 and listpos.join(given, incoming) == given):
            return False  # (nothing new: what its run gives it, grown here, says it)
        self._replaced(identity, current, merged)
        self.store.put(identity, merged)
        if run:
            changes = self._run_changes(key, name, current, merged, cleared)
        else:
            before = listpos.visible(name, own_joined(given, current), cleared)
            after = listpos.visible(name, own_joined(given, merged), cleared)
            changes = [] if before == after else [(name, before, after)]
        if self.watch_changes:
            for _, before, after in changes:
                self.changed(key, "lrem" if after is None else "linsert" if before is None
                             else "lset")
        if changes and head is not None and head.hash_meta is not None \
                and head.hash_meta.kind == LIST:
            entry = self.cache.entry(key)
            cached = entry is not None and entry.value is None and entry.kind == LIST
            if cached:
                for element, _, after in changes:
                    self.list_applied(key, entry, element, after)
            if any((after is not None) != (head.value is not None) for _, _, after in changes) \
                    and not (cached and bool(entry.fields) == (head.value is not None)):
                # (a cached list knows whether it has an element: no store scan)
                self.settle(key, head)
        return True

    def _given(self, key: bytes, name: bytes) -> Record | None:
        """What the run that made element ``name`` gives it here (None: it was made
        alone, or its run is not here)."""
        made = listpos.run_of(name)
        return None if made is None else listpos.run_element(
            self.store.get(element_id(key, made[0])), made[1])

    def _run_changes(self, key: bytes, stem: bytes, current: Record | None,
                     merged: Record, cleared: tuple) -> list:
        """[(name, value before, value after)] of each element of the run ``stem``
        whose record went from ``current`` to ``merged``, if what it shows changed."""
        before = dict(listpos.run_elements(stem, current)) if current is not None else {}
        after = dict(listpos.run_elements(stem, merged))  # (none: all removed)
        changes = []
        for name in [*before, *(name for name in after if name not in before)]:
            own = self.store.get(element_id(key, name))
            was = listpos.visible(name, own_joined(before.get(name), own), cleared)
            now = None if merged.value is None else listpos.visible(
                name, own_joined(after.get(name), own), cleared)
            if was != now:
                changes.append((name, was, now))
        return changes

    def _apply_header(self, identity: bytes, current: Record | None,
                      incoming: Record) -> bool:
        merged = merge(current, incoming)
        key = parse(identity)[0]
        if merged.hash_meta is not None:
            if current is not None and current.hash_meta is not None \
                    and current.hash_meta.cleared == merged.hash_meta.cleared \
                    and current.hash_meta.kind == merged.hash_meta.kind:
                # the same collection, cleared at the same point: its elements here
                # are what they were, and our header's flag says whether there is one
                # (kept true by every element written, ``settle``)
                live = current.value is not None
            else:
                live = self.holds_fields(key, merged)
            if (merged.value is not None) != live:
                merged = header(merged.version, merged.origin, merged.hash_meta,
                                merged.deadline, live)
        if merged == current:
            return False
        self._replaced(identity, current, merged)
        self.store.put(identity, merged)
        if self.watch_changes:
            self._header_changed(key, current, merged)
        entry = self.cache.entry(key)
        if entry is not None:
            if (entry.value is None and merged.hash_meta is not None
                    and merged.value is not None
                    and current is not None and current.hash_meta is not None
                    and merged.hash_meta.cleared == current.hash_meta.cleared
                    and merged.hash_meta.kind == current.hash_meta.kind):
                entry.deadline = merged.deadline
            else:
                self.cache.discard(key)
        return True

    def _header_changed(self, key: bytes, current: Record | None, merged: Record) -> None:
        """What a peer's record changed of a collection (or what took its place): a
        string over it (``set``), a delete or its emptying (``del``), a collection of
        another kind or life (``del``: its elements are gone), a deadline."""
        now = self.now_ms()
        was = current is not None and current.live_at(now)
        if not was and _expired_unsaid(current, now) and not _expired_unsaid(merged, now):
            self.changed(key, "expired")  # (as a string's: see ``apply``)
        if merged.hash_meta is None:  # (a string or a delete won)
            if visible(merged, now) is not None:
                self.changed(key, "set")
            elif was:
                self.changed(key, "del")
            return
        if not merged.live_at(now):
            if was:
                self.changed(key, "del")
        elif current is None or current.hash_meta is None or (
                merged.hash_meta.kind, merged.hash_meta.cleared) != (
                current.hash_meta.kind, current.hash_meta.cleared):
            if was:
                self.changed(key, "del")
        elif merged.deadline != current.deadline:
            self.changed(key, "expire" if merged.deadline is not None else "persist")

    def settle(self, key: bytes, head: Record) -> None:
        """Make the header's flag say whether the hash has a field here, keeping its
        place in the store: it is this region's fact, not a write to replicate."""
        live = self.holds_fields(key, head)
        if live != (head.value is not None):
            self.store.restate(key_id(key), header(head.version, head.origin,
                                                   head.hash_meta, head.deadline, live))
        if not live:
            self.cache.discard(key)


def _plain_event(before: tuple | None, after: tuple | None) -> str:
    """The event of a string key's change (``(value, deadline)`` or None each): a
    delete, a new deadline alone, or a new value."""
    if after is None:
        return "del"
    if before is not None and before[0] == after[0]:
        return "expire" if after[1] is not None else "persist"
    return "set"


def _expired_unsaid(record: Record | None, now_ms: int) -> bool:
    """Whether ``record`` held a value whose deadline has passed: expired, though no
    expiry job removed it yet (which would have said ``expired``)."""
    return (record is not None and record.value is not None
            and record.deadline is not None and record.deadline <= now_ms)


def _stamp_of(ours: Record) -> tuple:
    """What ``_carries`` needs of a record of ours: its version, origin, and its own
    part's version if it is a counter."""
    part = None if ours.counter is None else counter_origins(ours).get(ours.origin, -1)
    return ours.version, ours.origin, part


def _carries(ours: tuple, merged: Record) -> bool:
    """Whether ``merged``, another region's record, carries our write (``ours``:
    ``_stamp_of`` it): a collection's header holding it as its clear or its deadline,
    a counter holding our part (not one whose newer base voided it), a set's member
    (its record joins every region's adds and removes)."""
    meta = merged.hash_meta
    if meta is not None:
        if type(meta) is HashMeta:
            return ours[:2] in (meta.cleared, meta.ttl)
        return True
    if merged.counter is not None and ours[2] is not None:
        return counter_origins(merged).get(ours[1], -1) >= ours[2]
    return False
