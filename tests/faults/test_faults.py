"""The fault suite: partitions, crashes, freezes and restarts while clients write.
Nothing acknowledged is lost and every region converges."""

import json
import signal
import threading
import time

import pytest
import redis

from faults.proxy import Proxy
from support import free_port, region_daemon, stop_all, wait_until, write_peers

pytestmark = pytest.mark.serial  # timing: alone, after the others (scripts/test)


def test_partition_with_writes_on_both_sides_then_heal(tmp_path):
    a_peer, b_peer = free_port(), free_port()
    to_a, to_b = Proxy(a_peer), Proxy(b_peer)
    # each region knows the other only through the proxy (no master needed)
    write_peers(tmp_path / "a", "b", to_b.port)
    write_peers(tmp_path / "b", "a", to_a.port)
    a = region_daemon(tmp_path / "a", name="a",
                      peer_listen=f"tcp:{a_peer}:interface=127.0.0.1").start()
    b = region_daemon(tmp_path / "b", name="b",
                      peer_listen=f"tcp:{b_peer}:interface=127.0.0.1").start()
    ra, rb = a.client(), b.client()
    try:
        ra.set("before", "1")
        wait_until(lambda: rb.get("before") == b"1", 10, what="the link to work")
        to_a.cut()
        to_b.cut()
        ra.set("a-only", "1")
        ra.set("conflict", "from-a")
        ra.incr("counter", 5)
        rb.set("b-only", "1")
        rb.incr("counter", 7)
        rb.delete("before")
        rb.set("conflict", "from-b")  # later: this one wins everywhere
        assert ra.get("b-only") is None and rb.get("a-only") is None
        to_a.heal()
        to_b.heal()

        def converged():
            keys = ["before", "a-only", "b-only", "conflict", "counter"]
            return ra.mget(keys) == rb.mget(keys) == [None, b"1", b"1", b"from-b", b"12"]
        wait_until(converged, 15, what="both sides to converge after the partition")
    finally:
        a.stop()
        b.stop()
        to_a.close()
        to_b.close()


def test_crashes_freezes_and_restarts_while_clients_write(cluster):
    master, regions = cluster
    confirmed: dict[str, bytes] = {}  # writes that WAIT said reached another region
    lock = threading.Lock()
    stop = threading.Event()
    stats = {"ok": 0, "errors": 0}

    def writer(name):
        i = 0
        client = None
        while not stop.is_set():
            try:
                client = client or redis.Redis(port=regions[name].port, socket_timeout=3,
                                               retry=None)
                key, value = f"{name}:{i}", f"v{i}".encode()
                client.set(key, value)
                if client.execute_command("WAIT", 1, 500) >= 1:
                    with lock:
                        confirmed[key] = value
                stats["ok"] += 1
                i += 1
            except (redis.ConnectionError, redis.TimeoutError):
                stats["errors"] += 1
                client = None
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in regions]
    try:
        wait_until(lambda: all(
            sum(v["state"] == "live" for k, v in regions[n].client().info("replication").items()
                if k.startswith("peer")) == 2 for n in regions), 15, what="the cluster")
        for t in threads:
            t.start()
        time.sleep(1)  # writes flowing
        regions["frankfurt"].kill()
        time.sleep(1)
        regions["frankfurt"].start()
        regions["singapore"].signal(signal.SIGSTOP)
        time.sleep(2)
        regions["singapore"].signal(signal.SIGCONT)
        master.kill()
        time.sleep(1)
        master.start()
        regions["montreal"].stop()  # a clean restart too
        regions["montreal"].start()
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    try:
        assert stats["ok"] > 100 and len(confirmed) > 50, stats
        clients = {n: regions[n].client() for n in regions}
        keys = sorted(confirmed)

        def everywhere():
            return all(c.mget(keys) == [confirmed[k] for k in keys] for c in clients.values())
        wait_until(everywhere, 30, what="every confirmed write in every region")
    finally:
        stop_all(master, *regions.values())


def test_a_cut_link_is_bridged_by_forwarding(tmp_path):
    """a cannot reach c; b can reach both: a's writes reach c through b."""
    ports = {name: free_port() for name in "abc"}
    a_to_c = Proxy(ports["c"])
    links = {"a": {"b": ports["b"], "c": a_to_c.port}, "b": {"a": ports["a"], "c": ports["c"]},
             "c": {"a": ports["a"], "b": ports["b"]}}
    daemons = {}
    for name, peers in links.items():
        path = tmp_path / name / "data" / "peers.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([
            {"name": peer, "host": "127.0.0.1", "port": 1, "peer_port": port,
             "latitude": 0, "longitude": 0, "up": True} for peer, port in peers.items()]))
        daemons[name] = region_daemon(
            tmp_path / name, name=name,
            peer_listen=f"tcp:{ports[name]}:interface=127.0.0.1").start()
    ra, rb, rc = (daemons[n].client() for n in "abc")

    def live(client):
        info = client.info("replication")
        return sum(v["state"] == "live" for k, v in info.items() if k.startswith("peer")) == 2
    try:
        wait_until(lambda: all(live(r) for r in (ra, rb, rc)), 15, what="every stream live")
        ra.set("before", "1")
        wait_until(lambda: rc.get("before") == b"1", 10, what="a's direct link to c")
        a_to_c.cut()
        for i in range(100):
            ra.set(f"cut:{i}", i)
        wait_until(lambda: rc.get("cut:99") == b"99" and rb.get("cut:99") == b"99", 10,
                   what="a's writes to reach c through b")
        assert all(rc.get(f"cut:{i}") == str(i).encode() for i in range(100))
        info = rb.info("replication")
        to_c = next(v for k, v in info.items() if k.startswith("peer") and v["name"] == "c")
        assert to_c["forwarded"] >= 100
    finally:
        stop_all(*daemons.values())
        a_to_c.close()
