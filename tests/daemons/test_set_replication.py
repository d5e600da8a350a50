"""Sets between two real regions whose links are cut while both write (redis-py as
the client): concurrent adds all stay, an add wins over a remove that did not see
it, a remove seen everywhere keeps the member out, and a set survives kill -9."""

from support import RawConnection, wait_until


def test_concurrent_adds_and_removes_merge_as_an_observed_remove_set(split):
    split.m.sadd("tags", "red", "green", "blue")
    split.both(lambda c: c.scard("tags") == 3, "three tags everywhere")
    split.cut()
    split.m.srem("tags", "red", "green")  # saw the adds made before the cut
    split.f.sadd("tags", "red")  # an add montreal's remove did not see: it wins
    split.f.sadd("tags", "yellow")
    split.f.srem("tags", "blue")
    assert split.m.smembers("tags") == {b"blue"}  # (really apart)
    assert split.f.smembers("tags") == {b"red", b"green", b"yellow"}
    split.heal()
    want = {b"red", b"yellow"}
    split.both(lambda c: c.smembers("tags") == want, "the merged set everywhere")
    assert split.m.sismember("tags", "green") == 0  # removed by the region that saw it


def test_a_set_made_whole_by_a_store_command_replicates_as_one(split):
    split.m.sadd("a", 1, 2, 3)
    split.m.sadd("b", 2, 3, 4)
    assert split.m.sinterstore("both", "a", "b") == 2
    split.both(lambda c: c.smembers("both") == {b"2", b"3"}, "the stored set everywhere")
    raw = RawConnection(split.regions["frankfurt"].port)
    assert raw.call(b"SMEMBERS", b"both") == b"*2\r\n$1\r\n2\r\n$1\r\n3\r\n"  # (in order)
    raw.close()
    split.f.delete("both")
    split.both(lambda c: c.exists("both") == 0, "the delete everywhere")
    assert split.m.type("a") == b"set" and split.m.object("encoding", "a") == b"intset"


def test_a_set_survives_kill_9_and_restart(split):
    split.m.sadd("kept", *(f"m{i}" for i in range(300)))
    split.m.wait(1, 5000)  # committed at frankfurt too, confirmed
    region = split.regions["montreal"]
    region.kill()
    region.start()
    client = region.client()
    wait_until(lambda: _cardinality(client, "kept") == 300, 20,
               what="the set back after kill -9")
    assert client.sismember("kept", "m299") == 1


def _cardinality(client, key) -> int:
    try:
        return client.scard(key)
    except Exception:  # (LOADING while it syncs)
        return -1


def test_a_member_reaches_each_region_once_live_and_in_a_catch_up(cluster):
    """Three regions: Montreal's members reach Singapore once, from Montreal, and not
    again from Frankfurt, which holds them until Singapore says it has them; the same
    when Singapore was down and catches up from both (every region sent every member
    it applied on to every peer before: twice here)."""
    m, s = cluster.client("montreal"), cluster.client("singapore")
    members = [f"m{i}" for i in range(1000)]
    before = _applied(s)
    m.sadd("live", *members)  # one write: 1,000 member records and the set's header
    cluster.everywhere(lambda r: _cardinality(r, "live") == 1000, 15)
    f = cluster.client("frankfurt")
    wait_until(lambda: _settled(f, "singapore") >= 1001, 10,
               what="frankfurt to drop what singapore has from montreal")
    assert 1001 <= _applied(s) - before < 1001 * 1.2
    victim = cluster.regions["singapore"]
    victim.stop()
    m.sadd("away", *members)
    f = cluster.client("frankfurt")
    wait_until(lambda: _cardinality(f, "away") == 1000, 15, what="frankfurt to have them")
    victim.start()
    s = victim.client()
    wait_until(lambda: _cardinality(s, "away") == 1000, 20, what="singapore's catch-up")
    wait_until(lambda: _settled(cluster.client("frankfurt"), "singapore") >= 1001, 10,
               what="frankfurt to drop what singapore has from montreal")
    assert 1001 <= _applied(s) < 1001 * 1.2  # (counted since its start)


def _applied(client) -> int:
    return int(client.info("replication")["replication_applied"])


def _settled(client, peer: str) -> int:
    """Records ``client``'s region held for ``peer`` and then dropped or sent on."""
    info = client.info("replication")
    status = next(v for k, v in info.items() if k.startswith("peer") and v["name"] == peer)
    return status["not_forwarded"] + status["forwarded"]
