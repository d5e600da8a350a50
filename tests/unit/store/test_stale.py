"""The ``seq`` rows a moved record leaves behind: readers skip them, commits sweep
them later in order, a crash's are found again (``geolru.store.stale``)."""

import tempfile
from pathlib import Path
from unittest import mock

import lmdb
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock

from geolru.model.record import Record
from geolru.store.layout import POSITION
from geolru.store.stale import SWEEP_AFTER
from geolru.store.store import Store


def open_store(path, clock, sweep_at=4) -> Store:
    store = Store(str(path / "store"), clock, threaded=False, stale_sweep_at=sweep_at)
    store.open()
    return store


def live(value: bytes, version: int) -> Record:
    return Record(value, None, version, "here")


def index(store: Store) -> list[tuple[int, bytes]]:
    """The ``seq`` table's rows: (position, identity)."""
    with store.tables.env.begin() as txn:
        return [(POSITION.unpack(p)[0], k) for p, k in txn.cursor(db=store.tables.seq)]


def one_row_per_record(store: Store) -> bool:
    tables = store.tables
    return tables.entries(tables.seq) == tables.entries(tables.kv) + tables.entries(
        tables.fields)


def write_and_commit(store: Store, writes: list[tuple[bytes, int]]) -> None:
    for key, version in writes:
        store.put(key, live(b"v%d" % version, version))
    store.commit_and_wait()


def test_readers_skip_the_rows_a_rewritten_key_left_until_a_sweep_deletes_them(
        tmp_path, clock):
    store = open_store(tmp_path, clock, sweep_at=4)
    write_and_commit(store, [(b"a", 1), (b"b", 2), (b"c", 3)])
    write_and_commit(store, [(b"a", 4)])
    write_and_commit(store, [(b"a", 5), (b"b", 6)])
    assert index(store) == [(1, b"a"), (2, b"b"), (3, b"c"), (4, b"a"), (5, b"a"),
                            (6, b"b")]
    changes = store.changes_since(0, 100)
    assert [(seq, key) for seq, key, _ in changes] == [(3, b"c"), (5, b"a"), (6, b"b")]
    assert [(seq, key) for seq, key, _ in store.changes_since(0, 2)] == [(3, b"c"),
                                                                         (5, b"a")]
    assert store.scan(0, 100, int(clock.seconds() * 1000)) == (0, [b"c", b"a", b"b"])
    write_and_commit(store, [(b"c", 7)])  # four stale rows: sorted, and this commit's
    write_and_commit(store, [(b"d", 8)])  # ... swept by the next
    assert index(store) == [(5, b"a"), (6, b"b"), (7, b"c"), (8, b"d")]
    assert one_row_per_record(store) and store._stale.pending == 0
    store.close()


def test_a_commit_that_fails_leaves_no_row_to_sweep(tmp_path, clock, monkeypatch):
    """The rows a transaction would leave are its own until it commits: one that
    fails (the disk, the map) leaves the old rows current, and none must be swept."""
    store = open_store(tmp_path, clock, sweep_at=1)
    write_and_commit(store, [(b"a", 1)])

    def failing(*args):
        raise lmdb.Error("the disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "_put_top", failing)
        write_and_commit(store, [(b"a", 2)])
        assert store.failure is not None and store._stale.pending == 0
        assert index(store) == [(1, b"a")]
    store.commit_and_wait()
    write_and_commit(store, [(b"b", 3)])  # (the sweep of a's old row)
    assert index(store) == [(2, b"a"), (3, b"b")]
    assert [key for _, key, _ in store.changes_since(0, 10)] == [b"a", b"b"]
    store.close()


def test_a_clean_close_sweeps_every_stale_row(tmp_path, clock):
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"a", 1), (b"b", 2)])
    write_and_commit(store, [(b"a", 3), (b"b", 4)])
    assert store._stale.pending == 2
    store.close()
    store = open_store(tmp_path, clock)
    assert index(store) == [(3, b"a"), (4, b"b")] and store._stale.verify_from is None
    store.close()


