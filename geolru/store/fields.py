"""The element index: each field of a hash (or member of a set) is a row of the
``fields`` table, under its key's prefix for that kind
(``geolru.model.hashkeys.fields_prefix``), so an element is read or written alone
and a collection's elements are one range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geolru.model import hashkeys, listpos, members
from geolru.model.hashkeys import MEMBER_MARK, ZMEMBER_MARK, field_stored_key, fields_prefix
from geolru.model.record import decode, encode
from geolru.store.layout import POSITION

if TYPE_CHECKING:
    from geolru.store.store import Store
    from geolru.store.tables import Tables

MEMBER_MARKS = (MEMBER_MARK, ZMEMBER_MARK)


class FieldIndex:
    """The ``fields`` table as a ``Store``'s hashes: reading a hash's fields in the
    store's order with its buffered writes merged in (``read``), and removing the
    fields a write to their key cleared, in that write's transaction (``drop``).

    The rows themselves are written by the store's commit job like any other
    record.  What a write must update (whether any field was ever stored, which
    hashes have field writes buffered) the store keeps itself: its ``put`` and
    commit job read it on every write.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store):
        self._store = store

    def read(self, key: bytes, start: bytes, writes,
             mark: bytes = hashkeys.FIELD_MARK):
        """``key``'s field records in the store's order, ``(place, field, record)``,
        from ``place`` ``start`` on (``Store.fields``): a field among ``writes`` (the
        newest buffered write of each of the key's elements that may have one:
        ``(identity, (record, position))``) with that write, any other with its
        committed record."""
        store = self._store
        prefix = fields_prefix(key, mark)
        marked = mark + hashkeys.field_id(key, b"")[3:]
        buffered = {}
        for identity, (record, _) in writes:
            if identity.startswith(marked):
                field = identity[len(marked):]
                place = field_stored_key(key, field, mark)[len(prefix):]
                if place >= start:
                    buffered[place] = (field, record)
        waiting = sorted(buffered.items(), reverse=True)
        read = store.reader()
        tables = store.tables
        cursor = read.cursor(db=tables.fields)
        more = cursor.set_range(prefix + start)
        while more:
            stored, raw = cursor.item()
            if not stored.startswith(prefix):
                break
            place = stored[len(prefix):]
            while waiting and waiting[-1][0] <= place:
                early, (field, record) = waiting.pop()
                if early == place and mark == hashkeys.LIST_MARK \
                        and listpos.is_run(field):  # (as ``Store.get`` reads it)
                    record = listpos.run_join(decode(raw)[1], record)
                yield early, field, record
                if early == place:
                    break
            else:
                seq, record = decode(raw)
                if place[:1] == hashkeys.LONG_MARK:  # the name is in the position index
                    field = hashkeys.parse(read.get(POSITION.pack(seq), db=tables.seq))[1]
                else:
                    field = place
                yield place, field, record
            more = cursor.next()
        while waiting:
            place, (field, record) = waiting.pop()
            yield place, field, record

    @staticmethod
    def drop(txn, tables: Tables, key: bytes, cleared: tuple,
             marks: tuple = hashkeys.ELEMENT_MARKS) -> None:
        """Remove ``key``'s elements (fields and members) written before ``cleared``
        (a list's elements: inserted before it, whatever wrote their records since: an
        ``LSET``, a pop, or a push that grew their run made elsewhere at the same
        time) (they are not part of the key any more, in any region that has its header),
        and the writes before it that a newer member's record still holds, in
        ``txn``; only elements of ``marks`` (the kinds the store has any of)."""
        cursor = txn.cursor(db=tables.fields)
        gone, restated = [], []
        for mark in marks:
            prefix = fields_prefix(key, mark)
            more = cursor.set_range(prefix)
            while more:
                stored, raw = cursor.item()
                if not stored.startswith(prefix):
                    break
                seq, record = decode(raw)
                made = (record.version, record.origin)
                if mark == hashkeys.LIST_MARK:
                    made = min(made, _inserted(stored[len(prefix):]))
                if made <= cleared:
                    gone.append((stored, seq, record.value is None))
                elif mark in MEMBER_MARKS:
                    # a member's record newer than the clear may still hold older
                    # adds (another region joined them with a newer remove): out too,
                    # or they would show once the clear is forgotten (its emptied
                    # header collected, the set made again)
                    kept = members.since(record, cleared)
                    if kept is not None and kept is not record:
                        restated.append((stored, seq, record, kept))
                more = cursor.next()
        for stored, seq, tombstone in gone:
            position = POSITION.pack(seq)
            txn.delete(stored, db=tables.fields)
            txn.delete(position, db=tables.seq)
            if tombstone:
                txn.delete(position, db=tables.field_tombs)
        for stored, seq, record, kept in restated:  # (where it is: a fact of this region)
            txn.put(stored, encode(kept, seq), db=tables.fields)
            if record.value is not None and kept.value is None:
                position = POSITION.pack(seq)
                txn.put(position, txn.get(position, db=tables.seq), db=tables.field_tombs)


def _inserted(place: bytes) -> tuple:
    """When the list element (or run) stored at ``place`` was inserted, by its name
    (``listpos.created``); never, for a name kept by its digest or none geolru makes."""
    if place[:1] == hashkeys.LONG_MARK:
        return (1 << 64, "")
    try:
        return listpos.created(place)
    except (ValueError, IndexError):
        return (1 << 64, "")
