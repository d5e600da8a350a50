"""Sets, sans-IO: the observed-remove merge between regions (two keyspaces that
exchange their writes by hand, in any order), kinds against hashes, the store."""

import pytest
from regions import Region, exchange

from geolru.model.hashkeys import MEMBER_MARK
from support import DeferringWriter


def members(region, key) -> set:
    reply = region("SMEMBERS", key)
    assert reply[:1] == b"*", reply
    return set(reply.split(b"\r\n")[2::2])


@pytest.mark.parametrize("reverse", [False, True])
def test_concurrent_sadds_both_survive(pair, clock, reverse):
    a, b = pair
    a("SADD", "s", "x")
    clock.advance(0.01)
    b("SADD", "s", "y")
    exchange(a, b, reverse)
    assert members(a, "s") == members(b, "s") == {b"x", b"y"}
    assert a("SCARD", "s") == b("SCARD", "s") == b":2\r\n"


@pytest.mark.parametrize("reverse", [False, True])
def test_an_add_wins_over_a_concurrent_remove(pair, clock, reverse):
    a, b = pair
    a("SADD", "s", "x", "y")
    exchange(a, b)
    clock.advance(0.01)
    a("SREM", "s", "x")  # removes the add it saw
    b("SADD", "s", "x")  # at the same time: an add it did not see
    exchange(a, b, reverse)
    assert members(a, "s") == members(b, "s") == {b"x", b"y"}


def test_a_remove_removes_only_what_its_region_had_seen(pair, clock):
    a, b = pair
    a("SADD", "s", "x")
    exchange(a, b)
    clock.advance(0.01)
    b("SADD", "s", "x")  # a newer add of x, not yet at a
    a("SREM", "s", "x")
    a.send_to(b)
    assert members(b, "s") == {b"x"}  # b's own add stands
    b.send_to(a)
    assert members(a, "s") == {b"x"}


def test_a_remove_seen_everywhere_keeps_the_member_out(pair, clock):
    a, b = pair
    a("SADD", "s", "x", "y")
    exchange(a, b)
    clock.advance(0.01)
    b("SREM", "s", "x")
    exchange(a, b)
    assert members(a, "s") == members(b, "s") == {b"y"}
    b("SREM", "s", "y")
    exchange(a, b)
    for region in pair:
        assert region("EXISTS", "s") == b":0\r\n"
        assert region("TYPE", "s") == b"+none\r\n"


def test_del_hides_every_add_made_before_it(pair, clock):
    a, b = pair
    a("SADD", "s", "x")
    clock.advance(0.01)
    b("SADD", "s", "y")  # before the DEL, not seen by it
    clock.advance(0.01)
    a("DEL", "s")
    clock.advance(0.01)
    a("SADD", "s", "z")
    exchange(a, b)
    assert members(a, "s") == members(b, "s") == {b"z"}


def _an_old_add_inside_a_newer_remove(a, b, clock):
    """a's SADD of s x reaches b; a DELs s (not yet sent); the record of x that c
    would send after adding it and removing it again: holding a's add from before
    the DEL (c never saw the DEL).  (identity, record)."""
    from geolru.model import members
    from geolru.model.hashkeys import member_id
    identity = member_id(b"s", b"x", MEMBER_MARK)
    a("SADD", "s", "x")
    exchange(a, b)
    old = b.store.get(identity)
    clock.advance(0.01)
    a("DEL", "s")
    v = a.keyspace.hlc.now()
    incoming = members.removed(members.added(old, v, "c"), (v + 1, "c"))
    assert [region for region, _ in incoming.hash_meta.adds] == ["a", "c"]
    return identity, incoming


def test_an_add_from_before_a_clear_is_not_kept_inside_a_newer_record(pair, clock):
    """b has a's DEL of the set; a record of the member joining a's add from before
    it with a newer remove comes: b keeps the remove, not the old add, which its
    state would show as present once the emptied set's header (and its clear) is
    collected and the set made again (wide seed 3001202643)."""
    a, b = pair
    identity, incoming = _an_old_add_inside_a_newer_remove(a, b, clock)
    exchange(a, b)  # (the DEL)
    b.keyspace.apply(identity, incoming)
    stored = b.store.get(identity)
    assert [region for region, _ in stored.hash_meta.adds] == ["c"]
    assert not stored.hash_meta.present()


