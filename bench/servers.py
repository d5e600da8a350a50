"""What the benchmarks share: a three-region cluster, and redis-benchmark runs that
also measure the CPU each server process spent per request.

CPU time per request (from /proc/PID/stat, user + system) is the steadier figure
on a shared machine: throughput moves by 1.5x from one minute to the next here,
the work a process does per request much less.
"""

from __future__ import annotations

import atexit
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import Cluster, Daemon, wait_until  # noqa: E402

PLACES = {"montreal": (45.5019, -73.5674), "frankfurt": (50.1109, 8.6821),
          "singapore": (1.3521, 103.8198)}
TICKS = os.sysconf("SC_CLK_TCK")


def scratch(prefix: str) -> Path:
    """A new folder for a benchmark's servers, removed when the benchmark exits: a
    region's store reserves its file ahead, so a ``bench/run`` left gigabytes behind."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def redis_benchmark(port: int, test: str, pipeline: int, requests: int,
                    watch: dict[str, int] | None = None) -> tuple[float, dict[str, float]]:
    """ops/s of ``redis-benchmark -t test``, and µs of CPU per request of each
    process in ``watch`` (name -> pid) during the run."""
    watch = watch or {}
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", test, "-c", "50", "-d", "100",
         "-r", "100000", "-n", str(requests), "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, check=True, timeout=600).stdout
    ops = float(list(csv.reader(io.StringIO(out)))[1][1])
    cpu = {name: (cpu_seconds(pid) - before[name]) / requests * 1e6
           for name, pid in watch.items()}
    return ops, cpu


def start_cluster(work: Path) -> tuple[Daemon, dict[str, Daemon]]:
    """A master and Montreal, Frankfurt, Singapore, streaming to each other (the
    tests' ``Cluster``)."""
    cluster = Cluster(work, heartbeat_timeout=5)
    return cluster.master, cluster.regions


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def load_thread(region, rate: int, stop: threading.Event, written: list,
                value: bytes = b"x" * 100, prefix: str = "load") -> threading.Thread:
    """A thread that SETs ``prefix:N`` at ``region`` at ``rate`` writes/s (one pipeline
    per millisecond tick) until ``stop``; ``written[0]`` counts them."""
    def load():
        r = region.client()
        per_tick = max(1, rate // 1000)
        started = time.monotonic()
        i = 0
        while not stop.is_set():
            pipe = r.pipeline(transaction=False)
            for _ in range(per_tick):
                pipe.set(f"{prefix}:{i % 100000}", value)
                i += 1
            pipe.execute()
            written[0] = i
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    thread = threading.Thread(target=load)
    thread.start()
    return thread


def probe_lag(writer, reader, seconds: float, key: str, pause: float) -> list[float]:
    """For ``seconds``: SET ``key`` at ``writer`` and, once it is acknowledged, poll
    ``reader`` until it sees the value; the lags in ms (``pause`` s between probes)."""
    a, b = writer.client(), reader.client()
    samples = []
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < seconds:
        n += 1
        value = f"{key}-{n}"
        a.set(key, value)
        t0 = time.perf_counter()
        while b.get(key) != value.encode():
            pass
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(pause)
    return samples


def write_while_down(victim, writer, seconds: float, prefix: str, value) -> int:
    """Kill ``victim``, then write ``prefix:0``, ``prefix:1``… through the client
    ``writer`` for ``seconds``, 1,000 per pipeline; how many keys."""
    victim.kill()
    started = time.monotonic()
    written = 0
    while time.monotonic() - started < seconds:
        pipe = writer.pipeline(transaction=False)
        for _ in range(1000):
            pipe.set(f"{prefix}:{written}", value)
            written += 1
        pipe.execute()
    return written


def time_catch_up(victim, last_key: str) -> float:
    """Start ``victim`` again; seconds until it has ``last_key``."""
    victim.start()
    restarted = time.monotonic()
    # no retries: redis-py retries a LOADING reply (a ConnectionError to it) with
    # backoff up to a second, which the catch-up would be timed with
    client = victim.client(retry=Retry(NoBackoff(), 0))
    wait_until(lambda: client.get(last_key) is not None, 600, interval=0.01,
               what=f"{victim.name} to catch up")
    return time.monotonic() - restarted
