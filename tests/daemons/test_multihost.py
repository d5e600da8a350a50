"""Several machines, as docs/deploy.md configures them: a master and three regions,
each in a network namespace of its own with its own address, joined by veth pairs
to a bridge (in a namespace too); listening on their addresses, advertising them,
with requirepass and a cluster secret (protected mode would refuse them without).
A client in a fifth namespace writes at one region and reads at the others.

The test creates and removes every namespace itself; it needs root and ``ip``.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import wait_until

BIN = Path(sys.executable).parent
SECRET, PASSWORD = "multi-host-secret", "client-password"
PLACES = {"montreal": (45.5019, -73.5674), "frankfurt": (50.1109, 8.6821),
          "singapore": (1.3521, 103.8198)}


def _can_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    name = f"geolru-probe-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode:
        return "this machine does not allow network namespaces"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


WHY_NOT = _can_make_namespaces()


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Network:
    """A bridge in a hub namespace, and a namespace per host joined to it."""

    def __init__(self):
        tag = f"{os.getpid() % 10000}"
        self.subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"
        self.hub = f"glhub{tag}"
        self.tag = tag
        self.namespaces = [self.hub]
        ip("netns", "add", self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")

    def host(self, name: str, last_octet: int) -> tuple[str, str]:
        ns = f"gl{name[:6]}{self.tag}"
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        inside, outside = "eth0", f"v{name[:6]}"
        ip("-n", ns, "link", "add", inside, "type", "veth", "peer", "name", outside,
           "netns", self.hub)
        ip("-n", self.hub, "link", "set", outside, "master", "br0")
        ip("-n", self.hub, "link", "set", outside, "up")
        address = f"{self.subnet}.{last_octet}"
        ip("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
        ip("-n", ns, "link", "set", inside, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        return ns, address

    def close(self):
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")
def test_a_master_and_three_regions_on_separate_hosts(tmp_path):
    net = Network()
    processes = []
    try:
        master_ip = start_master(net, tmp_path, processes)
        hosts = {}
        for i, (name, (lat, lon)) in enumerate(PLACES.items()):
            ns, address = net.host(name, 11 + i)
            hosts[name] = address
            ini = tmp_path / f"{name}.ini"
            ini.write_text(textwrap.dedent(f"""\
                [region]
                name = {name}
                latitude = {lat}
                longitude = {lon}
                listen = tcp:7001:interface=0.0.0.0
                peer_listen = tcp:7101:interface={address}
                advertise_host = {address}
                master = tcp:{master_ip}:7000
                data_dir = {tmp_path}/{name}
                [security]
                requirepass = {PASSWORD}
                cluster_secret = {SECRET}
                """))
            processes.append(start(ns, "geolru-region", ini, tmp_path))
        out = check_from_a_client(net, CLIENT_CHECK, master_ip, hosts,
                                  "the cluster to work across hosts")
        assert out["located"] == "montreal" and out["host"] == hosts["montreal"]
        assert out["everywhere"] and out["noauth"].startswith("NOAUTH")
    finally:
        stop(processes, net)


def start_master(net: Network, work: Path, processes: list) -> str:
    """A master on a host of its own, with the cluster secret; its address."""
    ns, address = net.host("master", 10)
    (work / "master.ini").write_text(textwrap.dedent(f"""\
        [master]
        listen = tcp:7000:interface={address}
        http =
        state_file = {work}/master/regions.json
        [security]
        cluster_secret = {SECRET}
        """))
    processes.append(start(ns, "geolru-master", work / "master.ini", work))
    return address


def check_from_a_client(net: Network, script: str, master_ip: str, hosts: dict,
                        what: str) -> dict:
    """Run ``script`` in a client's namespace until it says ok; what it said."""
    client_ns, _ = net.host("client", 20)
    out = {}

    def checked():
        result = in_namespace(client_ns, script, master_ip, json.dumps(hosts))
        out.update(result)
        return result.get("ok")
    wait_until(checked, 60, interval=1, what=what)
    return out


def stop(processes: list, net: Network) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
    net.close()


def start(ns: str, command: str, ini: Path, work: Path) -> subprocess.Popen:
    log = open(work / f"{ini.stem}.log", "ab")
    return subprocess.Popen(["ip", "netns", "exec", ns, str(BIN / command), "-c", str(ini)],
                            cwd=work, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def in_namespace(ns: str, script: str, *args) -> dict:
    result = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", script, *args],
                            capture_output=True, text=True, timeout=60)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": result.stderr[-2000:]}


