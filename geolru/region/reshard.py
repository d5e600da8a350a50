"""Changing a region's shard count, while it is stopped: every record moves to the
shard that serves its slot in the new layout (``geolru reshard``, and the supervisor
before it starts shards in another count than last time).

Each record goes to its new shard through the same merge a peer's write takes
(``Keyspace.apply``), under its own version and origin, at a new position of that
shard's store (so it replicates from there, and peers that have it change
nothing); it leaves its old shard without a tombstone, only once the new one has
committed it, so a crash half way loses nothing and running again finishes.  Every
shard then asks every peer for a full sync (its stream positions are dropped): a
shard that serves new slots must get what the peers' streams skipped while another
shard served them.  The shards that no longer exist are retired at the master
(``RETIRE``): peers stop waiting for them before they collect deletes; their data
lives on in the shards that took it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time

import attrs
from twisted.internet import task
from twisted.logger import Logger

from geolru.common.auth import registration_mac
from geolru.common.config import RegionConfig
from geolru.common.endpoints import client_address
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.model.hashkeys import identity_slot
from geolru.model.slots import split
from geolru.region.topology import shard_dir, shard_name
from geolru.store.store import Store, StoreError

RETIRE_PATIENCE = 15.0  # seconds: a master's heartbeat_timeout (5 s by default), and more
LAYOUT_FILE = "cluster.json"  # in data_dir: {"shards": N}, written by a reshard
BATCH = 5000


def existing_shards(data_dir: str) -> list[int]:
    """The shards that have a store under ``data_dir``."""
    found = [0] if os.path.isdir(os.path.join(data_dir, "store")) else []
    try:
        names = os.listdir(data_dir)
    except OSError:  # none yet, or not a folder (the store says so when it opens)
        return found
    for name in names:
        prefix, _, index = name.partition("-")
        if prefix == "shard" and index.isdigit() and os.path.isdir(
                os.path.join(data_dir, name, "store")):
            found.append(int(index))
    return sorted(found)


def last_count(data_dir: str) -> int | None:
    """The shard count the region last ran with: as the last reshard wrote it, else
    as its shards' stores say (None: no data there yet)."""
    try:
        with open(os.path.join(data_dir, LAYOUT_FILE)) as f:
            return int(json.load(f)["shards"])
    except (OSError, ValueError, KeyError, TypeError):
        shards = existing_shards(data_dir)
        return max(shards) + 1 if shards else None


def record_count(data_dir: str, shards: int) -> None:
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, LAYOUT_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump({"shards": shards}, f)
    os.replace(path + ".tmp", path)


@attrs.define
class Resharded:
    """What a reshard did."""

    moved: dict = attrs.field(factory=dict)  # (from, to) -> records
    retired: list = attrs.field(factory=list)  # shard names that no longer exist
    problems: list = attrs.field(factory=list)  # what the masters could not be told

    @property
    def total(self) -> int:
        return sum(self.moved.values())


def reshard(region: str, data_dir: str, shards: int) -> Resharded:
    """Move every record under ``data_dir`` to its shard of ``shards``; the region must
    be stopped (``StoreError`` if a shard's store is in use)."""
    layout = split(shards)
    owner_of = bytearray(16384)
    for index, slots in enumerate(layout):
        for low, high in slots.ranges:
            owner_of[low:high + 1] = bytes([index]) * (high - low + 1)
    sources = existing_shards(data_dir)
    clock = task.Clock()
    stores, keyspaces = {}, {}
    done = Resharded()
    try:
        for index in sorted(set(sources) | set(range(shards))):
            store = Store(os.path.join(shard_dir(data_dir, index), "store"), clock)
            store.open()
            stores[index] = store
            keyspaces[index] = Keyspace(LRUCache(clock, max_entries=1), store,
                                        shard_name(region, index), clock)
        for source in sources:
            store = stores[source]
            position = 0
            while True:
                changes = store.changes_since(position, BATCH)
                if not changes:
                    break
                position = changes[-1][0]
                moving: dict[int, list] = {}
                for _, key, record in changes:
                    owner = owner_of[identity_slot(key)]
                    if owner != source:
                        moving.setdefault(owner, []).append((key, record))
                for owner, records in moving.items():
                    for key, record in records:
                        keyspaces[owner].apply(key, record)
                    stores[owner].commit_and_wait()  # there before it leaves here
                    done.moved[(source, owner)] = done.moved.get((source, owner), 0) \
                        + len(records)
                store.discard([key for records in moving.values() for key, _ in records])
        for index in range(shards):  # every shard: a full sync from every peer
            stores[index].drop_meta("pos:")
            # ... as a store of its own, not the old one gone back: a peer refuses a
            # store that asks for less than it acknowledged (a restored copy)
            stores[index].drop_meta("store_id")
    finally:
        for store in stores.values():
            store.close()
    for index in sources:
        if index >= shards:  # emptied: it is no more
            shutil.rmtree(shard_dir(data_dir, index))
            done.retired.append(shard_name(region, index))
    record_count(data_dir, shards)
    return done


