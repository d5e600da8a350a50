"""Lists between two real regions whose links are cut while both write (redis-py as
the client): concurrent pushes all stay, in one order both regions show; a job popped
in both regions goes once; a pop wins over an LSET of its element; a list survives
kill -9."""

from support import wait_until


def test_concurrent_pushes_stay_in_one_order_and_a_double_pop_removes_once(split):
    split.m.rpush("jobs", "j1", "j2", "j3")
    split.both(lambda c: c.llen("jobs") == 3, "three jobs everywhere")
    split.cut()
    assert split.m.lpop("jobs") == b"j1"
    assert split.f.lpop("jobs") == b"j1"  # both clients get it (docs/types.md)
    split.m.rpush("jobs", "m1", "m2")
    split.f.rpush("jobs", "f1")
    split.f.lpush("jobs", "urgent")
    split.m.lset("jobs", 0, "J2")  # montreal's j2 ...
    assert split.f.rpop("jobs") == b"f1"  # (frankfurt pops its own push back)
    assert split.m.lrange("jobs", 0, -1) == [b"J2", b"j3", b"m1", b"m2"]  # (apart)
    split.heal()
    split.both(lambda c: c.llen("jobs") == 5, "the merged list everywhere")
    merged = split.m.lrange("jobs", 0, -1)
    assert split.f.lrange("jobs", 0, -1) == merged
    assert merged == [b"urgent", b"J2", b"j3", b"m1", b"m2"]


def test_a_pop_wins_over_an_lset_of_its_element(split):
    split.m.rpush("l", "a", "b")
    split.both(lambda c: c.llen("l") == 2, "the list everywhere")
    split.cut()
    assert split.m.lpop("l") == b"a"
    split.f.lset("l", 0, "A")  # later, unseen by the pop: the element stays removed
    split.heal()
    split.both(lambda c: c.lrange("l", 0, -1) == [b"b"], "the pop everywhere")


def test_a_list_survives_kill_9_and_restart(split):
    split.m.rpush("kept", *(f"e{i}" for i in range(300)))
    split.m.linsert("kept", "BEFORE", "e150", "middle")
    split.m.wait(1, 5000)  # committed at frankfurt too, confirmed
    region = split.regions["montreal"]
    region.kill()
    region.start()
    client = region.client()
    wait_until(lambda: _length(client, "kept") == 301, 20, what="the list back after kill -9")
    assert client.lindex("kept", 150) == b"middle" and client.lindex("kept", -1) == b"e299"


def _length(client, key) -> int:
    try:
        return client.llen(key)
    except Exception:  # (LOADING while it syncs)
        return -1
