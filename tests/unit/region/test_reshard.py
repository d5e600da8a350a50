"""geolru reshard: a region's records move to their shards in a new count, and
nothing is lost (real LMDB stores on disk, task.Clock)."""

import os

import pytest
from twisted.internet.task import Clock

from geolru.commands.table import CommandTable, Session
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.model.slots import key_slot, split
from geolru.region.reshard import last_count, reshard
from geolru.region.topology import shard_dir
from geolru.store.store import Store, StoreError

START = 1_800_000_000.0
KEYS = [f"key:{i}".encode() for i in range(300)]


def open_table(data_dir, index, name="r"):
    clock = Clock()
    clock.advance(START)
    store = Store(os.path.join(shard_dir(str(data_dir), index), "store"), clock,
                  threaded=False)
    store.open()
    table = CommandTable(Keyspace(LRUCache(clock), store, name, clock), clock)
    return table, Session(id=1)


def run(table, session, *args):
    return table.execute(session, [a if isinstance(a, bytes) else str(a).encode()
                                   for a in args])


def contents(data_dir, shards):
    """Every key's GET (or HGETALL) and PTTL over the shards, and which shard had it."""
    seen = {}
    for index in range(shards):
        table, session = open_table(data_dir, index)
        try:
            for key in [*KEYS, b"counter", b"{h}hash", b"gone", b"short"]:
                reply = run(table, session, "TYPE", key)
                if reply == b"+none\r\n":
                    continue
                read = run(table, session, "HGETALL" if reply == b"+hash\r\n" else "GET", key)
                assert key not in seen, f"{key!r} in two shards"
                seen[key] = (read, run(table, session, "PTTL", key) != b":-1\r\n", index)
        finally:
            table.keyspace.store.close()
    return seen


def test_records_move_to_their_shards_and_back(tmp_path):
    table, session = open_table(tmp_path, 0)
    for key in KEYS:
        run(table, session, "SET", key, key + b"!")
    run(table, session, "INCRBY", "counter", 41)
    run(table, session, "INCR", "counter")
    run(table, session, "HSET", "{h}hash", "f1", "a", "f2", "b")
    run(table, session, "SET", "gone", "x")
    run(table, session, "DEL", "gone")
    run(table, session, "SET", "short", "v", "EX", "1000")
    table.keyspace.store.put_meta("pos:peer:abc", 77)
    first_store = table.keyspace.store.store_id
    table.keyspace.store.close()
    before = contents(tmp_path, 1)
    assert len(before) == len(KEYS) + 3 and b"gone" not in before

    done = reshard("r", str(tmp_path), 3)
    assert last_count(str(tmp_path)) == 3 and done.retired == []
    # every record outside shard 0's slots moved: keys, the tombstone, the hash's fields
    records = [*before, b"gone", b"{h}hash", b"{h}hash"]
    assert done.total == sum(1 for k in records if key_slot(k) not in split(3)[0])
    after = contents(tmp_path, 3)
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}
    for key, (_, _, index) in after.items():
        assert key_slot(key) in split(3)[index]
    # a peer streams everything again to each shard (it serves new slots)
    table, _ = open_table(tmp_path, 0)
    assert table.keyspace.store.get_meta("pos:peer:abc") is None
    # ... to a store of a new name: not the old one asking for less than it had
    # acknowledged, which peers refuse as an older copy of itself
    assert table.keyspace.store.store_id != first_store
    table.keyspace.store.close()

    done = reshard("r", str(tmp_path), 2)
    assert done.retired == ["r/2"] and not os.path.exists(tmp_path / "shard-2")
    assert {k: v[:2] for k, v in contents(tmp_path, 2).items()} == \
        {k: v[:2] for k, v in before.items()}


def test_a_running_region_is_not_resharded(tmp_path):
    table, _ = open_table(tmp_path, 0)
    try:
        with pytest.raises(StoreError):
            reshard("r", str(tmp_path), 2)
    finally:
        table.keyspace.store.close()
