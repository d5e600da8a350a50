"""Test support: real daemons on loopback, free ports, waiting on conditions."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import hiredis
import redis
from twisted.internet import defer

from geolru.cluster.masterwire import parse_located
from geolru.devtools.delayproxy import DelayProxy
from geolru.store.store import StoreError
from geolru.store.writers import InlineWriter

ROOT = Path(__file__).resolve().parent.parent
TWISTD = Path(sys.executable).with_name("twistd")
START_TIMEOUT = 20.0


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """The lowest port the kernel gives an outgoing connection (Linux: 32768)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


# free ports are taken below the kernel's range for outgoing connections: a port from
# ``bind(0)`` is in that range, and a daemon's (or a client's) connection could take it
# before the daemon it was meant for listened on it (a shard of ``cluster up`` did not
# come up: "Address already in use")
_PORTS = range(10_000, min(_ephemeral_low(), 30_000))
_pick = random.Random(os.urandom(16)).randrange  # (another per pytest worker)


def free_port() -> int:
    """A free loopback port, never one handed out before in this process (the kernel
    may give the same free port to two ``bind(0)`` calls in a row: a region's client
    and peer ports once collided that way), and none an outgoing connection may take."""
    while True:
        if len(_PORTS) > 1_000:
            port = _pick(_PORTS.start, _PORTS.stop)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
        else:  # (an unusual range for outgoing connections: as the kernel chooses)
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (a region of shards
    listens on its ports + k), none handed out before."""
    while True:
        first = free_port()
        ports = range(first, first + count)
        if any(p in _handed_out for p in ports[1:]) or ports[-1] > 65535:
            continue
        try:
            for port in ports[1:]:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.update(ports)
        return first


def bus_ports(count: int) -> list[int]:
    """``count`` consecutive free ports whose Redis Cluster bus ports (+ 10000) are
    free too (redis-server in cluster mode refuses a port above 55535)."""
    while True:
        first = free_ports(count)
        ports = [first + k for k in range(count)]
        if ports[-1] + 10000 > 65535:
            continue
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return ports


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # the daemon may not be up yet
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


def answers_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(16) == b"+PONG\r\n"


class Daemon:
    """A subprocess serving on a loopback port, stopped by the test."""

    def __init__(self, argv: list[str], port: int, workdir: Path, name: str):
        self.argv = argv
        self.port = port
        self.workdir = workdir
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.ready_probe = lambda: answers_ping(self.port)
        self.ports = [port]  # a region of shards: each shard's client port

    def start(self, wait: bool = True) -> Daemon:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.argv, cwd=self.workdir, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n"
                                     + self.log())
            return self.ready_probe()
        wait_until(ready, START_TIMEOUT, what=f"{self.name} to answer on {self.port}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int):
        self.process.send_signal(signum)

    def kill(self):
        """kill -9, and reap it."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, **kwargs) -> redis.Redis:
        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def cluster_client(self, **kwargs) -> redis.RedisCluster:
        """redis-py's cluster client, started from this region's first port."""
        kwargs.setdefault("socket_timeout", 10)
        return redis.RedisCluster(host="127.0.0.1", port=self.port, **kwargs)


def region_daemon(workdir: Path, name: str = "testregion", port: int | None = None,
                  program: list[str] | None = None, **options) -> Daemon:
    """A region; ``program``: the command that runs one (this checkout's twistd).  With
    ``shards=N`` (N > 1) it is a region in cluster mode, on N consecutive ports from
    ``port`` (and from its peer port), ready once every shard answers."""
    shards = int(options.get("shards", 1))
    if shards > 1:
        options.setdefault("cluster_enabled", "yes")
    port = port or free_ports(shards)
    options.setdefault("peer_listen", f"tcp:{free_ports(shards)}:interface=127.0.0.1")
    argv = [*(program or [str(TWISTD), "-n", "--pidfile=", "geolru-region"]),
            f"--name={name}", f"--listen=tcp:{port}:interface=127.0.0.1",
            f"--data_dir={workdir / 'data'}", "--master="]
    argv += [f"--{key}={value}" for key, value in options.items()]
    daemon = Daemon(argv, port, workdir, name)
    if shards > 1:
        daemon.ready_probe = lambda: all(answers_ping(port + k) for k in range(shards))
        daemon.ports = [port + k for k in range(shards)]
    return daemon


