"""The LMDB store on its own, with task.Clock and commits on the calling thread."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.model.hashkeys import HashMeta, field_id
from geolru.model.merge import tombstone_when_expired
from geolru.model.record import Record, decode, encode
from geolru.store.layout import FORMAT, FORMAT_NAME, LONG_KEY
from geolru.store.store import FSYNC_INTERVAL, Store, StoreError
from geolru.store.tables import MIN_MAP, Tables
from geolru.store.writers import InlineWriter
from support import DeferringWriter

NOW_MS = 1_700_000_000_000  # (the ``clock`` fixture's moment: conftest.py)

def open_store(path, clock, **options) -> Store:
    store = Store(str(path / "store"), clock, threaded=False, **options)
    store.open()
    return store


@pytest.fixture
def store(tmp_path, clock):
    s = open_store(tmp_path, clock)
    yield s
    s.close()


def live(value: bytes, version: int = 1, deadline=None) -> Record:
    return Record(value, deadline, version, "here")


records = st.builds(
    Record, st.one_of(st.none(), st.binary(max_size=64)),
    st.one_of(st.none(), st.integers(-(1 << 62), 1 << 62)), st.integers(0, (1 << 64) - 1),
    st.text(min_size=1, max_size=20), st.one_of(st.none(), st.text(max_size=40)),
    hash_meta=st.none())
names = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
versions = st.tuples(st.integers(0, (1 << 63) - 1), names)
headers = st.builds(  # a hash's header: its meta where a counter would be
    Record, st.one_of(st.none(), st.just(b"")), st.one_of(st.none(), st.integers(0, 1 << 50)),
    st.integers(0, (1 << 64) - 1), names, st.none(), st.builds(HashMeta, versions, versions))


@settings(max_examples=300, deadline=None)
@given(st.one_of(records, headers), st.integers(0, (1 << 64) - 1))
def test_records_round_trip_through_their_encoding(record, seq):
    assert decode(encode(record, seq)) == (seq, record)


@pytest.mark.parametrize("key", [b"", b"k" * (LONG_KEY + 1), b"x" * 100_000, b"\xff\x00#short"],
                         ids=["empty", "just-too-long", "100KB", "digest-prefix"])
def test_keys_lmdb_cannot_take_are_stored_under_a_digest(tmp_path, clock, key):
    store = open_store(tmp_path, clock)
    store.put(key, live(b"value"))
    store.put(b"other", live(b"o"))
    store.commit_and_wait()
    store.close()
    again = open_store(tmp_path, clock)  # read from the file, not from the buffer
    assert again.get(key).value == b"value"
    assert [k for _, k, _ in again.changes_since(0, 10)] == [key, b"other"]
    assert sorted(again.scan(0, 10, NOW_MS)[1]) == sorted([key, b"other"])
    again.close()


def test_a_restart_continues_positions_past_a_flushall(tmp_path, clock):
    store = open_store(tmp_path, clock)
    for i in range(5):
        store.put(b"k%d" % i, live(b"v"))
    store.put(b"k4", Record(None, None, 2, "here"))  # a tombstone: no new position in FLUSHALL
    store.delete_all(3, "here")
    top = store.seq
    store.close()
    again = open_store(tmp_path, clock)
    assert again.seq == top  # positions already given out are never given out again
    assert again.count_live(NOW_MS) == (0, 0)
    assert {record.value for _, _, record in again.changes_since(0, 100)} == {None}
    again.close()


def test_scan_meets_every_key_present_throughout_even_when_others_are_written(store):
    for i in range(100):
        store.put(b"k%d" % i, live(b"v"))
    store.commit_and_wait()
    seen, cursor, rounds = [], 0, 0
    while True:
        cursor, keys = store.scan(cursor, 10, NOW_MS)
        seen += keys
        store.put(b"k%d" % (99 - rounds), live(b"again", 2))  # moves past the cursor
        store.put(b"new%d" % rounds, live(b"n"))
        rounds += 1
        if cursor == 0:
            break
    assert {b"k%d" % i for i in range(100)} <= set(seen)
    assert rounds < 30


def test_counts_and_deadlines(store):
    store.put(b"forever", live(b"1"))
    store.put(b"soon", live(b"2", deadline=NOW_MS + 1000))
    store.put(b"past", live(b"3", deadline=NOW_MS - 1))
    store.put(b"gone", Record(None, None, 1, "here"))
    assert store.count_live(NOW_MS) == (2, 1)
    assert [key for key, _ in store.due(NOW_MS, 10)] == [b"past"]
    store.put(b"past", live(b"4"))  # a newer write without a deadline
    store.commit_and_wait()
    assert store.due(NOW_MS, 10) == []
    assert store.count_live(NOW_MS) == (3, 1)


def test_expiry_keeps_the_position_and_collection_removes_the_tombstone(store):
    store.put(b"a", live(b"1", deadline=NOW_MS - 1))
    store.put(b"b", live(b"2"))
    store.commit_and_wait()
    store.expire(expirations(store.due(NOW_MS, 10)))
    assert store.get(b"a").value is None  # a tombstone, at its old position
    assert [(seq, key) for seq, key, _ in store.changes_since(0, 10)] == [(1, b"a"), (2, b"b")]
    store.collect_tombstones(store.seq)
    store.close()
    store.open()
    assert store.get(b"a") is None
    assert [key for _, key, _ in store.changes_since(0, 10)] == [b"b"]


def test_a_key_being_expired_reads_as_its_tombstone_until_the_job_writes_it(tmp_path,
                                                                             clock):
    """Once expiry took a key, a read finds its tombstone, even while the job waits on
    a stalled disk and the clock steps back before the deadline (wide seed 3003100328:
    the value showed again, a near cache took it, and no expiry said so a second
    time)."""
    writer = DeferringWriter()
    store = open_store(tmp_path, clock, make_writer=lambda: writer)
    store.put(b"a", live(b"1", 5, deadline=NOW_MS - 1))
    store.commit()
    writer.run_all()
    store.expire(expirations(store.due(NOW_MS, 10)))
    assert writer.waiting  # (the job waits)
    assert store.get(b"a") == Record(None, None, 5, "here")
    assert store.plain_stamp(b"a", ())[0] == 5
    assert store.due(NOW_MS, 10) == []  # (taken once)
    writer.run_all()
    assert store.get(b"a") == Record(None, None, 5, "here")
    store.close()


class CountingWriter(InlineWriter):
    def __init__(self):
        self.jobs = []

    def submit(self, job, *args):
        self.jobs.append(job.__name__)
        return super().submit(job, *args)


def test_collecting_with_no_tombstone_below_the_horizon_submits_nothing(store, clock):
    store._writer = writer = CountingWriter()
    store.put(b"a", Record(None, None, 1, "here"))
    store.collect_tombstones(store.seq)  # "a" is still buffered: this job cannot take it
    clock.advance(store.commit_interval)
    assert store.get(b"a") is not None
    store.collect_tombstones(store.seq)
    assert store.get(b"a") is None
    writer.jobs.clear()
    store.collect_tombstones(store.seq)  # nothing written since: nothing to do
    assert writer.jobs == []
    store.put(b"b", Record(None, None, 1, "here"))
    clock.advance(store.commit_interval)
    store.collect_tombstones(store.seq)
    assert writer.jobs == ["_put_rows", "_collect"]


def test_everysec_flushes_to_disk_a_second_after_a_commit(store, clock):
    store.put(b"k", live(b"v"))
    clock.advance(store.commit_interval)
    assert store.commits == 1 and store.last_fsync == 0.0
    clock.advance(FSYNC_INTERVAL)
    assert store.last_fsync == clock.seconds()


def test_the_file_grows_with_blocks_reserved_and_keeps_every_record(tmp_path, clock):
    """fsync=everysec writes through a memory map that never outruns the disk
    blocks reserved for it; a commit that fills it grows it and runs again."""
    store = open_store(tmp_path, clock)
    assert store.writemap
    data = tmp_path / "store" / "data.mdb"
    store.put(b"first", live(b"1"))
    clock.advance(store.commit_interval)
    assert store.get(b"first").value == b"1"  # the reactor's read transaction is open
    start = data.stat().st_size
    assert start == MIN_MAP
    for batch in range(3):  # ~3 MB: the map grows at least twice
        for i in range(1000):
            store.put(b"k%d-%d" % (batch, i), live(b"v" * 1000))
        clock.advance(store.commit_interval)
        assert store.failure is None and store.pending == 0
    grown = data.stat()
    assert grown.st_size > 2 * start
    assert grown.st_blocks * 512 >= grown.st_size  # every byte of it has a block
    assert store.get(b"first").value == b"1" and store.get(b"k2-999").value == b"v" * 1000
    store.close()
    store = open_store(tmp_path, clock)
    assert store.get(b"k0-0").value == b"v" * 1000
    assert data.stat().st_size == grown.st_size
    store.close()


def test_no_write_through_the_map_on_a_copy_on_write_filesystem(tmp_path, clock, monkeypatch):
    monkeypatch.setattr("geolru.store.store.overwrites_in_place", lambda path: False)
    store = open_store(tmp_path, clock)
    assert not store.writemap
    store.put(b"k", live(b"v"))
    clock.advance(store.commit_interval)
    assert store.get(b"k").value == b"v" and not store.tables.writemap
    assert (tmp_path / "store" / "data.mdb").stat().st_size < MIN_MAP  # no map-sized file
    store.close()


def test_commit_policy_needs_no_timer(tmp_path, clock):
    store = open_store(tmp_path, clock, fsync="commit")
    store.put(b"k", live(b"v"))
    clock.advance(store.commit_interval)
    assert store.commits == 1 and clock.getDelayedCalls() == []
    store.close()


def test_reads_see_each_commit_and_housekeeping_job_at_once(store, clock):
    """One read transaction serves the reactor until the writer changes the file."""
    store.put(b"k", live(b"1"))
    assert store.get(b"k").value == b"1"  # buffered
    clock.advance(store.commit_interval)
    assert store.get(b"k").value == b"1"  # committed: read from LMDB
    store.put(b"k", live(b"2", 2))
    clock.advance(store.commit_interval)
    assert store.get(b"k").value == b"2"  # not the snapshot of the first read
    store.put(b"gone", live(b"x", deadline=NOW_MS - 1))
    clock.advance(store.commit_interval)
    store.expire(expirations(store.due(NOW_MS, 10)))
    assert store.get(b"gone").value is None  # the expiry job's tombstone


def test_a_collection_job_takes_a_bounded_number_and_the_next_goes_on(store, monkeypatch):
    monkeypatch.setattr("geolru.store.tombstones.COLLECT_BATCH", 3)
    for i in range(7):
        store.put(b"k%d" % i, Record(None, None, 1, "here"))
    store.commit_and_wait()
    tables = store.tables
    for remaining in (4, 1, 0):
        store.collect_tombstones(store.seq)
        assert tables.entries(tables.tombs) == remaining


def test_one_process_at_a_time(tmp_path, clock, store):
    with pytest.raises(StoreError, match="in use by another process"):
        open_store(tmp_path, clock)
    store.close()
    again = open_store(tmp_path, clock)  # closing let go of it
    again.close()


TABLES = ("kv", "fields", "seq", "tombs", "field_tombs", "due", "meta")


def contents(path) -> dict:
    """Every table of the (closed) store at ``path``, row by row."""
    tables = Tables(str(path))
    try:
        with tables.env.begin() as txn:
            return {name: dict(txn.cursor(db=getattr(tables, name))) for name in TABLES}
    finally:
        tables.close()


def set_format(path, value: bytes | None) -> None:
    """Write ``value`` as the (closed) store's format; ``None``: no format, as the
    release before formats wrote it."""
    tables = Tables(str(path))
    try:
        with tables.env.begin(write=True, db=tables.meta) as txn:
            if value is None:
                txn.delete(FORMAT_NAME)
            else:
                txn.put(FORMAT_NAME, value)
    finally:
        tables.close()


def a_closed_store(tmp_path, clock):
    """A store with a key, a hash field and a tombstone in it, closed."""
    store = open_store(tmp_path, clock)
    store.put(b"k", live(b"v", deadline=NOW_MS + 60_000))
    store.put(field_id(b"h", b"f"), live(b"fv"))
    store.put(b"gone", Record(None, None, 1, "here"))
    store.close()
    return tmp_path / "store"


def test_a_new_store_is_written_in_the_current_format(tmp_path, clock):
    path = a_closed_store(tmp_path, clock)
    assert FORMAT == 8
    assert contents(path)["meta"][FORMAT_NAME] == b"8"


def test_a_store_of_the_release_before_formats_gets_the_format_and_nothing_else(
        tmp_path, clock):
    path = a_closed_store(tmp_path, clock)
    set_format(path, None)
    before = contents(path)
    store = open_store(tmp_path, clock)
    assert store.get(b"k").value == b"v" and store.get(b"gone").value is None
    assert [record.value for _, _, record in store.fields(b"h")] == [b"fv"]
    store.close()
    after = contents(path)
    assert after["meta"].pop(FORMAT_NAME) == b"%d" % FORMAT
    assert after == before  # the same layout: no record, index or position moved


@pytest.mark.parametrize("older", [b"1", b"2", b"4", b"5", b"7"])
def test_a_store_of_an_older_format_only_gains_the_number(tmp_path, clock, older):
    path = a_closed_store(tmp_path, clock)
    set_format(path, older)
    before = contents(path)
    open_store(tmp_path, clock).close()
    after = contents(path)
    assert after["meta"].pop(FORMAT_NAME) == b"%d" % FORMAT
    before["meta"].pop(FORMAT_NAME)
    assert after == before


@pytest.mark.parametrize("written", [b"%d" % (FORMAT + 1), b"17"])
def test_a_store_of_a_newer_format_is_refused_and_left_as_it_is(tmp_path, clock, written):
    path = a_closed_store(tmp_path, clock)
    set_format(path, written)
    before = contents(path)
    message = (f"this data folder is store format {written.decode()}; "
               f"this geolru reads format {FORMAT} and older: upgrade geolru")
    with pytest.raises(StoreError, match=message):
        open_store(tmp_path, clock)
    assert contents(path) == before
    with pytest.raises(StoreError, match=message):  # not "in use": the lock was let go
        open_store(tmp_path, clock)


def test_a_store_whose_format_is_unreadable_is_refused(tmp_path, clock):
    path = a_closed_store(tmp_path, clock)
    set_format(path, b"one")
    with pytest.raises(StoreError, match="store format is unreadable"):
        open_store(tmp_path, clock)


def test_an_expiry_during_a_collection_keeps_its_tombstone_collectable(store, clock):
    store.put(b"old", live(b"1", deadline=NOW_MS - 1))
    store.commit_and_wait()
    store._writer = writer = DeferringWriter()
    store.collect_tombstones(store.seq)  # in flight: sees no tombstone when it runs
    # "old" becomes a tombstone at position 1, after it
    store.expire(expirations(store.due(NOW_MS, 10)))
    writer.run_all()
    store.collect_tombstones(store.seq)
    writer.run_all()
    tables = store.tables
    assert tables.entries(tables.tombs) == 0 and store.get(b"old") is None


def test_committed_fires_once_the_writes_are_committed_even_after_a_failed_commit(store, clock):
    """What a peer acknowledges: committed() waits through a failed commit's retry."""
    store._writer = writer = DeferringWriter()
    store.put(b"a", live(b"1"))
    first = []
    store.committed().addCallback(first.append)
    clock.advance(store.commit_interval)  # the commit of "a" is in flight
    store.put(b"b", live(b"2"))
    second = []
    store.committed().addCallback(second.append)
    job, args, d = writer.waiting.pop(0)
    d.errback(StoreError("No space left on device"))
    assert store.failure and first == [] and second == []
    clock.advance(1.0)  # the retry carries "a" and "b"
    writer.run_all()
    assert first == second == [None] and store.failure is None
    assert store.committed().called  # nothing buffered: at once


