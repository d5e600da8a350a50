"""The Python client against a real cluster: locate, failover, JSON, no master."""

import signal
import time

import pytest

from geolru.client.geocache import GeoCache, NoRegionAvailable
from support import region_daemon, wait_until


def test_uses_the_nearest_region_and_fails_over_without_an_error(cluster):
    master, regions = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(40.71, -74.01))
    try:
        assert [r.name for r in cache.regions] == ["montreal", "frankfurt", "singapore"]
        assert cache.set("k", "v", ttl=60) and cache.get("k") == b"v"
        assert cache.current.name == "montreal"
        assert 59 <= cache.ttl("k") <= 60
        wait_until(lambda: regions["frankfurt"].client().get("k") == b"v", 5,
                   what="the write to replicate")
        regions["montreal"].kill()
        assert cache.get("k") == b"v"  # no exception: frankfurt answered
        assert cache.current.name == "frankfurt"
        assert cache.incr("n", 5) == 5 and cache.delete("n") == 1
        assert cache.mset({"a": "1", "b": "2"}) and cache.mget("a", "b", "c") == [b"1", b"2", None]
        assert cache.expire("a", 100) and cache.ttl("b") is None
    finally:
        cache.close()


def test_an_optimistic_transaction_on_the_nearest_region(cluster):
    master, regions = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(50.1, 8.7))
    try:
        cache.set("stock", 10)
        runs = []

        def sell(pipe):
            runs.append(1)
            stock = int(pipe.get("stock"))
            if len(runs) == 1:  # another region sells one between the read and EXEC
                regions["montreal"].client().set("stock", stock - 1)
                wait_until(lambda: regions["frankfurt"].client().get("stock") == b"9", 5,
                           what="the other region's sale to replicate")
            pipe.multi()
            pipe.set("stock", stock - 1)
        cache.transaction(sell, "stock")
        assert cache.current.name == "frankfurt"
        assert len(runs) == 2 and cache.get("stock") == b"8"  # retried, nothing lost
    finally:
        cache.close()


def test_json_values(cluster):
    master, _ = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(1.3, 103.8))
    try:
        profile = {"name": "ada", "langs": ["en", "fr"], "age": 36}
        assert cache.set_json("profile:1", profile, ttl=30)
        assert cache.get_json("profile:1") == profile
        assert cache.get_json("nothing") is None
        assert cache.current.name == "singapore"
    finally:
        cache.close()


def test_hashes(cluster):
    master, regions = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(45.5, -73.6))
    try:
        assert cache.hset("user:1", mapping={"name": "ada", "visits": 1}) == 2
        assert cache.hset("user:1", "lang", "en") == 1
        assert cache.hsetnx("user:1", "lang", "fr") is False
        assert cache.hget("user:1", "name") == b"ada"
        assert cache.hmget("user:1", "name", "nope") == [b"ada", None]
        assert cache.hincrby("user:1", "visits", 2) == 3
        assert cache.hincrbyfloat("user:1", "score", 1.5) == 1.5
        assert cache.hgetall("user:1") == {b"name": b"ada", b"visits": b"3", b"lang": b"en",
                                           b"score": b"1.5"}
        assert cache.hlen("user:1") == 4 and cache.hexists("user:1", "lang")
        assert sorted(cache.hkeys("user:1")) == [b"lang", b"name", b"score", b"visits"]
        assert len(cache.hvals("user:1")) == 4
        assert cache.hdel("user:1", "lang", "nope") == 1
        assert cache.expire("user:1", 60) and 59 <= cache.ttl("user:1") <= 60
        assert cache.current.name == "montreal"
        wait_until(lambda: regions["singapore"].client().hget("user:1", "visits") == b"3", 5,
                   what="the hash to replicate")
    finally:
        cache.close()


