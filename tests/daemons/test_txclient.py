"""The Twisted client against real daemons, inside the reactor (pytest-twisted)."""

import os
import signal

import pytest
import pytest_twisted
import redis
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
        # sets
        assert await cache.sadd("s", "a", "b", "c") == 3 and await cache.srem("s", "c") == 1
        assert await cache.smembers("s") == {b"a", b"b"} and await cache.sismember("s", "a")
        assert await cache.smismember("s", "a", "z") == [True, False]
        # geo
        assert await cache.geoadd("g", [13.361389, 38.115556, "Palermo"]) == 1
        assert await cache.georadius("g", 15, 37, 200, "km", withcoord=True) == [
            [b"Palermo", (13.361389338970184, 38.1155563954963)]]
        # lists
        assert await cache.rpush("q", "a", "b") == 2 and await cache.lpop("q") == b"a"
        assert await cache.lrange("q", 0, -1) == [b"b"] and await cache.ltrim("q", 1, 0)
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


@pytest.mark.cluster(names=["montreal", "frankfurt"], options={"montreal": {"shards": 2}})
@pytest_twisted.ensureDeferred
async def test_a_region_in_cluster_mode_per_shard(cluster):
    """TxGeoCache sends each command to the shard of its key, and a transaction to the
    shard of its slot; a shard that is down sends its commands to the next region."""
    master, regions = cluster
    montreal = regions["montreal"]
    cache = TxGeoCache(reactor, master=f"127.0.0.1:{master.port}", near=(40.71, -74.01))
    try:
        assert await cache.refresh() and cache.regions[0].seeds
        for key in ("bar", "foo"):  # slots 5061 and 12182: one on each shard
            assert await cache.set(key, "near") and cache.current.name == "montreal"
        assert await cache.transaction(["INCR", "{foo}n"], ["INCR", "{foo}n"]) == [1, 2]
        assert montreal.cluster_client().get("{foo}n") == b"2"
        with pytest.raises(ResponseError, match="EXECABORT"):  # (foo: -MOVED, queued)
            await cache.transaction(["SET", "bar", "1"], ["SET", "foo", "1"])
        assert await cache.get("bar") == b"near"  # none of it ran
        montreal.signal(signal.SIGSTOP)  # the supervisor: its shard stays dead
        try:
            second = montreal.ports[1]
            pid = redis.Redis(port=second).info("server")["process_id"]
            os.kill(pid, signal.SIGKILL)
            assert await cache.set("foo", "far") and cache.current.name == "frankfurt"
            assert await cache.set("bar", "still near") and cache.current.name == "montreal"
        finally:
            montreal.signal(signal.SIGCONT)
    finally:
        cache.close()
