"""The Twisted client against real daemons, inside the reactor (pytest-twisted)."""

import pytest
import pytest_twisted
from twisted.internet import reactor

from geolru.client.geocache import NoRegionAvailable
from geolru.client.txgeocache import ResponseError, TxGeoCache

pytestmark = pytest.mark.cluster(names=["montreal", "frankfurt"])


@pytest_twisted.ensureDeferred
async def test_deferred_api_with_failover(cluster):
    master, regions = cluster
    cache = TxGeoCache(reactor, master=f"127.0.0.1:{master.port}", near=(40.71, -74.01))
    try:
        assert await cache.refresh()
        assert [r.name for r in cache.regions] == ["montreal", "frankfurt"]
        assert await cache.set("k", "v", ttl=60)
        assert await cache.get("k") == b"v" and cache.current.name == "montreal"
        assert await cache.set_json("j", {"a": [1, 2]}) and await cache.get_json("j") == {
            "a": [1, 2]}
        assert await cache.incr("n", 3) == 3
        assert await cache.mset({"x": "1"}) and await cache.mget("x", "y") == [b"1", None]
        # hashes
        assert await cache.hset("h", mapping={"a": "1", "b": "2"}) == 2
        assert await cache.hincrby("h", "a", 4) == 5
        assert await cache.hincrbyfloat("h", "f", 0.5) == 0.5
        assert await cache.hgetall("h") == {b"a": b"5", b"b": b"2", b"f": b"0.5"}
        assert await cache.hexists("h", "b") and not await cache.hsetnx("h", "b", "x")
        assert await cache.hdel("h", "b") == 1 and await cache.hlen("h") == 2
        with pytest.raises(ResponseError, match="wrong number of arguments"):
            await cache.execute("GET")
        # a transaction: all or none, its replies in a list
        assert await cache.transaction(["INCR", "t"], ["INCRBY", "t", 5]) == [1, 6]
        replies = await cache.transaction(["SET", "s", "abc"], ["INCR", "s"], ["GET", "s"])
        assert replies[0] == b"OK" and isinstance(replies[1], ResponseError)
        assert replies[2] == b"abc"
        with pytest.raises(ResponseError, match="EXECABORT"):
            await cache.transaction(["SET", "never", "1"], ["GET"])  # rejected: none ran
        assert await cache.get("never") is None
        # replicated, then the nearest region dies: the next command goes to frankfurt
        for _ in range(200):
            if await cache.execute("WAIT", 1, 100) == 1:
                break
        regions["montreal"].kill()
        assert await cache.get("k") == b"v"
        assert cache.current.name == "frankfurt"
    finally:
        cache.close()


@pytest_twisted.ensureDeferred
async def test_no_region_is_a_clear_error():
    cache = TxGeoCache(reactor, master="127.0.0.1:1", timeout=1)
    with pytest.raises(NoRegionAvailable):
        await cache.get("k")
