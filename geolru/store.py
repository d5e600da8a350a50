"""The durable store tier: every live key, in SQLite (WAL) under ``data_dir``.

Writes are buffered in memory and committed together (group commit) at most
``commit_interval`` seconds after the first one, so a crash loses at most that
window.  Commits run on one writer thread (``ThreadWriter``), so SQLite's page
writes and WAL checkpoints never hold the reactor; reads run on the reactor
thread and see the buffered and in-flight writes first, so a reader never
notices the delay.

Each write gets a position, ``seq``, strictly increasing in this store; the
``kv_seq`` index lets replication read "changes since position N".  Deletes
are tombstones (``value IS NULL``) until ``collect_tombstones`` removes them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict

import attrs
from twisted.internet import defer, threads
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key      BLOB NOT NULL UNIQUE,
    value    BLOB,              -- NULL: tombstone
    deadline INTEGER,           -- unix ms, NULL: no expiry
    version  INTEGER NOT NULL,  -- hybrid logical clock timestamp
    origin   TEXT NOT NULL,     -- region that made this version
    seq      INTEGER NOT NULL,  -- position in this store's change stream
    counter  TEXT               -- PN-counter state (geolru.merge.Counter), NULL: plain
);
CREATE INDEX IF NOT EXISTS kv_seq ON kv(seq);
CREATE INDEX IF NOT EXISTS kv_due ON kv(deadline)
    WHERE deadline IS NOT NULL AND value IS NOT NULL;
CREATE INDEX IF NOT EXISTS kv_tombstones ON kv(seq) WHERE value IS NULL;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value);
"""

UPSERT = """
INSERT INTO kv (key, value, deadline, version, origin, seq, counter)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, deadline = excluded.deadline,
    version = excluded.version, origin = excluded.origin, seq = excluded.seq,
    counter = excluded.counter
"""
EXPIRE = "UPDATE kv SET value = NULL WHERE key = ? AND version = ? AND origin = ?"
COLLECT = "DELETE FROM kv WHERE value IS NULL AND seq <= ?"
DELETE_ALL = """UPDATE kv SET value = NULL, deadline = NULL, counter = NULL, version = ?,
    origin = ?, seq = ? + rowid WHERE value IS NOT NULL"""
MAX_PENDING = 5_000  # buffered writes before a write waits for the disk
ABSENT_KEYS = 65_536  # missing keys remembered, so repeated misses cost no query


@attrs.frozen(slots=True)
class Record:
    """One key's whole state: what replicates and what last-writer-wins compares."""

    value: bytes | None  # None: deleted (tombstone)
    deadline: int | None  # unix ms
    version: int
    origin: str
    counter: str | None = None  # a PN-counter's state, see geolru.merge

    def live_at(self, now_ms: int) -> bool:
        return self.value is not None and (self.deadline is None or self.deadline > now_ms)


class StoreError(Exception):
    """The store cannot be opened or written (disk full, read-only, corrupt)."""


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA cache_size=-16000")
    db.execute("PRAGMA journal_size_limit=67108864")  # truncate the WAL back to 64 MB
    return db


class ThreadWriter:
    """Runs store jobs one at a time, in order, on a dedicated thread.

    SQLite's automatic WAL checkpoints run in this thread too, inside a
    commit: they lengthen that commit (see ``slowest_commit``), never a
    reactor turn.
    """

    def __init__(self, reactor):
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="geolru-store-writer")
        self._pool.start()

    def submit(self, job, *args) -> defer.Deferred:
        return threads.deferToThreadPool(self._reactor, self._pool, job, *args)

    def barrier(self, timeout: float = 30.0) -> None:
        """Block until every job submitted so far has run (for rare, exact reads)."""
        done = threading.Event()
        self._pool.callInThread(done.set)
        if not done.wait(timeout):
            raise StoreError(f"store writer did not catch up within {timeout}s")

    def stop(self) -> None:
        self._pool.stop()


class InlineWriter:
    """Runs store jobs at once on the calling thread: for tests with ``task.Clock``."""

    def submit(self, job, *args) -> defer.Deferred:
        try:
            return defer.succeed(job(*args))
        except Exception:
            return defer.fail()

    def barrier(self, timeout: float = 30.0) -> None:
        pass

    def stop(self) -> None:
        pass


