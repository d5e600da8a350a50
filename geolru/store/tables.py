"""The store's LMDB environment: its named databases, and a map that grows safely.

``Tables`` opens the environment and its seven databases (``kv``, ``fields``,
``seq``, ``tombs``, ``field_tombs``, ``due``, ``meta``: see ``geolru.store.layout``)
and grows the memory map only over disk blocks reserved first, so a full disk fails
a commit instead of killing the process.
"""

from __future__ import annotations

import os

import lmdb

MAP_SIZE = 1 << 40  # address space reserved for the file (it grows only as written)
MIN_MAP = 1 << 20  # with writemap: the smallest map, and the smallest step it grows by
MAX_MAP_STEP = 1 << 30  # with writemap: the map doubles, by at most this much at a time


class Tables:
    """The LMDB environment and its named databases.

    ``writemap`` (fsync="everysec") makes LMDB write records straight into its
    shared memory map instead of copying each changed page into a buffer and
    writing it out at commit (what that saves: docs/store.md).  A page of the map that
    has no disk block behind it would kill the process (SIGBUS) when written on
    a full disk, so the map never goes past what ``posix_fallocate`` has
    reserved: a write transaction that finds the map full grows the file first
    (``grow``), and a disk too full for that fails the commit like any other
    write error.
    """

    def __init__(self, path: str, sync: bool = True, writemap: bool = False):
        self.writemap = writemap
        map_size = MAP_SIZE
        if writemap:  # the file is as big as the map: start at its size
            try:
                map_size = max(os.stat(os.path.join(path, "data.mdb")).st_size, MIN_MAP)
            except FileNotFoundError:
                map_size = MIN_MAP
        self.env = lmdb.open(path, map_size=map_size, max_dbs=7, sync=sync, metasync=False,
                             readahead=False, writemap=writemap)
        self.kv = self.env.open_db(b"kv")
        self.fields = self.env.open_db(b"fields")
        self.field_tombs = self.env.open_db(b"field_tombs")
        self.seq = self.env.open_db(b"seq")
        self.tombs = self.env.open_db(b"tombs")
        self.due = self.env.open_db(b"due")
        self.meta = self.env.open_db(b"meta")
        self._file = os.open(os.path.join(path, "data.mdb"), os.O_RDWR | os.O_CLOEXEC)
        if writemap:
            try:
                os.posix_fallocate(self._file, 0, self.env.info()["map_size"])
            except OSError:  # keep only the pages written already: all have blocks
                self.env.set_mapsize(1)

    def grow(self) -> None:
        """Make the map bigger, with disk blocks reserved for all of it first;
        ``OSError`` if the disk has no room.  No transaction may be open."""
        size = self.env.info()["map_size"]
        for step in (min(max(size, MIN_MAP), MAX_MAP_STEP), MIN_MAP):
            try:
                os.posix_fallocate(self._file, 0, size + step)
            except OSError as e:
                os.ftruncate(self._file, size)  # give back any part it got
                error = e
                continue
            self.env.set_mapsize(size + step)
            return
        raise error

    def flush_to_disk(self) -> None:
        """fsync the file (safe on any thread, even while the map grows)."""
        os.fdatasync(self._file)

    def entries(self, db) -> int:
        with self.env.begin() as txn:
            return txn.stat(db)["entries"]

    def close(self) -> None:
        self.env.close()
        os.close(self._file)
