"""The master as users run it: twistd daemons on loopback, regions registering
over real sockets, telnet-style LOCATE, health, restarts, two masters, HTTP."""

import json
import subprocess
import time
import urllib.request

import pytest

from support import (
    TWISTD,
    ask_master,
    free_port,
    master_daemon,
    metric,
    metric_samples,
    nearest,
    placed_region,
    region_daemon,
    registered_up,
    wait_until,
)

CITIES = ["montreal", "frankfurt", "singapore"]
TIMEOUT = 1.5  # the masters' heartbeat_timeout in these tests
pytestmark = pytest.mark.cluster(heartbeat_timeout=TIMEOUT, http=True)


def start_regions(tmp_path, masters: str, names=CITIES):
    return {name: placed_region(tmp_path, name, masters).start() for name in names}



def test_locate_follows_health(cluster):
    master, regions = cluster
    assert ask_master(master.port, "LOCATE 40.71 -74.01") == [
        f"REGION montreal 127.0.0.1 {regions['montreal'].port} 533.6", "END"]
    three = ask_master(master.port, "LOCATE 40.71 -74.01 3")
    assert [line.split()[1] for line in three[:-1]] == ["montreal", "frankfurt", "singapore"]
    regions["montreal"].kill()
    killed = time.monotonic()
    wait_until(lambda: nearest(master.port, 40.71, -74.01) == "frankfurt", TIMEOUT + 1,
               what="New York to move to the next live region")
    assert time.monotonic() - killed <= TIMEOUT + 1
    regions["montreal"].start()
    wait_until(lambda: nearest(master.port, 40.71, -74.01) == "montreal", 10,
               what="montreal to come back")


def test_regions_learn_their_peers_and_remember_them(cluster):
    master, regions = cluster
    r = regions["frankfurt"].client()

    def peers():
        return {v["name"] for k, v in r.info("replication").items() if k.startswith("peer")}
    wait_until(lambda: peers() == {"montreal", "singapore"}, 5, what="the membership push")
    saved = json.loads((regions["frankfurt"].workdir / "data" / "peers.json").read_text())
    assert sorted(p["name"] for p in saved) == ["montreal", "singapore"]
    assert r.execute_command("REGION") == [b"frankfurt", b"50.1109", b"8.6821"]


def test_status_page_json_and_metrics(cluster):
    master, regions = cluster
    http = master.argv[-1].split("=", 1)[1]  # --http=tcp:PORT:interface=127.0.0.1
    base = f"http://127.0.0.1:{http.split(':')[1]}"
    page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
    assert "<svg" in page and all(name in page for name in CITIES)
    data = json.load(urllib.request.urlopen(base + "/regions.json", timeout=5))
    assert {r["name"]: r["state"] for r in data["regions"]} == dict.fromkeys(CITIES, "up")

    def lags_reported():  # regions send their peers' replication lag with each heartbeat
        regions = json.load(urllib.request.urlopen(base + "/regions.json", timeout=5))["regions"]
        return all(set(r["peer_lag_ms"]) == set(CITIES) - {r["name"]} for r in regions)
    wait_until(lags_reported, 5, what="per-peer lag on the master")
    assert "replication lag to peers" in urllib.request.urlopen(base + "/", timeout=5).read(
        ).decode()
    samples = metric_samples(urllib.request.urlopen(base + "/metrics", timeout=5).read(
        ).decode())
    assert metric(samples, "geolru_master_regions", state="up") == 3
    assert metric(samples, "geolru_region_up", region="singapore") == 1


