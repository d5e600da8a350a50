"""Tombstone collection: a delete (or an expiry) leaves a record without a value, a
tombstone, so that an older write arriving late cannot bring the key back; once
every peer has it (``collect_tombstones``' horizon) it goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geolru.model import hashkeys, listpos
from geolru.model.hashkeys import element_stored_key, is_list_element
from geolru.model.record import HAS_HASH, decode, encode, header_fields
from geolru.store.fields import FieldIndex
from geolru.store.layout import POSITION, place

if TYPE_CHECKING:
    from geolru.store.store import Store
    from geolru.store.tables import Tables

COLLECT_BATCH = 10_000  # tombstones removed per job at most
COLLECTED_NAME = b"collected_upto"  # meta: tombstones up to this position may be gone


class TombstoneCollector:
    """Removes a ``Store``'s tombstones (of keys and of fields) up to a position, in
    bounded jobs on the store's writer, and keeps the bookkeeping that goes with it.

    It owns: ``collected_upto``, the position up to which tombstones may have been
    collected (kept in ``meta``: a peer that asks for changes after an earlier
    position would miss deletes); and a floor below which no uncollected tombstone
    lies, so that a collection with nothing to do submits no job.  Anything that
    may put a tombstone below the floor (an expiry, which keeps the expired write's
    position; a failed commit; ``Store.restate``) calls ``reset_floor``.

    It runs its jobs through its store (``_submit``, ``_transaction``) and reads the
    store's buffer of writes not yet committed.
    """

    __slots__ = ("_store", "collected_upto", "_floor", "_floor_resets")

    def __init__(self, store: Store):
        self._store = store
        self.collected_upto = 0
        # every uncollected tombstone is at a position >= this (0: unknown);
        # _floor_resets counts the events that may put a tombstone below it
        self._floor = 0
        self._floor_resets = 0

    def opened(self, txn, tables: Tables) -> None:
        """Read what it keeps of the file, in the store's opening transaction."""
        self.collected_upto = int(txn.get(COLLECTED_NAME, b"0", db=tables.meta))

    def count(self) -> int:
        """Committed tombstones not yet collected (of keys and of fields)."""
        tables = self._store.tables
        return tables.entries(tables.tombs) + tables.entries(tables.field_tombs)

    def reset_floor(self) -> None:
        """A tombstone may now be below the floor: the next collection looks."""
        self._floor = 0
        self._floor_resets += 1

    def collect(self, upto_seq: int) -> None:
        """Delete tombstones at positions ``<= upto_seq``, at most ``COLLECT_BATCH``
        of each table per job (the next call goes on)."""
        if upto_seq < self._floor:
            return  # none there: no job
        store = self._store
        resets = self._floor_resets
        # the job runs after the commits in flight, before the writes still buffered
        first = store.first_buffered()
        reached = upto_seq + 1 if first is None else min(upto_seq + 1, first)
        left = []  # the position of the first tombstone the job left, if it hit its
        # bound, and of each run it made a tombstone (at the run's own, older position)
        d = store.submit(self._collect, upto_seq, left)

        def collected(result):
            if self._floor_resets == resets:  # no expiry or failed commit meanwhile
                self._floor = min([reached, *left])
            return result

        d.addCallback(collected)

    # ------------------------------------------------------------ writer thread

    def _collect(self, upto_seq: int, left: list) -> float:
        def job(txn, tables):
            reached = 0
            for tombs in (tables.tombs, tables.field_tombs):
                found = []
                for position, key in txn.cursor(db=tombs):
                    seq = POSITION.unpack(position)[0]
                    if seq > upto_seq:
                        break
                    if len(found) == COLLECT_BATCH:
                        left.append(seq)  # the next job goes on from here
                        break
                    found.append((position, key))
                runs: dict = {}  # a run's identity -> its elements whose tombstones go
                # (their numbers)
                for _, key in found:
                    if tombs is tables.field_tombs and is_list_element(key):
                        _in_run(key, runs)
                for identity, removed in runs.items():
                    _mark_removed(txn, tables, identity, removed, left)
                for position, key in found:
                    stored, table, _ = place(tables, key)
                    raw = txn.get(stored, db=table)
                    if raw is not None and header_fields(raw)[3] & HAS_HASH:
                        # a hash that expired or lost its last field here: its fields
                        # (kept for a PERSIST made in time elsewhere) go with it
                        head = decode(raw)[1]
                        FieldIndex.drop(txn, tables, hashkeys.parse(key)[0],
                                        (head.version, head.origin))
                    txn.delete(stored, db=table)
                    txn.delete(position, db=tables.seq)
                    txn.delete(position, db=tombs)
                if found:
                    reached = max(reached, POSITION.unpack(found[-1][0])[0])
            if reached > self.collected_upto:
                txn.put(COLLECTED_NAME, b"%d" % reached, db=tables.meta)
                collected.append(reached)

        collected: list = []
        elapsed = self._store.write_transaction(job)
        if collected:  # (the job's own figure, once its transaction is committed)
            self.collected_upto = max(self.collected_upto, collected[-1])
        return elapsed


def _in_run(identity: bytes, runs: dict) -> None:
    """Note in ``runs`` the element ``identity`` (whose tombstone goes) under its
    run's identity, if a run made it."""
    key, name = hashkeys.parse(identity)
    made = listpos.run_of(name)
    if made is not None:
        runs.setdefault(hashkeys.member_id(key, made[0], hashkeys.LIST_MARK),
                        []).append(made[1])


def _mark_removed(txn, tables: Tables, identity: bytes, removed: list, left: list) -> None:
    """Mark the elements ``removed`` (numbers) removed in the run ``identity``, where it
    is, in the transaction that collects their tombstones (on the writer thread).

    An element a run made (``geolru.model.listpos``) is removed for good in its run:
    its tombstone may go only with the run saying so.  The run keeps its position (a
    fact of this region's, not a write to send); one with every element removed is a
    tombstone from then on, collected as any other (its position goes in ``left``: it
    may be below the collector's floor).  A run that is not here any more (collected,
    or dropped by a clear) cannot come back, any more than the element's own older
    records could (docs/collections.md, *Runs*)."""
    stored = element_stored_key(identity)
    raw = txn.get(stored, db=tables.fields)
    if raw is None:
        return
    seq, run = decode(raw)
    marked = listpos.run_removing_elements(run, removed)
    if marked is run:
        return
    txn.put(stored, encode(marked, seq), db=tables.fields)
    if marked.value is None:
        txn.put(POSITION.pack(seq), identity, db=tables.field_tombs)
        left.append(seq)