@attrs.define(eq=False)
class Store:
    path: str
    _reactor: object
    commit_interval: float = 0.010
    threaded: bool = True  # False: commit on the calling thread (deterministic tests)
    log = Logger()
    seq: int = attrs.field(default=0, init=False)
    commits: int = attrs.field(default=0, init=False)
    slowest_commit: float = attrs.field(default=0.0, init=False)
    failed_commits: int = attrs.field(default=0, init=False)
    failure: str | None = attrs.field(default=None, init=False)  # why the last commit failed
    _db: sqlite3.Connection | None = attrs.field(default=None, init=False)  # reads
    _writer_db: sqlite3.Connection | None = attrs.field(default=None, init=False)
    _writer: object = attrs.field(default=None, init=False)
    store_id: str = attrs.field(default="", init=False)  # new for every new (or wiped) store
    _pending: dict = attrs.field(factory=dict, init=False)  # key -> (Record, seq)
    _pending_meta: dict = attrs.field(factory=dict, init=False)  # committed with the next batch
    listeners: list = attrs.field(factory=list, init=False)  # callables(key, record, seq)
    bulk_listeners: list = attrs.field(factory=list, init=False)  # callables(): many changed
    _inflight: list = attrs.field(factory=list, init=False)  # batches being committed
    # keys a query found missing (most recent last): every row is inserted through
    # put(), which forgets the key here, so an entry is never stale
    _absent: OrderedDict = attrs.field(factory=OrderedDict, init=False)
    _inflight_meta: int = attrs.field(default=0, init=False)  # meta values being committed
    _expiring: set = attrs.field(factory=set, init=False)  # keys queued for expiry
    _flush_call: object = attrs.field(default=None, init=False)

    @property
    def writer(self):
        if self._writer is None:
            self._writer = ThreadWriter(self._reactor)
        return self._writer

    @property
    def pending(self) -> int:
        """Writes (and replication positions) acknowledged but not yet committed."""
        return (len(self._pending) + len(self._pending_meta) + self._inflight_meta
                + sum(len(batch) for batch in self._inflight))

    def open(self) -> None:
        directory = os.path.dirname(self.path)
        try:
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._writer_db = connect(self.path)
            self._writer_db.executescript(SCHEMA)
            columns = [c[1] for c in self._writer_db.execute("PRAGMA table_info(kv)")]
            if "counter" not in columns:  # stores made before counters replicated
                self._writer_db.execute("ALTER TABLE kv ADD COLUMN counter TEXT")
            row = self._writer_db.execute(
                "SELECT value FROM meta WHERE name = 'store_id'").fetchone()
            if row is None:
                row = (uuid.uuid4().hex,)
                self._writer_db.execute(
                    "INSERT INTO meta (name, value) VALUES ('store_id', ?)", row)
            self.store_id = row[0]
            self._db = connect(self.path)
            self.seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM kv").fetchone()[0]
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open store {self.path}: {e}") from e
        # the writer thread starts on first use: twistd forks to daemonize after the
        # service is built, and a thread started before the fork would not exist after it
        self._writer = None if self.threaded else InlineWriter()

    def close(self) -> None:
        if self._db is None:
            return
        self.sync()
        if self._writer is not None:
            self._writer.stop()
        self._writer_db.close()
        self._db.close()
        self._db = None

    # ------------------------------------------------------------ reads

    def get(self, key: bytes) -> Record | None:
        buffered = self._buffered(key)
        if buffered is not None:
            return buffered[0]
        absent = self._absent
        if key in absent:
            return None
        row = self._db.execute(
            "SELECT value, deadline, version, origin, counter FROM kv WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            absent[key] = None  # the next miss on this key costs no query
            if len(absent) > ABSENT_KEYS:
                absent.popitem(last=False)
            return None
        return Record(*row)

    def count_live(self, now_ms: int) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        self.sync()
        keys = self._db.execute(
            "SELECT COUNT(*) FROM kv WHERE value IS NOT NULL").fetchone()[0]
        expired, expires = self._db.execute(
            "SELECT COALESCE(SUM(deadline <= ?), 0), COUNT(*) FROM kv"
            " WHERE deadline IS NOT NULL AND value IS NOT NULL", (now_ms,)).fetchone()
        return keys - expired, expires - expired

    def scan(self, cursor: int, count: int, now_ms: int) -> tuple[int, list[bytes]]:
        """Up to ``count`` live keys after ``cursor`` (a rowid); the next cursor or 0."""
        self.sync()
        rows = self._db.execute(
            "SELECT rowid, key, value IS NOT NULL AND (deadline IS NULL OR deadline > ?)"
            " FROM kv WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (now_ms, cursor, count)).fetchall()
        keys = [key for _, key, live in rows if live]
        next_cursor = rows[-1][0] if len(rows) == count else 0
        return next_cursor, keys

    def due(self, now_ms: int, limit: int) -> list[tuple[bytes, Record]]:
        """Committed live keys whose deadline has passed, soonest first.

        Keys with a newer write still buffered, or already queued for expiry,
        are left out: the write decides, and expiry is not done twice.
        """
        rows = self._db.execute(
            "SELECT key, value, deadline, version, origin, counter FROM kv"
            " WHERE deadline IS NOT NULL AND value IS NOT NULL AND deadline <= ?"
            " ORDER BY deadline LIMIT ?", (now_ms, limit + len(self._expiring))).fetchall()
        due = []
        for key, *fields in rows:
            if key in self._expiring or self._buffered(key) is not None:
                continue
            due.append((key, Record(*fields)))
            if len(due) == limit:
                break
        return due

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
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return default if row is None else row[0]

    def changes_since(self, position: int, limit: int) -> list[tuple[int, bytes, Record]]:
        """Up to ``limit`` changes after ``position``, in order: (seq, key, record).

        Each key appears with its latest record only.  Buffered writes are
        included, so a reader that reaches ``self.seq`` has seen everything.
        """
        rows = self._db.execute(
            "SELECT seq, key, value, deadline, version, origin, counter FROM kv"
            " WHERE seq > ? ORDER BY seq LIMIT ?", (position, limit)).fetchall()
        changes = {key: (seq, key, Record(*fields)) for seq, key, *fields in rows}
        # committed rows past the last one read are not in this answer; buffered ones
        # up to it are (oldest batch first, so a newer write replaces an older one)
        horizon = rows[-1][0] if len(rows) == limit else self.seq
        for batch in (*self._inflight, self._pending):
            for key, (record, seq) in batch.items():
                if position < seq <= horizon:
                    changes[key] = (seq, key, record)
        return sorted(changes.values(), key=lambda change: change[0])[:limit]

    # ------------------------------------------------------------ writes

    def put_meta(self, name: str, value) -> None:
        """Record ``name`` = ``value``, committed with (not before) earlier writes."""
        self._pending_meta[name] = value
        self._schedule_flush()

    def _schedule_flush(self) -> bool:
        """Start the commit-interval timer unless it runs or a commit is in flight
        (which flushes again when it ends); ``True`` if it started it."""
        if self._flush_call is not None or self._inflight:
            return False
        self._flush_call = self._reactor.callLater(self.commit_interval, self.flush)
        return True

    def put(self, key: bytes, record: Record) -> int:
        """Buffer ``record`` for the next group commit; return its position."""
        self.seq += 1
        pending = self._pending
        pending[key] = (record, self.seq)
        self._absent.pop(key, None)
        for listener in self.listeners:
            listener(key, record, self.seq)
        if not self._schedule_flush() and len(pending) >= MAX_PENDING and self.failure is None:
            self.sync()  # backpressure: the disk is slower than the clients
        return self.seq

    def expire(self, entries: list[tuple[bytes, Record]]) -> None:
        """Turn expired records into tombstones that keep their version.

        Expiry is local (every region reaches the same deadline), so it makes
        no new position; the tombstone only stops an older write from coming
        back while it waits for ``collect_tombstones``.
        """
        keys = [key for key, _ in entries]
        self._expiring.update(keys)
        rows = [(key, record.version, record.origin) for key, record in entries]
        self._submit(self._write_rows, EXPIRE, rows).addBoth(
            lambda _: self._expiring.difference_update(keys))

    def collect_tombstones(self, upto_seq: int) -> None:
        """Delete tombstones at positions ``<= upto_seq`` (acknowledged by all)."""
        self._submit(self._write_rows, COLLECT, [(upto_seq,)])

    def delete_all(self, version: int, origin: str) -> None:
        """Turn every live key into a tombstone with ``version`` (FLUSHALL).

        The tombstones get new positions, so they replicate like any delete;
        ``bulk_listeners`` hear of it, since no ``put`` announces them one by one.
        """
        self.sync()
        top = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM kv").fetchone()[0]
        base, self.seq = self.seq, self.seq + top
        self._submit(self._write_rows, DELETE_ALL, [(version, origin, base)])
        self.sync()
        for listener in self.bulk_listeners:
            listener()

    def flush(self, force: bool = False) -> None:
        """Send every buffered write to the writer thread, as one transaction.

        One commit runs at a time: while it runs, writes keep buffering (and
        coalescing per key) and go in the next commit, which starts as soon as
        this one ends.  ``force`` sends them at once anyway (``sync``).
        """
        if self._flush_call is not None:
            if self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
        if not (self._pending or self._pending_meta) or (self._inflight and not force):
            return
        batch, self._pending = self._pending, {}
        meta, self._pending_meta = self._pending_meta, {}
        self._inflight.append(batch)
        rows = [(key, r.value, r.deadline, r.version, r.origin, seq, r.counter)
                for key, (r, seq) in batch.items()]
        self._inflight_meta += len(meta)
        d = self.writer.submit(self._write_rows, UPSERT, rows, list(meta.items()))
        d.addBoth(self._meta_done, len(meta))
        d.addCallbacks(self._committed, self._commit_failed, callbackArgs=(batch,),
                       errbackArgs=(batch, meta))

    def sync(self) -> None:
        """Commit everything buffered, blocking until it is on disk (rare reads, stop)."""
        self.flush(force=True)
        if self._writer is not None:
            self._writer.barrier()

    def _submit(self, job, *args) -> defer.Deferred:
        """Run a housekeeping job; a failure is logged, and the next tick retries."""
        d = self.writer.submit(job, *args)
        d.addErrback(lambda failure: self.log.error(
            "store write failed: {error}", error=failure.getErrorMessage()))
        return d

    def _write_rows(self, sql: str, rows: list, meta: list = ()) -> float:
        """In the writer thread: run ``sql`` for ``rows`` (and meta) in one transaction."""
        started = time.perf_counter()
        db = self._writer_db
        try:
            db.execute("BEGIN")
            db.executemany(sql, rows)
            if meta:
                db.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", meta)
            db.execute("COMMIT")
        except sqlite3.Error as e:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(str(e)) from e
        return time.perf_counter() - started

    def _meta_done(self, result, count: int):
        self._inflight_meta -= count
        return result

    def _drop_inflight(self, batch: dict) -> None:
        self._inflight = [b for b in self._inflight if b is not batch]

    def _committed(self, elapsed: float, batch: dict) -> None:
        self._drop_inflight(batch)
        self.commits += 1
        if self.failure is not None:
            self.log.info("store writable again; {n} buffered writes committed", n=len(batch))
            self.failure = None
        if elapsed > self.slowest_commit:
            self.slowest_commit = elapsed
        if self._pending and self._flush_call is None:
            # what arrived during the commit has waited long enough already
            self._flush_call = self._reactor.callLater(0, self.flush)

    def _commit_failed(self, failure, batch: dict, meta: dict) -> None:
        """Keep the writes (newer buffered ones win) and retry in a second."""
        self.log.error("store commit of {n} writes failed, retrying: {error}",
                       n=len(batch), error=failure.getErrorMessage())
        self._drop_inflight(batch)
        batch.update(self._pending)
        self._pending = batch
        meta.update(self._pending_meta)
        self._pending_meta = meta
        self.failed_commits += 1
        self.failure = failure.getErrorMessage()
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(1.0, self.flush)