def test_a_clear_that_comes_after_a_record_takes_its_old_adds_out_too(pair, clock):
    """The same record, arriving before the DEL does: once b has the clear, the
    record holds no write from before it (``FieldIndex.drop`` rewrites it where it
    is), or the add would show again when the emptied set's header is collected and
    the set made again."""
    a, b = pair
    identity, incoming = _an_old_add_inside_a_newer_remove(a, b, clock)
    b.keyspace.apply(identity, incoming)
    exchange(a, b)  # (the DEL)
    b.store.commit_and_wait()
    stored = b.store.get(identity)
    assert [region for region, _ in stored.hash_meta.adds] == ["c"]


def test_the_newer_of_a_hash_and_a_set_made_at_once_decides_the_type(pair, clock):
    a, b = pair
    a("HSET", "k", "f", "v")
    clock.advance(0.01)
    b("SADD", "k", "m")
    exchange(a, b)
    for region in pair:
        assert region("TYPE", "k") == b"+set\r\n"
        assert members(region, "k") == {b"m"}
        assert region("HGET", "k", "f").startswith(b"-WRONGTYPE")
    clock.advance(0.01)
    b("DEL", "k")
    exchange(a, b)
    clock.advance(0.01)
    a("HSET", "k", "g", "w")  # a new hash: the old field is gone with the DEL
    exchange(a, b)
    for region in pair:
        assert region("HGETALL", "k") == b"*2\r\n$1\r\ng\r\n$1\r\nw\r\n"


def test_members_are_kept_apart_from_a_hash_s_fields_in_the_store(tmp_path, clock):
    a = Region(tmp_path, "a", clock)
    a("SADD", "s", "m")
    a.store.commit_and_wait()
    assert [field for _, field, _ in a.store.fields(b"s", b"", MEMBER_MARK)] == [b"m"]
    assert list(a.store.fields(b"s")) == []  # no hash field
    a.keyspace.cache.clear()
    assert members(a, "s") == {b"m"}  # read back from the store


def test_a_set_expires_the_same_in_every_region(pair, clock):
    a, b = pair
    a("SADD", "s", "x")
    a("PEXPIRE", "s", "100")
    exchange(a, b)
    clock.advance(0.2)
    for region in pair:
        region.keyspace.expire_due()
        assert region("EXISTS", "s") == b":0\r\n"
    exchange(a, b)
    clock.advance(0.01)
    b("SADD", "s", "y")
    exchange(a, b)
    assert members(a, "s") == members(b, "s") == {b"y"}


@pytest.mark.parametrize("collect", [False, True])
def test_a_collection_replaced_by_one_of_another_kind_stays_gone(pair, clock, collect):
    """A hash and a set made at once: the newer replaces the older as a SET would, so
    the older's elements never come back, whether or not a region collected its
    tombstones meanwhile (found in review: the hash's field came back at one region,
    after the set was emptied and the key made a hash again, and not at the other)."""
    a, b = pair
    a("HSET", "k", "f", "1")
    clock.advance(0.01)
    b("SADD", "k", "m")
    exchange(a, b)
    for region in pair:
        assert region("TYPE", "k") == b"+set\r\n"
    clock.advance(0.01)
    b("SREM", "k", "m")
    exchange(a, b)
    if collect:
        clock.advance(0.05)
        a.store.commit_and_wait()
        a.keyspace.collect_tombstones()
        a.store.commit_and_wait()
    clock.advance(0.01)
    a("HSET", "k", "g", "2")
    exchange(a, b)
    for region in pair:
        assert region.fields("k") == {b"g": b"2"}
    clock.advance(0.01)
    b("HDEL", "k", "g")
    clock.advance(0.01)
    b("SADD", "k", "n")
    exchange(a, b)
    assert members(a, "k") == members(b, "k") == {b"n"}  # (not m: removed, and cleared)


