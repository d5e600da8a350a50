"""The hybrid logical clock: versions that only go up, and follow what a region saw."""

from twisted.internet.task import Clock

from geolru.model.hlc import COUNTER_BITS, HybridClock, pack, physical_ms


def test_a_timestamp_is_milliseconds_then_a_counter():
    assert pack(5, 3) == (5 << COUNTER_BITS) | 3
    assert physical_ms(pack(1_700_000_000_123, 7)) == 1_700_000_000_123


def test_now_increases_within_a_millisecond_and_follows_the_wall_clock():
    clock = Clock()
    clock.advance(1000.0)
    hlc = HybridClock(clock)
    first, second = hlc.now(), hlc.now()
    assert second == first + 1 and physical_ms(first) == 1_000_000
    clock.advance(0.002)
    assert hlc.now() == pack(1_000_002)


def test_a_clock_set_back_never_makes_an_older_timestamp():
    clock = Clock()
    clock.advance(1000.0)
    hlc = HybridClock(clock)
    before = hlc.now()
    clock.rightNow = 900.0  # the machine's clock went back 100 s
    assert hlc.now() > before


def test_observing_a_newer_timestamp_puts_the_next_write_after_it():
    clock = Clock()
    clock.advance(1000.0)
    hlc = HybridClock(clock)
    remote = pack(1_060_000, 9)  # a region a minute ahead
    hlc.observe(remote)
    assert hlc.now() > remote
    hlc.observe(pack(10))  # an older one changes nothing
    assert hlc.now() > remote
