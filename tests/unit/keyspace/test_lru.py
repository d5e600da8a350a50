"""The LRU+TTL cache tier, driven by task.Clock: no I/O, no real time."""

from twisted.internet.task import Clock

from geolru.keyspace.lru import SCAN, LRUCache


def make(**kwargs):
    clock = Clock()
    return clock, LRUCache(clock, **kwargs)


def test_get_returns_what_was_put_and_counts_hits():
    _, cache = make()
    cache.put(b"k", b"v", None)
    assert cache.get(b"k").value == b"v"
    assert cache.get(b"nope") is None
    assert cache.hits == 1


def test_evicts_least_recently_used_over_max_entries():
    clock, cache = make(max_entries=2)
    cache.put(b"a", b"1", None)
    cache.put(b"b", b"2", None)
    clock.advance(1)  # (recency is to the second, as Redis' LRU clock)
    cache.get(b"a")  # a is now the most recent
    cache.put(b"c", b"3", None)
    assert b"b" not in cache and b"a" in cache and b"c" in cache
    assert cache.evictions == 1


def test_entries_used_in_the_same_second_leave_oldest_first():
    _, cache = make(max_entries=2)
    cache.put(b"a", b"1", None)
    cache.put(b"b", b"2", None)
    cache.get(b"a")  # (the same second: a and b are as recent as each other)
    cache.put(b"c", b"3", None)
    assert b"a" not in cache and b"b" in cache and b"c" in cache


def test_a_hot_set_stays_while_a_stream_of_cold_keys_churns_the_cache():
    """Eviction is an approximation of LRU, as Redis' is, and one good enough that
    keys read every second are never the ones evicted while colder ones are cached."""
    clock, cache = make(max_entries=1_000)
    hot = [b"hot:%d" % i for i in range(100)]
    for key in hot:
        cache.put(key, b"v", None)
    for second in range(200):
        clock.advance(1)
        for key in hot:
            assert cache.get(key) is not None, (second, key)
        for i in range(100):
            cache.put(b"cold:%d:%d" % (second, i), b"v", None)
    assert len(cache) == 1_000 and cache.evictions == 100 + 200 * 100 - 1_000


def test_eviction_passes_over_what_was_used_since_its_pass_began():
    clock, cache = make(max_entries=10)
    for i in range(10):
        cache.put(b"%d" % i, b"v", None)
    clock.advance(1)
    cache.put(b"new", b"v", None)  # (a pass begins: it finds 0 unused since)
    assert b"0" not in cache
    for i in (1, 2, 3, 5):
        cache.get(b"%d" % i)
    cache.put(b"new2", b"v", None)
    assert b"4" not in cache and all(b"%d" % i in cache for i in (1, 2, 3, 5))


def test_eviction_looks_at_a_bounded_number_of_entries():
    """When every entry was used since the pass began, eviction takes the coldest of
    the ``SCAN`` it looked at: the work of one eviction is bounded."""
    _, cache = make(max_entries=3 * SCAN)
    for i in range(3 * SCAN):
        cache.put(b"%d" % i, b"v", None)  # (all of them used in the tick the pass
    cache.put(b"new", b"v", None)  # begins in)
    assert b"0" not in cache and cache._evict_at == SCAN
    cache.put(b"new2", b"v", None)  # the next SCAN of the pass
    assert b"%d" % SCAN not in cache and cache._evict_at == 2 * SCAN


def test_evicts_over_max_bytes_counting_key_and_value():
    _, cache = make(max_bytes=10)
    cache.put(b"a", b"1234", None)  # 5 bytes
    cache.put(b"b", b"1234", None)  # 10 bytes
    assert cache.bytes == 10 and len(cache) == 2
    cache.put(b"c", b"12", None)  # 13 bytes: a goes
    assert b"a" not in cache and cache.bytes == 8


def test_replacing_a_value_keeps_byte_count_exact():
    _, cache = make()
    cache.put(b"k", b"12345", None)
    cache.put(b"k", b"1", None)
    assert cache.bytes == 2
    cache.discard(b"k")
    assert cache.bytes == 0 and len(cache) == 0


def test_value_larger_than_the_tier_is_not_cached():
    _, cache = make(max_bytes=10)
    cache.put(b"small", b"1", None)
    cache.put(b"big", b"x" * 100, None)
    assert b"big" not in cache and b"small" in cache and cache.bytes == 6


def test_key_deadline_hides_the_entry_at_that_moment():
    clock, cache = make()
    clock.advance(1000)
    cache.put(b"k", b"v", deadline=1_000_500)  # unix ms
    clock.advance(0.499)
    assert cache.get(b"k") is not None
    clock.advance(0.001)
    assert cache.get(b"k") is None
    assert cache.expirations == 1 and len(cache) == 0