def test_a_position_recorded_during_a_commit_is_committed_when_it_ends(tmp_path, clock):
    """A replication position (put_meta) that arrives while a commit is in flight
    (fsync=commit: on the writer thread) goes in the next commit, at once: it did
    wait for another write (found by the simulator's slow disks)."""
    writer = DeferringWriter()
    store = open_store(tmp_path, clock, make_writer=lambda: writer)
    try:
        store.put(b"a", live(b"1"))
        clock.advance(store.commit_interval)  # the commit of "a" is in flight
        store.put_meta("pos:there:s1", 7)
        done = []
        store.committed().addCallback(done.append)
        writer.run_all()  # "a" committed
        assert done == [] and store.pending == 1
        clock.advance(0)
        writer.run_all()
        assert done == [None] and store.pending == 0
        assert store.get_meta("pos:there:s1") == "7"
    finally:
        store.close()


def test_a_failed_commit_never_hides_or_undoes_a_newer_write_of_its_keys(store, clock):
    """Two commits in flight (a forced one while another ran) that both fail: the
    retry keeps each key's newest write, and reads see it all along (the simulator's
    full disk, wide seed 3000003100: an older value came back, then a delete was lost)."""
    store._writer = writer = DeferringWriter()
    store.put(b"k", live(b"old", version=1))
    store.put(b"only-first", live(b"1", version=2))
    clock.advance(store.commit_interval)  # batch A in flight
    store.put(b"k", live(b"new", version=3))
    store.commit(force=True)  # batch B in flight too
    assert len(writer.waiting) == 2
    for _ in range(2):
        _, _, d = writer.waiting.pop(0)
        d.errback(StoreError("No space left on device"))
        assert store.get(b"k").value == b"new"
        assert store.get(b"only-first").value == b"1"
    clock.advance(1.0)  # the retry
    writer.run_all()
    assert store.failure is None and not store.pending
    store._renew_reader()
    assert store.get(b"k").value == b"new" and store.get(b"only-first").value == b"1"