def redis_server(workdir: Path, *extra: str, port: int | None = None) -> Daemon:
    exe = shutil.which("redis-server")
    if exe is None:
        raise AssertionError("redis-server is missing: run scripts/test, which installs it")
    port = port or free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no", *extra]
    return Daemon(argv, port, workdir, "redis-server")


# ---------------------------------------------------------------- raw sockets

def encode_command(*args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RawConnection:
    """A socket that sends bytes and reads whole RESP replies, byte for byte."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def read_reply(self) -> bytes:
        """The raw bytes of exactly one reply (the peer sends nothing unasked)."""
        reader = hiredis.Reader()
        raw = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {raw!r}")
            raw += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                return raw

    def call(self, *args) -> bytes:
        self.send(encode_command(*args))
        return self.read_reply()

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True once the peer closed the connection (reading what is left)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self):
        self.sock.close()



async def eventually(predicate, timeout: float = 10.0, interval: float = 0.01,
                     what: str = "condition"):
    """``wait_until`` for tests running inside the reactor (pytest-twisted)."""
    from twisted.internet import reactor, task
    deadline = reactor.seconds() + timeout
    while reactor.seconds() < deadline:
        value = predicate()
        if value:
            return value
        await task.deferLater(reactor, interval, lambda: None)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def master_daemon(workdir: Path, port: int | None = None, heartbeat_timeout: float = 1.5,
                  http: bool | str = False, **options) -> Daemon:
    """A master; ``http``: True for a free port, or an endpoint string."""
    port = port or free_port()
    argv = [str(TWISTD), "-n", "--pidfile=", "geolru-master",
            f"--listen=tcp:{port}:interface=127.0.0.1",
            f"--heartbeat_timeout={heartbeat_timeout}",
            f"--state_file={workdir / 'regions.json'}"]
    if http is True:
        http = f"tcp:{free_port()}:interface=127.0.0.1"
    options["http"] = http or ""
    argv += [f"--{key}={value}" for key, value in options.items()]
    daemon = Daemon(argv, port, workdir, "master")
    daemon.ready_probe = lambda: bool(ask_master(port, "HELP"))
    return daemon


def ask_master(port: int, line: str, timeout: float = 5.0) -> list[str]:
    """Send one line to a master; return the reply lines (through END, or one ERR)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            lines = data.decode().split("\r\n")
            if any(x in ("END", "PONG") or x.startswith("ERR") for x in lines):
                break
    return [x for x in data.decode().split("\r\n") if x]


def nearest(master_port: int, lat: float, lon: float) -> str | None:
    lines = ask_master(master_port, f"LOCATE {lat} {lon}")
    return parse_located(lines[0]).name if lines and lines[0].startswith("REGION") else None


PLACES = {"montreal": (45.5019, -73.5674), "frankfurt": (50.1109, 8.6821),
          "singapore": (1.3521, 103.8198), "saopaulo": (-23.5505, -46.6333)}


def scratch_venv(where: Path) -> Path:
    """A venv whose dependencies are the suite's (a .pth line puts the suite venv's
    site-packages on its path): only geolru itself need be installed in it."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                         "['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "suite-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def placed_region(workdir: Path, name: str, masters: str, **options) -> Daemon:
    """A region at its city's coordinates, registering with ``masters``."""
    lat, lon = PLACES[name]
    return region_daemon(workdir / name, name=name, latitude=lat, longitude=lon,
                         master=masters, **options)


def registered_up(master_port: int, count: int) -> bool:
    """Whether the master counts ``count`` regions up."""
    lines = ask_master(master_port, "REGIONS")
    return sum(line.endswith(" up") for line in lines) == count


class Cluster:
    """A master and regions at their cities (``PLACES``), started, registered with the
    master and streaming live to each other; ``master, regions = cluster`` unpacks it.
    The ``cluster`` fixture (conftest.py) makes one per test and stops it after."""

    def __init__(self, tmp_path: Path, names=("montreal", "frankfurt", "singapore"),
                 options: dict | None = None, heartbeat_timeout: float = 2.0,
                 **master_options):
        self.tmp_path = tmp_path
        self.master = master_daemon(tmp_path / "master", heartbeat_timeout=heartbeat_timeout,
                                    **master_options).start()
        self.regions: dict[str, Daemon] = {}
        try:
            for name in names:
                self.add(name, **(options or {}).get(name, {}))
            nodes = sum(len(daemon.ports) for daemon in self.regions.values())
            wait_until(lambda: registered_up(self.master.port, nodes), 15,
                       what=f"{nodes} regions (or shards) up at the master")
            self.wait_live()
        except BaseException:
            self.stop()
            raise

    def __iter__(self):
        return iter((self.master, self.regions))

    def add(self, name, **options) -> Daemon:
        daemon = placed_region(self.tmp_path, name, f"tcp:127.0.0.1:{self.master.port}",
                               **options)
        self.regions[name] = daemon.start()
        return daemon

    def client(self, name, **kwargs) -> redis.Redis:
        return self.regions[name].client(**kwargs)

    def live_peers(self, name, port: int | None = None) -> int:
        """How many peers the region (or its shard on ``port``) streams to live."""
        client = redis.Redis(port=port, socket_timeout=10) if port else self.client(name)
        info = client.info("replication")
        return sum(v["state"] == "live" for k, v in info.items() if k.startswith("peer"))

    def wait_live(self, timeout=15):
        """Every region (every shard of one in cluster mode) streaming live to every
        other region's shards."""
        nodes = sum(len(daemon.ports) for daemon in self.regions.values())

        def live():
            return all(self.live_peers(name, port) == nodes - len(daemon.ports)
                       for name, daemon in self.regions.items() for port in daemon.ports)
        wait_until(live, timeout, what="every region streaming live to its peers")

    def everywhere(self, check, timeout=10, what="every region to agree"):
        wait_until(lambda: all(check(self.client(r)) for r in self.regions), timeout, what=what)

    def stop(self):
        stop_all(self.master, *self.regions.values())


def stop_all(*daemons):
    for daemon in daemons:
        daemon.stop()


def write_peers(workdir: Path, name: str, peer_port: int):
    """Give the region of ``workdir`` one peer, without a master (data/peers.json)."""
    path = workdir / "data" / "peers.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"name": name, "host": "127.0.0.1", "port": 1,
                                 "peer_port": peer_port, "latitude": 0, "longitude": 0,
                                 "up": True}]))


