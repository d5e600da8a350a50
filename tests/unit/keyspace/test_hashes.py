"""Hashes, sans-IO: the field-level merge between regions (two keyspaces that
exchange their writes by hand, in any order), the store's layout, the cache."""

import pytest
from regions import Region, exchange

from geolru.store.store import Store


@pytest.mark.parametrize("reverse", [False, True])
def test_concurrent_hsets_of_different_fields_both_survive(pair, clock, reverse):
    a, b = pair
    a("HSET", "h", "name", "ann")
    clock.advance(0.001)
    b("HSET", "h", "city", "oslo")
    exchange(a, b, reverse)
    expected = {b"name": b"ann", b"city": b"oslo"}
    assert a.fields("h") == b.fields("h") == expected
    assert a("HLEN", "h") == b("HLEN", "h") == b":2\r\n"


def test_the_same_field_last_writer_wins(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "first")
    clock.advance(0.001)
    b("HSET", "h", "f", "second")
    exchange(a, b)
    assert a("HGET", "h", "f") == b("HGET", "h", "f") == b"$6\r\nsecond\r\n"


def test_hincrby_in_two_regions_loses_no_increment(pair, clock):
    a, b = pair
    a("HSET", "h", "n", "10")
    exchange(a, b)
    for _ in range(3):
        a("HINCRBY", "h", "n", "2")
        b("HINCRBY", "h", "n", "5")
        clock.advance(0.001)
    exchange(a, b, reverse=True)
    assert a("HGET", "h", "n") == b("HGET", "h", "n") == b"$2\r\n31\r\n"