def expirations(due):
    return [(key, record, tombstone_when_expired(record)) for key, record in due]


def test_counter_bytes_without_a_flag_that_reads_them_are_skipped():
    """(No encode writes such a record; decode reads past them, as it always did.)"""
    from geolru.model.record import HEADER
    raw = HEADER.pack(1, 2, 0, 1, 1, 3) + b"p" + b"abc" + b"VAL"
    assert decode(raw) == (1, Record(b"VAL", None, 2, "p"))


class NoRoomForDeleteAll(InlineWriter):
    """A disk that fills up just as a FLUSHALL's tombstones are written."""

    def submit(self, job, *args):
        if getattr(job, "__name__", "") == "_delete_all":
            import lmdb
            from twisted.internet import defer
            return defer.fail(lmdb.Error("mdb_txn_commit: No space left on device"))
        return super().submit(job, *args)


def test_a_delete_of_everything_that_cannot_be_written_says_so_and_deletes_nothing(
        store, clock):
    """FLUSHALL's tombstones failed to commit: the store says why (the command answers
    MISCONF) and every key stays (it answered OK and deleted nothing: found by wide
    seed 3007902664)."""
    store.put(b"a", live(b"1"))
    store.commit_and_wait()
    store._writer = NoRoomForDeleteAll()
    with pytest.raises(StoreError, match="No space left on device"):
        store.delete_all(10**12, "here")
    assert store.get(b"a") == live(b"1")


