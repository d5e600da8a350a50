"""Replication with real daemons on loopback: a master and three or four regions."""

import shutil
import signal
import subprocess
import threading
import time
import urllib.request

import pytest
import redis

from support import (
    Cluster,
    free_port,
    metric,
    metric_samples,
    stop_all,
    wait_until,
)


def test_write_anywhere_read_everywhere(cluster):
    for i, name in enumerate(cluster.regions):
        cluster.client(name).set(f"from-{name}", f"value-{i}")
    for i, name in enumerate(cluster.regions):
        cluster.everywhere(lambda r, n=name, i=i: r.get(f"from-{n}") == f"value-{i}".encode(),
                           what=f"the write at {name} everywhere")
    cluster.client("montreal").set("bin", bytes(range(256)), ex=100)
    cluster.everywhere(lambda r: r.get("bin") == bytes(range(256)) and 0 < r.ttl("bin") <= 100)


def test_concurrent_conflicting_writes_converge_to_one_value(cluster):
    clients = {name: cluster.client(name) for name in cluster.regions}

    def hammer(name):
        pipe = clients[name].pipeline(transaction=False)
        for i in range(200):
            pipe.set(f"k{i % 20}", f"{name}-{i}")
        pipe.execute()
    threads = [threading.Thread(target=hammer, args=(n,)) for n in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def agreed():
        views = [clients[n].mget([f"k{i}" for i in range(20)]) for n in clients]
        return views[0] == views[1] == views[2] and None not in views[0]
    wait_until(agreed, 10, what="one value per key in every region")


def test_del_expire_persist_replicate(cluster):
    m, f = cluster.client("montreal"), cluster.client("frankfurt")
    m.mset({"gone": "1", "brief": "2", "kept": "3"})
    cluster.everywhere(lambda r: r.exists("gone", "brief", "kept") == 3)
    f.delete("gone")
    f.expire("kept", 100)
    m.pexpire("brief", 400)
    cluster.everywhere(lambda r: not r.exists("gone") and 0 < r.ttl("kept") <= 100)
    m.persist("kept")
    cluster.everywhere(lambda r: r.ttl("kept") == -1)
    # the deadline replicated, not a DEL: every region drops it at the same moment
    cluster.everywhere(lambda r: r.get("brief") is None, timeout=5)
    # (each region's own expiry removes it, counted: a region that never read it
    # has no cache entry for a read to find expired)
    cluster.everywhere(lambda r: r.info("stats")["expired_keys"] >= 1, timeout=5,
                       what="each region's expiry of brief")


def test_flushall_replicates(cluster):
    cluster.client("montreal").mset({f"f{i}": i for i in range(100)})
    cluster.everywhere(lambda r: r.dbsize() == 100)
    cluster.client("frankfurt").flushall()
    cluster.everywhere(lambda r: r.dbsize() == 0, what="the flush everywhere")
    cluster.client("singapore").set("after", "flush")
    cluster.everywhere(lambda r: r.get("after") == b"flush" and r.dbsize() == 1)


def test_three_regions_incr_one_key_100_times_each(cluster):
    def count(name):
        r = cluster.client(name)
        for _ in range(100):
            r.incr("hits")
    threads = [threading.Thread(target=count, args=(n,)) for n in cluster.regions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cluster.everywhere(lambda r: r.get("hits") == b"300", what="300 everywhere")
    cluster.client("singapore").decrby("hits", 50)
    cluster.everywhere(lambda r: r.get("hits") == b"250")
    cluster.client("frankfurt").set("hits", "7")  # a SET replaces the counter
    cluster.everywhere(lambda r: r.get("hits") == b"7")


def test_kill_9_while_others_write_then_restart_catches_up(cluster):
    victim = cluster.regions["singapore"]
    m = cluster.client("montreal")
    m.set("before", "1")
    cluster.everywhere(lambda r: r.get("before") == b"1")

    def acked_by_singapore():
        info = m.info("replication")
        return any(v["name"] == "singapore" and v["acked"] > 0
                   for k, v in info.items() if k.startswith("peer"))
    wait_until(acked_by_singapore, 5, what="singapore to acknowledge montreal's stream")
    s = cluster.client("singapore")
    wait_until(lambda: s.info("persistence")["store_pending"] == 0, 5,
               what="singapore to commit its position")
    victim.kill()
    for i in range(2000):
        m.set(f"while-away-{i}", i)
    m.delete("while-away-0")
    victim.start()
    cluster.everywhere(lambda r: r.get("while-away-1999") == b"1999"
                       and r.get("while-away-0") is None, 15, what="the catch-up")
    # (frankfurt forwards montreal's writes too, so the data may arrive before
    # montreal's own stream reconnects; that one resumes, it does not start over)
    def resumed():
        info = cluster.client("montreal").info("replication")
        return any(v["name"] == "singapore" and v["partial_syncs"] >= 1 and v["full_syncs"] == 1
                   for k, v in info.items() if k.startswith("peer"))
    wait_until(resumed, 10, what="montreal's stream to singapore to resume")


def test_sigstop_5s_then_sigcont_catches_up(cluster):
    frozen = cluster.regions["frankfurt"]
    frozen.signal(signal.SIGSTOP)
    try:
        m = cluster.client("montreal")
        for i in range(500):
            m.set(f"frozen-{i}", i)
        time.sleep(5)  # the scenario: a region frozen for five seconds
    finally:
        frozen.signal(signal.SIGCONT)
    cluster.everywhere(lambda r: r.get("frozen-499") == b"499", 15, what="the catch-up")


def test_a_region_frozen_while_it_held_a_forward_brings_no_deleted_or_expired_key_back(
        cluster):
    """The reproduction from "Replication you can prove": Frankfurt holds Singapore's
    ``old`` to forward to Montreal when Montreal replaces it (PX 2000, or DEL) and
    WAIT 2 confirms; Frankfurt freezes for 5 s and thaws with its forwarding timer
    overdue, after Montreal's tombstones could have gone.  Nothing comes back."""
    singapore, montreal = cluster.client("singapore"), cluster.client("montreal")
    expiring = [f"exp-{i}" for i in range(50)]
    deleted = [f"del-{i}" for i in range(50)]
    pipe = singapore.pipeline(transaction=False)
    for key in expiring + deleted:
        pipe.set(key, "old")
    pipe.execute()
    wait_until(lambda: montreal.exists(*deleted) == 50, 5, interval=0.001,
               what="montreal to have singapore's writes")
    pipe = montreal.pipeline(transaction=False)
    for key in expiring:
        pipe.set(key, "new", px=2000)
    for key in deleted:
        pipe.delete(key)
    pipe.execute()
    assert montreal.execute_command("WAIT", 2, 10000) == 2
    frozen = cluster.regions["frankfurt"]
    frozen.signal(signal.SIGSTOP)
    try:
        time.sleep(5)  # the scenario: frozen for five seconds, past the keys' deadline
    finally:
        frozen.signal(signal.SIGCONT)

    def outcome(name):
        """'back' once a key is back; 'settled' once the region's tombstones are
        collected and its streams idle (after which nothing can come back)."""
        r = cluster.client(name)
        if r.exists(*expiring, *deleted):
            return "back"
        info = r.info()
        peers = [v for k, v in info.items() if k.startswith("peer")]
        if (info["store_tombstones"] == 0 and info["store_pending"] == 0
                and all(p["state"] == "live" and p["lag_ops"] == 0 for p in peers)):
            return "settled"
        return None
    def outcomes():
        found = {name: outcome(name) for name in cluster.regions}
        return found if all(found.values()) or "back" in found.values() else None
    assert wait_until(outcomes, 20, what="every region settled, or a key back") == {
        name: "settled" for name in cluster.regions}


def test_wait_2_then_kill_9_of_the_origin_keeps_the_write(cluster):
    m = cluster.client("montreal")
    m.set("precious", "yes")
    assert m.execute_command("WAIT", 2, 5000) == 2
    cluster.regions["montreal"].kill()
    for name in ("frankfurt", "singapore"):
        assert cluster.client(name).get("precious") == b"yes"


def test_wait_times_out_with_the_count_so_far(cluster):
    cluster.regions["singapore"].signal(signal.SIGSTOP)
    try:
        m = cluster.client("montreal")
        m.set("k", "v")
        started = time.monotonic()
        assert m.execute_command("WAIT", 2, 300) == 1
        assert time.monotonic() - started >= 0.29
        assert m.get("k") == b"v"  # the connection goes on after WAIT
    finally:
        cluster.regions["singapore"].signal(signal.SIGCONT)


def test_replication_goes_on_with_the_master_down(cluster):
    cluster.master.kill()
    cluster.client("singapore").set("no-master", "fine")
    cluster.everywhere(lambda r: r.get("no-master") == b"fine")
    # and a region restarted while the master is down still knows its peers
    cluster.regions["frankfurt"].stop()
    cluster.regions["frankfurt"].start()
    cluster.client("montreal").set("after-restart", "1")
    cluster.everywhere(lambda r: r.get("after-restart") == b"1", 15)


def test_a_fourth_region_joins_a_loaded_cluster_with_a_full_sync(cluster):
    m = cluster.client("montreal")
    keys = 100_000
    for start in range(0, keys, 10_000):
        m.mset({f"bulk:{i}": i for i in range(start, start + 10_000)})
    newcomer = cluster.add("saopaulo")
    r = newcomer.client(retry=None)
    # while it syncs it answers PING, and key commands LOADING (nothing stale)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert r.ping()
        try:
            if r.dbsize() >= keys:
                break
        except redis.BusyLoadingError:
            continue
    assert r.dbsize() >= keys, "the full sync did not finish in 60 s"
    assert r.info("replication")["sync_state"] == "synced"
    r.set("local-after-sync", "ok")
    assert r.get("bulk:99999") == b"99999" and r.get("local-after-sync") == b"ok"
    info = m.info("replication")
    assert any(v["name"] == "saopaulo" and v["full_syncs"] >= 1
               for k, v in info.items() if k.startswith("peer"))


def peer_status(client: redis.Redis, peer: str) -> dict:
    info = client.info("replication")
    return next(v for k, v in info.items() if k.startswith("peer") and v["name"] == peer)


def test_with_every_link_up_a_write_crosses_each_link_once(tmp_path):
    """Frankfurt holds what Montreal wrote instead of forwarding it to Singapore,
    and drops it when Singapore says it has it from Montreal itself."""
    http = free_port()
    cluster = Cluster(tmp_path, options={"frankfurt": {"http": f"tcp:{http}:interface=127.0.0.1"}})
    try:
        write_once_and_count(cluster, http)
    finally:
        cluster.stop()


def write_once_and_count(cluster, http: int):
    m, s = cluster.client("montreal"), cluster.client("singapore")
    applied_before = int(s.info("replication")["replication_applied"])
    writes = 2000
    pipe = m.pipeline(transaction=False)
    for i in range(writes):
        pipe.set(f"once:{i}", i)
    pipe.execute()
    cluster.everywhere(lambda r: r.get(f"once:{writes - 1}") == str(writes - 1).encode())
    f = cluster.client("frankfurt")
    wait_until(lambda: peer_status(f, "singapore")["not_forwarded"]
               + peer_status(f, "singapore")["forwarded"] >= writes, 10,
               what="frankfurt to settle every held record")
    to_singapore = peer_status(f, "singapore")
    assert to_singapore["not_forwarded"] >= writes * 0.9, to_singapore
    applied = int(s.info("replication")["replication_applied"]) - applied_before
    assert writes <= applied < writes * 1.2  # was 2 × writes when everything was forwarded
    samples = metric_samples(urllib.request.urlopen(
        f"http://127.0.0.1:{http}/metrics", timeout=5).read().decode())
    counted = metric(samples, "geolru_peer_not_forwarded_total", region="frankfurt",
                     peer="singapore")
    assert counted >= to_singapore["not_forwarded"]
    assert metric(samples, "geolru_peer_live", region="frankfurt", peer="singapore") == 1


def peer_state(client, name: str) -> str | None:
    info = client.info("replication")
    return next((v["state"] for k, v in info.items()
                 if k.startswith("peer") and v["name"] == name), None)


@pytest.mark.cluster(heartbeat_timeout=1.5)
def test_forgetting_a_dead_region_frees_its_tombstones_and_its_old_data_cannot_rejoin(
        cluster):
    """A region gone for good holds back tombstone collection until the master
    FORGETs it; back with its old data it would miss the deletes collected
    meanwhile, so its peers refuse to stream to it until its data_dir is emptied."""
    from support import ask_master
    master, regions = cluster
    singapore = regions["singapore"]
    try:
        rm, rf, rs = (regions[n].client() for n in ("montreal", "frankfurt", "singapore"))
        wait_until(lambda: rm.set("k", "v") and rs.get("k") == b"v", 15,
                   what="the cluster to replicate")
        singapore.stop()
        wait_until(lambda: any(line.startswith("REGION singapore") and line.endswith("down")
                               for line in ask_master(master.port, "REGIONS")), 10,
                   what="the master to see singapore down")
        rm.delete("k")
        wait_until(lambda: rm.info("persistence")["store_tombstones"] == 1, 5,
                   what="the delete's tombstone, kept for singapore")
        assert ask_master(master.port, "FORGET montreal")[0].startswith("ERR region 'montreal'"
                                                                         " is up")
        assert ask_master(master.port, "FORGET singapore\r\nQUIT") == [
            "OK forgotten singapore", "BYE"]
        # frankfurt's copy came from montreal, so frankfurt sends montreal nothing
        # for it: an S frame tells montreal the position, which it acknowledges and
        # publishes, so each can see the other has the delete
        wait_until(lambda: rm.info("persistence")["store_tombstones"]
                   == rf.info("persistence")["store_tombstones"] == 0, 10,
                   what="montreal and frankfurt to collect the tombstone")
        assert peer_state(rm, "singapore") is None and peer_state(rf, "singapore") is None

        singapore.start()  # back with its old data: k, which no peer will now delete
        wait_until(lambda: "refused a registration: region name 'singapore' was forgotten"
                   in master.log(), 10, what="the master to refuse singapore")

        def refused_to_serve():
            try:
                rs.get("k")
            except redis.ResponseError as e:
                return str(e).startswith("STALE ") and "forgotten" in str(e)
            return False
        wait_until(refused_to_serve, 10, what="singapore to stop serving its stale keys")
        assert rs.ping() and rs.info("replication")["region_stale"] == 1
        assert rm.get("k") is None and rf.get("k") is None  # its stream was refused
        assert peer_state(rm, "singapore") is None

        rm.set("after", "1")  # the place comes back under a new name, empty
        saopaulo = cluster.add("saopaulo")
        regions["saopaulo"] = saopaulo
        rp = saopaulo.client()
        wait_until(lambda: rp.get("after") == b"1", 15, what="the new region to sync")
        assert rp.get("k") is None and rm.get("k") is None
    finally:
        stop_all(master, *regions.values())


@pytest.mark.cluster(names=["montreal", "frankfurt"])
def test_a_region_restored_from_a_backup_rejoins_and_converges(cluster):
    """docs/deploy.md, Backup and restore: a copy of a stopped region's data_dir,
    put back after the region wrote more, loses nothing the cluster has: the writes
    made after the copy come back from the peer, and new writes replicate."""
    montreal, frankfurt = cluster.regions["montreal"], cluster.regions["frankfurt"]
    m, f = cluster.client("montreal"), cluster.client("frankfurt")
    m.set("before-backup", "1")
    cluster.everywhere(lambda r: r.get("before-backup") == b"1", what="the first write")
    montreal.stop()
    backup = cluster.tmp_path / "backup"
    shutil.copytree(montreal.workdir / "data", backup)
    montreal.start()
    cluster.wait_live()
    m.set("after-backup", "2")  # made at montreal, after the copy
    m.mset({f"after-backup-{i}": i for i in range(100)})
    f.set("from-frankfurt", "3")
    cluster.everywhere(lambda r: r.get("after-backup") == b"2"
                       and r.get("after-backup-99") == b"99"
                       and r.get("from-frankfurt") == b"3", what="the later writes")
    montreal.stop()
    shutil.rmtree(montreal.workdir / "data")
    shutil.copytree(backup, montreal.workdir / "data")  # the restore
    montreal.start()
    cluster.wait_live()
    frankfurt.stop()  # so that what montreal writes now reaches it from montreal's store
    for i in range(100):  # (as many positions as were handed out after the copy)
        m.set(f"after-restore-{i}", i)
    frankfurt.start()
    cluster.everywhere(lambda r: r.get("before-backup") == b"1"
                       and r.get("after-backup") == b"2" and r.get("after-backup-99") == b"99"
                       and r.get("from-frankfurt") == b"3"
                       and all(r.get(f"after-restore-{i}") == b"%d" % i for i in range(100)),
                       20, what="both regions to hold every write")


@pytest.mark.cluster(names=["montreal", "frankfurt"])
def test_rename_and_copy_replicate_as_the_writes_they_make(cluster):
    m = cluster.client("montreal")
    m.set("s", "v", ex=100)
    m.hset("h", mapping={"a": "1", "b": "2"})
    m.incrby("n", 5)
    cluster.everywhere(lambda r: r.get("n") == b"5", what="the first writes")
    assert m.rename("s", "s2") and m.rename("h", "h2") and m.copy("n", "n2")
    assert m.renamenx("h2", "h3")

    def renamed(r):
        return (r.get("s") is None and r.get("s2") == b"v" and 90 < r.ttl("s2") <= 100
                and not r.exists("h", "h2") and r.hgetall("h3") == {b"a": b"1", b"b": b"2"}
                and r.get("n") == b"5" and r.get("n2") == b"5")
    cluster.everywhere(renamed, what="the renames and the copy at every region")


@pytest.mark.cluster(names=["montreal", "frankfurt"])
def test_peer_connections_probe_a_peer_that_went_silent(cluster):
    """A peer's host gone without closing its connections (power cut, a NAT that
    forgot them) must not leave a stream half-open for ever: both ends of every
    replication connection have TCP keepalive on (ss shows its timer)."""
    info = cluster.client("montreal").info("replication")
    address = next(v["addr"] for k, v in info.items()
                   if k.startswith("peer") and v["name"] == "frankfurt")
    port = int(str(address).rsplit(":", 1)[1])

    def sockets(side: str) -> list[str]:
        out = subprocess.run(["ss", "-tnoH", "state", "established", f"( {side} = :{port} )"],
                             capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if line.strip()]
    # (ss shows one timer a socket: the retransmission timer while data is in flight,
    # the keepalive timer once the connection is idle)
    wait_until(lambda: (dialer := sockets("dport")) and (listener := sockets("sport"))
               and all("keepalive" in line for line in dialer + listener), 15,
               what="both ends of the peer connection to show their keepalive timer")
