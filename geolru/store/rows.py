"""The rows one write transaction changes: each record put in its table, and the
indexes kept right (``seq``, ``tombs``/``field_tombs``, ``due``, and the fields a
write to their key clears).

``RowWriter`` lives for one transaction.  It does the least LMDB work a record
allows, since this is most of what a write costs the store (docs/store.md):

- a cursor on each record table puts the new row and hands back the old one in a
  single call (``Cursor.replace``), where a ``get`` and a ``put`` each searched the
  tree;
- the new positions' ``seq`` rows are gathered and written sorted in one call at
  ``flush``, appended at the end of the table (where new positions always go) with
  no search at all, unless an older position is among them;
- a record rewritten at its own position (``Store.restate``, an expiry) keeps its
  ``seq`` row where it is;
- a record that moves leaves its old ``seq`` row, for the store to delete later with
  others, in order (``geolru.store.stale``).

Hash fields' ``seq`` rows must be in the table before a key's write drops fields
(``FieldIndex.drop`` deletes theirs): ``write_batch`` writes a batch's fields first
and flushes before its keys.
"""

from __future__ import annotations

import lmdb

from geolru.model import listpos
from geolru.model.hashkeys import (
    ELEMENT_MARKS,
    LIST_MARK,
    NO_VERSION,
    element_stored_key,
    member_id,
    parse,
)
from geolru.model.headers import clear_point
from geolru.model.record import (
    HAS_DEADLINE,
    HAS_VALUE,
    NOT_PLAIN,
    Record,
    decode,
    encode,
    header_fields,
)
from geolru.store.fields import FieldIndex
from geolru.store.layout import POSITION, due_key, stored_key

_pack = POSITION.pack


class RowWriter:
    """Writes records into one write transaction (``txn``) of ``tables``."""

    __slots__ = ("txn", "tables", "marks", "stale", "_kv", "_fields", "_positions",
                 "_grown")

    def __init__(self, txn, tables, marks: tuple, stale: list):
        self.txn = txn
        self.tables = tables
        self.marks = marks  # the kinds of element the store has (none: nothing to drop)
        # the positions of the ``seq`` rows a moved record leaves, for the store to
        # delete later in order (``geolru.store.stale``)
        self.stale = stale
        self._kv = txn.cursor(db=tables.kv)
        self._fields = None  # opened by the first field
        self._positions: list[tuple[bytes, bytes]] = []  # new seq rows, for ``flush``
        self._grown: dict = {}  # a run's identity -> (its record, grown, and position)

    def write_batch(self, batch: dict) -> None:
        """Write a commit's ``batch`` (identity -> (record, position)): fields first,
        so that a key's write that clears its hash (``FieldIndex.drop``) finds every
        field written before it."""
        replace = self.replace
        for key, (record, seq) in batch.items():
            if key[:3] in ELEMENT_MARKS and not (
                    key[:3] == LIST_MARK and record.value is not None
                    and self._grows_its_run(key, record, seq)):
                replace(key, record, seq)
        if self._grown:
            for key, (record, seq) in self._grown.items():
                written = batch.get(key)  # (the run's own write in the batch: a later
                # position, whose readers must find the run there or after)
                replace(key, record, seq if written is None else max(seq, written[1]))
            self._grown = {}
        self.flush()
        for key, (record, seq) in batch.items():
            if key[:3] not in ELEMENT_MARKS:
                replace(key, record, seq)
        self.flush()

    def _grows_its_run(self, key: bytes, record: Record, seq: int) -> bool:
        """Whether the list element ``key`` (its ``record`` a value) is written into
        its run's row instead of a row of its own: an element its run's region pushed
        onto the end of the run (``geolru.keyspace.lists``), when the run is here,
        alive, with every element before it, and no row of the element's own is.  The
        run takes the element's position (the last of those it took in the batch)."""
        list_key, name = parse(key)
        made = listpos.run_of(name)
        if made is None:
            return False
        stem, number = made
        run_key = member_id(list_key, stem, LIST_MARK)
        cursor = self._fields_cursor()
        grown = self._grown.get(run_key)
        if grown is not None:
            run = grown[0]
        else:
            raw = cursor.get(element_stored_key(run_key))
            if raw is None:
                return False
            run = decode(raw)[1]
        if run.value is None or run.origin != record.origin \
                or listpos.run_count(run) != number \
                or cursor.get(element_stored_key(key)) is not None:
            return False
        run = listpos.run_grown(run, record)
        if run is None:
            return False
        self._grown[run_key] = (run, max(seq, grown[1]) if grown is not None else seq)
        return True

    def _fields_cursor(self):
        """A cursor on the ``fields`` table, opened by the first element written."""
        if self._fields is None:
            self._fields = self.txn.cursor(db=self.tables.fields)
        return self._fields

    def replace(self, key: bytes, record: Record, seq: int) -> None:
        """Write ``key``'s record (``key`` an identity) at position ``seq``."""
        txn = self.txn
        tables = self.tables
        field = key[:3] in ELEMENT_MARKS
        if field:
            stored = element_stored_key(key)
            cursor = self._fields_cursor()
            tombs = tables.field_tombs
        else:
            stored = stored_key(key)
            cursor = self._kv
            tombs = tables.tombs
        if field and listpos.is_run_identity(key):
            held = cursor.get(stored)  # (a run's removed elements only ever add up: a
            if held is not None:  # write made before a collection marked one keeps it)
                record = listpos.run_join(decode(held)[1], record)
        old = cursor.replace(stored, encode(record, seq))
        position = _pack(seq)
        if old is None:
            self._positions.append((position, key))
        else:
            old_seq, old_version, deadline, flags = header_fields(old)
            old_position = position
            if old_seq != seq:
                old_position = _pack(old_seq)
                self.stale.append(old_position)  # (its row stays, swept later)
                self._positions.append((position, key))
            if not flags & HAS_VALUE:
                txn.delete(old_position, db=tombs)
            elif flags & HAS_DEADLINE and not field:
                txn.delete(due_key(deadline, stored), db=tables.due)
        if record.value is None:
            txn.put(position, key, db=tombs)
        elif record.deadline is not None and not field:
            txn.put(due_key(record.deadline, stored), key, db=tables.due)
        if not field and self.marks:
            cleared = clear_point(record)
            if old is not None and not flags & NOT_PLAIN and old_version < cleared[0]:
                newer = True  # (a plain record older than the clear, by its row's header)
            else:
                newer = cleared > (NO_VERSION if old is None else clear_point(decode(old)[1]))
            if newer:
                FieldIndex.drop(txn, tables, parse(key)[0], cleared, self.marks)

    def flush(self) -> None:
        """Write the gathered ``seq`` rows, sorted, in one call."""
        rows = self._positions
        if not rows:
            return
        self._positions = []
        rows.sort()
        cursor = self.txn.cursor(db=self.tables.seq)
        append = not cursor.last() or cursor.key() < rows[0][0]
        added = cursor.putmulti(rows, append=append)[1]
        if added != len(rows):  # (an append that LMDB refused is skipped, not raised)
            raise lmdb.Error(f"seq index: {len(rows) - added} of {len(rows)} rows not "
                             "written (a position given out twice)")