# run inside the client's namespace: LOCATE, write at Montreal, read everywhere
CLIENT_CHECK = textwrap.dedent("""\
    import json, sys, time
    import redis
    from geolru.client.geocache import locate
    master, hosts = sys.argv[1], json.loads(sys.argv[2])
    out = {"ok": False}
    try:
        found = locate(f"{master}:7000", 45.5, -73.6, 3)
        out["located"], out["host"] = found[0].name, found[0].host
        if len(found) == 3:
            clients = {n: redis.Redis(host=h, port=7001, password="%s", socket_timeout=3)
                       for n, h in hosts.items()}
            clients["montreal"].set("across", "hosts")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if all(c.get("across") == b"hosts" for c in clients.values()):
                    out["everywhere"] = True
                    break
                time.sleep(0.1)
            try:
                redis.Redis(host=hosts["frankfurt"], port=7001).get("across")
                out["noauth"] = "served without AUTH"
            except redis.AuthenticationError as e:
                out["noauth"] = "NOAUTH " + str(e)
            out["ok"] = out.get("everywhere", False)
    except Exception as e:
        out["error"] = repr(e)
    print(json.dumps(out))
    """) % PASSWORD


@pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")
def test_a_region_whose_shards_are_on_hosts_of_their_own(tmp_path):
    """Montreal in two shards, each on its own host from its own ini (``shard = k``),
    learning of the other from the master; Frankfurt, without cluster mode, on a
    third.  A cluster client reaches both shards through either."""
    net = Network()
    processes = []
    try:
        master_ip = start_master(net, tmp_path, processes)
        hosts = {}
        for i, (name, shard) in enumerate([("montreal", 0), ("montreal", 1),
                                           ("frankfurt", None)]):
            host = f"{name}{'' if shard is None else shard}"
            ns, address = net.host(f"{name[:4]}{shard}", 11 + i)
            hosts[host] = address
            lat, lon = PLACES[name]
            sharding = "" if shard is None else (
                f"cluster_enabled = yes\nshards = 2\nshard = {shard}\n")
            ini = tmp_path / f"{host}.ini"
            ini.write_text(textwrap.dedent(f"""\
                [region]
                name = {name}
                latitude = {lat}
                longitude = {lon}
                listen = tcp:7001:interface={address}
                peer_listen = tcp:7101:interface={address}
                advertise_host = {address}
                master = tcp:{master_ip}:7000
                data_dir = {tmp_path}/{host}
                """) + sharding + textwrap.dedent(f"""\
                [security]
                requirepass = {PASSWORD}
                cluster_secret = {SECRET}
                """))
            processes.append(start(ns, "geolru-region", ini, tmp_path))
        out = check_from_a_client(net, SHARDS_CHECK, master_ip, hosts,
                                  "the sharded region to work across hosts")
        assert out["slots"] == [[0, 8191, hosts["montreal0"]], [8192, 16383, hosts["montreal1"]]]
        assert out["seeds"] == [hosts["montreal0"], hosts["montreal1"]]
    finally:
        stop(processes, net)


# run inside the client's namespace: LOCATE, RedisCluster at Montreal, read at Frankfurt
SHARDS_CHECK = textwrap.dedent("""\
    import json, sys, time
    import redis
    from geolru.client.geocache import locate
    master, hosts = sys.argv[1], json.loads(sys.argv[2])
    out = {"ok": False}
    try:
        found = locate(f"{master}:7000", 45.5, -73.6, 2)
        out["seeds"] = [host for host, _ in found[0].seeds]
        shard = redis.Redis(host=hosts["montreal1"], port=7001, password="%s", protocol=2)
        out["slots"] = [[low, high, node[0].decode()]
                        for low, high, node in shard.execute_command("CLUSTER", "SLOTS")]
        if len(found) == 2 and len(out["slots"]) == 2:
            montreal = redis.RedisCluster(host=hosts["montreal0"], port=7001,
                                          password="%s", socket_timeout=3)
            for i in range(100):
                montreal.set(f"k{i}", i)
            frankfurt = redis.Redis(host=hosts["frankfurt"], port=7001, password="%s")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if [frankfurt.get(f"k{i}") for i in range(100)] == [b"%%d" %% i
                                                                    for i in range(100)]:
                    out["ok"] = True
                    break
                time.sleep(0.1)
    except Exception as e:
        out["error"] = repr(e)
    print(json.dumps(out))
    """) % (PASSWORD, PASSWORD, PASSWORD)
