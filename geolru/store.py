"""The durable store tier: every live key, in SQLite (WAL) under ``data_dir``.

Writes are buffered in memory and committed together (group commit) at most
``commit_interval`` seconds after the first one, so a crash loses at most that
window.  Reads see the buffer first, so a reader never notices the delay.

Each write gets a position, ``seq``, strictly increasing in this store; the
``kv_seq`` index lets replication read "changes since position N".  Deletes
are tombstones (``value IS NULL``) until ``collect_tombstones`` removes them.
"""

from __future__ import annotations

import os
import sqlite3
import time

import attrs
from twisted.logger import Logger

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key      BLOB NOT NULL UNIQUE,
    value    BLOB,              -- NULL: tombstone
    deadline INTEGER,           -- unix ms, NULL: no expiry
    version  INTEGER NOT NULL,  -- hybrid logical clock timestamp
    origin   TEXT NOT NULL,     -- region that made this version
    seq      INTEGER NOT NULL   -- position in this store's change stream
);
CREATE INDEX IF NOT EXISTS kv_seq ON kv(seq);
CREATE INDEX IF NOT EXISTS kv_due ON kv(deadline)
    WHERE deadline IS NOT NULL AND value IS NOT NULL;
CREATE INDEX IF NOT EXISTS kv_tombstones ON kv(seq) WHERE value IS NULL;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value);
"""

UPSERT = """
INSERT INTO kv (key, value, deadline, version, origin, seq) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, deadline = excluded.deadline,
    version = excluded.version, origin = excluded.origin, seq = excluded.seq
"""


@attrs.frozen(slots=True)
class Record:
    """One key's whole state: what replicates and what last-writer-wins compares."""

    value: bytes | None  # None: deleted (tombstone)
    deadline: int | None  # unix ms
    version: int
    origin: str

    def live_at(self, now_ms: int) -> bool:
        return self.value is not None and (self.deadline is None or self.deadline > now_ms)


class StoreError(Exception):
    """The store cannot be opened or written (disk full, read-only, corrupt)."""


@attrs.define(eq=False)
class Store:
    path: str
    _reactor: object
    commit_interval: float = 0.010
    log = Logger()
    seq: int = attrs.field(default=0, init=False)
    commits: int = attrs.field(default=0, init=False)
    slowest_commit: float = attrs.field(default=0.0, init=False)
    _db: sqlite3.Connection | None = attrs.field(default=None, init=False)
    _pending: dict = attrs.field(factory=dict, init=False)  # key -> (Record, seq)
    _flush_call: object = attrs.field(default=None, init=False)

    @property
    def pending(self) -> int:
        """Writes acknowledged but not yet committed."""
        return len(self._pending)

    def open(self) -> None:
        directory = os.path.dirname(self.path)
        try:
            if directory:
                os.makedirs(directory, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-16000")
            db.executescript(SCHEMA)
            self.seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM kv").fetchone()[0]
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open store {self.path}: {e}") from e
        self._db = db

    def close(self) -> None:
        if self._db is None:
            return
        self.flush()
        self._db.close()
        self._db = None

    # ------------------------------------------------------------ reads

    def get(self, key: bytes) -> Record | None:
        pending = self._pending.get(key)
        if pending is not None:
            return pending[0]
        row = self._db.execute(
            "SELECT value, deadline, version, origin FROM kv WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else Record(*row)

    def count_live(self, now_ms: int) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        self.flush()
        keys = self._db.execute(
            "SELECT COUNT(*) FROM kv WHERE value IS NOT NULL").fetchone()[0]
        expired, expires = self._db.execute(
            "SELECT COALESCE(SUM(deadline <= ?), 0), COUNT(*) FROM kv"
            " WHERE deadline IS NOT NULL AND value IS NOT NULL", (now_ms,)).fetchone()
        return keys - expired, expires - expired

    def scan(self, cursor: int, count: int, now_ms: int) -> tuple[int, list[bytes]]:
        """Up to ``count`` live keys after ``cursor`` (a rowid); the next cursor or 0."""
        self.flush()
        rows = self._db.execute(
            "SELECT rowid, key, value IS NOT NULL AND (deadline IS NULL OR deadline > ?)"
            " FROM kv WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (now_ms, cursor, count)).fetchall()
        keys = [key for _, key, live in rows if live]
        next_cursor = rows[-1][0] if len(rows) == count else 0
        return next_cursor, keys

    def due(self, now_ms: int, limit: int) -> list[tuple[bytes, Record]]:
        """Live keys whose deadline has passed, soonest first, at most ``limit``."""
        self.flush()
        rows = self._db.execute(
            "SELECT key, value, deadline, version, origin FROM kv"
            " WHERE deadline IS NOT NULL AND value IS NOT NULL AND deadline <= ?"
            " ORDER BY deadline LIMIT ?", (now_ms, limit)).fetchall()
        return [(row[0], Record(*row[1:])) for row in rows]

    # ------------------------------------------------------------ writes

    def put(self, key: bytes, record: Record) -> int:
        """Buffer ``record`` for the next group commit; return its position."""
        self.seq += 1
        self._pending[key] = (record, self.seq)
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(self.commit_interval, self.flush)
        return self.seq

    def expire(self, entries: list[tuple[bytes, Record]]) -> None:
        """Turn expired records into tombstones that keep their version.

        Expiry is local (every region reaches the same deadline), so it makes
        no new position; the tombstone only stops an older write from coming
        back while it waits for ``collect_tombstones``.
        """
        self._db.executemany(
            "UPDATE kv SET value = NULL WHERE key = ? AND version = ? AND origin = ?",
            [(key, record.version, record.origin) for key, record in entries])

    def collect_tombstones(self, upto_seq: int) -> int:
        """Delete tombstones at positions ``<= upto_seq`` (acknowledged by all)."""
        self.flush()
        return self._db.execute(
            "DELETE FROM kv WHERE value IS NULL AND seq <= ?", (upto_seq,)).rowcount

    def clear(self) -> None:
        self._pending.clear()
        self._db.execute("DELETE FROM kv")

    def flush(self) -> None:
        """Commit every buffered write in one transaction."""
        if self._flush_call is not None:
            if self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        rows = [(key, r.value, r.deadline, r.version, r.origin, seq)
                for key, (r, seq) in pending.items()]
        started = time.perf_counter()
        try:
            self._db.execute("BEGIN")
            self._db.executemany(UPSERT, rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            pending.update(self._pending)
            self._pending = pending  # keep them: retried at the next flush
            self._flush_call = self._reactor.callLater(1.0, self.flush)
            self.log.error("store commit of {n} writes failed: {error}", n=len(rows), error=e)
            raise StoreError(str(e)) from e
        elapsed = time.perf_counter() - started
        self.commits += 1
        if elapsed > self.slowest_commit:
            self.slowest_commit = elapsed