def test_sets(cluster):
    master, regions = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(45.5, -73.6))
    try:
        assert cache.sadd("tags", "red", "green", "blue") == 3
        assert cache.srem("tags", "green", "nope") == 1
        assert cache.smembers("tags") == {b"red", b"blue"} and cache.scard("tags") == 2
        assert cache.sismember("tags", "red") is True
        assert cache.smismember("tags", "red", "green") == [True, False]
        assert cache.sadd("more", "blue", "pink") == 2
        assert cache.sinter("tags", "more") == {b"blue"}
        assert cache.sunion("tags", "more") == {b"red", b"blue", b"pink"}
        assert cache.sdiff("tags", "more") == {b"red"}
        assert cache.sintercard("tags", "more") == 1
        assert cache.sunionstore("all", "tags", "more") == 3
        assert cache.smove("more", "tags", "pink") is True
        assert cache.srandmember("tags", 5) and cache.spop("more") == b"blue"
        assert cache.smembers("more") == set() and cache.current.name == "montreal"
        wait_until(lambda: regions["singapore"].client().scard("all") == 3, 5,
                   what="the set to replicate")
        assert cache.zadd("lb", {"ann": 10, "bob": 5}) == 2
        assert cache.zincrby("lb", 2.5, "bob") == 7.5 and cache.zscore("lb", "ann") == 10.0
        assert cache.zrange("lb", 0, -1, withscores=True) == [(b"bob", 7.5), (b"ann", 10.0)]
        assert cache.zrange("lb", 0, 0, desc=True) == [b"ann"] and cache.zcard("lb") == 2
        assert cache.zrank("lb", "ann") == 1 and cache.zrank("lb", "ann", withscore=True) == [
            1, 10.0]
        assert cache.zmpop(1, ["lb"], min=True) == [b"lb", [[b"bob", 7.5]]]
        assert cache.zadd("lb", {"bob": 7.5}) == 1 and cache.zrem("lb", "bob") == 1
        assert cache.geoadd("sicily", [13.361389, 38.115556, "Palermo",
                                       15.087269, 37.502669, "Catania"]) == 2
        assert cache.geodist("sicily", "Palermo", "Catania", "km") == 166.2742
        assert cache.geopos("sicily", "Palermo", "Nope") == [
            (13.361389338970184, 38.1155563954963), None]
        assert cache.geohash("sicily", "Palermo") == ["sqc8b49rny0"]
        assert cache.geosearch("sicily", longitude=15, latitude=37, radius=200, unit="km",
                               sort="ASC", withdist=True) == [
            [b"Catania", 56.4413], [b"Palermo", 190.4424]]
        assert cache.georadiusbymember("sicily", "Palermo", 100, "km") == [b"Palermo"]
        assert cache.geosearchstore("near", "sicily", member="Palermo", width=400,
                                    height=400, unit="km") == 2
        wait_until(lambda: regions["singapore"].client().zcard("near") == 2, 5,
                   what="the stored search to replicate")
        assert cache.rpush("q", "a", "b") == 2 and cache.lpush("q", "z") == 3
        assert cache.lrange("q", 0, -1) == [b"z", b"a", b"b"] and cache.llen("q") == 3
        assert cache.linsert("q", "AFTER", "a", "a2") == 4 and cache.lset("q", 0, "Z")
        assert cache.lpos("q", "a2") == 2 and cache.lindex("q", -1) == b"b"
        assert cache.lmove("q", "done", "LEFT", "RIGHT") == b"Z"
        assert cache.lpop("q") == b"a" and cache.rpop("q", 2) == [b"b", b"a2"]
        assert cache.lrem("done", 0, "Z") == 1 and cache.lmpop(2, "q", "done",
                                                               direction="LEFT") is None
    finally:
        cache.close()


def test_a_wait_longer_than_the_socket_timeout_is_waited_for(tmp_path):
    """WAIT blocks for its own timeout: the client's socket_timeout (for dead
    regions) does not cut it short and fail the region over."""
    region = region_daemon(tmp_path).start()
    try:
        cache = GeoCache(master=None, regions=[f"127.0.0.1:{region.port}"],
                         socket_timeout=0.3)
        cache.set("k", "v")
        started = time.monotonic()
        assert cache.wait(1, 1.0) == 0  # (no peer: it waits the whole second)
        assert cache.execute(b"WAIT", b"1", b"800") == 0  # (the shell's bytes)
        assert time.monotonic() - started >= 1.7 and cache.get("k") == b"v"
        cache.close()
    finally:
        region.stop()


def test_works_with_a_region_list_and_no_master(tmp_path):
    region = region_daemon(tmp_path).start()
    try:
        cache = GeoCache(master=None, regions=[f"127.0.0.1:{region.port}"])
        assert cache.set("k", "v") and cache.get("k") == b"v"
        cache.close()
    finally:
        region.stop()


def test_an_unreachable_master_falls_back_to_the_given_regions(tmp_path):
    region = region_daemon(tmp_path).start()
    try:
        cache = GeoCache(master="127.0.0.1:1", regions=[f"127.0.0.1:{region.port}"])
        assert cache.set("k", "v") and cache.get("k") == b"v"
        cache.close()
    finally:
        region.stop()


def test_no_region_at_all_is_a_clear_error():
    with pytest.raises(NoRegionAvailable, match="no region"):
        GeoCache(master="127.0.0.1:1")


@pytest.mark.cluster(names=["montreal", "frankfurt"], heartbeat_timeout=30)
def test_with_every_region_down_each_is_named_once_and_tried_once(cluster):
    """Frozen regions the master still lists: the error names each region once, and
    each costs one timeout, not one before and one after asking the master again."""
    master, regions = cluster
    cache = GeoCache(master=f"127.0.0.1:{master.port}", near=(45.5, -73.6),
                     socket_timeout=0.5)
    try:
        for daemon in regions.values():
            daemon.signal(signal.SIGSTOP)
        with pytest.raises(NoRegionAvailable) as raised:
            cache.get("k")
        message = str(raised.value)
        assert message.count("montreal") == 1 and message.count("frankfurt") == 1, message
    finally:
        for daemon in regions.values():
            daemon.signal(signal.SIGCONT)
        cache.close()
