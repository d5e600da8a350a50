"""Lists in the keyspace: a header under the key (as a hash's, of kind "list") and its
elements, each named by its position (``geolru.model.listpos``): the list is its
elements in the order of their positions, the same in every region.

A push of several values writes them in one record, a run; a push of one, or an
insert, writes an element's record; either writes the header too.  ``LSET`` writes an
element's value again, a pop, ``LREM`` or ``LTRIM`` a tombstone of each element it
takes (records of the elements' own, joined with what their run gives them).

A list read is cached whole, in order, packed (``geolru.keyspace.packedlist``), and
kept so through this region's writes and its peers'.

``ListOperations`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

from geolru.keyspace.lru import HashEntry
from geolru.keyspace.packedlist import PackedList
from geolru.model import listpos
from geolru.model.hashkeys import LIST, LIST_MARK, key_id, member_id
from geolru.model.headers import header
from geolru.model.hlc import physical_ms
from geolru.model.record import Record

GROWING_KEYS = 10_000  # lists whose last push's run a push of one value may grow


def element_id(key: bytes, name: bytes) -> bytes:
    return member_id(key, name, LIST_MARK)


class ListOperations:
    __slots__ = ()

    def list_items(self, key: bytes) -> PackedList:
        """The elements of the list at ``key``, in order (empty if there is none).
        Read only: they are the cache's."""
        entry = self.cached_hash(key, LIST)
        if entry is not None:
            self.hits += 1
            return entry.fields
        head = self.hash_header(key, LIST)
        if head is None:
            self.misses += 1
            return PackedList()
        self.hits += 1
        self.cache.misses += 1
        return self._load_list(key, head).fields

    def list_elements(self, key: bytes, cleared: tuple, limit: int | None = None) -> dict:
        """The visible elements of the list at ``key``, cleared at ``cleared``, name
        to value (in the store's order): each run's elements, joined with their own
        records (``listpos``), and the elements made alone."""
        found = {}
        run = None  # (stem, its record, its elements' own records) while in its rows
        for _, name, record in self.store.fields(key, b"", LIST_MARK):
            if run is not None and not name.startswith(run[0]):
                if _add_run(found, run, cleared, limit):
                    return found
                run = None
            if listpos.is_run(name):
                run = (name, record, {})
            elif run is not None:
                run[2][name] = record
            else:
                value = listpos.visible(name, record, cleared)
                if value is not None:
                    found[name] = value
                    if len(found) == limit:
                        return found
        if run is not None:
            _add_run(found, run, cleared, limit)
        return found

    def _load_list(self, key: bytes, head: Record) -> HashEntry:
        found = self.list_elements(key, head.hash_meta.cleared)
        elements = PackedList(sorted(found.items(), key=lambda pair: listpos.decode(pair[0])))
        return self.cache.put_hash(key, elements, head.deadline, LIST)
        # (if the cache could not keep it, the caller still can)

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
        return header(version, self.origin, head.hash_meta, head.deadline), entry

    def _put_elements(self, key: bytes, names: list, values: list, version: int) -> None:
        """Write the records of elements ``names`` (with ``values``: None each, removed)."""
        put = self.store.put
        for name, value in zip(names, values, strict=True):
            put(element_id(key, name), Record(value, None, version, self.origin))

    def list_push(self, key: bytes, values: list, left: bool, make: bool = True) -> int:
        """``LPUSH`` (``left``) or ``RPUSH`` of ``values``, making the list unless
        ``make`` is false (``LPUSHX``); its length after (0: there is none)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, make)
        if found is None:
            return 0
        head, entry = found
        elements = entry.fields
        size = elements.size
        if left:
            values = values[::-1]
            low, high = None, elements.name(0) if elements else None
        else:
            low, high = elements.name(len(elements) - 1) if elements else None, None
        names = self._grow_run(key, high if left else low, values, version, left)
        if names is None:  # (one record, a run, for the push's elements)
            stem, names = listpos.run_names(low, high, version, self.origin, len(values),
                                            left)
            pushed = values[::-1] if left else values  # (a run's numbers: pushed first 0)
            self.store.put(element_id(key, stem),
                           Record(listpos.pack_run(pushed), None, version, self.origin))
            self._growing((key, left), (stem, len(values), version, sum(map(len, values))))
        if left:
            elements.push_front(names, values)
        else:
            elements.push_back(names, values)
        self._list_written(key, head, entry, size)
        return len(elements)

    def _grow_run(self, key: bytes, end: bytes | None, values: list, version: int,
                  left: bool) -> list | None:
        """The names of ``values`` pushed onto the end of the list at ``key`` (its
        head, ``left``) as the next elements of the run this process's last push
        to it made, written as records of their own (each region's store packs them
        into its copy of the run: ``geolru.store.rows``); None if that run cannot
        grow: it is not an ``RPUSH``'s (an ``LPUSH``'s), its newest element is not
        the list's ``end`` here, or it is as big or as old as a run grows
        (``listpos.GROW_BYTES``, ``GROW_COUNT``, ``GROW_MS``).  An element so pushed
        counts as inserted when the run was (docs/collections.md, *Runs*)."""
        growing = self.growing_runs.get((key, left))
        if growing is None or len(values) != 1:
            return None
        stem, count, made, size = growing
        size += len(values[0])
        if end != stem + b"%d" % (count - 1) or size > listpos.GROW_BYTES \
                or count >= listpos.GROW_COUNT \
                or physical_ms(version) - physical_ms(made) > listpos.GROW_MS:
            return None
        names = [stem + b"%d" % count]
        self._put_elements(key, names, values, version)
        self._growing((key, left), (stem, count + 1, made, size))
        return names

    def _growing(self, end: tuple, run: tuple) -> None:
        """Note the run the last push to an end of a list (``(key, left)``) made or
        grew (of the lists pushed to last, ``GROWING_KEYS`` ends at most)."""
        growing = self.growing_runs
        growing.pop(end, None)
        growing[end] = run
        if len(growing) > GROWING_KEYS:
            del growing[next(iter(growing))]

    def list_insert(self, key: bytes, at: int, value: bytes) -> int:
        """Insert ``value`` before the element at index ``at`` (``at`` the length: at
        the end) of the list at ``key``, which the caller read; its length after (0:
        the list expired since)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return 0
        head, entry = found
        elements = entry.fields
        size = elements.size
        name = listpos.between(elements.name(at - 1) if at > 0 else None,
                               elements.name(at) if at < len(elements) else None,
                               version, self.origin)[0]
        elements.insert(at, name, value)
        self._put_elements(key, [name], [value], version)
        self._list_written(key, head, entry, size)
        return len(elements)

    def list_set(self, key: bytes, at: int, value: bytes) -> None:
        """``LSET``: write the value of the element at index ``at`` (which the list
        has, unless it expired since: then nothing)."""
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return
        head, entry = found
        elements = entry.fields
        size = elements.size
        self._put_elements(key, [elements.name(at)], [value], version)
        elements.set_value(at, value)
        self._list_written(key, head, entry, size)

    def list_remove(self, key: bytes, indexes: list) -> int:
        """Remove the elements at ``indexes`` (ascending; each one the list has,
        unless it expired since: then nothing) from the list at ``key``; its length
        after."""
        if not indexes:
            return len(self.list_items(key))
        version = self.hlc.now()
        found = self._list_to_write(key, version, False)
        if found is None:
            return 0
        head, entry = found
        elements = entry.fields
        size = elements.size
        names = [elements.name(at) for at in indexes]
        self._put_elements(key, names, [None] * len(names), version)
        elements.remove(indexes)
        self._list_written(key, head, entry, size)
        return len(elements)

    def _list_written(self, key: bytes, head: Record, entry: HashEntry, size: int) -> None:
        """The list's elements were written (they held ``size`` bytes before)."""
        live = bool(entry.fields)
        self.store.put(key_id(key), head if live else header(
            head.version, head.origin, head.hash_meta, head.deadline, False))
        if live:
            entry.deadline = head.deadline
            self._list_resized(key, entry, size)
        else:
            self.cache.discard(key)
        self.writes += 1

    def _list_resized(self, key: bytes, entry: HashEntry, size: int) -> None:
        change = entry.fields.size - size
        entry.size += change
        self.cache.resized(key, change)

    def list_applied(self, key: bytes, entry: HashEntry, name: bytes,
                     value: bytes | None) -> None:
        """A peer's record of element ``name`` changed what the cached list holds."""
        elements = entry.fields
        size = elements.size
        at, present = elements.locate(name)
        if value is None:
            if not present:
                return
            elements.remove([at])
        elif present:
            elements.set_value(at, value)
        else:
            elements.insert(at, name, value)
        self._list_resized(key, entry, size)


def own_joined(given: Record | None, own: Record | None) -> Record | None:
    """An element's record: what its run gives it, joined with its own."""
    if given is None or own is None:
        return own if given is None else given
    return listpos.join(given, own)


def _add_run(found: dict, run: tuple, cleared: tuple, limit: int | None) -> bool:
    """Add the visible elements of ``run`` (stem, record, its elements' own records)
    to ``found``; whether it reached ``limit``."""
    stem, record, own = run
    if record.value is None:  # (the elements it had removed: their own records too;
        gone = listpos.removed_count(record)  # those pushed onto it later are theirs)
        own = {} if gone is None else {
            name: element for name, element in own.items()
            if (listpos.run_of(name) or (stem, gone))[1] >= gone}
    elif listpos.created(stem) > cleared:
        for name, given in listpos.run_elements(stem, record):
            value = listpos.visible(name, own_joined(given, own.pop(name, None)), cleared)
            if value is not None:
                found[name] = value
                if len(found) == limit:
                    return True
    for name, record in own.items():  # (removed from the run, or another's element)
        value = listpos.visible(name, record, cleared)
        if value is not None:
            found[name] = value
            if len(found) == limit:
                return True
    return False
