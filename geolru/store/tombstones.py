"""Tombstone collection: a delete (or an expiry) leaves a record without a value, a
tombstone, so that an older write arriving late cannot bring the key back; once
every peer has it (``collect_tombstones``' horizon) it goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geolru.model import hashkeys, listpos
from geolru.model.hashkeys import element_stored_key, is_list_element
from geolru.model.record import HAS_HASH, decode, header_fields
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
        left = []  # the positions of tombstones the job left (past its bound, or kept)
        removed = {}  # run identity -> the bits of its elements to mark removed
        d = store.submit(self._collect, upto_seq, left, removed)

        def collected(result):
            if self._floor_resets == resets:  # no expiry or failed commit meanwhile
                self._floor = min([reached, *left])
            for identity, bits in removed.items():
                run = store.get(identity)
                if run is not None:  # (each element's tombstone goes at a later job)
                    store.restate(identity, listpos.run_removing(run, bits))
            return result

        d.addCallback(collected)

    # ------------------------------------------------------------ writer thread

    def _collect(self, upto_seq: int, left: list, removed: dict) -> float:
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
                    if tombs is tables.field_tombs and is_list_element(key) \
                            and _list_tombstone_kept(txn, tables, key, removed):
                        left.append(seq)
                        continue
                    found.append((position, key))
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


def _list_tombstone_kept(txn, tables: Tables, identity: bytes, removed: dict) -> bool:
    """Whether the tombstone of a list's element, collectable by the rule, must stay
    until this region's run of that element says it is removed (in ``txn``, on the
    writer thread).

    An element a run made (``geolru.model.listpos``) is removed for good only in its
    run: while the run here holds it, its tombstone stays, and the element goes in
    ``removed``, for the store to mark in the run after this job; the next collection
    finds it marked.  A run that is not here any more (collected once every element
    of it was removed, or dropped by a clear) cannot come back any more than the
    element's own records could: the rule that lets the tombstone go covers the run
    too, since every region that sent it here or holds it back for here is one the
    rule hears from (docs/collections.md)."""
    key, name = hashkeys.parse(identity)
    made = listpos.run_of(name)
    if made is None:
        return False  # (made alone, or a run's own tombstone)
    run_id = hashkeys.member_id(key, made[0], hashkeys.LIST_MARK)
    raw = txn.get(element_stored_key(run_id), db=tables.fields)
    if raw is None:
        return False
    run = decode(raw)[1]
    if run.value is None or listpos.run_removing(run, 1 << made[1]) is run:
        return False
    removed[run_id] = removed.get(run_id, 0) | 1 << made[1]
    return True
