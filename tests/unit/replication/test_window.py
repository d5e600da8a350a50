"""The window of a stream, on a modelled path: it grows to cover bandwidth x round
trip (so a long link runs at its bandwidth), and no further (so what waits in
buffers, ahead of a live write, stays bounded)."""

import heapq

import pytest

from geolru.replication.window import MIN_WINDOW, Window

FRAME = 64 * 1024


def run(window: Window, rtt: float, bandwidth: float, seconds: float):
    """Send frames whenever the window allows over a path of ``rtt`` seconds and
    ``bandwidth`` bytes/s (a FIFO link: a frame waits for the ones before it);
    return (bytes acknowledged in the last quarter / its length, the most in flight)."""
    now, link_free, through = 0.0, 0.0, 0
    acks = []
    delivered = []  # (time, bytes)
    most = 0
    while now < seconds:
        while window.open:
            through += 1
            arrives = max(now + rtt / 2, link_free) + FRAME / bandwidth
            link_free = arrives
            heapq.heappush(acks, (arrives + rtt / 2, through))
            window.sent(through, now, FRAME, 100)
            most = max(most, window.bytes)
        now, acked = heapq.heappop(acks)
        window.applied(acked, now)
        delivered.append((now, FRAME))
    tail = seconds * 0.75
    return sum(size for t, size in delivered if t >= tail) / (seconds - tail), most


@pytest.mark.parametrize("rtt", [0.045, 0.115, 0.230])
def test_a_long_link_runs_at_its_bandwidth_with_a_window_near_twice_its_bdp(rtt):
    bandwidth = 12.5e6  # 100 Mbit/s
    window = Window(maximum=64 << 20)
    rate, most = run(window, rtt, bandwidth, 30)
    bdp = bandwidth * rtt
    assert rate >= 0.95 * bandwidth
    assert bdp <= window.size <= 2.5 * bdp + FRAME
    assert most <= 2.5 * bdp + 2 * FRAME


def test_the_window_grows_like_a_slow_start_then_stops_at_the_maximum():
    window = Window(maximum=8 << 20)
    assert window.size == MIN_WINDOW
    run(window, 0.1, 1e9, 2)  # a path far faster than the maximum allows
    assert window.size == 8 << 20


def test_on_loopback_the_window_stays_at_its_minimum():
    window = Window()
    run(window, 0.0002, 1e9, 2)
    assert window.size == MIN_WINDOW


def test_one_frame_always_goes_even_larger_than_the_window():
    window = Window(maximum=1 << 16)
    assert window.open
    window.sent(1, 0.0, 10 << 20, 1)
    assert not window.open
    assert window.applied(1, 0.05) == pytest.approx(0.05)
    assert window.open and window.bytes == 0
