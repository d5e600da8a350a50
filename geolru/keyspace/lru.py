"""The cache tier: an LRU bounded by entries and bytes, with idle expiry.

Pure Python and sans-IO: time comes from an injected ``IReactorTime``
(``task.Clock`` in tests).  The LRU is approximated, as Redis approximates its
``allkeys-lru``: a read or write only stamps the entry with the tick it was used in,
and eviction walks the entries as a clock's hand does, passing over those used since
the hand's pass began.  Entries sit in a plain ``dict``: no linked list to keep in
order, 73 bytes an entry less than an ``OrderedDict``, and no move on a read
(docs/store.md, step 7).  Eviction looks at ``SCAN`` entries at most, ``evict_idle``
at ``limit``: neither scans the keyspace.

Entries carry the key's absolute deadline (unix milliseconds or ``None``) so
that a read never returns an expired value; removing expired keys from the
durable store is the keyspace's job, which then calls ``discard``.
"""

from __future__ import annotations

import bisect

import attrs

from geolru.common.collaborators import Clock


@attrs.define(slots=True, weakref_slot=False, eq=False)
class CacheEntry:
    value: bytes
    deadline: int | None  # unix ms
    touched: float  # clock seconds of the last read or write, to the tick (``_tick``)


@attrs.define(slots=True, weakref_slot=False, eq=False)
class HashEntry:
    """A collection, whole (cached whole or not at all): a hash's fields and values;
    with ``kind`` "set", a set's members (each to ``b""``); "zset", a sorted set's
    members and scores; "list", a list's elements, names and values, in order
    (``geolru.keyspace.packedlist.PackedList``, kept by ``geolru.keyspace.lists``)."""

    fields: dict  # field -> value (a list: its PackedList)
    deadline: int | None
    touched: float
    kind: str = "hash"
    size: int = 0  # bytes of its fields and values
    order: list | None = None  # a sorted set's (score, member) pairs, once sorted
    value = None  # (what tells it from a CacheEntry)

    def __attrs_post_init__(self):
        self.size = self.fields.size if self.kind == "list" else sum(
            len(f) + len(v) for f, v in self.fields.items())

    def set(self, field: bytes, value: bytes | None) -> int:
        """Set (or with None remove) one field; the change in bytes.  A sorted set's
        order, once made, is kept: the member moves to its place (O(log N) to find it,
        and a C memmove).  (Not for a list: ``geolru.keyspace.lists`` writes its
        ``PackedList``.)"""
        fields = self.fields
        old = fields.get(field)
        order = self.order
        if order is not None:
            if self.kind == "zset":
                if old is not None:
                    del order[bisect.bisect_left(order, (float(old), field))]
                if value is not None:
                    bisect.insort(order, (float(value), field))
            else:
                self.order = None
        before = 0 if old is None else len(field) + len(old)
        if value is not None:
            fields[field] = value  # (in its place: HGETALL's order is as Redis keeps it)
        elif old is not None:
            del fields[field]
        change = (0 if value is None else len(field) + len(value)) - before
        self.size += change
        return change


SCAN = 1024  # entries eviction looks at, at most, for one not used since its pass began
TICKS = 64  # an entry's last use is kept to 1/TICKS of a second (``LRUCache``)
TICK = 1 / TICKS


def _size(key: bytes, entry) -> int:
    value = entry.value
    return len(key) + (len(value) if value is not None else entry.size)