def metric_samples(text: str) -> dict:
    """A Prometheus exposition as {(sample name, frozenset of labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def metric(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


SPLIT_NAMES = ("montreal", "frankfurt")


class Split:
    """A master and two regions (montreal and frankfurt), each one's stream to the
    other through a proxy link named after the sender, so that a test can cut both ways
    and heal them."""

    def __init__(self, tmp_path):
        self.proxy = DelayProxy()
        self.master = master_daemon(tmp_path / "master").start()
        masters = f"tcp:127.0.0.1:{self.master.port}"
        ports = {name: free_port() for name in SPLIT_NAMES}
        self.regions = {}
        for name, other in zip(SPLIT_NAMES, reversed(SPLIT_NAMES), strict=True):
            route = self.proxy.add(name, ports[other]).listen_port
            self.regions[name] = placed_region(
                tmp_path, name, masters, peer_listen=f"tcp:{ports[name]}:interface=127.0.0.1",
                peer_routes=f"{other}=127.0.0.1:{route}").start()
        self.m, self.f = (self.regions[name].client() for name in SPLIT_NAMES)
        self.wait_live()

    def wait_live(self):
        def live(client):
            info = client.info("replication")
            return any(k.startswith("peer") and v["state"] == "live" for k, v in info.items())
        wait_until(lambda: all(live(c) for c in (self.m, self.f)), 20,
                   what="both regions streaming live to each other")

    def cut(self):
        for name in SPLIT_NAMES:
            self.proxy.cut(name)

    def heal(self):
        for name in SPLIT_NAMES:
            self.proxy.heal(name)

    def both(self, check, what):
        def agreed():
            try:
                return check(self.m) and check(self.f)
            except redis.BusyLoadingError:  # (a region back from a partition syncs first)
                return False
        wait_until(agreed, 20, what=what)

    def stop(self):
        stop_all(self.master, *self.regions.values())
        self.proxy.close()


class DeferringWriter(InlineWriter):
    """A store's writer (``Store.make_writer``, or ``store._writer``) that runs its
    jobs only when told, in order: a commit or job "in flight", a disk that stalls
    (``run_next``, ``run_all``) or fills (``fail_next``)."""

    def __init__(self):
        self.waiting = []

    def submit(self, job, *args):
        d = defer.Deferred()
        self.waiting.append((job, args, d))
        return d

    def run_next(self):
        job, args, d = self.waiting.pop(0)
        d.callback(job(*args))

    def run_all(self):
        while self.waiting:
            self.run_next()

    def fail_next(self):
        _, _, d = self.waiting.pop(0)
        d.errback(StoreError("No space left on device"))
