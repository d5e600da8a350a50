"""Cluster mode (docs/cluster.md): a region of shards, one command to start it, the
clients Redis Cluster users have (redis-cli -c, redis-py's RedisCluster,
redis-benchmark --cluster), and replication between regions of unequal shard counts."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis

from geolru.client.geocache import GeoCache
from geolru.model.slots import key_slot
from support import (
    PLACES,
    RawConnection,
    ask_master,
    free_ports,
    master_daemon,
    placed_region,
    region_daemon,
    stop_all,
    wait_until,
)


@pytest.fixture
def sharded(tmp_path):
    """A region of two shards, alone (no master)."""
    region = region_daemon(tmp_path / "montreal", "montreal", shards=2).start()
    yield region
    region.stop()


def shard_pid(port: int) -> int:
    return redis.Redis(port=port).info("server")["process_id"]


def test_a_region_of_two_shards_answers_as_redis_cluster(sharded):
    first, second = sharded.ports
    raw = RawConnection(first)
    assert b"cluster_enabled:1" in raw.call("INFO", "cluster")
    assert b"geolru_shard:montreal/1\r\n" in RawConnection(second).call("INFO", "server")
    slots = redis.Redis(port=first, protocol=2).execute_command("CLUSTER", "SLOTS")
    assert [(low, high, node[1]) for low, high, node in slots] == [
        (0, 8191, first), (8192, 16383, second)]
    # every shard answers for the whole region, with its own id as MYID
    assert redis.Redis(port=second, protocol=2).execute_command("CLUSTER", "SLOTS") == slots
    ids = {redis.Redis(port=p).execute_command("CLUSTER", "MYID") for p in sharded.ports}
    assert len(ids) == 2 and all(len(i) == 40 for i in ids)
    nodes = raw.call("CLUSTER", "NODES").decode().split("\r\n", 1)[1]
    lines = sorted((x for x in nodes.splitlines() if x.strip()), key=lambda x: x.split()[1])
    assert lines[0].split()[2] == "myself,master" and lines[0].endswith("connected 0-8191")
    assert lines[1].split()[2] == "master" and lines[1].endswith("8192-16383")
    info = RawConnection(second).call("CLUSTER", "INFO").decode()
    assert "cluster_state:ok" in info and "cluster_known_nodes:2" in info
    # a key of the other shard: MOVED; keys of two slots: CROSSSLOT
    assert key_slot(b"foo") == 12182
    assert raw.call("SET", "foo", "1") == b"-MOVED 12182 127.0.0.1:%d\r\n" % second
    assert raw.call("MGET", "foo", "bar") == (
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n")
    assert raw.call("SET", "bar", "1") == b"+OK\r\n"  # slot 5061: here
    assert raw.call("CLUSTER", "KEYSLOT", "{user1000}.following") == b":3443\r\n"
    assert raw.call("CLUSTER", "COUNTKEYSINSLOT", "5061") == b":1\r\n"
    assert raw.call("CLUSTER", "GETKEYSINSLOT", "5061", "10") == b"*1\r\n$3\r\nbar\r\n"
    assert raw.call("CLUSTER", "COUNTKEYSINSLOT", "16384") == b"-ERR Invalid slot\r\n"
    assert raw.call("CLUSTER", "GETKEYSINSLOT", "1", "-1") == (
        b"-ERR Invalid slot or number of keys\r\n")
    assert raw.call("CLUSTER", "NOPE") == b"-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n"
    assert raw.call("CLUSTER", "KEYSLOT") == (
        b"-ERR wrong number of arguments for 'cluster|keyslot' command\r\n")
    assert raw.call("CLUSTER", "ADDSLOTS", "1").startswith(b"-ERR CLUSTER ADDSLOTS is not")
    assert raw.call("READONLY") == raw.call("READWRITE") == raw.call("ASKING") == b"+OK\r\n"
    # a transaction lives in one slot: a queued command for another shard aborts it,
    # and commands of two slots of this shard fail at EXEC
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "foo", "2").startswith(b"-MOVED")
    assert raw.call("EXEC").startswith(b"-EXECABORT")
    raw.call("MULTI")
    assert raw.call("SET", "bar", "2") == raw.call("SET", "hello", "2") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert raw.call("GET", "bar") == b"$1\r\n1\r\n"
    raw.close()


def test_cluster_clients_work_unchanged(sharded):
    client = sharded.cluster_client(decode_responses=True)
    for i in range(200):
        client.set(f"key:{i}", i)
    assert [client.get(f"key:{i}") for i in range(0, 200, 40)] == ["0", "40", "80", "120", "160"]
    assert client.mget("{tag}a", "{tag}b") == [None, None]
    # each shard holds only the keys of its slots, and together all of them
    sizes = [redis.Redis(port=p).dbsize() for p in sharded.ports]
    assert sum(sizes) == 200 and min(sizes) > 50
    with pytest.raises(redis.exceptions.RedisClusterException):
        client.mget("a", "b")  # (redis-py refuses keys of two slots before sending)
    cli = shutil.which("redis-cli")
    out = subprocess.run([cli, "-c", "-p", str(sharded.port), "SET", "foo", "from-cli"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "OK"
    assert client.get("foo") == "from-cli"
    assert redis.Redis(port=sharded.ports[1]).get("foo") == b"from-cli"
    bench = subprocess.run([shutil.which("redis-benchmark"), "--cluster", "-p", str(sharded.port),
                            "-t", "set,get", "-n", "2000", "-c", "4", "-q"],
                           capture_output=True, text=True, timeout=60)
    assert bench.returncode == 0 and "SET:" in bench.stdout and "GET:" in bench.stdout, \
        bench.stdout + bench.stderr


def test_a_dead_shard_is_started_again_with_its_data(sharded):
    second = sharded.ports[1]
    shard = redis.Redis(port=second)
    shard.set("foo", "kept")
    shard.save()  # (committed now, not at the end of the commit interval)
    pid = shard_pid(second)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: shard_pid(second) != pid, 20, what="the shard to run again")
    assert redis.Redis(port=second).get("foo") == b"kept"
    assert "shard montreal/1 ended (signal 9)" in sharded.log()
    # the supervisor stops its shards with it
    pids = [shard_pid(p) for p in sharded.ports]
    sharded.stop()
    wait_until(lambda: not any(_alive(p) for p in pids), 20, what="the shards to stop")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split(")")[-1].split()[0] != "Z"


def test_regions_of_unequal_shard_counts_replicate(tmp_path):
    """Montreal in 2 shards, Frankfurt 1 in cluster mode, Singapore without it."""
    master = master_daemon(tmp_path / "master", http=True).start()
    masters = f"tcp:127.0.0.1:{master.port}"
    regions = {}
    try:
        regions["montreal"] = placed_region(tmp_path, "montreal", masters, shards=2).start()
        regions["frankfurt"] = placed_region(tmp_path, "frankfurt", masters,
                                             cluster_enabled="yes").start()
        regions["singapore"] = placed_region(tmp_path, "singapore", masters).start()
        # every shard streams live to every shard of the other regions

        def live(port):
            info = redis.Redis(port=port).info("replication")
            return sum(v["state"] == "live" for k, v in info.items() if k.startswith("peer"))
        wait_until(lambda: [live(p) for p in regions["montreal"].ports] == [2, 2]
                   and live(regions["frankfurt"].port) == 3
                   and live(regions["singapore"].port) == 3, 20,
                   what="every shard streaming live to the other regions' shards")
        montreal = regions["montreal"].cluster_client(decode_responses=True)
        frankfurt = regions["frankfurt"].cluster_client(decode_responses=True)
        singapore = regions["singapore"].client(decode_responses=True)
        for i in range(100):
            montreal.set(f"m:{i}", i)
            singapore.set(f"s:{i}", i)
            montreal.incr("hits")
            singapore.incr("hits")
            frankfurt.incr("hits")
        wait_until(lambda: singapore.get("m:99") == "99" and frankfurt.get("m:99") == "99"
                   and montreal.get("s:99") == "99" and frankfurt.get("s:99") == "99", 15,
                   what="writes to reach every region")
        wait_until(lambda: all(r.get("hits") == "300" for r in (montreal, frankfurt, singapore)),
                   15, what="300 increments counted everywhere")
        assert [singapore.get(f"m:{i}") for i in range(100)] == [str(i) for i in range(100)]
        # each Montreal shard holds only its own slots' keys
        first, second = (redis.Redis(port=p, decode_responses=True)
                         for p in regions["montreal"].ports)
        assert {key_slot(k.encode()) < 8192 for k in first.keys("*")} == {True}
        assert {key_slot(k.encode()) >= 8192 for k in second.keys("*")} == {True}
        # WAIT counts regions: both other regions have this shard's write
        shard = first if key_slot(b"w") < 8192 else second
        shard.set("w", "1")
        assert shard.execute_command("WAIT", 2, 5000) == 2
        # deletes: tombstones everywhere, collected everywhere once every shard of the
        # other regions has them (a shard waits for no sibling: it shares no key)
        for i in range(100):
            montreal.delete(f"m:{i}")
        everyone = [*(redis.Redis(port=p) for p in regions["montreal"].ports),
                    redis.Redis(port=regions["frankfurt"].port),
                    redis.Redis(port=regions["singapore"].port)]
        wait_until(lambda: singapore.get("m:99") is None and frankfurt.get("m:0") is None
                   and all(c.info("persistence")["store_tombstones"] == 0 for c in everyone),
                   20, what="every tombstone collected, in every shard")
        # the master names the region once, with a seed per shard
        located = ask_master(master.port, "LOCATE %s %s" % PLACES["montreal"])[0].split()
        assert located[1] == "montreal" and located[-1] == "seeds=" + ",".join(
            f"127.0.0.1:{p}" for p in regions["montreal"].ports)
        lines = ask_master(master.port, "REGIONS")
        assert {line.split()[1] for line in lines if line.startswith("REGION")} == {
            "montreal", "montreal/1", "frankfurt", "singapore"}
        # the status page: a region of shards is one place on the map, a row per shard
        http = master.argv[-1].split("=", 1)[1]  # --http=tcp:PORT:interface=127.0.0.1
        page = urllib.request.urlopen(f"http://127.0.0.1:{http.split(':')[1]}/",
                                      timeout=10).read().decode()
        assert "3 of 3 regions serve every slot" in page and "montreal (2 shards)" in page
        assert "<td>montreal/1</td>" in page and "<td>8192-16383</td>" in page
    finally:
        stop_all(master, *regions.values())


@pytest.mark.parametrize("slots, why", [
    ("8000-16383", "[region] siblings: shard 0 serves 0-8191, and this shard (1) serves "
                   "8000-16383: a slot has one shard"),
    ("9000-16383", "[region] siblings: no shard serves slots 8192-8999")],
    ids=["overlapping", "leaving slots unserved"])
def test_a_shard_whose_slots_do_not_fit_its_siblings_refuses_to_start(tmp_path, slots, why):
    port, peer = free_ports(2), free_ports(2)
    region = region_daemon(tmp_path / "r", "r", port=port, cluster_enabled="yes", shards=2,
                           shard=1, slots=slots, siblings=f"0=127.0.0.1:{port}@{peer}/0-8191")
    region.start(wait=False)
    assert region.process.wait(30) == 1
    assert why in region.log()


def test_geocache_fails_over_per_shard(tmp_path):
    """While one shard of the nearest region is down, its slots are served by the next
    region; the other shard's keys stay near."""
    master = master_daemon(tmp_path / "master").start()
    masters = f"tcp:127.0.0.1:{master.port}"
    montreal = placed_region(tmp_path, "montreal", masters, shards=2).start()
    frankfurt = placed_region(tmp_path, "frankfurt", masters).start()
    cache = None
    try:
        wait_until(lambda: ask_master(master.port, "LOCATE 45.5 -73.5 2")[1:2]
                   and "seeds=" in ask_master(master.port, "LOCATE 45.5 -73.5 2")[0], 15,
                   what="both regions located, Montreal with its shards")
        cache = GeoCache(master=f"127.0.0.1:{master.port}", near=PLACES["montreal"],
                         socket_timeout=1.0)
        near, far = "bar", "foo"  # slots 5061 (montreal) and 12182 (montreal/1)
        assert key_slot(far.encode()) >= 8192 > key_slot(near.encode())
        cache.set(near, "1")
        assert cache.current.name == "montreal" and cache.current.seeds
        cache.set(far, "1")
        assert cache.current.name == "montreal"
        # (a container's subcommand given as bytes, as the shell gives every word:
        # the cluster client finds the key by the two words as text)
        assert cache.execute(b"OBJECT", b"ENCODING", far.encode()) == b"int"
        assert cache.execute(b"MEMORY", b"USAGE", far.encode()) > 0
        # shard montreal/1 down for good: its supervisor frozen, the shard killed
        second = montreal.ports[1]
        pid = shard_pid(second)
        montreal.signal(signal.SIGSTOP)
        os.kill(pid, signal.SIGKILL)
        try:
            wait_until(lambda: not _alive(pid), 10, what="the shard to die")
            cache.set(far, "2")
            assert cache.current.name == "frankfurt"
            assert cache.get(far) == b"2" and cache.current.name == "frankfurt"
            cache.set(near, "2")
            assert cache.current.name == "montreal"
            assert redis.Redis(port=montreal.port).get(near) == b"2"
        finally:
            montreal.signal(signal.SIGCONT)
        # started again, the shard catches up on what Frankfurt took for it
        wait_until(lambda: redis.Redis(port=second).get(far) == b"2", 20,
                   what="the restarted shard to have Frankfurt's write")
    finally:
        if cache is not None:
            cache.close()
        stop_all(master, montreal, frankfurt)


