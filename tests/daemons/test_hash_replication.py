"""Hashes between two real regions whose links are cut while both write: the merge
rules (field by field, last writer per field, counters, deletes), then the deletes'
tombstones collected like keys'."""

import pytest
import redis

from geolru.devtools.delayproxy import DelayProxy
from support import free_port, master_daemon, placed_region, stop_all, wait_until

NAMES = ("montreal", "frankfurt")


class Split:
    """A master and two regions, each one's stream to the other through a proxy link
    named after the sender, so that a test can cut both ways and heal them."""

    def __init__(self, tmp_path):
        self.proxy = DelayProxy()
        self.master = master_daemon(tmp_path / "master").start()
        masters = f"tcp:127.0.0.1:{self.master.port}"
        ports = {name: free_port() for name in NAMES}
        self.regions = {}
        for name, other in zip(NAMES, reversed(NAMES), strict=True):
            route = self.proxy.add(name, ports[other]).listen_port
            self.regions[name] = placed_region(
                tmp_path, name, masters, peer_listen=f"tcp:{ports[name]}:interface=127.0.0.1",
                peer_routes=f"{other}=127.0.0.1:{route}").start()
        self.m, self.f = (self.regions[name].client() for name in NAMES)
        self.wait_live()

    def wait_live(self):
        def live(client):
            info = client.info("replication")
            return any(k.startswith("peer") and v["state"] == "live" for k, v in info.items())
        wait_until(lambda: all(live(c) for c in (self.m, self.f)), 20,
                   what="both regions streaming live to each other")

    def cut(self):
        for name in NAMES:
            self.proxy.cut(name)

    def heal(self):
        for name in NAMES:
            self.proxy.heal(name)

    def both(self, check, what):
        def agreed():
            try:
                return check(self.m) and check(self.f)
            except redis.BusyLoadingError:  # (a region back from a partition syncs first)
                return False
        wait_until(agreed, 20, what=what)

    def stop(self):
        stop_all(self.master, *self.regions.values())
        self.proxy.close()


def _seconds(time_reply) -> float:
    seconds, micros = time_reply
    return seconds + micros / 1e6


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    s = Split(tmp_path_factory.mktemp("split"))
    yield s
    s.stop()


def test_concurrent_hsets_of_different_fields_both_survive(split):
    split.cut()
    split.m.hset("profile", mapping={"name": "ann", "lang": "fr"})
    split.f.hset("profile", mapping={"city": "berlin"})
    assert split.m.hgetall("profile") == {b"name": b"ann", b"lang": b"fr"}  # (really apart)
    split.heal()
    want = {b"name": b"ann", b"lang": b"fr", b"city": b"berlin"}
    split.both(lambda c: c.hgetall("profile") == want, "both fields everywhere")


def test_the_same_field_last_writer_wins(split):
    split.cut()
    split.m.hset("cart", "item", "from montreal")
    written = _seconds(split.m.time())
    # later by the clock that versions writes (the same ms would leave it to counters)
    wait_until(lambda: _seconds(split.f.time()) > written + 0.005, 5, what="a later clock")
    split.f.hset("cart", "item", "from frankfurt")
    split.heal()
    split.both(lambda c: c.hget("cart", "item") == b"from frankfurt", "the later write")


def test_hincrby_in_both_regions_loses_no_increment(split):
    split.m.hset("stats", "views", 100)
    split.both(lambda c: c.hget("stats", "views") == b"100", "the start value")
    split.cut()
    for _ in range(50):
        split.m.hincrby("stats", "views", 1)
        split.f.hincrby("stats", "views", 2)
    split.heal()
    split.both(lambda c: c.hget("stats", "views") == b"250", "every increment counted")


def test_hdel_of_a_field_and_del_of_the_key_against_concurrent_writes(split):
    split.m.hset("session", mapping={"user": "u1", "token": "t1"})
    split.both(lambda c: c.hlen("session") == 2, "the session everywhere")
    split.cut()
    split.m.hdel("session", "token")
    split.f.hset("session", "seen", "now")
    split.m.hset("doomed", "old", "1")
    split.f.hset("doomed", "older", "1")
    split.m.delete("doomed")  # newer than frankfurt's field: it goes too
    split.heal()
    split.both(lambda c: c.hgetall("session") == {b"user": b"u1", b"seen": b"now"},
               "the deleted field gone, the new one kept")
    split.both(lambda c: c.exists("doomed") == 0, "the deleted hash gone")
    split.f.hset("doomed", "new", "1")  # after the delete: a new hash
    split.both(lambda c: c.hgetall("doomed") == {b"new": b"1"}, "a new hash after the delete")
    # every delete's tombstone is collected once both regions have it
    split.both(lambda c: c.info("persistence")["store_tombstones"] == 0,
               "the tombstones collected")


def test_a_hash_ttl_is_the_key_s_everywhere(split):
    split.m.hset("temp", "f", "v")
    split.m.pexpire("temp", 1500)
    split.both(lambda c: 0 < c.pttl("temp") <= 1500, "the deadline everywhere")
    split.both(lambda c: c.exists("temp") == 0, "expired everywhere")
