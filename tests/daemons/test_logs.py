"""Logs an operator can read: what a region writes while a peer and the master are
down for 30 s, and when they come back."""

import re
import time

import pytest

from support import stop_all, wait_until

pytestmark = pytest.mark.cluster(names=["montreal", "frankfurt"], heartbeat_timeout=1.5)


def live(region, peers: int) -> bool:
    info = region.client().info("replication")
    return sum(v["state"] == "live" for k, v in info.items() if k.startswith("peer")) == peers


def test_a_30_s_outage_of_a_peer_and_the_master_writes_a_few_named_lines(cluster):
    master, regions = cluster
    montreal, frankfurt = regions["montreal"], regions["frankfurt"]
    try:
        wait_until(lambda: live(montreal, 1) and live(frankfurt, 1), 20,
                   what="the two regions streaming")
        before = len(montreal.log())
        frankfurt.kill()
        master.kill()
        started = time.monotonic()
        montreal.client().set("during", "the outage")
        while time.monotonic() - started < 30:  # the outage lasts this long, whatever
            assert montreal.client().ping()    # montreal does meanwhile
            time.sleep(1)
        master.start()
        frankfurt.start()
        wait_until(lambda: live(montreal, 1), 20, what="the stream to frankfurt back")
        wait_until(lambda: "the link to the master" in montreal.log()[before:] and
                   "is back" in montreal.log()[before:].split("the link to the master")[-1],
                   20, what="the link to the master back")
        written = montreal.log()[before:].splitlines()
    finally:
        stop_all(master, *regions.values())
    text = "\n".join(written)
    assert len(written) <= 12, text
    assert re.search(r"the link to frankfurt \(127\.0\.0\.1:\d+\) is down: the connection "
                     r"was (closed|lost); reconnecting", text), text
    assert re.search(r"the link to frankfurt \(127\.0\.0\.1:\d+\) is back, after \d+ s down",
                     text), text
    assert re.search(r"the link to the master \(127\.0\.0\.1:\d+\) is down", text), text
    for noise in ("Starting factory", "Stopping factory", "Scheduling retry", " object at 0x",
                  "IPv4Address", "Traceback"):
        assert noise not in text, f"{noise!r} in:\n{text}"


def test_the_lag_of_a_down_peer_is_the_truth(cluster):
    """A dead peer does not look caught up: INFO, PEERS and the master's view give the
    writes it misses and the age of the oldest, growing while it is away."""
    master, regions = cluster
    montreal = regions["montreal"]
    try:
        wait_until(lambda: live(montreal, 1), 20, what="the stream to frankfurt")
        regions["frankfurt"].kill()
        r = montreal.client()
        for i in range(5):
            r.set(f"missed:{i}", i)

        def peer():
            info = r.info("replication")
            return next(v for k, v in info.items() if k.startswith("peer"))
        wait_until(lambda: peer()["state"] == "connecting" and float(peer()["lag_ms"]) >= 1500,
                   10, what="the lag to grow")
        assert int(peer()["lag_ops"]) >= 5
        entry = montreal.client(protocol=2).execute_command("PEERS")[0]  # field-value pairs
        fields = dict(zip(entry[::2], entry[1::2], strict=True))
        assert list(fields) == [b"name", b"address", b"state", b"lag_ops", b"lag_ms"]
        assert (fields[b"name"], fields[b"state"]) == (b"frankfurt", b"connecting")
        assert fields[b"lag_ops"] >= 5 and float(fields[b"lag_ms"]) >= 1500
        as_map = montreal.client(protocol=3).execute_command("PEERS")[0]  # a map
        assert list(as_map) == list(fields) and as_map[b"state"] == b"connecting"
    finally:
        stop_all(master, *regions.values())