@attrs.define(eq=False)
class LRUCache:
    """LRU + TTL cache of ``bytes`` keys to ``CacheEntry``.

    ``idle_ttl`` (seconds, 0 = never) is how long an entry may stay without
    being read or written; ``max_entries``/``max_bytes`` bound the tier
    (0 = unbounded).  Bytes are ``len(key) + len(value)``; a hash's are its key's
    and all its fields' and values' (``HashEntry``).

    An entry's ``touched`` is the tick (``TICK``, 1/64 s) it was last read or written
    in (the clock's seconds, rounded down), as Redis keeps an LRU clock: the entries
    touched within one tick share one float, 24 bytes an entry less than a float each.
    ``OBJECT IDLETIME`` reads whole seconds from it, as Redis does; an entry leaves
    for ``idle_ttl`` once it is idle that long however late in its tick it was
    touched (never early, up to a tick late).

    Eviction (``_coldest``) takes an entry nobody used since its pass began, or else
    the coldest of those it looked at, the one cached first of equals.  The idle
    sweep walks a hand of its own: a list of the keys, taken when a pass begins
    (about 10 ns a key) and walked in order, skipping the keys gone since.  A pass it
    finishes leaves ``_idle_floor``: no entry was touched before it, so none can be
    idle before ``_idle_floor + idle_ttl``, and the sweep looks at nothing until then.
    """

    _clock: Clock
    max_entries: int = 0
    max_bytes: int = 0
    idle_ttl: float = 0
    _entries: dict = attrs.field(factory=dict, init=False)
    bytes: int = attrs.field(default=0, init=False)
    hits: int = attrs.field(default=0, init=False)
    misses: int = attrs.field(default=0, init=False)
    evictions: int = attrs.field(default=0, init=False)
    expirations: int = attrs.field(default=0, init=False)
    _touch: float = attrs.field(default=0.0, init=False)  # the current tick (``_tick``)
    # eviction: its pass's keys, the next to look at, and the tick the pass began in
    _evict_hand: list = attrs.field(factory=list, init=False)
    _evict_at: int = attrs.field(default=0, init=False)
    _evict_start: float = attrs.field(default=0.0, init=False)
    # the idle sweep: this pass's keys and the next to look at, the tick the pass
    # began in, the coldest ``touched`` it kept so far, and the floor (class doc)
    _hand: list = attrs.field(factory=list, init=False)
    _at: int = attrs.field(default=0, init=False)
    _pass_start: float = attrs.field(default=0.0, init=False)
    _pass_coldest: float = attrs.field(default=float("inf"), init=False)
    _idle_floor: float = attrs.field(default=float("-inf"), init=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: bytes) -> bool:
        return key in self._entries

    def get(self, key: bytes, now_ms: int | None = None) -> CacheEntry | None:
        """The live entry for ``key`` (refreshing its recency), else ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock.seconds()
        deadline = entry.deadline
        if deadline is not None and deadline <= (now * 1000 if now_ms is None else now_ms):
            self._remove(key, entry)
            self.expirations += 1
            return None
        if self.idle_ttl and now - entry.touched - TICK >= self.idle_ttl:
            self._remove(key, entry)
            self.expirations += 1
            return None
        touch = self._touch
        if not touch <= now < touch + TICK:
            touch = self._touch = now * TICKS // 1 / TICKS
        entry.touched = touch
        self.hits += 1
        return entry

    def put(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """Insert or replace ``key``, then evict LRU entries over the bounds."""
        size = len(key) + len(value)
        entries = self._entries
        entry = entries.get(key)
        if entry is not None and entry.value is not None:
            self.bytes -= len(key) + len(entry.value)
            entry.value = value
            entry.deadline = deadline
            entry.touched = self._tick()
        else:
            if entry is not None:  # a hash, replaced by a string
                self._remove(key, entry)
            entries[key] = CacheEntry(value, deadline, self._tick())
        self._added(key, size, size)

    def put_hash(self, key: bytes, fields: dict, deadline: int | None,
                 kind: str = "hash") -> HashEntry:
        """Insert or replace ``key`` with a whole hash (or set); the entry, to keep it
        current with ``resized`` (it may have been evicted at once)."""
        self.discard(key)
        entry = self._entries[key] = HashEntry(fields, deadline, self._tick(), kind)
        size = _size(key, entry)
        self._added(key, size, size)
        return entry

    def resized(self, key: bytes, change: int) -> None:
        """A cached hash changed by ``change`` bytes (``HashEntry.set``); a write
        refreshes its recency."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.touched = self._tick()
            self._added(key, change, _size(key, entry))

    def _tick(self) -> float:
        """The clock's seconds, to the tick: one float for every entry touched
        within it (``get`` has this inline)."""
        now = self._clock.seconds()
        touch = self._touch
        if not touch <= now < touch + TICK:
            touch = self._touch = now * TICKS // 1 / TICKS
        return touch

    def entry(self, key: bytes):
        """The entry of ``key`` as it is (no recency, no expiry check), or None."""
        return self._entries.get(key)

    def untouched(self, key: bytes, now_ms: int):
        """The entry of ``key`` if its deadline has not passed, touching nothing (its
        recency and ``touched`` stay); one whose deadline passed goes, counted, as
        ``get`` drops it."""
        entry = self._entries.get(key)
        if entry is None or entry.deadline is None or entry.deadline > now_ms:
            return entry
        self._remove(key, entry)
        self.expirations += 1
        return None

    def _added(self, key: bytes, size: int, whole: int) -> None:
        """``size`` more bytes, for ``key`` now ``whole`` bytes: evict what the
        bounds no longer hold."""
        entries = self._entries
        self.bytes += size
        if self.max_bytes and whole > self.max_bytes:
            self.discard(key)  # a value larger than the tier lives in the store only
            return
        if (self.max_entries and len(entries) > self.max_entries) or (
            self.max_bytes and self.bytes > self.max_bytes
        ):
            self._evict_over_bounds(key)

    def refill(self, key: bytes, value: bytes, deadline: int | None) -> None:
        """``put`` after a read-through from the store: counts a cache miss."""
        self.misses += 1
        self.put(key, value, deadline)

    def discard(self, key: bytes) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            self._remove(key, entry)

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
        self._hand, self._at, self._evict_hand, self._evict_at = [], 0, [], 0

    def evict_idle(self, limit: int = 1000) -> int:
        """Remove the entries idle for ``idle_ttl`` among the next ``limit`` keys the
        hand meets (at most one pass); return how many.  Until ``_idle_floor`` says an
        entry could be idle, it looks at none.  (Called by the housekeeping task each
        tick, it also lets go of an eviction hand that holds far more keys than are
        cached.)"""
        if len(self._evict_hand) - self._evict_at > 2 * len(self._entries) + SCAN:
            # the cache shrank (deletes, a smaller bound) while no eviction walked the
            # hand: let go of the keys gone from it (the next eviction begins a pass)
            self._evict_hand, self._evict_at = [], 0
        if not self.idle_ttl:
            return 0
        now = self._clock.seconds()
        oldest_allowed = now - self.idle_ttl - TICK  # (``touched``)
        if oldest_allowed < self._idle_floor:
            if now >= self._pass_start:
                return 0
            self._idle_floor = float("-inf")  # (the clock went back: entries touched
            # since may be older than the floor)
        entries = self._entries
        hand = self._hand
        at = self._at
        if at >= len(hand):  # a pass begins: every entry cached now is in its hand
            if not entries:
                return 0
            hand = self._hand = list(entries)
            at = 0
            self._pass_start = self._tick()
            self._pass_coldest = float("inf")
        end = len(hand)
        coldest = self._pass_coldest
        removed = 0
        stop = min(end, at + limit)  # (the keys gone since count: bounded work)
        while at < stop:
            key = hand[at]
            hand[at] = None  # (as in ``_coldest``)
            at += 1
            entry = entries.get(key)
            if entry is None:
                continue
            if entry.touched <= oldest_allowed:
                self._remove(key, entry)
                removed += 1
            elif entry.touched < coldest:
                coldest = entry.touched
        self._pass_coldest = coldest
        if at >= end:  # the pass is over: no entry cached now was touched before this
            self._idle_floor = min(coldest, self._pass_start)
            self._hand, at = [], 0
        self._at = at
        self.expirations += removed
        return removed

    def _evict_over_bounds(self, written: bytes) -> None:
        entries = self._entries
        while entries and (
            (self.max_entries and len(entries) > self.max_entries)
            or (self.max_bytes and self.bytes > self.max_bytes)
        ):
            key, entry = self._coldest(written)
            self._remove(key, entry)
            self.evictions += 1

    def _coldest(self, written: bytes) -> tuple:
        """The entry to evict: the next one the eviction hand meets that nobody used
        since its pass began (a clock's second chance: the entries used since are
        passed over); after ``SCAN`` keys of the hand with none such, or at the end of
        the pass, the coldest entry it looked at, the first met of equals, but never
        ``written`` (the write that went over the bounds) while another is cached.  A
        pass begins with a list of the keys (about 10 ns a key: 36 ms at 2M keys, once
        a pass), so a key cached since waits for the next pass; a pass meets no entry
        older than itself only when everything cached was used within its first tick."""
        entries = self._entries
        get = entries.get
        hand = self._evict_hand
        at = self._evict_at
        start = self._evict_start
        coldest = None
        coldest_touched = float("inf")
        steps = 0
        try:
            while True:
                if at >= len(hand):
                    if coldest is not None:  # (the pass is over: look no further)
                        return coldest
                    if len(entries) == 1:  # (only the written one: it goes)
                        return next(iter(entries.items()))
                    hand = self._evict_hand = list(entries)
                    at = 0
                    start = self._evict_start = self._tick()
                key = hand[at]
                hand[at] = None  # (a key evicted later is not kept alive by the hand)
                at += 1
                steps += 1
                entry = get(key)
                if entry is not None and key != written:
                    touched = entry.touched
                    if touched < start:
                        return key, entry
                    if touched < coldest_touched:
                        coldest, coldest_touched = (key, entry), touched
                if steps >= SCAN and coldest is not None:
                    return coldest
        finally:
            self._evict_at = at

    def _remove(self, key: bytes, entry) -> None:
        del self._entries[key]
        self.bytes -= _size(key, entry)
