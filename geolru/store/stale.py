"""Rows of the ``seq`` index that their record has moved past, deleted in order later.

A record written again moves from its old position to a new one.  Deleting the old
position's ``seq`` row at once cost a search of the B-tree and a page of it copied,
per write: 1.2–1.6 µs, a third of the commit job's LMDB work (docs/store.md, step 8).
The commit leaves the row instead, and ``StaleRows`` remembers its position.  Once
``SWEEP_AT`` of them have gathered they are sorted, and each commit job after that
deletes a share of them, in order, a few to each page of the index.

A stale row is harmless meanwhile: every reader of ``seq`` reads the row's record
anyway, and a row whose record is at another position (or is gone) is skipped
(``Store.changes_since``, ``Store.scan``, ``FLUSHALL``).  A crash forgets the positions
gathered in memory; the store sees it on opening (``seq`` has more rows than there are
records), and each commit job then checks a share of the index (``verify``) until it
has checked all of it.  (Inside the commit jobs, not jobs of their own: a region that
takes no writes keeps its stale rows, harmless, and the simulator's runs, whose disk
draws a duration for each job, stay as they were.)

The positions a transaction leaves are adopted only once it has committed
(``begin``/``commit``, called by ``Store.write_transaction``): a transaction that fails,
or runs again after the map grew, leaves the rows as they were.  Everything here runs
on the store's writer, one job at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geolru.store.layout import POSITION, place

if TYPE_CHECKING:
    from geolru.store.tables import Tables

SWEEP_AT = 32_768  # stale rows gathered before they are sorted and swept
SWEEP_AFTER = 10.0  # seconds after which fewer are swept too (a store lightly written)
SWEEP_MORE = 256  # a commit deletes this many more stale rows than it writes records
VERIFY_BATCH = 1_000  # index rows a commit job checks after a crash, at most


class StaleRows:
    """The positions of the ``seq`` rows left behind, and their sweep."""

    __slots__ = ("gathered", "sweeping", "at", "attempt", "_swept_to", "verify_from",
                 "_verify_end", "_verified_to", "_all_checked", "sweep_at",
                 "_gathering_since")

    def __init__(self, sweep_at: int = SWEEP_AT):
        self.gathered: list[bytes] = []  # packed positions, committed, in no order
        self.sweeping: list[bytes] = []  # sorted: those before ``at`` are deleted
        self.at = 0
        self.attempt: list[bytes] = []  # left by the transaction that runs now
        self._swept_to: int | None = None  # ``at`` once that transaction commits
        self.verify_from: int | None = None  # a crash left rows: check from here on
        self._verify_end = b""  # ... up to this row, the last at opening (the rows
        # written since are known in memory)
        self._verified_to: tuple | None = None  # (``verify_from`` once it commits)
        self._all_checked = False  # the transaction deleted every stale row there is
        self.sweep_at = sweep_at
        self._gathering_since: float | None = None  # when a sweep first found rows

    @property
    def pending(self) -> int:
        """Stale rows known and not yet deleted."""
        return len(self.gathered) + len(self.sweeping) - self.at

    def opened(self, txn, tables: Tables) -> None:
        """In the store's opening transaction: an index with more rows than there are
        records kept stale rows through a crash (or a geolru before this one): they
        are looked for from the start."""
        if txn.stat(tables.seq)["entries"] > (txn.stat(tables.kv)["entries"]
                                              + txn.stat(tables.fields)["entries"]):
            cursor = txn.cursor(db=tables.seq)
            if cursor.last():
                self.verify_from, self._verify_end = 0, cursor.key()

    def begin(self) -> None:
        """A write transaction begins (or begins again): what it leaves is its own."""
        self.attempt = []
        self._swept_to = self._verified_to = None
        self._all_checked = False

    def commit(self) -> None:
        """The transaction committed: its stale rows are to sweep, and what it swept
        or verified is done."""
        if self.attempt:
            self.gathered.extend(self.attempt)
            self.attempt = []
        if self._swept_to is not None:
            self.at = self._swept_to
            self._swept_to = None
            if self.at >= len(self.sweeping):
                self.sweeping, self.at = [], 0
        if self._verified_to is not None:
            self.verify_from = self._verified_to[0]
            self._verified_to = None
        if self._all_checked:
            self.gathered, self.sweeping, self.at, self.verify_from = [], [], 0, None
            self._all_checked, self._gathering_since = False, None

    def tidy(self, txn, tables: Tables, records: int, now: float) -> None:
        """In a commit job of ``records`` records, at ``now`` (seconds): a share of
        the sweep, and of the verification if a crash left rows."""
        self.sweep(txn, tables, records, now)
        if self.verify_from is not None:
            self.verify(txn, tables)

    def sweep(self, txn, tables: Tables, records: int, now: float) -> None:
        """In a commit job of ``records`` records: delete ``records + SWEEP_MORE`` of
        the sorted stale rows, so the sweep keeps ahead of what the commits leave.
        A sweep begins once ``sweep_at`` rows have gathered, or ``SWEEP_AFTER``
        seconds after a sweep first found fewer (``now``)."""
        if self.at >= len(self.sweeping):
            if not self.gathered:
                return
            if len(self.gathered) < self.sweep_at:
                if self._gathering_since is None:
                    self._gathering_since = now
                if now - self._gathering_since < SWEEP_AFTER:
                    return
            self._gathering_since = None
            self.sweeping, self.gathered, self.at = sorted(self.gathered), [], 0
        end = min(len(self.sweeping), self.at + records + SWEEP_MORE)
        _delete_rows(txn, tables, self.sweeping[self.at:end])
        self._swept_to = end

    def sweep_all(self, txn, tables: Tables) -> None:
        """Delete every stale row known (a store that closes)."""
        self.sweeping = sorted(self.sweeping[self.at:] + self.gathered)
        self.gathered, self.at = [], 0
        _delete_rows(txn, tables, self.sweeping)
        self._swept_to = len(self.sweeping)

    def delete_all(self, txn, tables: Tables, stale: list[bytes]) -> None:
        """Delete the rows at ``stale``, every stale row of the index (``FLUSHALL``,
        which read every row, found them); once the transaction commits none is left
        to sweep or to look for."""
        _delete_rows(txn, tables, sorted(stale))
        self._all_checked = True

    def verify(self, txn, tables: Tables) -> None:
        """Check ``VERIFY_BATCH`` index rows from ``verify_from`` against their
        records, deleting those no record is at, up to the last row there was at
        opening (rows written since are not the crash's: under writes of more than
        ``VERIFY_BATCH`` records a commit, the check would never end)."""
        cursor = txn.cursor(db=tables.seq)
        found = cursor.set_range(POSITION.pack(self.verify_from))
        checked = 0
        end = self._verify_end
        while found and checked < VERIFY_BATCH:
            position, key = cursor.item()
            if position > end:
                found = False
                break
            stored, table, _ = place(tables, key)
            raw = txn.get(stored, db=table)
            if raw is None or raw[:8] != position:  # (a record begins with its position)
                # (a delete moves to the next row; past the last, to none: no key)
                found = cursor.delete() and bool(cursor.key())
            else:
                found = cursor.next()
            checked += 1
        self._verified_to = (POSITION.unpack(cursor.key())[0]
                             if found and cursor.key() <= end else None,)


def _delete_rows(txn, tables: Tables, positions) -> None:
    """Delete the ``seq`` rows at ``positions`` (sorted: a few to each page), those
    there still (``verify`` may have found one before)."""
    cursor = txn.cursor(db=tables.seq)
    for position in positions:
        if cursor.set_key(position):
            cursor.delete()
