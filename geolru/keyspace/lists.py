"""Lists in the keyspace: a header under the key (as a hash's, of kind "list") and one
record per element, named by its position (``geolru.model.listpos``): the list is
its elements in the order of their positions, the same in every region.

A push or an insert writes new elements (with new positions) and the header; ``LSET``
writes one element's value again; a pop, ``LREM`` or ``LTRIM`` writes a tombstone of
each element it takes.  A list read is cached whole, with its positions in order
(``HashEntry.order``), kept in order through this region's writes and its peers'
(here: ``HashEntry.set`` leaves a list's order to this module).

``ListOperations`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

import bisect

from geolru.keyspace.lru import HashEntry
from geolru.model import listpos
from geolru.model.hashkeys import LIST, LIST_MARK, key_id, member_id
from geolru.model.headers import header
from geolru.model.record import Record


def element_id(key: bytes, name: bytes) -> bytes:
    return member_id(key, name, LIST_MARK)


class ListOperations:
    __slots__ = ()

    def list_items(self, key: bytes) -> tuple[dict, list]:
        """(each element's value by its name, the names in the list's order) of the
        list at ``key``; both empty if there is none.  Read only: they are the
        cache's."""
        entry = self.cached_hash(key, LIST)
        if entry is not None:
            self.hits += 1
            return entry.fields, ordered(entry)
        head = self.hash_header(key, LIST)
        if head is None:
            self.misses += 1
            return {}, []
        self.hits += 1
        self.cache.misses += 1
        entry = self._load_list(key, head)
        return entry.fields, entry.order

    def _load_list(self, key: bytes, head: Record) -> HashEntry:
        found = self.visible_elements(key, head.hash_meta.cleared, LIST)
        entry = self.cache.put_hash(key, found, head.deadline, LIST)
        entry.order = sorted(found, key=listpos.decode)
        return entry  # (if the cache could not keep it, the caller still can)

    def _list_to_write(self, key: bytes, version: int, make: bool):
        """(the header to write, the list's entry) for a write at ``version``; None if
        there is no list and ``make`` is false."""
        head = self.hash_header(key, LIST)
        if head is None:
            if not make:
                return None
            head = self.new_header(key, version, LIST)
            # (elements here may be newer than that: they came before their header)
            return head, self._load_list(key, head)
        entry = self.cached_hash(key, LIST)
        if entry is None:
            entry = self._load_list(key, head)
        ordered(entry)
        return header(version, self.origin, head.hash_meta, head.deadline), entry

    def _put_element(self, key: bytes, entry: HashEntry, name: bytes,
                     value: bytes | None, version: int) -> None:
        self.store.put(element_id(key, name), Record(value, None, version, self.origin))
        self.cache.resized(key, entry.set(name, value))

    def list_push(self, key: bytes, values: list, left: bool, make: bool = True) -> int:
        """``LPUSH`` (``left``) or ``RPUSH`` of ``values``, making the list unless
        ``make`` is false (``LPUSHX``); its length after (0: there is none)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, make)
        if found is None:
            return 0
        head, entry = found
        order = entry.order
        if left:
            names = listpos.between(None, order[0] if order else None, version,
                                    self.origin, len(values))
            order[0:0] = names
            values = values[::-1]
        else:
            names = listpos.between(order[-1] if order else None, None, version,
                                    self.origin, len(values))
            order.extend(names)
        for name, value in zip(names, values, strict=True):
            self._put_element(key, entry, name, value, version)
        self._list_written(key, head, entry)
        return len(order)

    def list_insert(self, key: bytes, at: int, value: bytes) -> int:
        """Insert ``value`` before the element at index ``at`` (``at`` the length: at
        the end) of the list at ``key``, which the caller read; its length after (0:
        the list expired since)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return 0
        head, entry = found
        order = entry.order
        name = listpos.between(order[at - 1] if at > 0 else None,
                               order[at] if at < len(order) else None,
                               version, self.origin)[0]
        order.insert(at, name)
        self._put_element(key, entry, name, value, version)
        self._list_written(key, head, entry)
        return len(order)

    def list_set(self, key: bytes, name: bytes, value: bytes) -> None:
        """``LSET``: write the value of the element ``name`` (which the list holds,
        unless it expired since: then nothing)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return
        head, entry = found
        self._put_element(key, entry, name, value, version)
        self._list_written(key, head, entry)

    def list_remove(self, key: bytes, names: list) -> int:
        """Remove the elements ``names`` (which the list holds, unless it expired
        since: then nothing) from the list at ``key``; its length after."""
        if not names:
            return len(self.list_items(key)[1])
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return 0
        head, entry = found
        order = entry.order
        for name in names:
            self._put_element(key, entry, name, None, version)
        count = len(names)
        if order[:count] == names:  # (a pop from the head)
            del order[:count]
        elif order[-count:] == names[::-1]:  # (... from the tail)
            del order[-count:]
        else:
            gone = set(names)
            order[:] = [name for name in order if name not in gone]
        self._list_written(key, head, entry)
        return len(order)

    def _list_written(self, key: bytes, head: Record, entry: HashEntry) -> None:
        live = bool(entry.fields)
        self.store.put(key_id(key), head if live else header(
            head.version, head.origin, head.hash_meta, head.deadline, False))
        if live:
            entry.deadline = head.deadline
        else:
            self.cache.discard(key)
        self.writes += 1

    def list_applied(self, key: bytes, entry: HashEntry, name: bytes,
                     value: bytes | None) -> None:
        """A peer's record of element ``name`` changed what the cached list holds."""
        order = entry.order
        had = name in entry.fields
        self.cache.resized(key, entry.set(name, value))
        if order is None or had == (value is not None):
            return  # (an LSET: the same place)
        if value is None:
            order.remove(name)
        else:
            order.insert(bisect.bisect(order, listpos.decode(name), key=listpos.decode),
                         name)


def ordered(entry: HashEntry) -> list:
    """A cached list's names in order (sorted once, then kept)."""
    if entry.order is None:
        entry.order = sorted(entry.fields, key=listpos.decode)
    return entry.order