def test_the_rows_a_crash_left_are_found_again_by_the_commits_after_it(
        tmp_path, clock, monkeypatch):
    monkeypatch.setattr("geolru.store.stale.VERIFY_BATCH", 3)
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"a", 1), (b"b", 2), (b"c", 3)])
    write_and_commit(store, [(b"a", 4), (b"b", 5)])
    store.abandon()  # (kill -9: the positions gathered in memory are lost)
    store = open_store(tmp_path, clock)
    assert store._stale.verify_from == 0 and len(index(store)) == 5
    assert [key for _, key, _ in store.changes_since(0, 10)] == [b"c", b"a", b"b"]
    write_and_commit(store, [(b"d", 6)])  # checks 1, 2 (both stale) and 3
    d = store.seq  # (after the positions the crash may have handed out)
    assert index(store) == [(3, b"c"), (4, b"a"), (5, b"b"), (d, b"d")]
    assert store._stale.verify_from == 4
    write_and_commit(store, [(b"e", 7)])  # checks 4, 5 and d's row
    write_and_commit(store, [(b"f", 8)])  # checks e's and f's: the end
    assert store._stale.verify_from is None and one_row_per_record(store)
    assert [key for _, key in index(store)] == [b"c", b"a", b"b", b"d", b"e", b"f"]
    store.close()


def test_flushall_tombstones_each_key_once_whatever_rows_are_stale(tmp_path, clock):
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"a", 1), (b"b", 2)])
    write_and_commit(store, [(b"a", 3), (b"b", 4)])
    store.put(b"b", Record(None, None, 5, "here"))  # (b deleted: no key to flush)
    store.commit_and_wait()
    store.delete_all(6, "here")
    changes = store.changes_since(0, 10)
    assert [(key, record.value, record.version) for _, key, record in changes] == [
        (b"b", None, 5), (b"a", None, 6)]
    assert store.tables.entries(store.tables.tombs) == 2
    store.close()


def test_the_check_after_a_crash_ends_on_a_stale_last_row(tmp_path, clock, monkeypatch):
    """The check deletes the index's last row when it is stale and the commit added
    none after it (a commit of a replication position alone): a delete past the last
    row leaves the cursor on none, which must end the check, not fail the commit
    (and every commit after it)."""
    monkeypatch.setattr("geolru.store.stale.VERIFY_BATCH", 3)
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"b", 1), (b"c", 2), (b"a", 3)])
    store.put(b"a", Record(None, None, 4, "here"))  # (deleted: its tombstone at 4)
    store.commit_and_wait()
    store.collect_tombstones(4)  # (the tombstone and its row go; 3 stays, stale)
    assert index(store) == [(1, b"b"), (2, b"c"), (3, b"a")]
    store.abandon()
    store = open_store(tmp_path, clock)
    assert store._stale.verify_from == 0
    store.put_meta("pos:there:s1", 7)
    store.commit_and_wait()  # (checks 1 and 2, and deletes 3: the third, and the last)
    assert store.failure is None and store._stale.verify_from is None
    assert index(store) == [(1, b"b"), (2, b"c")]
    store.close()


def test_flushall_deletes_every_stale_row_and_forgets_them(tmp_path, clock):
    store = open_store(tmp_path, clock, sweep_at=1000)
    for version in range(1, 30, 3):
        write_and_commit(store, [(b"a", version), (b"b", version + 1), (b"c", version + 2)])
    assert store.stale_rows == 27
    store.delete_all(100, "here")
    assert store.stale_rows == 0 and one_row_per_record(store)
    assert [key for _, key, _ in store.changes_since(0, 10)] == [b"a", b"b", b"c"]
    store.close()


def test_scan_counts_no_stale_row_towards_its_count(tmp_path, clock):
    """A key rewritten 200 times, its stale rows not swept yet: ``SCAN`` with
    ``COUNT 1`` from anywhere before it finds it (``RANDOMKEY`` reads 32 rows from a
    random place)."""
    store = open_store(tmp_path, clock, sweep_at=1000)
    for version in range(1, 201):
        write_and_commit(store, [(b"k", version)])
    assert store.stale_rows == 199
    assert store.scan(0, 1, int(clock.seconds() * 1000)) == (200, [b"k"])
    assert store.scan(100, 32, int(clock.seconds() * 1000)) == (0, [b"k"])


