"""A local cluster for development: ``python -m geolru.devtools.localcluster up|down|status``.

Starts the daemons described by ``etc/*.ini`` with twistd, each with its own
pidfile and log under ``var/``, waits until every port answers, and prints
how to connect.  ``--shards N`` (default: one per core) starts every region in
cluster mode with N shards (docs/cluster.md); ``--shards 1``, without it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import attrs

from geolru.common.config import load_master, load_region
from geolru.common.endpoints import listen_address

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@attrs.frozen
class Daemon:
    name: str
    plugin: str
    ini: Path
    host: str
    port: int
    http: tuple[str, int] | None = None  # its HTTP side (status page, /metrics), if any
    shards: int = 1  # a region in cluster mode: its shards, on port, port + 1, ...

    @property
    def ports(self) -> list[int]:
        return [self.port + k for k in range(self.shards)]

    def pidfile(self, var: Path) -> Path:
        return var / "run" / f"{self.name}.pid"

    def logfile(self, var: Path) -> Path:
        return var / "log" / f"{self.name}.log"


def discover(etc: Path, shards: int | None = None) -> list[Daemon]:
    """The daemons the ini files in ``etc`` describe (read as the daemons read them),
    every region with ``shards`` shards if given (else as its ini says)."""
    daemons = []
    master = etc / "master.ini"
    if master.exists():
        config = load_master(str(master))
        host, port = listen_address(config.listen)
        daemons.append(Daemon("master", "geolru-master", master, host, port,
                              listen_address(config.http) if config.http else None))
    for ini in sorted(etc.glob("region*.ini")):
        config = load_region(str(ini), {} if shards is None else shard_options(shards))
        host, port = listen_address(config.listen)
        count = config.shards if config.cluster_enabled == "yes" else 1
        daemons.append(Daemon(config.name, "geolru-region", ini, host, port,
                              listen_address(config.http) if config.http else None, count))
    return daemons


def shard_options(shards: int) -> dict[str, str]:
    """The region options of ``--shards``: cluster mode with that many, or none."""
    if shards > 1:
        return {"cluster_enabled": "yes", "shards": str(shards)}
    return {"cluster_enabled": "no", "shards": "1"}


def _answers_all(daemon: Daemon) -> bool:
    return all(_answers(daemon.host, port) for port in daemon.ports)


def _recorded_pid(daemon: Daemon, var: Path) -> int | None:
    """The pid in the daemon's pidfile, if there is one."""
    try:
        return int(daemon.pidfile(var).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process: not gone, and not a zombie (a process
    killed whose parent has not reaped it still answers ``kill(pid, 0)``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc here: kill(pid, 0) is all there is to know
    return state not in (b"Z", b"X")


def _pid(daemon: Daemon, var: Path) -> int | None:
    """The pid of the daemon if it is running."""
    pid = _recorded_pid(daemon, var)
    return pid if pid is not None and alive(pid) else None


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return bool(s.recv(64))
    except OSError:
        return False


def _syncing(host: str, port: int) -> bool:
    """Whether a region answers key commands ``-LOADING`` (it is catching up with its
    peers after a start: docs/operations.md)."""
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"EXISTS geolru:cluster-probe\r\n")
            return s.recv(64).startswith(b"-LOADING")
    except OSError:
        return False


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def up(root: Path, shards: int | None = None) -> int:
    var = root / "var"
    (var / "run").mkdir(parents=True, exist_ok=True)
    (var / "log").mkdir(parents=True, exist_ok=True)
    twistd = Path(sys.executable).with_name("twistd")
    running = _running_shards(var)
    if shards is None:
        shards = running or os.cpu_count() or 1
    daemons = discover(root / "etc", shards)
    if running is not None and running != shards and any(
            _pid(d, var) for d in daemons if d.plugin == "geolru-region"):
        print(f"  the regions run with {running} shards each: scripts/cluster down first "
              f"to start them with {shards}")
        return 1
    (var / "run" / "shards").write_text(str(shards))
    for daemon in daemons:
        pid = _recorded_pid(daemon, var)
        if pid is not None and alive(pid):
            print(f"  {daemon.name:<10} already running (pid {pid})")
            continue
        if pid is not None:  # killed, crashed: its pidfile stayed
            print(f"  {daemon.name:<10} pid {pid} in {daemon.pidfile(var).relative_to(root)} "
                  "is not running: starting it again")
            daemon.pidfile(var).unlink(missing_ok=True)
        taken = [port for port in daemon.ports if _port_taken(daemon.host, port)]
        if taken:
            print(f"  {daemon.name:<10} port {daemon.host}:{taken[0]} is taken by another "
                  "program; stop it or change 'listen' in " + str(daemon.ini))
            return 1
        options = []
        if daemon.plugin == "geolru-region":
            options = [f"--{key}={value}" for key, value in shard_options(daemon.shards).items()]
        subprocess.run(
            [str(twistd), f"--pidfile={daemon.pidfile(var)}", f"--logfile={daemon.logfile(var)}",
             daemon.plugin, "-c", str(daemon.ini), *options], cwd=root, check=True)
        print(f"  {daemon.name:<10} starting ({daemon.plugin} -c {daemon.ini.relative_to(root)}"
              + (f", {daemon.shards} shards" if daemon.shards > 1 else "") + ")")
    deadline = time.monotonic() + START_TIMEOUT
    pending = list(daemons)
    while pending and time.monotonic() < deadline:
        for daemon in list(pending):
            if _answers_all(daemon):
                syncing = daemon.plugin == "geolru-region" and _syncing(daemon.host,
                                                                         daemon.port)
                ports = (f"{daemon.port}-{daemon.ports[-1]}" if daemon.shards > 1
                         else f"{daemon.port}")
                print(f"  {daemon.name:<10} up on {daemon.host}:{ports}"
                      + (" (syncing: key commands answer LOADING until it has caught up "
                         "with its peers)" if syncing else ""))
                pending.remove(daemon)
        time.sleep(0.1)
    for daemon in pending:
        print(f"  {daemon.name:<10} did not come up; see {daemon.logfile(var)}")
    if pending:
        return 1
    print("\nConnect:")
    for daemon in daemons:
        if daemon.plugin == "geolru-master":
            print(f"  telnet {daemon.host} {daemon.port}        # LOCATE 45.50 -73.57")
            if daemon.http:
                print(f"  http://{daemon.http[0]}:{daemon.http[1]}/       # the status page, "
                      "with a map")
        elif daemon.shards > 1:
            print(f"  redis-cli -c -h {daemon.host} -p {daemon.port}   # {daemon.name}, "
                  f"{daemon.shards} shards (-c follows MOVED to the shard of each key)")
        else:
            print(f"  redis-cli -h {daemon.host} -p {daemon.port}   # {daemon.name}; "
                  f"or: telnet {daemon.host} {daemon.port}, then SET k v / GET k")
        if daemon.plugin == "geolru-region":
            if daemon.http:
                print(f"  http://{daemon.http[0]}:{daemon.http[1]}/metrics"
                      f"   # {daemon.name}'s Prometheus metrics"
                      + (" (shard k: that port + k)" if daemon.shards > 1 else ""))
    print("  .venv/bin/geolru shell --near 45.50,-73.57   # nearest region, with failover")
    print("Stop with: scripts/cluster down")
    return 0


def down(root: Path) -> int:
    var = root / "var"
    for daemon in discover(root / "etc"):
        pid = _pid(daemon, var)
        if pid is None:
            print(f"  {daemon.name:<10} not running")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _pid(daemon, var) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid(daemon, var):
            os.kill(pid, signal.SIGKILL)
            print(f"  {daemon.name:<10} killed (did not stop in {STOP_TIMEOUT:g}s)")
        else:
            print(f"  {daemon.name:<10} stopped")
    (var / "run" / "shards").unlink(missing_ok=True)  # the next up may choose again
    return 0


def status(root: Path) -> int:
    """Each daemon's state; exits 1 unless every one is up (a health check)."""
    var = root / "var"
    every_one_up = True
    for daemon in discover(root / "etc", _running_shards(var)):
        pid = _pid(daemon, var)
        state = "up" if pid and _answers_all(daemon) else (
            "not answering" if pid else "down")
        print(f"  {daemon.name:<10} {state:<14} {daemon.host}:{daemon.port}"
              + (f"-{daemon.ports[-1]} ({daemon.shards} shards)" if daemon.shards > 1 else "")
              + (f"  pid {pid}" if pid else ""))
        every_one_up = every_one_up and state == "up"
    return 0 if every_one_up else 1


def _running_shards(var: Path) -> int | None:
    """The shard count the last ``up`` started the regions with (var/run/shards)."""
    try:
        return int((var / "run" / "shards").read_text())
    except (OSError, ValueError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="geolru cluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--root", default=".", help="folder holding etc/ and var/")
    parser.add_argument("--shards", type=int, default=None,
                        help="shards per region (cluster mode; default: one per core, "
                             f"{os.cpu_count()} here; 1: no cluster mode)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if args.shards is not None and args.shards < 1:
        parser.error("--shards must be 1 or more")
    if args.action == "up":
        return up(root, args.shards)
    return {"down": down, "status": status}[args.action](root)


if __name__ == "__main__":
    sys.exit(main())