def test_a_set_and_a_hash_both_emptied_at_once_leave_no_element(pair, clock):
    a, b = pair
    b("HSET", "k", "f", "1")
    clock.advance(0.01)
    a("SADD", "k", "m")
    a("SREM", "k", "m")
    exchange(a, b)
    for region in pair:
        assert region("EXISTS", "k") == b":0\r\n"
    clock.advance(0.01)
    b("HSET", "k", "g", "2")
    exchange(a, b)
    for region in pair:
        assert region.fields("k") == {b"g": b"2"}  # f went with the set that replaced it


def test_sscan_pages_through_a_set_of_words_and_gives_an_intset_at_once(tmp_path, clock):
    a = Region(tmp_path, "a", clock, max_bytes=200)  # (too small a cache for the set)
    words = {b"word:%04d" % i for i in range(300)}
    a("SADD", "w", *words)
    a("SADD", "n", *range(50))
    seen, cursor, pages = set(), b"0", 0
    while True:
        reply = a("SSCAN", "w", cursor, "COUNT", "20").split(b"\r\n")
        cursor, found = reply[2], reply[5:-1:2]
        seen.update(found)
        pages += 1
        if cursor == b"0":
            break
    assert seen == words and pages > 1
    reply = a("SSCAN", "n", "0", "COUNT", "5").split(b"\r\n")
    assert reply[2] == b"0" and reply[5:-1:2] == [b"%d" % i for i in range(50)]


def test_a_peers_header_of_the_same_set_leaves_our_flag_as_our_members_say(pair, clock):
    """A peer's header of a collection cleared where ours is keeps our header's flag
    (whether there is an element here) without reading the elements again: it says
    what this region holds, whatever the peer held."""
    a, b = pair
    a("SADD", "s", "x")
    exchange(a, b)
    clock.advance(0.01)
    b("SREM", "s", "x")  # b holds none
    a("SADD", "s", "y")  # a holds y, and x (b's remove reaches it below)
    b.send_to(a)
    assert a.store.get(b"s").value is not None and members(a, "s") == {b"y"}
    assert a("EXISTS", "s") == b":1\r\n"
    clock.advance(0.01)
    a("SREM", "s", "y")  # a holds none; b's header said it had none too
    a.send_to(b)
    assert members(b, "s") == set() and b("EXISTS", "s") == b":0\r\n"
    assert b.store.get(b"s").value is None


@pytest.mark.parametrize("read_between", [False, True])
def test_members_of_a_failed_commit_are_read_while_a_later_forced_commit_succeeded(
        pair, clock, read_between):
    """A batch whose commit failed waits in the buffer again while a forced commit
    after it succeeds: the store never counts the failed batch's positions committed,
    so a read of the set still finds its member, and a peer's header keeps the set's
    flag true (a review found the member lost for good: EXISTS said 0 here, and the
    tombstone collector then dropped it)."""
    a, _ = pair
    a("SADD", "s", "x")
    a.store.commit_and_wait()
    a.store._writer = writer = DeferringWriter()
    a("SADD", "s", "y")
    clock.advance(a.store.commit_interval)  # (its batch is in flight)
    a("SET", "other", "v")
    a.store.commit(force=True)
    writer.fail_next()  # y's batch: back in the buffer
    writer.run_next()  # the forced one: committed
    assert a.store.committed_seq < max(seq for _, seq in a.store._pending.values())
    if read_between:
        members(a, "s")
    a("SADD", "s", "z")
    a.keyspace.cache.discard(b"s")
    assert members(a, "s") == {b"x", b"y", b"z"}


def test_the_index_of_buffered_members_forgets_them_once_committed(pair, clock):
    """The store's index of buffered element writes (read instead of every buffered
    write) holds only what waits for a commit, however hot the set."""
    a, _ = pair
    for i in range(2000):
        a("SADD", "s", f"m{i}")
        if i % 50 == 0:
            clock.advance(a.store.commit_interval)
    clock.advance(a.store.commit_interval)
    assert sum(map(len, a.store._element_writes.values())) == 0
