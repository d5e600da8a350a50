"""Events between two real regions (redis-py as the clients): a message published
in Montreal reaches Frankfurt's subscribers, channel and pattern, in the order
published; one published while the link is cut does not arrive later (docs/events.md);
after the heal messages flow again; a subscriber that never reads is cut off at the
output limit, not the region's memory; and a near cache at Frankfurt drops a value
Montreal changed."""

import time

from support import wait_until


def _messages(pubsub, count: int, timeout: float = 10.0) -> list:
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None and message["type"] in ("message", "pmessage"):
            got.append((message["type"], message["channel"], message["data"]))
    return got


def test_a_message_reaches_the_subscribers_of_every_region_in_order(split):
    listener = split.f.pubsub()
    listener.subscribe("orders")
    listener.psubscribe("alerts:*")
    assert [m["type"] for m in (listener.get_message(timeout=5),
                                listener.get_message(timeout=5))] == [
        "subscribe", "psubscribe"]
    # (the first messages may go before the subscriptions are made: wait until one
    # published now arrives)
    wait_until(lambda: split.m.publish("orders", "probe") == 0
               and _messages(listener, 1, timeout=0.5), 20,
               what="a message from montreal to reach frankfurt")
    for n in range(20):
        assert split.m.publish("orders", f"o{n}") == 0  # (none listens in montreal)
    split.m.publish("alerts:fire", "run")
    got = _messages(listener, 21)
    assert got == [("message", b"orders", b"o%d" % n) for n in range(20)] + [
        ("pmessage", b"alerts:fire", b"run")]
    assert split.f.publish("orders", "local") == 1  # (frankfurt's own subscriber)
    assert _messages(listener, 1) == [("message", b"orders", b"local")]
    listener.close()


def test_a_message_published_while_the_link_is_cut_is_not_delivered_later(split):
    listener = split.f.pubsub()
    listener.subscribe("news")
    listener.get_message(timeout=5)
    wait_until(lambda: split.m.publish("news", "probe") == 0
               and _messages(listener, 1, timeout=0.5), 20, what="the link to carry it")
    split.cut()
    split.m.publish("news", "while cut")
    split.heal()
    split.wait_live()
    split.m.publish("news", "after heal")
    assert _messages(listener, 1) == [("message", b"news", b"after heal")]
    assert _messages(listener, 1, timeout=1.0) == []  # (and nothing else comes)
    listener.close()


def test_a_subscriber_that_never_reads_is_cut_off_and_the_region_serves_on(tmp_path):
    from support import RawConnection, encode_command, region_daemon
    daemon = region_daemon(tmp_path, client_output_limit_pubsub="1MB").start()
    try:
        client = daemon.client()
        hog = RawConnection(daemon.port)
        hog.send(encode_command("SUBSCRIBE", "firehose"))  # and never reads again
        wait_until(lambda: client.pubsub_numsub("firehose") == [(b"firehose", 1)], 10,
                   what="the subscription")
        message = b"x" * 100_000
        sent = 0
        while client.pubsub_numsub("firehose")[0][1] and sent < 1000:  # 100 MB at most
            client.publish("firehose", message)
            sent += 1
        assert client.pubsub_numsub("firehose") == [(b"firehose", 0)]
        assert sent < 200  # (cut off near 1 MB of unread messages, plus socket buffers)
        assert client.info("clients")["connected_clients"] == 1 and client.ping()
        hog.close()
    finally:
        daemon.stop()


def test_a_near_cache_learns_of_a_write_made_in_another_region(split):
    """The issue's case: a client near Frankfurt holds a key in its near cache (reads
    do not reach the region); Montreal writes it; the client's next read after the
    invalidation arrived returns the new value, and never the old one after."""
    from geolru.client import GeoCache
    frankfurt = split.regions["frankfurt"]
    cache = GeoCache(master=None, regions=[f"127.0.0.1:{frankfurt.port}"],
                     near_cache=True)
    try:
        split.m.set("price", "10")
        split.both(lambda c: c.get("price") == b"10", "the price everywhere")
        assert cache.get("price") == b"10"

        def gets() -> int:
            return split.f.info("commandstats").get("cmdstat_get", {}).get("calls", 0)
        before = gets()
        for _ in range(50):
            assert cache.get("price") == b"10"
        assert gets() == before  # (served from the near cache: the region saw none)
        split.m.set("price", "12")
        wait_until(lambda: cache.get("price") == b"12", 10,
                   what="the near cache to drop the old price")
        assert all(cache.get("price") == b"12" for _ in range(20))
    finally:
        cache.close()
