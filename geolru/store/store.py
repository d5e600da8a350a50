"""The durable store tier: every key, in LMDB under ``data_dir``.

Writes are buffered in memory and committed together (group commit) at most
``commit_interval`` seconds after the first one, so a crash of the process
loses at most that window.  ``fsync`` says when commits reach the disk itself:
``everysec`` (the default, like Redis' ``appendfsync everysec``) flushes at
most a second after a commit, so an operating-system crash or power loss may
lose that second -- and, LMDB warns, may damage the file, since the kernel may
write pages out of order; ``commit`` flushes every commit's data pages (LMDB's
meta page without its own flush: an OS crash may undo the last commit, never
damage the file).

Where commits run follows from that: with ``everysec`` on the reactor thread,
the once-a-second flush on a thread of its own; with ``commit`` on a writer
thread (``ThreadWriter``), so the reactor never waits for a flush.  Reads run on
the reactor thread in a read transaction (LMDB readers never wait for the
writer) and see the buffered and in-flight writes first, so a reader never
notices the delay.

Each write gets a position, ``seq``, strictly increasing in this store; the
``seq`` table lets replication read "changes since position N".  Deletes are
tombstones (a record without a value) until ``collect_tombstones`` removes
them.  A write to a key that makes its hash's ``cleared`` newer (a ``DEL``, a
``SET``, an expiry) removes the fields written before it, in the same
transaction.

The store is four classes, each in a module of its own:

- ``Store`` (here), the one the rest of geolru uses: the store's lifecycle (open,
  close, the lock, the format version), its identity and positions, the write
  buffer with group commit and fsync, the commit job, and the reads.  The hot
  paths (``put``, ``get``, the commit job) run in it and in ``RowWriter``.
- ``RowWriter`` (``geolru.store.rows``): the rows one write transaction changes,
  with the fewest LMDB calls a record allows.
- ``FieldIndex`` (``geolru.store.fields``): the ``fields`` table as hashes --
  reading a hash's fields with its buffered writes merged in, and dropping those
  a write to the key cleared.
- ``TombstoneCollector`` (``geolru.store.tombstones``): collecting tombstones, and
  what it must remember to do that (``collected_upto``, a floor below which none
  is left).

The tables and how keys are stored in them: ``geolru.store.layout``.  Why LMDB and
not SQLite, why commits run where they do, and what each choice measured:
docs/store.md.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

import attrs
import lmdb
from twisted.internet import defer
from twisted.logger import Logger

from geolru.common.collaborators import DelayedCall
from geolru.model import hashkeys, listpos
from geolru.model.hashkeys import is_field
from geolru.model.record import (
    HAS_DEADLINE,
    HAS_VALUE,
    HEADER,
    NOT_PLAIN,
    Record,
    decode,
    header_fields,
)
from geolru.store.fields import FieldIndex
from geolru.store.filesystems import overwrites_in_place
from geolru.store.layout import (
    FORMAT,
    FORMAT_NAME,
    POSITION,
    due_key,
    place,
    stored_key,
)
from geolru.store.rows import RowWriter
from geolru.store.stale import SWEEP_AT, StaleRows
from geolru.store.tables import Tables
from geolru.store.tombstones import TombstoneCollector
from geolru.store.writers import InlineWriter, ThreadWriter, Writer

MAX_PENDING = 5_000  # buffered writes before a write waits for the disk
SCAN_SKIPS = 10_000  # rows of the position index (stale, or a collection's elements)
# one SCAN call walks past beyond its COUNT at most: it returns its cursor there
_unpack_header, HEADER_SIZE = HEADER.unpack_from, HEADER.size
NO_STAMP = (-1, 0, False)  # ``plain_stamp`` of a key with no record
ABSENT_KEYS = 65_536  # missing keys remembered, so repeated misses cost no lookup
FSYNC_INTERVAL = 1.0  # seconds: fsync="everysec" flushes at most this long after a commit
SEQ_NAME = b"store_seq"  # meta: the highest position ever given out
# meta: positions below this may have been handed out (and sent to peers) without
# being committed; a store opened after a crash starts above it, so a position a
# peer has seen never names another write
RESERVED_NAME = b"store_reserved"
RESERVE_BLOCK = 1 << 20  # positions reserved at a time (renewed half-way through)
NEWEST_NAME = b"newest_version"  # meta: the newest version any record here has had


class StoreError(Exception):
    """The store cannot be opened or written (disk full, read-only, corrupt, a
    format this geolru does not read)."""


def check_format(txn, tables: Tables, path: str) -> None:
    """Refuse a folder of a newer store format; mark an older one (or a new one)
    with ``FORMAT``.  First in the opening transaction, so nothing is written to a
    folder it refuses."""
    raw = txn.get(FORMAT_NAME, db=tables.meta)
    try:
        found = 0 if raw is None else int(raw)
    except ValueError:
        raise StoreError(f"cannot open store {path}: its store format is unreadable "
                         f"({raw!r})") from None
    if found > FORMAT:
        raise StoreError(f"cannot open store {path}: this data folder is store format "
                         f"{found}; this geolru reads format {FORMAT} and older: "
                         "upgrade geolru")
    if found < FORMAT:  # format 0 (no key: the release before formats) has this layout
        txn.put(FORMAT_NAME, b"%d" % FORMAT, db=tables.meta)


@attrs.define(eq=False)
class Store:
    """One region's store: its lifecycle, positions, write buffer, group commit and
    fsync, commit job, and reads (hash fields and tombstone collection are parts of
    their own: ``FieldIndex``, ``TombstoneCollector``)."""

    path: str  # a directory
    _reactor: Any  # the reactor: its clock, and its threads for the commit thread
    commit_interval: float = 0.010
    threaded: bool = True  # False: no thread at all (deterministic tests with task.Clock)
    fsync: str = "everysec"  # or "commit"
    # where the commit and other jobs run, if not where the store would choose: a
    # simulator's disk that takes time, stalls or fills (tests/simulation)
    make_writer: Callable[[], Writer] | None = attrs.field(default=None, kw_only=True)
    # stale ``seq`` rows gathered before a sweep (``geolru.store.stale``; the simulator
    # sweeps after a few, so that its runs sweep)
    stale_sweep_at: int = attrs.field(default=SWEEP_AT, kw_only=True)
    log = Logger()
    seq: int = attrs.field(default=0, init=False)
    commits: int = attrs.field(default=0, init=False)
    slowest_commit: float = attrs.field(default=0.0, init=False)
    failed_commits: int = attrs.field(default=0, init=False)
    failure: str | None = attrs.field(default=None, init=False)  # why the last commit failed
    _opened: bool = attrs.field(default=False, init=False)
    _lock_file: IO | None = attrs.field(default=None, init=False)  # held while open
    _tables_: Tables | None = attrs.field(default=None, init=False)
    _writer: Writer | None = attrs.field(default=None, init=False)  # commits, other jobs
    _flusher: Writer | None = attrs.field(default=None, init=False)  # fsync=everysec flushes
    store_id: str = attrs.field(default="", init=False)  # new for every new (or wiped) store
    _pending: dict = attrs.field(factory=dict, init=False)  # key -> (Record, seq)
    _pending_meta: dict = attrs.field(factory=dict, init=False)  # committed with the next batch
    listeners: list = attrs.field(factory=list, init=False)  # callables(key, record, seq)
    bulk_listeners: list = attrs.field(factory=list, init=False)  # callables(): many changed
    _inflight: list = attrs.field(factory=list, init=False)  # batches being committed
    # keys a lookup found missing (most recent last): every record is written through
    # put(), which forgets the key here, so an entry is never stale
    _absent: OrderedDict = attrs.field(factory=OrderedDict, init=False)
    _inflight_meta: int = attrs.field(default=0, init=False)  # meta values being committed
    # keys queued for expiry -> their tombstones: what a read finds until the job
    # has written them (a clock stepped back must not bring the value back)
    _expiring: dict = attrs.field(factory=dict, init=False)
    _failed_expirations: list = attrs.field(factory=list, init=False)
    _commit_call: DelayedCall | None = attrs.field(default=None, init=False)  # next commit()
    _fsync_call: DelayedCall | None = attrs.field(default=None, init=False)  # next flush
    # expirations whose job failed, written again a second later
    _expiry_retry: DelayedCall | None = attrs.field(default=None, init=False)
    # the reactor thread's read transaction
    _read: lmdb.Transaction | None = attrs.field(default=None, init=False)
    last_fsync: float = attrs.field(default=0.0, init=False)  # reactor time
    _pending_first: int = attrs.field(default=0, init=False)  # lowest position in _pending
    # Deferreds of committed(): those waiting for what is buffered, and for each batch
    # in flight (by id) those that wait for it
    _pending_waiters: list = attrs.field(factory=list, init=False)
    _inflight_waiters: dict = attrs.field(factory=dict, init=False)
    # LMDB writes through its memory map (see ``Tables``): with fsync="everysec"
    # (commits on the reactor thread, which grows the map), on a filesystem where
    # reserved blocks stay reserved; decided by ``open``
    writemap: bool = attrs.field(default=False, init=False)
    _reserved: int = attrs.field(default=0, init=False)  # see RESERVED_NAME
    committed_seq: int = attrs.field(default=0, init=False)  # positions committed up to it
    # the newest version written here: a clock restarted behind it (a crash, a clock
    # set back) starts above it, so a new write is never older than one it replaced
    newest_version: int = attrs.field(default=0, init=False)
    # while a transaction (EXEC) writes: its id, which the writes' listeners read,
    # so that replication keeps them together (geolru.replication.sender)
    unit: int | None = attrs.field(default=None, init=False)
    # the kinds of element (``hashkeys.ELEMENT_MARKS``) ever stored here: a write to a
    # key looks for elements to remove of these kinds only (none: it need not look)
    element_marks: tuple = attrs.field(default=(), init=False)
    # a collection's key -> {identity: position} of its elements written and perhaps
    # not committed yet (pruned at each commit): a collection whose elements are all
    # committed is read without the buffers, and one with buffered elements looks up
    # those only (not every buffered write)
    _element_writes: dict = attrs.field(factory=dict, init=False)
    _field_index: FieldIndex = attrs.field(
        default=attrs.Factory(FieldIndex, takes_self=True), init=False)
    _collector: TombstoneCollector = attrs.field(
        default=attrs.Factory(TombstoneCollector, takes_self=True), init=False)
    # the ``seq`` rows moved records left behind, swept later (``geolru.store.stale``)
    _stale: StaleRows = attrs.field(factory=StaleRows, init=False)

    @property
    def writer(self):
        """Where commits run: a writer thread when each one is flushed to the disk
        (fsync="commit"), else the calling thread (a commit without a flush costs
        less than handing the GIL to a thread and back: docs/store.md)."""
        if self._writer is None:
            _ = self.tables  # opened here, on the reactor thread, before a job runs elsewhere
            threaded = self.threaded and self.fsync == "commit"
            if self.make_writer is not None:
                self._writer = self.make_writer()
            else:
                self._writer = ThreadWriter(self._reactor) if threaded else InlineWriter()
        return self._writer

    @property
    def tables(self) -> Tables:
        # opened on first use: twistd forks to daemonize after the service is built,
        # and LMDB must not be used across a fork (nor a thread started before it)
        if self._tables_ is None:
            if not self._opened:
                raise StoreError(f"store {self.path} is not open")
            self._tables_ = Tables(self.path, sync=self.fsync == "commit",
                                   writemap=self.writemap)
        return self._tables_

    @property
    def pending(self) -> int:
        """Writes (and replication positions) acknowledged but not yet committed."""
        return (len(self._pending) + len(self._pending_meta) + self._inflight_meta
                + sum(len(batch) for batch in self._inflight))

    @property
    def collected_upto(self) -> int:
        """Tombstones at positions up to this may have been collected: a peer that
        asks for changes after an earlier position would miss deletes (it was
        forgotten, or restored from an old copy)."""
        return self._collector.collected_upto

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open (or create) the store, check (or upgrade) its format, read its
        identity and position, and close the files again until first use;
        ``StoreError`` says why it cannot."""
        try:
            os.makedirs(self.path, exist_ok=True)
            self._lock()
            tables = Tables(self.path)
            try:
                with tables.env.begin(write=True) as txn:
                    check_format(txn, tables, self.path)
                    self._read_state(txn, tables)
            finally:
                tables.close()
        except (OSError, lmdb.Error) as e:
            self._unlock()
            raise StoreError(f"cannot open store {self.path}: {e}") from e
        except StoreError:
            self._unlock()
            raise
        self._opened = True
        self.writemap = self.fsync == "everysec" and overwrites_in_place(self.path)
        # the writer thread starts on first use too, for the same reason
        self._writer = self._flusher = None

    def _read_state(self, txn, tables: Tables) -> None:
        """The store's identity and positions (and its parts' state), in the opening
        transaction; a new store gets its identity here."""
        store_id = txn.get(b"store_id", db=tables.meta)
        if store_id is None:
            store_id = uuid.uuid4().hex.encode()
            txn.put(b"store_id", store_id, db=tables.meta)
        self.store_id = store_id.decode()
        top = int(txn.get(SEQ_NAME, b"0", db=tables.meta))
        cursor = txn.cursor(db=tables.seq)
        if cursor.last():
            top = max(top, POSITION.unpack(cursor.key())[0])
        reserved = int(txn.get(RESERVED_NAME, b"0", db=tables.meta))
        self.seq = max(top, reserved)
        self.committed_seq = top
        self.newest_version = int(txn.get(NEWEST_NAME, b"0", db=tables.meta))
        self._reserved = self.seq + RESERVE_BLOCK
        txn.put(RESERVED_NAME, b"%d" % self._reserved, db=tables.meta)
        cursor = txn.cursor(db=tables.fields)
        self.element_marks = hashkeys.marks_in({
            first for first in range(8)
            if cursor.set_range(bytes((first,))) and cursor.key()[0] == first})
        self._collector.opened(txn, tables)
        self._stale = StaleRows(self.stale_sweep_at)
        self._stale.opened(txn, tables)

    def _lock(self) -> None:
        """One process per store: two regions given the same ``data_dir`` would
        hand out the same positions.  The lock is on an open file, so it passes
        to twistd's daemonized child and goes when the last holder exits."""
        lock_file = open(os.path.join(self.path, "geolru.lock"), "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise StoreError(f"store {self.path} is in use by another process "
                             "(two regions with the same data_dir?)") from None
        self._lock_file = lock_file

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the lock
            self._lock_file = None

    def close(self) -> None:
        """Commit what is buffered, flush the file to disk, and let go of it."""
        if not self._opened:
            return
        self.commit_and_wait()
        try:  # every position handed out is committed: the next open need not skip any
            if self.failure is None and not self._pending:
                self.write_transaction(self._closing_rows)
        except StoreError as e:
            self.log.error("store close: {error}", error=str(e))
        self._release(fsync=True)

    def _closing_rows(self, txn, tables: Tables) -> None:
        """The last transaction: the stale rows known go (the next open need not look
        for them), and the reservation of positions with them."""
        self._stale.sweep_all(txn, tables)
        txn.put(RESERVED_NAME, b"%d" % self.seq, db=tables.meta)

    def abandon(self) -> None:
        """Close as ``kill -9`` would: what is not committed is lost (for the
        simulator's crashes; a region closes with ``close``)."""
        if not self._opened:
            return
        self._pending.clear()
        self._pending_meta.clear()
        self._release(fsync=False)

    def _release(self, fsync: bool) -> None:
        """Stop the timers and writers, close the files (flushing them to disk
        first if ``fsync``), let go of the lock."""
        for call in (self._commit_call, self._fsync_call, self._expiry_retry):
            if call is not None and call.active():
                call.cancel()
        self._commit_call = self._fsync_call = self._expiry_retry = None
        self._expiring.clear()  # (a store opened again finds what its rows say)
        self._failed_expirations.clear()
        for writer in (self._writer, self._flusher):
            if writer is not None:
                writer.stop()
        self._renew_reader()
        if self._tables_ is not None:
            if fsync:
                self._tables_.flush_to_disk()
            self._tables_.close()
            self._tables_ = None
        self._unlock()
        self._opened = False

    # ------------------------------------------------------------ reads

    def first_buffered(self) -> int | None:
        """The lowest position still in the write buffer (not committed), or None."""
        return self._pending_first if self._pending else None

    def reader(self):
        """The reactor thread's read transaction, kept until the writer changes the
        file (``_renew_reader``): one begin per commit instead of one per read."""
        read = self._read
        if read is None:
            read = self._read = self.tables.env.begin()
        return read

    def _renew_reader(self, result=None):
        """Called on the reactor thread when a writer job has ended: later reads
        must see what it wrote (its batch is no longer in ``_inflight``)."""
        if self._read is not None:
            self._read.abort()
            self._read = None
        return result

    def get(self, key: bytes) -> Record | None:
        buffered = self._buffered(key)
        if buffered is not None:
            if listpos.is_run_identity(key):
                return self._run_as_committed(key, buffered[0])
            return buffered[0]
        if self._expiring and key in self._expiring:
            return self._expiring[key]
        absent = self._absent
        if key in absent:
            return None
        read = self.reader()  # (opens the tables on first use)
        stored, table, _ = place(self._tables_, key)
        raw = read.get(stored, db=table)
        if raw is None:
            absent[key] = None  # the next miss on this key costs no lookup
            if len(absent) > ABSENT_KEYS:
                absent.popitem(last=False)
            return None
        return decode(raw)[1]

    def plain_stamp(self, key: bytes, origins: tuple) -> tuple[int, int, bool] | None:
        """(version, position, whether its origin is one of ``origins``) of ``key``'s
        record (a key's own identity, not an element's) when it is a plain one (a
        value or a tombstone), ``NO_STAMP`` when there is none, None for any other (a
        counter, a header): what a peer's plain record is merged against, read
        without decoding the record.  ``origins`` holds each name as a ``str`` and as
        its encoded ``bytes``."""
        buffered = self._buffered(key)
        if buffered is not None:
            record = buffered[0]
            if record.counter is None and record.hash_meta is None:
                return record.version, buffered[1], record.origin in origins
            return None
        if self._expiring and key in self._expiring:
            record = self._expiring[key]
            return record.version, self.position_of(key) or 0, record.origin in origins
        if key in self._absent:
            return NO_STAMP
        raw = self.reader().get(stored_key(key), db=self._tables_.kv)
        if raw is None:
            return NO_STAMP
        seq, version, _, flags, origin_len, _ = _unpack_header(raw)
        if flags & NOT_PLAIN:
            return None
        return version, seq, raw[HEADER_SIZE:HEADER_SIZE + origin_len] in origins

    def position_of(self, key: bytes) -> int | None:
        """The position of ``key``'s record (an identity), None if it has none."""
        buffered = self._buffered(key)
        if buffered is not None:
            return buffered[1]
        stored, table, _ = place(self.tables, key)
        raw = self.reader().get(stored, db=table)
        return None if raw is None else header_fields(raw)[0]

    @property
    def stale_rows(self) -> int:
        """``seq`` rows that moved records left, known and not yet swept."""
        return self._stale.pending

    @property
    def checking_stale_rows(self) -> bool:
        """Whether the commits are still checking the index for the stale rows a
        crash left (``StaleRows.verify``)."""
        return self._stale.verify_from is not None

    def tombstones(self) -> int:
        """Committed tombstones not yet collected (of keys and of fields)."""
        return self._collector.count()

    def fields(self, key: bytes, start: bytes = b"", mark: bytes = hashkeys.FIELD_MARK):
        """``key``'s field records (with ``MEMBER_MARK``, its member records),
        buffered writes first, in the store's order: ``(place, field, record)``, from
        ``place`` ``start`` on.  A tombstone is one too;
        ``geolru.model.merge.field_visible`` says what a client sees.  Read in the
        reactor's read transaction: consume it before the reactor turns."""
        written = self._element_writes.get(key)
        buffered = () if written is None else [
            (identity, write) for identity in written
            if (write := self._buffered(identity)) is not None]
        return self._field_index.read(key, start, buffered, mark)

    def run_element_records(self, identity: bytes) -> list[tuple[bytes, Record]]:
        """(identity, record) of each element of the list's run ``identity`` that
        has a record of its own here (a pop's tombstone, an ``LSET``'s value)."""
        key, stem = hashkeys.parse(identity)
        found = []
        for stored, name, record in self.fields(key, stem, hashkeys.LIST_MARK):
            if not stored.startswith(stem):
                break
            if name != stem:
                found.append((hashkeys.member_id(key, name, hashkeys.LIST_MARK), record))
        return found

    def count_live(self, now_ms: int) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        self.commit_and_wait()
        tables = self.tables
        with tables.env.begin() as txn:
            keys = txn.stat(tables.kv)["entries"] - txn.stat(tables.tombs)["entries"]
            expires = txn.stat(tables.due)["entries"]
            expired = 0
            horizon = due_key(now_ms + 1, b"")
            for index_key in txn.cursor(db=tables.due).iternext(values=False):
                if index_key >= horizon:
                    break
                expired += 1
        return keys - expired, expires - expired

    def scan(self, cursor: int, count: int, now_ms: int) -> tuple[int, list[bytes]]:
        """Up to ``count`` live keys after position ``cursor``; the next cursor or 0.

        Keys are visited by their last write's position: a key written during
        the scan moves past the cursor and is met again (SCAN may repeat a key),
        and a key present throughout is met exactly once.
        """
        self.commit_and_wait()
        tables = self.tables
        keys = []
        seen = walked = 0
        with tables.env.begin() as txn:
            positions = txn.cursor(db=tables.seq)
            if positions.set_range(POSITION.pack(cursor + 1)):
                for position, key in positions.iternext():
                    walked += 1
                    if not is_field(key):
                        raw = txn.get(stored_key(key), db=tables.kv)
                        if raw is not None and raw[:8] == position:  # (not a stale row:
                            seen += 1  # geolru.store.stale)
                            if decode(raw)[1].live_at(now_ms):
                                keys.append(hashkeys.parse(key)[0])
                    if seen == count or walked == count + SCAN_SKIPS:
                        return POSITION.unpack(position)[0], keys
        return 0, keys

    def due(self, now_ms: int, limit: int) -> list[tuple[bytes, Record]]:
        """Committed live keys whose deadline has passed, soonest first.

        Keys with a newer write still buffered, or already queued for expiry,
        are left out: the write decides, and expiry is not done twice.
        """
        tables = self.tables
        due = []
        horizon = due_key(now_ms + 1, b"")
        with tables.env.begin() as txn:
            for index_key, key in txn.cursor(db=tables.due):
                if index_key >= horizon:
                    break
                if key in self._expiring or self._buffered(key) is not None:
                    continue
                raw = txn.get(index_key[POSITION.size:], db=tables.kv)
                if raw is not None:
                    due.append((key, decode(raw)[1]))
                    if len(due) == limit:
                        break
        return due

    def _run_as_committed(self, key: bytes, record: Record, txn=None) -> Record:
        """A buffered write of a list's run, joined with the run's committed row (read
        in ``txn``, or the reactor's read transaction): a tombstone collection may have
        marked an element removed there since the write was made
        (``geolru.store.tombstones``), and the element's tombstone is gone.  The
        commit joins them likewise (``RowWriter``)."""
        stored, table, _ = place(self.tables, key)
        raw = (txn or self.reader()).get(stored, db=table)
        return record if raw is None else listpos.run_join(decode(raw)[1], record)

    def _buffered(self, key: bytes):
        """(record, seq) of ``key``'s newest write not yet committed, or ``None``."""
        buffered = self._pending.get(key)
        if buffered is None:
            for batch in reversed(self._inflight):
                buffered = batch.get(key)
                if buffered is not None:
                    break
        return buffered

    def get_meta(self, name: str, default=None):
        if name in self._pending_meta:
            return self._pending_meta[name]
        tables = self.tables
        raw = self.reader().get(name.encode(), db=tables.meta)
        return default if raw is None else raw.decode()

    def changes_since(self, position: int, limit: int) -> list[tuple[int, bytes, Record]]:
        """Up to ``limit`` changes after ``position``, in order: (seq, key, record).

        Each key appears with its latest record only.  Buffered writes are
        included, so a reader that reaches ``self.seq`` has seen everything.
        """
        tables = self.tables
        changes = {}
        with tables.env.begin() as txn:
            positions = txn.cursor(db=tables.seq)
            if positions.set_range(POSITION.pack(position + 1)):
                for row, key in positions.iternext():
                    stored, table, _ = place(tables, key)
                    raw = txn.get(stored, db=table)
                    if raw is not None:
                        if raw[:8] != row:  # (the record's position, first in it)
                            continue  # a stale row: the record is further on
                        seq, record = decode(raw)
                        changes[key] = (seq, key, record)
                    if len(changes) == limit:
                        break
            # committed changes past the last one read are not in this answer;
            # buffered ones up to it are (oldest batch first, so a newer write
            # replaces an older one); a list's run, joined with its row as every
            # read of it is (``_run_as_committed``)
            horizon = max(seq for seq, _, _ in changes.values()) \
                if len(changes) == limit else self.seq
            for batch in (*self._inflight, self._pending):
                for key, (record, seq) in batch.items():
                    if position < seq <= horizon:
                        if listpos.is_run_identity(key):
                            record = self._run_as_committed(key, record, txn)
                        changes[key] = (seq, key, record)
        return sorted(changes.values(), key=lambda change: change[0])[:limit]

    # ------------------------------------------------------------ writes

    def committed(self) -> defer.Deferred:
        """Fires once everything written so far is committed (at once if it is):
        what a peer may acknowledge, since a crash loses only what is not."""
        if self._pending or self._pending_meta:
            d = defer.Deferred()
            self._pending_waiters.append(d)
            return d
        if self._inflight:
            d = defer.Deferred()
            self._inflight_waiters.setdefault(id(self._inflight[-1]), []).append(d)
            return d
        return defer.succeed(None)

    def put_meta(self, name: str, value) -> None:
        """Record ``name`` = ``value``, committed with (not before) earlier writes."""
        self._pending_meta[name] = value
        self._schedule_commit()

    def _schedule_commit(self) -> bool:
        """Start the commit-interval timer unless it runs or a commit is in flight
        (which commits again when it ends); ``True`` if it started it."""
        if self._commit_call is not None or self._inflight:
            return False
        self._commit_call = self._reactor.callLater(self.commit_interval, self.commit)
        return True

    def begin_unit(self) -> None:
        """The writes until ``end_unit`` are one transaction."""
        self.unit = self.seq + 1

    def end_unit(self) -> None:
        self.unit = None

    def put(self, key: bytes, record: Record) -> int:
        """Buffer ``record`` for the next group commit; return its position."""
        if record.version > self.newest_version:
            self.newest_version = record.version
        self.seq += 1
        pending = self._pending
        if not pending:
            self._pending_first = self.seq
        pending[key] = (record, self.seq)
        self._absent.pop(key, None)
        if self._expiring:  # (a newer write: reads find it, not the expiry's tombstone)
            self._expiring.pop(key, None)
        mark = key[:3]
        if mark in hashkeys.ELEMENT_MARKS:
            if mark not in self.element_marks:
                self.element_marks = tuple(m for m in hashkeys.ELEMENT_MARKS
                                           if m == mark or m in self.element_marks)
            collection = hashkeys.parse(key)[0]
            written = self._element_writes.get(collection)
            if written is None:
                self._element_writes[collection] = {key: self.seq}
            else:
                written[key] = self.seq
        for listener in self.listeners:
            listener(key, record, self.seq)
        if not self._schedule_commit() and len(pending) >= MAX_PENDING and self.failure is None:
            self.commit_and_wait()  # backpressure: the disk is slower than the clients
        return self.seq

    def restate(self, key: bytes, record: Record) -> None:
        """Replace ``key``'s record where it is, with no new position and no
        listener told: a fact of this region's own (whether a hash has fields
        here), not a write to replicate."""
        buffered = self._buffered(key)
        if buffered is not None:
            seq = buffered[1]
        else:
            stored, table, _ = place(self.tables, key)
            seq = header_fields(self.reader().get(stored, db=table))[0]
        if record.value is None:
            self._collector.reset_floor()  # a tombstone at an older position
        pending = self._pending
        self._pending_first = seq if not pending else min(self._pending_first, seq)
        pending[key] = (record, seq)
        self._schedule_commit()

    def expire(self, entries: list[tuple[bytes, Record, Record]]) -> None:
        """Replace expired records by their tombstones: ``(key, record, tombstone)``,
        the tombstone keeping the version of the write it ends
        (``merge.tombstone_when_expired``).

        Expiry is local (every region reaches the same deadline), so it makes
        no new position; the tombstone only stops an older write from coming
        back while it waits for ``collect_tombstones``.
        """
        expiring = self._expiring
        for key, _, tombstone in entries:
            expiring[key] = tombstone
        self._write_expirations(entries)

    def _write_expirations(self, entries: list) -> None:
        self._collector.reset_floor()  # these tombstones keep their (older) positions
        rows = [(key, record.version, record.origin, tombstone)
                for key, record, tombstone in entries]
        self._logged(self._job(self._expire_rows, rows).addCallbacks(
            self._expired, self._expiry_failed, callbackArgs=(entries,),
            errbackArgs=(entries,)))

    def _still_expiring(self, entries: list) -> list:
        """Those of ``entries`` whose tombstone no newer write has replaced (``put``)."""
        expiring = self._expiring
        return [entry for entry in entries if expiring.get(entry[0]) is entry[2]]

    def _expired(self, _, entries) -> None:
        for key, _, _ in self._still_expiring(entries):
            self._expiring.pop(key, None)

    def _expiry_failed(self, failure, entries):
        """The tombstones stay where reads find them (without them, a read would find
        the expired record itself: wide seed 3007902664), and are written again a
        second later, those no newer write has replaced meanwhile; the failure goes
        on to the log (``_logged``)."""
        self._failed_expirations.extend(entries)
        if self._expiry_retry is None:
            self._expiry_retry = self._reactor.callLater(1.0, self._retry_expirations)
        return failure

    def _retry_expirations(self) -> None:
        self._expiry_retry = None
        entries = self._still_expiring(self._failed_expirations)
        self._failed_expirations = []
        if entries:
            self._write_expirations(entries)

    def collect_tombstones(self, upto_seq: int) -> None:
        """Delete tombstones at positions ``<= upto_seq`` (acknowledged by all)."""
        self._collector.collect(upto_seq)

    def delete_all(self, version: int, origin: str) -> None:
        """Turn every live key into a tombstone with ``version`` (FLUSHALL).

        The tombstones get new positions, so they replicate like any delete;
        ``bulk_listeners`` hear of it, since no ``put`` announces them one by one.
        """
        self.commit_and_wait()
        if self.failure is not None:  # (its tombstones would go after the writes that wait)
            raise StoreError(f"cannot commit to its store: {self.failure}")
        self.newest_version = max(self.newest_version, version)
        base = self.seq
        self.seq += self.tables.entries(self.tables.kv)  # a position for every record
        failed = []
        self._logged(self._job(self._delete_all, version, origin, base, self.seq)
                     .addErrback(lambda failure: failed.append(failure) or failure))
        self.commit_and_wait()
        if failed:  # (none of it was written: the positions it took stay empty)
            raise StoreError(f"cannot commit to its store: {failed[0].getErrorMessage()}")
        for listener in self.bulk_listeners:
            listener()

    def discard(self, keys: list[bytes]) -> None:
        """Remove ``keys``' records outright, leaving no tombstone and nothing to
        replicate: they moved to another shard of this region (``geolru reshard``).
        Committed when it returns."""
        self.commit_and_wait()
        self.submit(self._discard_rows, list(keys))
        self.commit_and_wait()

    def drop_meta(self, prefix: str) -> int:
        """Delete every meta value whose name starts with ``prefix``; how many."""
        self.commit_and_wait()
        names = []

        def job(txn, tables):
            cursor = txn.cursor(db=tables.meta)
            if cursor.set_range(prefix.encode()):
                for name in cursor.iternext(values=False):
                    if not name.startswith(prefix.encode()):
                        break
                    names.append(name)
            for name in names:
                txn.delete(name, db=tables.meta)
            return 0.0

        self.submit(self.write_transaction, job)
        self.commit_and_wait()
        return len(names)

    def commit(self, force: bool = False) -> None:
        """Commit every buffered write, as one transaction (on ``writer``), without
        waiting for it (nor for the disk: see ``fsync``).

        One commit runs at a time: while it runs, writes keep buffering (and
        coalescing per key) and go in the next commit, which starts as soon as
        this one ends.  ``force`` sends them at once anyway (``commit_and_wait``).
        """
        if self._commit_call is not None:
            if self._commit_call.active():
                self._commit_call.cancel()
            self._commit_call = None
        if not (self._pending or self._pending_meta) or (self._inflight and not force):
            return
        batch, self._pending = self._pending, {}
        meta, self._pending_meta = self._pending_meta, {}
        self._inflight.append(batch)
        self._inflight_meta += len(meta)
        if self._pending_waiters:
            self._inflight_waiters[id(batch)] = self._pending_waiters
            self._pending_waiters = []
        top = self.seq
        d = self.writer.submit(self._put_rows, batch, list(meta.items()), top)
        d.addBoth(self._meta_done, len(meta))
        d.addCallbacks(self._committed, self._commit_failed, callbackArgs=(batch, top),
                       errbackArgs=(batch, meta))

    def commit_and_wait(self) -> None:
        """Commit everything buffered, blocking until the commit (and every job
        before it) has run: for rare reads of the whole file, and for stopping.
        With fsync="everysec" the commit need not be on the disk yet."""
        self.commit(force=True)
        if self._writer is not None:
            try:
                self._writer.barrier()
            except TimeoutError as e:
                raise StoreError(str(e)) from None
        self._renew_reader()

    def submit(self, job, *args) -> defer.Deferred:
        """Run a housekeeping job; a failure is logged, and the next tick retries."""
        return self._logged(self._job(job, *args))

    def _job(self, job, *args) -> defer.Deferred:
        """Run a job on the writer: its Deferred fails if it did."""
        return self.writer.submit(job, *args).addBoth(self._renew_reader)

    def _logged(self, d: defer.Deferred) -> defer.Deferred:
        return d.addErrback(lambda failure: self.log.error(
            "store write failed: {error}", error=failure.getErrorMessage()))

    def save(self) -> None:
        """``SAVE``: commit everything and flush it to disk, blocking until done."""
        self.commit_and_wait()
        self.tables.flush_to_disk()
        self.last_fsync = self._reactor.seconds()

    def save_in_background(self) -> None:
        """``BGSAVE``: commit everything and flush it to disk, off the reactor."""
        self.commit(force=True)
        if self._fsync_call is not None and self._fsync_call.active():
            self._fsync_call.cancel()
        self._flush_to_disk()

    def _flush_to_disk(self) -> None:
        """fsync="everysec": make the commits of the last second survive an OS crash."""
        self._fsync_call = None
        if self._flusher is None:  # a thread of its own: the reactor never waits for it
            self._flusher = ThreadWriter(self._reactor) if self.threaded else InlineWriter()
        self._flusher.submit(self.tables.flush_to_disk).addCallbacks(
            self._flushed_to_disk, lambda failure: self.log.error(
                "store flush to disk failed: {error}", error=failure.getErrorMessage()))

    def _flushed_to_disk(self, _):
        self.last_fsync = self._reactor.seconds()

    # ------------------------------------------------------------ writer thread

    def write_transaction(self, job, *args) -> float:
        """Run ``job(txn, tables, *args)`` in one write transaction; its duration."""
        started = time.perf_counter()
        tables = self.tables
        stale = self._stale
        while True:
            stale.begin()
            try:
                with tables.env.begin(write=True) as txn:
                    job(txn, tables, *args)
                stale.commit()
                return time.perf_counter() - started
            except lmdb.MapFullError as e:
                if not tables.writemap:
                    raise StoreError(str(e)) from e
            except lmdb.Error as e:
                raise StoreError(str(e)) from e
            # writemap runs jobs on the reactor thread, where the only other
            # transaction is the reader: end it, grow the map, run the job again
            self._renew_reader()
            try:
                tables.grow()
            except (OSError, lmdb.Error) as e:
                raise StoreError(f"cannot grow the store file: {e}") from e

    def _put_rows(self, batch: dict, meta: list, top: int) -> float:
        """The commit job: ``batch``'s records and ``meta``'s values, and ``top``."""
        def job(txn, tables):
            RowWriter(txn, tables, self.element_marks, self._stale.attempt).write_batch(batch)
            self._stale.tidy(txn, tables, len(batch), self._reactor.seconds())
            for name, value in meta:
                txn.put(name.encode(), str(value).encode(), db=tables.meta)
            self._put_top(txn, tables, top)

        return self.write_transaction(job)

    def _put_top(self, txn, tables: Tables, top: int) -> None:
        """Record the highest position handed out, and keep the reservation ahead."""
        txn.put(SEQ_NAME, b"%d" % top, db=tables.meta)
        txn.put(NEWEST_NAME, b"%d" % self.newest_version, db=tables.meta)
        if top > self._reserved - RESERVE_BLOCK // 2:
            self._reserved = top + RESERVE_BLOCK
            txn.put(RESERVED_NAME, b"%d" % self._reserved, db=tables.meta)

    def _expire_rows(self, rows: list) -> float:
        def job(txn, tables):
            writer = RowWriter(txn, tables, self.element_marks, self._stale.attempt)
            for key, version, origin, tombstone in rows:
                raw = txn.get(stored_key(key), db=tables.kv)
                if raw is None:
                    continue
                seq, record = decode(raw)
                if record.value is not None and (record.version, record.origin) == (
                        version, origin):
                    writer.replace(key, tombstone, seq)
            writer.flush()

        return self.write_transaction(job)

    def _discard_rows(self, keys: list[bytes]) -> float:
        def job(txn, tables):
            for key in keys:
                stored, table, tombs = place(tables, key)
                old = txn.get(stored, db=table)
                if old is None:
                    continue
                old_seq, _, deadline, flags = header_fields(old)
                position = POSITION.pack(old_seq)
                txn.delete(position, db=tables.seq)
                if not flags & HAS_VALUE:
                    txn.delete(position, db=tombs)
                elif flags & HAS_DEADLINE and table is not tables.fields:
                    txn.delete(due_key(deadline, stored), db=tables.due)
                txn.delete(stored, db=table)

        return self.write_transaction(job)

    def _delete_all(self, version: int, origin: str, base: int, top: int) -> float:
        def job(txn, tables):
            live, stale = [], []  # (it reads every row: the stale ones go too)
            for position, key in txn.cursor(db=tables.seq):
                stored, table, _ = place(tables, key)
                raw = txn.get(stored, db=table)
                if raw is None or raw[:8] != position:
                    stale.append(position)
                elif table is tables.kv and header_fields(raw)[3] & HAS_VALUE:
                    live.append(key)
            tombstone = Record(None, None, version, origin)
            writer = RowWriter(txn, tables, self.element_marks, stale)
            for offset, key in enumerate(live, 1):
                writer.replace(key, tombstone, base + offset)
            writer.flush()
            self._stale.delete_all(txn, tables, stale)
            self._put_top(txn, tables, top)

        return self.write_transaction(job)

    # ------------------------------------------------------------ commit results

    def _meta_done(self, result, count: int):
        self._inflight_meta -= count
        return result

    def _drop_inflight(self, batch: dict) -> None:
        self._inflight = [b for b in self._inflight if b is not batch]

    def _committed(self, elapsed: float, batch: dict, top: int) -> None:
        # every position up to committed_seq is committed: not past a batch that
        # failed and waits in the buffer again (a forced commit after it succeeded)
        self.committed_seq = max(self.committed_seq, min(
            top, self._pending_first - 1 if self._pending else top))
        if self._element_writes:
            self._element_writes = self._uncommitted_elements()
        self._renew_reader()
        self._drop_inflight(batch)
        for d in self._inflight_waiters.pop(id(batch), ()):
            d.callback(None)
        self.commits += 1
        if self.failure is not None:
            self.log.info("store writable again; {n} buffered writes committed", n=len(batch))
            self.failure = None
        if elapsed > self.slowest_commit:
            self.slowest_commit = elapsed
        if self.fsync == "everysec" and self._fsync_call is None:
            self._fsync_call = self._reactor.callLater(FSYNC_INTERVAL, self._flush_to_disk)
        if (self._pending or self._pending_meta) and self._commit_call is None:
            # what arrived during the commit (a write, or only a replication position)
            # has waited long enough already
            self._commit_call = self._reactor.callLater(0, self.commit)

    def _uncommitted_elements(self) -> dict:
        """``_element_writes`` without the writes committed since."""
        committed = self.committed_seq
        kept = {}
        for key, written in self._element_writes.items():
            left = {identity: seq for identity, seq in written.items() if seq > committed}
            if left:
                kept[key] = left
        return kept

    def _commit_failed(self, failure, batch: dict, meta: dict) -> None:
        """Keep the writes (newer buffered ones win) and retry in a second."""
        self.log.error("store commit of {n} writes failed, retrying: {error}",
                       n=len(batch), error=failure.getErrorMessage())
        self._drop_inflight(batch)
        # its waiters wait for the retry, which carries their writes
        self._pending_waiters[:0] = self._inflight_waiters.pop(id(batch), [])
        # a key written again since, in a later batch still in flight (a forced commit
        # while this one ran) or in the buffer, keeps only that newer write: buffered
        # ahead of it, this one would hide it from reads, and win over it at the retry
        later = self._inflight
        kept = {key: write for key, write in batch.items()
                if key not in self._pending and not any(key in b for b in later)}
        kept.update(self._pending)
        batch = self._pending = kept
        meta.update(self._pending_meta)
        self._pending_meta = meta
        self._pending_first = min((seq for _, seq in batch.values()), default=0)
        self._collector.reset_floor()  # its tombstones are not where collection thought
        self.failed_commits += 1
        self.failure = failure.getErrorMessage()
        if self._commit_call is None:
            self._commit_call = self._reactor.callLater(1.0, self.commit)