def test_the_geolru_command_line_follows_moved(sharded):
    """``geolru --region`` at one shard of a region in cluster mode: -MOVED takes it to
    the shard of the key, in get/set and in the shell."""
    geolru = str(Path(sys.executable).with_name("geolru"))
    first = f"127.0.0.1:{sharded.port}"
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=60)
    assert run([geolru, "--master", "", "set", "--region", first, "foo", "far"]).stdout \
        .strip() == "OK"
    assert redis.Redis(port=sharded.ports[1]).get("foo") == b"far"
    assert run([geolru, "--master", "", "get", "--region", first, "foo"]).stdout.strip() \
        == '"far"'
    shell = run([geolru, "--master", "", "shell", "--region", first],
                input="set bar near\nget foo\nget bar\nmget foo bar\n")
    prompt = f"{first}> "
    assert shell.stdout.splitlines()[1:] == [
        prompt + "OK", prompt + '"far"', prompt + '"near"',
        prompt + "(error) mget - all keys must map to the same key slot", prompt], shell.stdout


def every_shard_synced(region):
    return all(redis.Redis(port=p).info("replication")["sync_state"] == "synced"
               for p in region.ports)


def test_changing_the_shard_count_loses_nothing(tmp_path):
    """Montreal 2 shards → 3 (restarted with shards = 3) → 1 (geolru reshard while
    stopped, then started without cluster mode); Frankfurt beside it all along."""
    master = master_daemon(tmp_path / "master").start()
    masters = f"tcp:127.0.0.1:{master.port}"
    lat, lon = PLACES["montreal"]
    ports, peer_ports = free_ports(3), free_ports(3)

    def montreal(shards, **options):
        return region_daemon(tmp_path / "montreal", "montreal", port=ports, shards=shards,
                             peer_listen=f"tcp:{peer_ports}:interface=127.0.0.1",
                             master=masters, latitude=lat, longitude=lon, **options)
    region = montreal(2).start()
    frankfurt = placed_region(tmp_path, "frankfurt", masters).start()
    try:
        client = region.cluster_client(decode_responses=True)
        # (Montreal learns of Frankfurt while starting, and each shard syncs with it
        # before it serves keys: one shard answering says nothing of the other)
        wait_until(lambda: every_shard_synced(region), 20, what="every shard to serve keys")
        for i in range(300):
            client.set(f"k{i}", i)
        client.incrby("hits", 7)
        client.hset("{h}user", mapping={"name": "ada", "lang": "fr"})
        client.delete("k0")
        far = frankfurt.client(decode_responses=True)
        wait_until(lambda: far.get("k299") == "299" and far.get("hits") == "7", 15,
                   what="Frankfurt to have Montreal's writes")
        region.stop()
        far.incrby("hits", 1)  # while Montreal is stopped
        far.set("k0", "back")  # a write after the delete: it wins everywhere

        region = montreal(3).start()  # same ini, another count: the records move first
        assert "last ran in 2 shard(s), now in 3" in region.log()
        client = region.cluster_client(decode_responses=True)
        wait_until(lambda: every_shard_synced(region) and client.get("hits") == "8"
                   and client.get("k0") == "back", 20,
                   what="the resharded region to catch up with Frankfurt")
        assert [client.get(f"k{i}") for i in range(1, 300)] == [str(i) for i in range(1, 300)]
        assert client.hgetall("{h}user") == {"name": "ada", "lang": "fr"}
        assert [redis.Redis(port=p).dbsize() > 50 for p in region.ports] == [True] * 3
        client.set("after", "3 shards")
        wait_until(lambda: far.get("after") == "3 shards", 15, what="the new shards to stream")
        region.stop()

        geolru = str(Path(sys.executable).with_name("geolru"))
        ini = tmp_path / "montreal.ini"
        ini.write_text(f"[region]\nname = montreal\ndata_dir = {tmp_path / 'montreal' / 'data'}"
                       f"\nmaster = {masters}\n")
        out = subprocess.run([geolru, "reshard", "-c", str(ini), "--shards", "1"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "retired: montreal/1, montreal/2" in out.stdout, \
            out.stdout + out.stderr
        lines = ask_master(master.port, "REGIONS")
        assert not any("montreal/" in line for line in lines)

        region = region_daemon(tmp_path / "montreal", "montreal", port=ports,
                               peer_listen=f"tcp:{peer_ports}:interface=127.0.0.1",
                               master=masters, latitude=lat, longitude=lon).start()
        plain = region.client(decode_responses=True)
        wait_until(lambda: plain.get("after") == "3 shards", 20, what="Montreal, one again")
        assert plain.dbsize() == 303 and plain.get("hits") == "8"  # k0-k299, hits, user, after
        # Frankfurt no longer streams to, nor waits for, the shards that are no more
        wait_until(lambda: {v["name"] for k, v in far.info("replication").items()
                            if k.startswith("peer")} == {"montreal"}, 15,
                   what="Frankfurt to drop the retired shards")
    finally:
        stop_all(master, region, frankfurt)