class NoRoomForExpiryOnce(InlineWriter):
    """A disk full for the first expiry's job, with room again after."""

    def __init__(self):
        self.failed = False

    def submit(self, job, *args):
        if getattr(job, "__name__", "") == "_expire_rows" and not self.failed:
            import lmdb
            from twisted.internet import defer
            self.failed = True
            return defer.fail(lmdb.Error("mdb_txn_commit: No space left on device"))
        return super().submit(job, *args)


def test_an_expiry_whose_job_failed_reads_as_its_tombstone_and_is_written_again(
        tmp_path, clock):
    """The tombstone stays where reads find it (the expired record read again came
    back to the checker: wide seed 3007902664), and goes to disk a second later; a
    newer write in between wins over it."""
    store = open_store(tmp_path, clock, make_writer=NoRoomForExpiryOnce)
    store.put(b"a", live(b"1", 5, deadline=NOW_MS - 1))
    store.put(b"b", live(b"2", 6, deadline=NOW_MS - 1))
    store.commit_and_wait()
    store.expire(expirations(store.due(NOW_MS, 10)))
    assert store.get(b"a") == Record(None, None, 5, "here")
    store.put(b"b", live(b"new", 7))
    store.commit_and_wait()
    assert store.get(b"b") == live(b"new", 7)
    clock.advance(1.0)  # (written again)
    store.commit_and_wait()
    assert store._expiring == {} and store.get(b"a") == Record(None, None, 5, "here")
    assert store.get(b"b") == live(b"new", 7)
    store.close()