def test_hdel_of_one_field_and_hset_of_another_keep_the_other(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    exchange(a, b)
    b("HSET", "h", "g", "2")
    clock.advance(0.001)
    a("HDEL", "h", "f")  # a's last field: the hash is empty at a, for now
    assert a("EXISTS", "h") == b":0\r\n"
    exchange(a, b)
    assert a.fields("h") == b.fields("h") == {b"g": b"2"}
    assert a("EXISTS", "h") == b("EXISTS", "h") == b":1\r\n"


def test_del_wins_over_older_field_writes_and_loses_to_newer_ones(pair, clock):
    a, b = pair
    a("HSET", "h", "old", "1")
    exchange(a, b)
    b("HSET", "h", "before", "2")
    clock.advance(0.001)
    a("DEL", "h")
    clock.advance(0.001)
    b("HSET", "h", "after", "3")
    exchange(a, b)
    assert a.fields("h") == b.fields("h") == {b"after": b"3"}


def test_a_string_set_replaces_a_hash_everywhere(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    exchange(a, b)
    clock.advance(0.001)
    b("SET", "h", "text")
    exchange(a, b)
    assert a("GET", "h") == b("GET", "h") == b"$4\r\ntext\r\n"
    assert a("HGET", "h", "f").startswith(b"-WRONGTYPE")
    clock.advance(0.05)
    for region in pair:
        region.store.commit_and_wait()
        assert list(region.store.fields(b"h")) == []  # the fields are gone from the store


def test_a_hash_expires_the_same_in_every_region(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    a("PEXPIRE", "h", "100")
    exchange(a, b)
    assert b("PTTL", "h") == b":100\r\n"
    clock.advance(0.2)
    for region in pair:
        assert region("EXISTS", "h") == b":0\r\n"
        region.keyspace.expire_due()
    exchange(a, b)
    assert a.outbox == b.outbox == []  # the same delete in both: nothing changes, nothing goes on
    a("HSET", "h", "g", "2")
    exchange(a, b)
    assert a.fields("h") == b.fields("h") == {b"g": b"2"}


def test_expire_and_a_concurrent_hset_both_count(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    exchange(a, b)
    a("EXPIRE", "h", "100")
    clock.advance(0.001)
    b("HSET", "h", "g", "2")  # newer, but it did not set the deadline
    exchange(a, b)
    assert a("TTL", "h") == b("TTL", "h") == b":100\r\n"
    assert a.fields("h") == b.fields("h") == {b"f": b"1", b"g": b"2"}


def test_a_field_that_arrives_before_its_header_waits_for_it(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    b("SET", "h", "older")  # (b's string is older than nothing: a's hash came first)
    a.send_to(b, reverse=True)  # the field first, then the header
    assert b("TYPE", "h") in (b"+hash\r\n", b"+string\r\n")
    b.send_to(a)
    assert a("TYPE", "h") == b("TYPE", "h")


def test_hset_on_a_big_hash_reads_and_writes_one_field(tmp_path, clock, monkeypatch):
    region = Region(tmp_path, "a", clock)
    pairs = [x for i in range(10_000) for x in (b"f%d" % i, b"v%d" % i)]
    region("HSET", "big", *pairs)
    clock.advance(0.05)
    region.store.commit()
    region.keyspace.cache.clear()
    scans = []
    real = Store.fields
    monkeypatch.setattr(Store, "fields", lambda *a: scans.append(a) or real(*a))
    writes = len(region.outbox)
    assert region("HSET", "big", "f5", "new") == b":0\r\n"
    assert region("HGET", "big", "f5") == b"$3\r\nnew\r\n"
    assert region("HINCRBY", "big", "n", "1") == b":1\r\n"
    assert scans == []  # no command read the hash whole
    assert len(region.outbox) - writes == 4  # each wrote its field and the header
    assert region("HLEN", "big") == b":10001\r\n"


def test_the_cache_counts_a_hash_whole(tmp_path, clock):
    region = Region(tmp_path, "a", clock, max_bytes=10_000)
    region("HSET", "h", *[b"%04d" % i for i in range(200)])
    cache = region.keyspace.cache
    assert cache.bytes == 1 + 200 * 4
    region("HSET", "h", "extra", "x" * 100)
    assert cache.bytes == 1 + 200 * 4 + 105
    region("HDEL", "h", "extra")
    assert cache.bytes == 1 + 200 * 4
    region("HSET", "big", *[b"%05d" % i for i in range(4000)])  # 20 kB: not cached
    assert b"big" not in cache and cache.bytes <= 10_000
    assert region("HLEN", "big") == b":2000\r\n"


def test_a_syncing_region_expires_no_hash_until_caught_up(pair, clock):
    """A region catching up may lack a PERSIST made in time elsewhere: its expiry
    would win everywhere, so it waits (strings expire as usual)."""
    a, _ = pair
    a("HSET", "h", "f", "1")
    a("PEXPIRE", "h", "100")
    a("SET", "s", "v", "PX", "100")
    clock.advance(0.2)
    a.store.commit_and_wait()
    a.outbox.clear()
    a.keyspace.syncing = True
    a.keyspace.expire_due()
    assert a.outbox == []  # no delete made for the hash
    assert not a.keyspace.exists(b"h")  # (not served either: it is past due)
    a.keyspace.syncing = False
    a.keyspace.expire_due()
    assert [key for key, _ in a.outbox] == [b"h"]


def test_a_region_frozen_past_a_deadline_reads_what_came_before_it_expires_a_hash(pair,
                                                                                  clock):
    """b PERSISTs the hash in time while a is frozen; a thaws after the deadline and
    its overdue timer runs first: a hash's expiry, which would win everywhere, waits
    for the next call, after a has read the PERSIST."""
    a, b = pair
    a("HSET", "h", "f", "1")
    a("PEXPIRE", "h", "1000")
    exchange(a, b)
    a.keyspace.expire_due()  # (a's housekeeping, before the freeze)
    b("PERSIST", "h")
    clock.advance(3)  # a frozen past the deadline; b's PERSIST waits in a's socket
    a.keyspace.expire_due()  # the overdue timer, at thaw
    assert a.outbox == []  # no expiry made
    b.send_to(a)  # then a reads what came
    a.keyspace.expire_due()
    a.send_to(b)
    assert a.fields("h") == b.fields("h") == {b"f": b"1"}
    assert a("TTL", "h") == b("TTL", "h") == b":-1\r\n"