def test_a_lightly_written_store_sweeps_its_few_stale_rows_after_a_while(tmp_path, clock):
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"a", 1)])
    write_and_commit(store, [(b"a", 2)])  # (one stale row, far below the 1,000)
    write_and_commit(store, [(b"b", 3)])  # (a sweep looks: too few, too soon)
    clock.advance(SWEEP_AFTER)
    write_and_commit(store, [(b"c", 4)])  # (time's up: swept)
    assert store.stale_rows == 0 and index(store) == [(2, b"a"), (3, b"b"), (4, b"c")]
    store.close()


KEYS = [b"k%d" % i for i in range(6)]
NOW_S = 1_700_000_000  # (as the ``clock`` fixture's)
operations = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, len(KEYS) - 1), st.booleans()),
    st.tuples(st.sampled_from(["commit", "crash", "close", "flushall", "collect"])),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_whatever_is_written_every_reader_sees_each_key_once_at_its_position(steps):
    """A model of the store's keys against its readers, through rewrites, deletes,
    sweeps (after 3 stale rows), crashes (the check after them, 2 rows a commit),
    clean closes, FLUSHALL and tombstone collection: ``changes_since`` has each key
    once, at its record's position, with the record the model holds; ``SCAN`` each
    live key once; and a clean close leaves one index row per record, unless the check
    after a crash has not seen them all yet (it runs in the commits)."""
    clock = Clock()
    clock.advance(NOW_S)
    with tempfile.TemporaryDirectory() as folder, \
            mock.patch("geolru.store.stale.VERIFY_BATCH", 2):
        path = Path(folder)
        store = open_store(path, clock, sweep_at=3)
        model: dict[bytes, Record] = {}
        version = 0
        try:
            for step in steps:
                version += 1
                if step[0] == "put":
                    key = KEYS[step[1]]
                    record = Record(None if step[2] else b"v%d" % version, None, version,
                                    "here")
                    store.put(key, record)
                    model[key] = record
                elif step[0] == "commit":
                    store.commit_and_wait()
                elif step[0] in ("crash", "close"):
                    store.commit_and_wait()
                    checking = store.checking_stale_rows  # (a crash's rows: until the
                    if step[0] == "crash":  # check has seen them, a close keeps them)
                        store.abandon()
                    else:
                        store.close()
                    store = open_store(path, clock, sweep_at=3)
                    if step[0] == "close" and not checking:
                        assert one_row_per_record(store)
                elif step[0] == "flushall":
                    store.delete_all(version, "here")
                    for key, record in model.items():
                        if record.value is not None:
                            model[key] = Record(None, None, version, "here")
                else:
                    store.commit_and_wait()
                    store.collect_tombstones(store.seq)
                    model = {k: r for k, r in model.items() if r.value is not None}
                store.commit_and_wait()
                changes = store.changes_since(0, 1_000)
                assert len({key for _, key, _ in changes}) == len(changes) == len(model)
                for seq, key, record in changes:
                    assert record == model[key] and store.position_of(key) == seq
                live = {key for key, record in model.items() if record.value is not None}
                found = store.scan(0, 1_000, int(clock.seconds() * 1000))[1]
                assert len(found) == len(live) and set(found) == live
        finally:
            store.close()


def test_the_check_after_a_crash_ends_at_the_rows_there_were_at_opening(
        tmp_path, clock, monkeypatch):
    """Rows written after the opening are no crash's: the check stops at the last row
    there was, even while every commit writes more rows than it checks (it never
    ended before, and INFO said ``store_stale_check:1`` for good)."""
    monkeypatch.setattr("geolru.store.stale.VERIFY_BATCH", 3)
    store = open_store(tmp_path, clock, sweep_at=1000)
    write_and_commit(store, [(b"a", 1), (b"b", 2)])
    write_and_commit(store, [(b"a", 3), (b"b", 4)])
    store.abandon()
    store = open_store(tmp_path, clock, sweep_at=1000)
    assert store.checking_stale_rows
    version = 5
    for _ in range(3):  # (5 new rows a commit, 3 checked)
        write_and_commit(store, [(b"n%d" % v, v) for v in range(version, version + 5)])
        version += 5
    assert not store.checking_stale_rows and one_row_per_record(store)
    store.close()
