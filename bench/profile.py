"""Where a region's CPU goes: py-spy flame graphs of SET, GET and a peer applying writes.

    .venv/bin/python bench/profile.py [--requests 300000] [--out bench/profiles]

Starts Montreal and Frankfurt streaming to each other, drives Montreal with
``redis-benchmark -c 50 -d 100 -r 100000`` (SET and GET, pipelines 1 and 16) and
records, with py-spy, Montreal while it serves and Frankfurt while it applies
Montreal's writes.  Writes an SVG flame graph and the collapsed stacks of each run to
``--out``, and prints for each the share of samples under the functions that make a
request (inclusive), the breakdown docs/store.md's write-path plan reads.  py-spy is
installed into the running venv if it is missing.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import redis_benchmark, scratch  # noqa: E402

from support import Cluster  # noqa: E402

# (label, function, file it is in): the inclusive shares printed for each run
PARTS = [
    ("reading the socket", "doRead", "twisted/internet/tcp.py"),
    ("RESP parsing", "feed", "geolru/resp/codec.py"),
    ("command dispatch", "execute", "geolru/commands/table.py"),
    ("SET", "cmd_set", "geolru/commands/strings.py"),
    ("GET", "cmd_get", "geolru/commands/strings.py"),
    ("keyspace write", "write", "geolru/keyspace/keyspace.py"),
    ("keyspace read", "peek", "geolru/keyspace/keyspace.py"),
    ("store put (the buffer)", "put", "geolru/store/store.py"),
    ("store get", "get", "geolru/store/store.py"),
    ("LRU put", "put", "geolru/keyspace/lru.py"),
    ("LRU get", "get", "geolru/keyspace/lru.py"),
    ("group commit (the LMDB job)", "_put_rows", "geolru/store/store.py"),
    ("sender: a write queued", "changed", "geolru/replication/sender.py"),
    ("sender: frames out", "flush", "geolru/replication/sender.py"),
    ("replies written", "_send", "geolru/region/protocol.py"),
    ("peer: frames in", "received", "geolru/replication/receiver.py"),
    ("peer: batch decoded", "decode_batch", "geolru/replication/peerwire.py"),
    ("peer: records applied", "apply", "geolru/keyspace/peers.py"),
    ("merge", "merge", "geolru/model/merge.py"),
]


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"],
                       check=True)
        found = str(Path(sys.executable).with_name("py-spy"))
    return found


def record(spy: str, pid: int, out: Path, seconds: float) -> subprocess.Popen:
    """py-spy sampling ``pid`` for ``seconds``, into ``out``.svg and ``out``.txt."""
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "200", "--duration", str(int(seconds)),
         "--nonblocking", "--format", "raw", "--output", f"{out}.txt"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def flame_graph(spy: str, pid: int, out: Path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "100", "--duration", str(int(seconds)),
         "--nonblocking", "--output", f"{out}.svg"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def shares(collapsed: Path) -> tuple[int, dict[str, float]]:
    """(samples, {label: share of samples with that function on the stack})."""
    total = 0
    under = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = set()
        for frame in stack.split(";"):  # "Class.function (path/file.py:line)"
            function, _, where = frame.partition(" (")
            frames.add((function.rsplit(".", 1)[-1], where.rsplit(":", 1)[0]))
        for label, function, file in PARTS:
            if any(name == function and where.endswith(file) for name, where in frames):
                under[label] += n
    return total, {label: under[label] / total for label, _, _ in PARTS} if total else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "profiles"))
    args = parser.parse_args()
    spy = py_spy()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = scratch("geolru-profile-")
    cluster = Cluster(work, names=("montreal", "frankfurt"), heartbeat_timeout=5)
    try:
        montreal, frankfurt = cluster.regions["montreal"], cluster.regions["frankfurt"]
        for test, pipeline in (("set", 16), ("get", 16), ("set", 1), ("get", 1)):
            name = f"{test}-p{pipeline}"
            # a first, short run to learn how long one takes, then the recorded ones
            ops, _ = redis_benchmark(montreal.port, test, pipeline, args.requests // 10)
            seconds = max(3.0, args.requests / ops * 0.9)
            spies = [record(spy, montreal.process.pid, out / name, seconds)]
            if test == "set":
                spies.append(record(spy, frankfurt.process.pid, out / f"{name}-peer", seconds))
            runner = threading.Thread(target=redis_benchmark,
                                      args=(montreal.port, test, pipeline, args.requests))
            runner.start()
            for process in spies:
                process.wait(seconds + 60)
            runner.join()
            graphs = [flame_graph(spy, montreal.process.pid, out / name, 3)]
            if test == "set":
                graphs.append(flame_graph(spy, frankfurt.process.pid, out / f"{name}-peer", 3))
            redis_benchmark(montreal.port, test, pipeline, max(1, int(ops * 4)))
            for process in graphs:
                process.wait(60)
            for label in [name] + ([f"{name}-peer"] if test == "set" else []):
                total, parts = shares(out / f"{label}.txt")
                print(f"\n{label}: {ops:,.0f} ops/s, {total} samples")
                for part, share in parts.items():
                    if share >= 0.005:
                        print(f"  {share:6.1%}  {part}")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
