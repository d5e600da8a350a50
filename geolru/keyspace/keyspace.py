"""The keyspace: one region's data, the cache tier in front of the store tier.

Reads go to the cache, then through to the store (and refill the cache).
Writes go to both, each stamped with a new hybrid-logical-clock version.
This is where "a key" means the same thing whichever tier holds it; the
command table and replication work only through it: the layers above never reach
the store but through the keyspace.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from geolru.common.collaborators import Clock
from geolru.keyspace.errors import WrongType
from geolru.keyspace.expiry import Expiry
from geolru.keyspace.hashes import HashOperations
from geolru.keyspace.lists import ListOperations
from geolru.keyspace.lru import CacheEntry, LRUCache
from geolru.keyspace.peers import PeerRecords
from geolru.keyspace.sets import SetOperations
from geolru.keyspace.zsets import ZSetOperations
from geolru.model.counters import add_registers, increment
from geolru.model.hashkeys import key_id
from geolru.model.headers import EXPIRY_ORIGIN, clear_point
from geolru.model.hlc import HybridClock
from geolru.model.merge import visible
from geolru.model.record import Record
from geolru.store.store import Store, StoreError

RANDOM_SAMPLE = 32  # keys RANDOMKEY picks among, from a random place in the store


@attrs.define(eq=False)
class Keyspace(HashOperations, SetOperations, ZSetOperations, ListOperations, PeerRecords,
               Expiry):
    """One region's keys, whatever their type, across the cache and the store: the
    read/write core here, hashes (``HashOperations``), sets (``SetOperations``), sorted
    sets (``ZSetOperations``), lists (``ListOperations``),
    peers' records (``PeerRecords``) and deadlines (``Expiry``) in modules of their
    own."""

    cache: LRUCache
    store: Store
    origin: str
    clock: Clock
    hlc: HybridClock = attrs.field(default=None)
    hits: int = attrs.field(default=0, init=False)
    misses: int = attrs.field(default=0, init=False)
    expired_keys: int = attrs.field(default=0, init=False)  # (INFO expired_keys)
    writes: int = attrs.field(default=0, init=False)
    # why this region's data must not be served (a peer found it older than deletes
    # the cluster has collected: it was forgotten), or None
    stale: str | None = attrs.field(default=None, init=False)
    syncing: bool = attrs.field(default=False, init=False)  # replication: catching up
    last_expiry_run: float | None = attrs.field(default=None, init=False)  # (Expiry)
    # told of changes no command here made: callables(key, event), event "expired" or
    # what a peer's record changed ("set", "del", "hset", "sadd", ...); only while
    # ``watch_changes`` (keyspace notifications or client tracking are on: the peers'
    # path does not look at what changed otherwise)
    change_listeners: list = attrs.field(factory=list, init=False)
    watch_changes: bool = attrs.field(default=False, init=False)
    # when a counter's value changes before its key's deadline (its base expires and
    # increments made elsewhere without it stand): key -> ms, and a heap of (ms, key)
    # (``Expiry.part_expires``); in memory only: tracking clients do not outlive
    # the process
    part_expiries: dict = attrs.field(factory=dict, init=False)
    part_expiry_heap: list = attrs.field(factory=list, init=False)
    # lists: the run the last push of this process to each end of a list made or
    # grew, which a push of one value there may grow (``geolru.keyspace.lists``):
    # (key, left) -> (stem, its count, its version, its values' bytes)
    growing_runs: dict = attrs.field(factory=dict, init=False)
    # identity -> (position, origin, version, carries, ours): a write of ours at that
    # position that a peer's record replaced here, the record that stands for it now,
    # and whether that record carries our write; a stream keeps its claims below ours
    # until that record goes (``geolru.replication.sender``).  In memory only (a WAIT
    # answers for writes its client made to this process); ``PeerRecords`` keeps it
    replaced_own: dict = attrs.field(factory=dict, init=False)
    # (position, identity) of each note, lowest first (some gone since): pruned as
    # replication says every region has our stream past them (``prune_replaced``)
    replaced_own_order: list = attrs.field(factory=list, init=False)
    own_origins: tuple = attrs.field(default=(), init=False)  # ours, and an expiry's
    own_stamps: tuple = attrs.field(default=(), init=False)  # ... and their bytes

    def __attrs_post_init__(self):
        if self.hlc is None:
            self.hlc = HybridClock(self.clock)
        self.own_origins = (self.origin, EXPIRY_ORIGIN)
        self.own_stamps = (*self.own_origins, *(name.encode() for name in self.own_origins))
        self.hlc.observe(self.store.newest_version)  # a restart never goes back in time

    def changed(self, key: bytes, event: str) -> None:
        for listener in self.change_listeners:
            listener(key, event)

    def refuse(self, why: str) -> None:
        """This region's data must not be served any more: a peer found it older than
        deletes the cluster has collected (it was forgotten, or restored from an old
        copy).  Key commands answer ``-STALE`` from now on."""
        self.stale = why

    def now_ms(self) -> int:
        return int(self.clock.seconds() * 1000)

    # ------------------------------------------------------------ reads

    def lookup(self, key: bytes) -> CacheEntry | None:
        """The live value of ``key`` (counting a keyspace hit or miss)."""
        entry = self.peek(key)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def peek(self, key: bytes) -> CacheEntry | None:
        """Like ``lookup`` without the hit/miss statistics (for writes)."""
        now_ms = self.now_ms()
        entry = self.cache.get(key, now_ms)
        if entry is not None:
            if entry.value is None:
                raise WrongType(key)
            return entry
        seen = self._stored(key, now_ms)
        if seen is None:
            return None
        self.cache.refill(key, *seen)
        return CacheEntry(*seen, 0.0)

    def _stored(self, key: bytes, now_ms: int) -> tuple | None:
        """(value, deadline) of the string ``key``'s stored record as a client sees it,
        or None; ``WrongType`` if it holds a live collection."""
        record = self.store.get(key_id(key))
        if record is not None and record.hash_meta is not None:
            if record.live_at(now_ms):
                raise WrongType(key)
            return None
        return visible(record, now_ms)

    def glance(self, key: bytes) -> CacheEntry | None:
        """Like ``peek``, touching nothing, as Redis' ``LOOKUP_NOTOUCH`` reads (``TYPE``,
        ``EXISTS``, ``TTL``, ``OBJECT``): a cached entry keeps its place and its idle
        time, and a key read from the store is not put in the cache."""
        now_ms = self.now_ms()
        entry = self.cache.untouched(key, now_ms)
        if entry is not None:
            if entry.value is None:
                raise WrongType(key)
            return entry
        seen = self._stored(key, now_ms)
        return None if seen is None else CacheEntry(*seen, 0.0)

    def kind(self, key: bytes, touch: bool = True) -> str | None:
        """``"string"``, ``"hash"``, ``"set"``, ``"zset"``, ``"list"``, or None: what
        ``key`` holds (without ``touch``, read as ``glance`` reads)."""
        try:
            return None if (self.peek(key) if touch else self.glance(key)) is None \
                else "string"
        except WrongType:
            entry = self.cache.entry(key)
            if entry is not None:
                return entry.kind
            return self.header_of(key).hash_meta.kind

    def expiry(self, key: bytes, counted: bool = False,
               touch: bool = True) -> tuple[bool, int | None]:
        """(whether ``key`` is live, its deadline or None), whatever its type; with
        ``counted``, the read counts as a keyspace hit or miss (``lookup``); without
        ``touch``, read as ``glance`` reads."""
        try:
            if touch:
                entry = self.lookup(key) if counted else self.peek(key)
            else:
                entry = self.glance(key)
                if counted:
                    if entry is None:
                        self.misses += 1
                    else:
                        self.hits += 1
        except WrongType:
            cached = None if touch else self.cache.entry(key)
            if cached is not None and cached.value is None:  # (live: ``glance`` said so)
                return True, cached.deadline
            head = self.header_of(key)
            return head is not None, None if head is None else head.deadline
        return entry is not None, None if entry is None else entry.deadline

    def record(self, key: bytes) -> Record | None:
        """``key``'s record as stored (what WATCH compares)."""
        return self.store.get(key_id(key))

    def exists(self, key: bytes, touch: bool = True) -> bool:
        return self.kind(key, touch) is not None

    # ------------------------------------------------------------ writes

    def write(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """Store ``value`` (with an absolute deadline in unix ms, or none)."""
        record = Record(value, deadline, self.hlc.now(), self.origin)
        self.store.put(key_id(key), record)  # (it removes a hash's fields: Store._replace)
        self.cache.put(key, value, deadline)
        self.writes += 1

    def increment(self, key: bytes, delta: int) -> bytes:
        """Add ``delta`` as this region's contribution to the counter at ``key``
        (whose live value the caller checked is an integer); the new value."""
        return self._contribute(key, increment, delta)

    def raise_registers(self, key: bytes, registers) -> None:
        """``PFADD``/``PFMERGE``: join ``registers`` into this region's contribution to
        the HyperLogLog at ``key`` (whose live value the caller checked is one, or
        nothing)."""
        self._contribute(key, add_registers, registers)

    def _contribute(self, key: bytes, make, amount) -> bytes:
        """Store ``make(current, version, now_ms, origin, amount)``, this region's part
        of the counter or HyperLogLog at ``key``; what a client now reads of it."""
        now_ms = self.now_ms()
        current = self.store.get(key_id(key))
        if current is not None:
            self.hlc.observe(current.version)  # (already, unless the clock went back)
            if current.hash_meta is not None:  # an emptied or expired hash: none
                current = Record(None, None, *clear_point(current))
        record = make(current, self.hlc.now(), now_ms, self.origin, amount)
        self.store.put(key_id(key), record)
        seen = visible(record, now_ms)
        self.cache.put(key, *seen)
        self.part_expires(key, record, seen)
        self.writes += 1
        return seen[0]

    def delete(self, key: bytes) -> bool:
        """Delete ``key`` (of any type); ``True`` if it was live."""
        if not self.exists(key):
            return False
        self.store.put(key_id(key), Record(None, None, self.hlc.now(), self.origin))
        self.cache.discard(key)
        self.writes += 1
        return True

    def copy(self, source: bytes, destination: bytes) -> bool:
        """Give ``destination`` what ``source`` holds (a value, a counter's value, a
        hash's fields, a set's members, a list's elements) and its deadline, replacing what it held;
        ``False`` if ``source`` holds nothing.  It replicates as the writes it makes."""
        try:
            entry = self.peek(source)
        except WrongType:  # a hash, a set, a sorted set or a list
            kind = self.kind(source)
            if kind == "list":
                elements = self.list_items(source).values()
            else:
                elements = dict(self.hash_items(source) if kind == "hash"
                                else self.set_members(source) if kind == "set"
                                else self.zset_scores(source))
            deadline = self.expiry(source)[1]
            with self.transaction():
                self.delete(destination)
                if kind == "hash":
                    self.hash_set(destination, elements)
                elif kind == "set":
                    self.set_add(destination, list(elements))
                elif kind == "list":
                    self.list_push(destination, elements, left=False)
                else:
                    self.zset_write(destination, [(m, float(s), False)
                                                  for m, s in elements.items()])
                if deadline is not None:
                    self.set_deadline(destination, deadline)
            return True
        if entry is None:
            return False
        self.write(destination, entry.value, entry.deadline)
        return True

    def rename(self, source: bytes, destination: bytes) -> bool:
        """``copy``, then delete ``source``: one unit for the peers."""
        with self.transaction():
            if not self.copy(source, destination):
                return False
            self.delete(source)
        return True

    def random_key(self) -> bytes | None:
        """A live key, picked at random (as Redis', not uniformly), or None: only when
        there is none.  From a random place in the store it reads on, past deleted and
        expired keys and a collection's elements, to the end and then from the start,
        until it has met ``RANDOM_SAMPLE`` keys' rows, some live, or the place again."""
        start = random.randrange(self.store.seq + 1)
        cursor, wrapped = start, False
        while True:
            cursor, keys = self.scan(cursor, RANDOM_SAMPLE)
            if keys:
                return random.choice(keys)
            if cursor == 0:
                if wrapped or start == 0:
                    return None
                wrapped = True
            elif wrapped and cursor >= start:
                return None

    def flush_all(self) -> str | None:
        """Delete every key, here and (as tombstones that replicate) everywhere; or,
        if the store cannot commit, nothing: why (``MISCONF``)."""
        try:
            self.store.delete_all(self.hlc.now(), self.origin)
        except StoreError as e:
            return str(e)
        self.cache.clear()
        return None

    # ------------------------------------------------------------ the whole keyspace

    def count(self) -> tuple[int, int]:
        """(live keys, live keys with a deadline)."""
        return self.store.count_live(self.now_ms())

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return self.store.scan(cursor, count, self.now_ms())

    # ------------------------------------------------------------ the store, as commands see it

    @property
    def position(self) -> int:
        """The store's newest position: a write moved it (``WAIT`` waits for it)."""
        return self.store.seq

    @property
    def write_failure(self) -> str | None:
        """Why the store cannot commit (writes are refused meanwhile), or None."""
        return self.store.failure

    @property
    def last_save(self) -> float:
        """When the store last flushed its commits to disk (``LASTSAVE``)."""
        return self.store.last_fsync

    def save(self, background: bool = False) -> None:
        """Commit every write and flush it to disk (``SAVE``; ``BGSAVE``: in the
        background)."""
        if background:
            self.store.save_in_background()
        else:
            self.store.save()

    @property
    def fsync(self) -> str:
        """When the store fsyncs: ``"commit"`` (every commit) or ``"everysec"``."""
        return self.store.fsync

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes made inside replicate as one unit (``EXEC``, ``RENAME``): a peer
        applies them all or none.  Inside another, it is part of that one."""
        if self.store.unit is not None:
            yield
            return
        self.store.begin_unit()
        try:
            yield
        finally:
            self.store.end_unit()

    def persistence_lines(self) -> list[str]:
        """``INFO persistence``: the store's state, and what Redis tooling watches
        mapped onto it (MISCONF follows the same "last save failed" state as Redis'
        bgsave error)."""
        store = self.store
        status = "ok" if store.failure is None else "err"
        return ["loading:0", f"store_path:{store.path}", f"store_seq:{store.seq}",
                f"store_pending:{store.pending}",
                f"store_commits:{store.commits}",
                f"store_commit_interval_ms:{store.commit_interval * 1000:g}",
                f"store_slowest_commit_ms:{store.slowest_commit * 1000:.3f}",
                f"store_failed_commits:{store.failed_commits}",
                f"store_writable:{int(store.failure is None)}",
                f"store_fsync:{store.fsync}",
                f"store_writemap:{int(store.writemap)}",
                f"store_last_fsync:{int(store.last_fsync)}",
                f"store_tombstones:{store.tombstones()}",
                f"store_stale_rows:{store.stale_rows}",
                f"store_stale_check:{int(store.checking_stale_rows)}",
                f"store_collected_upto:{store.collected_upto}",
                f"rdb_changes_since_last_save:{store.pending}", "rdb_bgsave_in_progress:0",
                f"rdb_last_save_time:{int(store.last_fsync)}",
                f"rdb_last_bgsave_status:{status}", "aof_enabled:0",
                "aof_rewrite_in_progress:0", f"aof_last_write_status:{status}"]
