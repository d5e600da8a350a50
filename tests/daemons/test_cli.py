"""The geolru command line, as a user runs it: subprocesses and a pseudo-terminal."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from geolru.devtools import localcluster
from support import PLACES, free_port, free_ports, wait_until

pytestmark = pytest.mark.cluster(names=["montreal", "frankfurt"])

GEOLRU = str(Path(sys.executable).with_name("geolru"))


def run(master, *args):
    return subprocess.run([GEOLRU, "--master", f"127.0.0.1:{master.port}", *args],
                          capture_output=True, text=True, timeout=60)


def test_locate_regions_get_set_del(cluster):
    master, regions = cluster
    out = run(master, "locate", "40.71", "-74.01", "-n", "2").stdout.splitlines()
    assert out[0].split()[:3] == ["montreal", f"127.0.0.1:{regions['montreal'].port}", "533.6"]
    assert out[1].split()[0] == "frankfurt"
    table = run(master, "regions").stdout
    assert "frankfurt" in table and "montreal" in table and "peers' lag" in table
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert re.search(r" up +frankfurt \d+ ops/\d+ ms$", rows["montreal"]), table  # PEERS
    assert run(master, "set", "greeting", "hello world", "--ttl", "60",
               "--near", "45.5,-73.6").stdout == "OK\n"
    assert run(master, "get", "greeting", "--near", "45.5,-73.6").stdout == '"hello world"\n'
    assert run(master, "del", "greeting", "--near", "45.5,-73.6").stdout == "(integer) 1\n"
    bad = run(master, "get", "k", "--near", "95,0")
    assert bad.returncode != 0 and "not a position on Earth" in bad.stderr


def test_what_users_typed_in_the_issue_works(cluster):
    """A southern or western position after --near, bytes that are not UTF-8, no
    --near at all, --version, and --help without reStructuredText."""
    master, regions = cluster
    assert run(master, "set", "sydney", "hi", "--near", "-33.87,151.21").stdout == "OK\n"
    assert run(master, "get", "sydney", "--near", "-33.87,151.21").stdout == '"hi"\n'
    raw = subprocess.run([GEOLRU.encode(), b"--master", f"127.0.0.1:{master.port}".encode(),
                          b"set", b"bin", b"\xff\xfe", b"--near", b"45.5,-73.6"],
                         capture_output=True, timeout=60)
    assert raw.returncode == 0 and raw.stdout == b"OK\n", raw.stderr
    assert regions["montreal"].client().get("bin") == b"\xff\xfe"
    nowhere = run(master, "get", "k")
    assert nowhere.returncode == 1 and "--near LAT,LON" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    version = subprocess.run([GEOLRU, "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("geolru ") and version.returncode == 0
    assert "``" not in subprocess.run([GEOLRU, "--help"], capture_output=True,
                                      text=True).stdout


def test_a_master_that_is_down_is_said_to_be_down(tmp_path):
    result = subprocess.run([GEOLRU, "--master", f"127.0.0.1:{free_port()}", "get", "k",
                             "--near", "0,0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no master reachable" in result.stderr and "gave none" not in result.stderr


def test_unreachable_master_is_one_clear_line():
    result = subprocess.run([GEOLRU, "--master", f"127.0.0.1:{free_port()}", "locate", "0", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("geolru: no master reachable")


def test_shell_survives_the_death_of_its_region(cluster, tmp_path):
    master, regions = cluster
    shell = pexpect.spawn(GEOLRU, ["--master", f"127.0.0.1:{master.port}", "shell",
                                   "--near", "45.50,-73.57"], encoding="utf-8", timeout=15,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    try:
        shell.expect(r"nearest region montreal at 127\.0\.0\.1:\d+, 0\.\d km away")
        shell.expect_exact("montreal> ")
        shell.sendline('set greeting "hello world"')
        shell.expect_exact("OK")
        shell.expect_exact("montreal> ")
        shell.sendline("help")
        shell.expect("Type Redis commands")
        shell.expect(r"hash:\s+HDEL HEXISTS HGET HGETALL HINCRBY")
        shell.expect_exact("montreal> ")
        shell.sendline("help hset")
        shell.expect_exact("HSET key field value [field value ...]")
        shell.expect_exact("montreal> ")
        shell.sendline("region")  # the server's REGION: name, latitude, longitude
        shell.expect_exact('1) "montreal"')
        shell.expect_exact("montreal> ")
        shell.sendline("hset cart apples 3")
        shell.expect_exact("(integer) 1")
        shell.expect_exact("montreal> ")
        wait_until(lambda: regions["frankfurt"].client().get("greeting") == b"hello world", 5,
                   what="the write to replicate")
        regions["montreal"].kill()
        shell.sendline("get greeting")
        shell.expect(r"montreal did not answer; now on frankfurt")
        shell.expect_exact('"hello world"')
        shell.expect_exact("frankfurt> ")
        shell.sendline("incr visits")
        shell.expect_exact("(integer) 1")
        shell.expect_exact("frankfurt> ")
        shell.sendline("wait 9 0")  # blocks for ever: Ctrl-C gives the prompt back
        wait_until(lambda: regions["frankfurt"].client().info("clients")["blocked_clients"]
                   >= 1, 5, what="the WAIT to block")
        shell.sendintr()
        shell.expect_exact("(interrupted)")
        shell.expect_exact("frankfurt> ")
        shell.sendline("get greeting")
        shell.expect_exact('"hello world"')  # the WAIT's reply is not read as this one's
        shell.sendline("nosuchcommand")
        shell.expect_exact("(error) ERR unknown command 'nosuchcommand'")  # as redis-cli
        shell.expect_exact("frankfurt> ")
        # montreal comes back: the shell goes back to it, and says so as such
        regions["montreal"].start()
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "the shell never went back to montreal"
            shell.sendline("regions")  # (asks the master again)
            shell.expect_exact("> ")
            shell.sendline("get greeting")
            if shell.expect([r"back on montreal, the nearest", r"frankfurt> "]) == 0:
                break
        shell.expect_exact("montreal> ")
        shell.sendline("quit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)
    assert (tmp_path / ".geolru_history").read_text().count("greeting") >= 2


def write_cluster_configs(root: Path) -> dict[str, int]:
    # (two ports each: a region of two shards listens on its ports + 1 too)
    ports = {"master": free_port(), "montreal": free_ports(2), "frankfurt": free_ports(2)}
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "master.ini").write_text(
        f"[master]\nlisten = tcp:{ports['master']}:interface=127.0.0.1\nhttp =\n"
        "state_file = var/master/regions.json\n")
    for i, name in enumerate(["montreal", "frankfurt"], 1):
        lat, lon = PLACES[name]
        (etc / f"region{i}.ini").write_text(
            f"[region]\nname = {name}\nlatitude = {lat}\nlongitude = {lon}\n"
            f"listen = tcp:{ports[name]}:interface=127.0.0.1\n"
            f"peer_listen = tcp:{free_ports(2)}:interface=127.0.0.1\n"
            f"master = tcp:127.0.0.1:{ports['master']}\ndata_dir = var/{name}\n")
    return ports


def test_cluster_up_status_down_with_daemonized_twistd(tmp_path):
    """The first README command's machinery, on free ports in a scratch folder (regions
    without cluster mode: --shards 1)."""
    import redis
    ports = write_cluster_configs(tmp_path)
    up = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path), "--shards", "1"],
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "montreal   up on" in up.stdout and "redis-cli" in up.stdout
        status = subprocess.run([GEOLRU, "cluster", "status", "--root", str(tmp_path)],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and status.stdout.count(" up ") == 3
        r = redis.Redis(port=ports["montreal"], socket_timeout=10)
        r.set("k", "v")
        f = redis.Redis(port=ports["frankfurt"], socket_timeout=10)
        wait_until(lambda: f.get("k") == b"v", 15, what="replication between daemons")
        # a daemonized region commits its writes (its writer thread runs after the fork)
        wait_until(lambda: r.info("persistence")["store_commits"] > 0, 5, what="a commit")
        assert r.dbsize() == 1
        again = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path)],
                               capture_output=True, text=True, timeout=60)
        assert "already running (pid " in again.stdout
        # kill -9 of one region (it may linger as a zombie: dead all the same), then up
        pid = int((tmp_path / "var" / "run" / "frankfurt.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not localcluster.alive(pid), 10, what="the region to die")
        down_one = subprocess.run([GEOLRU, "cluster", "status", "--root", str(tmp_path)],
                                  capture_output=True, text=True, timeout=60)
        assert down_one.returncode == 1 and "frankfurt  down" in down_one.stdout  # a check
        restarted = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path)],
                                   capture_output=True, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert f"frankfurt  pid {pid} in var/run/frankfurt.pid is not running: starting it " \
               "again" in restarted.stdout
        assert "frankfurt  up on" in restarted.stdout
        assert "stale pidfile" not in restarted.stdout + restarted.stderr
        wait_until(lambda: f.get("k") == b"v", 15, what="the restarted region's data")
    finally:
        down = subprocess.run([GEOLRU, "cluster", "down", "--root", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
    assert down.stdout.count("stopped") == 3


def test_cluster_up_with_shards(tmp_path):
    """``cluster up --shards 2``: every region in cluster mode, its shards supervised;
    a region whose supervisor is killed is started again by the next ``up``."""
    import redis
    ports = write_cluster_configs(tmp_path)
    up = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path), "--shards", "2"],
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        first = ports["montreal"]
        assert f"montreal   up on 127.0.0.1:{first}-{first + 1}" in up.stdout
        assert f"redis-cli -c -h 127.0.0.1 -p {first}" in up.stdout
        status = subprocess.run([GEOLRU, "cluster", "status", "--root", str(tmp_path)],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and status.stdout.count("(2 shards)") == 2
        montreal = redis.RedisCluster(host="127.0.0.1", port=first, socket_timeout=10)
        frankfurt = redis.RedisCluster(host="127.0.0.1", port=ports["frankfurt"], socket_timeout=10)
        for i in range(50):
            montreal.set(f"k{i}", i)
        wait_until(lambda: frankfurt.get("k49") == b"49", 15, what="replication")
        again = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path),
                                "--shards", "1"], capture_output=True, text=True, timeout=60)
        assert again.returncode == 1 and "run with 2 shards each" in again.stdout
        pid = int((tmp_path / "var" / "run" / "frankfurt.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # the supervisor: its shards follow it
        wait_until(lambda: not localcluster.alive(pid), 10, what="the supervisor to die")
        wait_until(lambda: subprocess.run(
            [GEOLRU, "cluster", "status", "--root", str(tmp_path)], capture_output=True,
            text=True, timeout=60).stdout.count(" down ") == 1, 15,
            what="frankfurt's shards to stop with their supervisor")
        restarted = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path)],
                                   capture_output=True, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        frankfurt = redis.RedisCluster(host="127.0.0.1", port=ports["frankfurt"],
                                       socket_timeout=10)
        wait_until(lambda: [frankfurt.get(f"k{i}") for i in range(50)]
                   == [b"%d" % i for i in range(50)], 20,
                   what="the restarted region to serve its data (once synced)")
    finally:
        down = subprocess.run([GEOLRU, "cluster", "down", "--root", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
    assert down.stdout.count("stopped") == 3


def test_cluster_up_says_when_a_port_is_taken(tmp_path):
    import socket
    ports = write_cluster_configs(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports["master"]))
        blocker.listen()
        up = subprocess.run([GEOLRU, "cluster", "up", "--root", str(tmp_path), "--shards", "1"],
                            capture_output=True, text=True, timeout=60)
    assert up.returncode == 1
    assert f"port 127.0.0.1:{ports['master']} is taken" in up.stdout


def test_the_shell_shows_replies_as_redis_cli_does(tmp_path):
    """The same commands through ``geolru shell`` and ``redis-cli --no-raw`` (what it
    prints in a terminal): status replies unquoted, bulk strings quoted, arrays
    numbered, INFO as text, errors with their code."""
    import shutil

    from support import region_daemon
    region = region_daemon(tmp_path / "r", "r").start()
    try:
        commands = ("ping\nset a 1\nget a\nmulti\nset b 2\nexec\ntype a\nincr a\n"
                    "hset h f v\nhgetall h\nmget a b zz\ninfo keyspace\nexists a\nnosuch\n"
                    "client setname x\nobject encoding a\nping hello\nlpush x 1\n")
        cli = subprocess.run([shutil.which("redis-cli"), "--no-raw", "-p", str(region.port)],
                             input=commands, capture_output=True, text=True, timeout=60)
        region.client().flushall()
        shell = subprocess.run([GEOLRU, "--master", "", "shell", "--region",
                                f"127.0.0.1:{region.port}"], input=commands,
                               capture_output=True, text=True, timeout=60)
        prompt = f"127.0.0.1:{region.port}> "
        shown = [line.removeprefix(prompt) for line in shell.stdout.splitlines()[1:-1]]
        assert shown == cli.stdout.replace("\r", "").splitlines()
        assert shown[:2] == ["PONG", "OK"] and shown[4] == "QUEUED"
    finally:
        region.stop()
