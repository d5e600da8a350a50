"""Hashes between two real regions whose links are cut while both write: the merge
rules (field by field, last writer per field, counters, deletes), then the deletes'
tombstones collected like keys'."""

from support import wait_until


def _seconds(time_reply) -> float:
    seconds, micros = time_reply
    return seconds + micros / 1e6


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