def test_master_restart_keeps_the_registry_and_regions_rejoin(tmp_path):
    master = master_daemon(tmp_path / "master", heartbeat_timeout=TIMEOUT).start()
    regions = start_regions(tmp_path, f"tcp:127.0.0.1:{master.port}", ["montreal", "singapore"])
    try:
        wait_until(lambda: registered_up(master.port, 2), 15, what="two regions registered")
        master.kill()
        # the regions keep serving while the master is away
        assert regions["montreal"].client().set("k", "v")
        master.start()
        names = [line.split()[1] for line in ask_master(master.port, "REGIONS")[:-1]]
        assert names == ["montreal", "singapore"]  # restored from the state file
        wait_until(lambda: registered_up(master.port, 2), 10,
                   what="regions to rejoin by themselves")
    finally:
        for daemon in [master, *regions.values()]:
            daemon.stop()


def test_two_masters_any_one_answers(tmp_path):
    a = master_daemon(tmp_path / "a", heartbeat_timeout=TIMEOUT).start()
    b = master_daemon(tmp_path / "b", heartbeat_timeout=TIMEOUT).start()
    both = f"tcp:127.0.0.1:{a.port},tcp:127.0.0.1:{b.port}"
    regions = start_regions(tmp_path, both, ["montreal", "frankfurt"])
    try:
        wait_until(lambda: registered_up(a.port, 2) and registered_up(b.port, 2), 15,
                   what="both masters to know both regions")
        a.kill()
        assert nearest(b.port, 40.71, -74.01) == "montreal"
        regions["montreal"].kill()
        wait_until(lambda: nearest(b.port, 40.71, -74.01) == "frankfurt", TIMEOUT + 1,
                   what="the surviving master to see montreal go")
    finally:
        for daemon in [a, b, *regions.values()]:
            daemon.stop()


def test_a_region_whose_master_is_unreachable_still_serves(tmp_path):
    region = region_daemon(tmp_path, master=f"tcp:127.0.0.1:{free_port()}").start()
    try:
        r = region.client()
        assert r.set("k", "v") and r.get("k") == b"v"
    finally:
        region.stop()


def test_bad_master_config_is_one_line(tmp_path):
    ini = tmp_path / "master.ini"
    ini.write_text("[master]\nheartbeat_timeout = soon\n")
    result = subprocess.run([str(TWISTD), "-n", "--pidfile=", "geolru-master", "-c", str(ini)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"geolru-master: {ini}: [master] heartbeat_timeout: not a number: 'soon'"]


def test_cluster_secret_lets_only_regions_that_know_it_register(tmp_path):
    master = master_daemon(tmp_path / "master", heartbeat_timeout=TIMEOUT,
                           cluster_secret="s3cret").start()
    good = region_daemon(tmp_path / "good", name="montreal", cluster_secret="s3cret",
                         master=f"tcp:127.0.0.1:{master.port}").start()
    bad = region_daemon(tmp_path / "bad", name="frankfurt", cluster_secret="guess",
                        master=f"tcp:127.0.0.1:{master.port}").start()
    try:
        wait_until(lambda: registered_up(master.port, 1), 10, what="the region with the secret")
        names = [line.split()[1] for line in ask_master(master.port, "REGIONS")[:-1]]
        assert names == ["montreal"]
        assert ask_master(master.port, "REGISTER x 127.0.0.1 1 0 0 0") == [
            "ERR authentication failed"]
        assert "bad or missing cluster secret" in master.log()
        assert "s3cret" not in master.log() and "s3cret" not in good.log()
    finally:
        for daemon in (master, good, bad):
            daemon.stop()


def test_ping_is_a_health_check_and_a_redis_client_gets_one_clear_line(tmp_path):
    master = master_daemon(tmp_path / "master", heartbeat_timeout=TIMEOUT).start()
    try:
        assert ask_master(master.port, "PING") == ["PONG"]
        out = subprocess.run(["redis-cli", "-p", str(master.port), "PING"],
                             capture_output=True, text=True, timeout=10)
        said = (out.stdout + out.stderr).strip()
        assert said.startswith("(error) ERR this is a geolru master") or \
            said.startswith("ERR this is a geolru master"), said
        assert "point Redis clients at a region" in said
        assert ask_master(master.port, "PING") == ["PONG"]  # and it is still up
    finally:
        master.stop()