__all__ = ["reshard", "Resharded", "StoreError", "last_count", "record_count"]


def retire_at_masters(masters, names, secret: str = "", timeout: float = 3.0,
                      patience: float = RETIRE_PATIENCE) -> list[str]:
    """Tell each master (client endpoint strings) to ``RETIRE`` each shard name; the
    problems, as lines for the log (an unreachable master, a refusal).  A master that
    still counts a shard up (stopped a moment ago: no heartbeat timeout yet) is asked
    again for up to ``patience`` seconds."""
    deadline = time.monotonic() + patience
    problems = []
    for _ in range(1000):
        problems = _retire_once(masters, names, secret, timeout)
        if not any(" is up:" in problem for problem in problems) \
                or time.monotonic() > deadline:
            return problems
        time.sleep(0.25)
    return problems


def _retire_once(masters, names, secret: str, timeout: float) -> list[str]:
    problems = []
    for description in masters:
        address = client_address(description)
        host, _, port = address.rpartition(":")
        if not description.startswith("tcp:") or not port.isdigit():
            problems.append(f"master {description}: RETIRE {' '.join(names)} there by hand "
                            "(docs/cluster.md, Changing the shard count)")
            continue
        try:
            with socket.create_connection((host, int(port)), timeout=timeout) as sock:
                lines = sock.makefile("rb")
                for name in names:
                    request = f"RETIRE {name}"
                    if secret:
                        sock.sendall(b"CHALLENGE\r\n")
                        nonce = lines.readline().split()[1].decode()
                        request += " " + registration_mac(secret, nonce,
                                                          [b"RETIRE", name.encode()])
                    sock.sendall(request.encode() + b"\r\n")
                    answer = lines.readline().decode(errors="replace").strip()
                    if not answer.startswith("OK") and "no shard named" not in answer:
                        problems.append(f"master {address}: RETIRE {name}: {answer}")
        except (OSError, IndexError) as e:
            problems.append(f"master {address}: {e}; RETIRE {' '.join(names)} there once "
                            "it is back")
    return problems


def ensure_layout(config: RegionConfig, log=None) -> Resharded | None:
    """Before a region starts (the whole region, not one shard of it): if its data was
    last in another shard count than it starts with now (cluster mode turned on or
    off, ``shards`` changed), move the records first and retire the shards that are
    no more at the masters.  None when nothing had to move."""
    log = log or Logger(namespace="geolru.reshard")
    shards = config.shards if config.cluster_enabled == "yes" else 1
    previous = last_count(config.data_dir)
    if previous is None or previous == shards:  # (the shards' own stores say the count)
        return None
    log.warn("region {name} last ran in {previous} shard(s), now in {shards}: moving its "
             "records to their shards", name=config.name, previous=previous, shards=shards)
    done = reshard(config.name, config.data_dir, shards)
    log.info("moved {n} records; every shard syncs in full from its peers", n=done.total)
    if done.retired:
        done.problems = retire_at_masters(config.master, done.retired, config.cluster_secret)
        for problem in done.problems:
            log.error("{problem}", problem=problem)
    return done


def main(argv=None) -> int:
    """``geolru reshard -c etc/region1.ini --shards N`` (the region stopped)."""
    import argparse
    import sys

    from geolru.common.config import ConfigError, load_region
    parser = argparse.ArgumentParser(prog="geolru reshard", description=main.__doc__)
    parser.add_argument("-c", "--config", required=True, help="the region's ini")
    parser.add_argument("--shards", type=int, required=True, help="the new shard count")
    args = parser.parse_args(argv)
    if args.shards < 1:
        parser.error("--shards must be 1 or more")
    try:
        config = load_region(args.config, {"cluster_enabled": "yes" if args.shards > 1
                                           else "no", "shards": str(args.shards)})
        before = last_count(config.data_dir)
        done = ensure_layout(config, log=Logger(observer=lambda event: None))
    except (ConfigError, StoreError) as e:
        print(f"geolru reshard: {e}", file=sys.stderr)
        return 1
    if done is None:
        print(f"{config.name}: already in {args.shards} shard(s); nothing to move"
              if before is not None else f"{config.name}: no data in {config.data_dir}")
        return 0
    for (source, target), count in sorted(done.moved.items()):
        print(f"  {count} records from shard {source} to shard {target}")
    if done.retired:
        print(f"  retired: {', '.join(done.retired)}")
    for problem in done.problems:
        print(f"  {problem}")
    print(f"{config.name}: {done.total} records moved from {before} to {args.shards} "
          f"shard(s). Set shards = {args.shards}"
          + (" and cluster_enabled = yes" if args.shards > 1 else "")
          + f" in {args.config} before starting it.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