def test_idle_entries_leave_after_ttl_but_reads_keep_them():
    clock, cache = make(idle_ttl=10)
    cache.put(b"read", b"1", None)
    cache.put(b"idle", b"2", None)
    clock.advance(6)
    cache.get(b"read")
    clock.advance(5)
    assert cache.evict_idle() == 1
    assert b"idle" not in cache and b"read" in cache


def test_evict_idle_does_bounded_work_per_call():
    clock, cache = make(idle_ttl=1)
    for i in range(100):
        cache.put(b"%d" % i, b"v", None)
    clock.advance(2)
    assert cache.evict_idle(limit=30) == 30
    assert len(cache) == 70
    assert cache.evict_idle(limit=1000) == 70


def test_evict_idle_takes_the_idle_entries_and_keeps_the_fresh_ones():
    clock, cache = make(idle_ttl=10)
    cache.put(b"old", b"1", None)
    clock.advance(9)
    cache.put(b"new", b"2", None)
    clock.advance(2)  # (old idle for 11 s: ``touched`` is to the second, never early)
    assert cache.evict_idle() == 1 and b"new" in cache and b"old" not in cache


def test_evict_idle_takes_no_pass_before_an_entry_can_be_idle():
    """A pass that met every entry leaves the second before which none was touched;
    until ``idle_ttl`` after it, the sweep looks at nothing (no list of the keys, no
    lookups), so a cache whose entries are all fresh costs it nothing."""
    clock, cache = make(idle_ttl=10)
    for i in range(100):
        cache.put(b"%d" % i, b"v", None)
    clock.advance(5)
    assert cache.evict_idle() == 0  # one pass: every entry touched at second 0
    clock.advance(5)
    assert cache.evict_idle() == 0 and cache._hand == []  # (no pass begun)
    clock.advance(1.5)  # idle 11.5 s: all of them
    assert cache.evict_idle(limit=40) == 40 and len(cache._hand) == 100


def test_idle_entries_never_leave_early_and_share_their_tick():
    """``touched`` is the tick (1/64 s) an entry was last used in (one float for all
    the entries of a tick: 24 bytes an entry less), so an entry touched late in its
    tick stays its whole ``idle_ttl``, and leaves within a tick after it."""
    class Reactor(Clock):  # (each reading a float of its own, as the reactor's are)
        def seconds(self):
            return self.rightNow + 0.0

    clock = Reactor()
    cache = LRUCache(clock, idle_ttl=2)
    clock.advance(0.9)  # (in the tick from 57/64 s)
    cache.put(b"a", b"1", None)
    clock.advance(0.005)
    cache.put(b"b", b"2", None)  # (late in that tick)
    assert cache.entry(b"a").touched is cache.entry(b"b").touched == 57 / 64
    clock.advance(2.0)  # (b: idle 2.0 s)
    assert cache.get(b"a") is not None and cache.evict_idle() == 0
    clock.advance(0.02)  # (b: idle 2.02 s)
    assert cache.evict_idle() == 1 and b"b" not in cache and b"a" in cache


def test_refill_counts_a_miss():
    _, cache = make()
    cache.refill(b"k", b"v", None)
    assert cache.misses == 1 and cache.get(b"k").value == b"v"


def test_the_idle_sweep_starts_again_when_the_clock_goes_back():
    """A pass's floor is a reading of the clock: once the clock is set back, entries
    touched since may be older than it, and the sweep looks again."""
    clock, cache = make(idle_ttl=10)
    clock.advance(1000)
    cache.put(b"a", b"v", None)
    assert cache.evict_idle() == 0  # (a pass: the floor is second 1000)
    clock.rightNow = 100.0  # (set back by 900 s)
    cache.put(b"b", b"v", None)
    clock.advance(11)
    assert cache.evict_idle() == 1 and b"b" not in cache and b"a" in cache


def test_the_key_written_is_not_the_one_its_write_evicts():
    """A write that takes the cache over its bounds evicts another entry, even one
    used in the same tick (of equals, eviction takes the one cached first)."""
    _, cache = make(max_bytes=100)
    cache.put(b"a", b"x" * 29, None)  # 30 bytes
    cache.put(b"b", b"x" * 29, None)
    cache.put(b"a", b"x" * 70, None)  # a grows to 71: over 100, and a was cached first
    assert b"a" in cache and b"b" not in cache and cache.bytes == 71


def test_an_eviction_hand_much_larger_than_the_cache_is_let_go():
    """The hand lists the keys of its pass; once most of them are gone (deleted, not
    evicted), the housekeeping tick drops it rather than keep them alive."""
    clock, cache = make(max_entries=2_000)
    for i in range(2_000):
        cache.put(b"%d" % i, b"v", None)
    clock.advance(1)
    for i in range(2_000, 2_100):
        cache.put(b"%d" % i, b"v", None)  # (an eviction each: a hand of 2,001 keys)
    assert len(cache._evict_hand) - cache._evict_at > 1_800
    for i in range(2_100):
        cache.discard(b"%d" % i)
    cache.evict_idle()
    assert cache._evict_hand == []
