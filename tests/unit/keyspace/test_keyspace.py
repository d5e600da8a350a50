"""Store + cache behind the keyspace, and the command table, with task.Clock."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from geolru.commands.table import CommandTable, Session
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.model.hashkeys import FIELD_MARK, MEMBER_MARK
from geolru.model.merge import merge, visible
from geolru.model.record import Record, encode
from geolru.region.protocol import RegionFactory
from geolru.region.service import housekeeping
from geolru.store.store import Store, stored_key
from support import encode_command

START = 1_700_000_000.0


@pytest.fixture
def clock():
    c = Clock()
    c.advance(START)
    return c


def open_keyspace(path, clock, **cache):
    store = Store(str(path / "store"), clock, commit_interval=0.01, threaded=False)
    store.open()
    return Keyspace(LRUCache(clock, **cache), store, "here", clock)


@pytest.fixture
def keyspace(tmp_path, clock):
    ks = open_keyspace(tmp_path, clock, max_entries=3)
    yield ks
    ks.store.close()


def stored_raw(store: Store, key: bytes) -> bytes | None:
    """The encoded record LMDB holds for ``key``."""
    tables = store.tables
    with tables.env.begin(db=tables.kv) as txn:
        return txn.get(stored_key(key))


def put_behind_its_back(store: Store, key: bytes, record: Record) -> None:
    tables = store.tables
    with tables.env.begin(write=True, db=tables.kv) as txn:
        txn.put(stored_key(key), encode(record, 1))
    store._renew_reader()  # as after any job of the store's own writer


def run(table, *args, session=None):
    return table.execute(session or Session(1), [a.encode() if isinstance(a, str) else a
                                                 for a in args])


def test_writes_are_committed_within_the_commit_interval(tmp_path, clock, keyspace):
    keyspace.write(b"k", b"v", None)
    assert keyspace.store.commits == 0
    clock.advance(0.01)
    assert keyspace.store.commits == 1
    keyspace.store.close()  # one LMDB environment per path and process
    other = Store(str(tmp_path / "store"), clock, threaded=False)
    other.open()
    assert other.get(b"k").value == b"v"
    other.close()


def test_evicted_entries_are_read_through_from_the_store(keyspace, clock):
    for i in range(10):
        keyspace.write(b"k%d" % i, b"v%d" % i, None)
    assert len(keyspace.cache) == 3
    assert keyspace.lookup(b"k0").value == b"v0"  # before the commit: pending buffer
    clock.advance(0.01)
    assert keyspace.lookup(b"k1").value == b"v1"  # after: SQLite
    assert keyspace.cache.misses == 2 and b"k1" in keyspace.cache


def test_a_restart_serves_every_live_key(tmp_path, clock):
    ks = open_keyspace(tmp_path, clock)
    ks.write(b"a", b"1", None)
    ks.write(b"b", b"2", int(START * 1000) + 60_000)
    ks.delete(b"a")
    ks.store.close()
    again = open_keyspace(tmp_path, clock)
    assert again.lookup(b"a") is None
    assert again.lookup(b"b").value == b"2"
    assert again.lookup(b"b").deadline == int(START * 1000) + 60_000
    again.store.close()


def test_expired_keys_leave_the_store_by_the_housekeeping_task(keyspace, clock):
    task = housekeeping(keyspace, clock)
    task.startService()
    keyspace.write(b"short", b"1", int(START * 1000) + 1000)
    keyspace.write(b"long", b"2", int(START * 1000) + 100_000)
    keyspace.write(b"forever", b"3", None)
    clock.advance(1.0)
    clock.advance(0.1)  # one tick after the deadline
    assert keyspace.expired_keys == 1
    assert keyspace.store.count_live(keyspace.now_ms()) == (2, 1)
    assert stored_raw(keyspace.store, b"short") is None  # tombstone collected too: no peers
    assert stored_raw(keyspace.store, b"long") is not None
    task.stopService()


def test_expiry_task_does_bounded_work_per_tick(keyspace, clock):
    for i in range(2500):
        keyspace.write(b"k%d" % i, b"v", int(START * 1000) + 10)
    clock.advance(1)
    assert keyspace.expire_due(limit=1000) == 1000
    assert keyspace.expire_due(limit=1000) == 1000
    assert keyspace.expire_due(limit=1000) == 500


def test_idle_cache_entries_leave_the_cache_not_the_store(tmp_path, clock):
    ks = open_keyspace(tmp_path, clock, idle_ttl=5)
    task = housekeeping(ks, clock)
    task.startService()
    ks.write(b"k", b"v", None)
    clock.advance(4.9)
    assert b"k" in ks.cache  # (never early; up to a tick late: ``LRUCache``)
    clock.advance(1.2)
    assert b"k" not in ks.cache and ks.cache.expirations == 1
    assert ks.lookup(b"k").value == b"v"
    task.stopService()
    ks.store.close()


def test_command_table_with_a_clock(keyspace, clock):
    table = CommandTable(keyspace, clock)
    assert run(table, "SET", "k", "v", "EX", "10") == b"+OK\r\n"
    assert run(table, "TTL", "k") == b":10\r\n"
    clock.advance(9.4)
    assert run(table, "TTL", "k") == b":1\r\n"
    assert run(table, "PTTL", "k") == b":600\r\n"
    clock.advance(0.6)
    assert run(table, "GET", "k") == b"$-1\r\n"
    assert run(table, "TTL", "k") == b":-2\r\n"


def test_protocol_over_string_transport(keyspace, clock):
    factory = RegionFactory(CommandTable(keyspace, clock), clock)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"SET a 1\r\n" + encode_command("INCR", "a")
                          + encode_command("GET", "a")[:-3])
    assert transport.value() == b"+OK\r\n:2\r\n"
    protocol.dataReceived(b"a\r\n")
    assert transport.value() == b"+OK\r\n:2\r\n$1\r\n2\r\n"
    protocol.dataReceived(b"*1\r\n$999999999999\r\n")
    assert transport.value().endswith(b"-ERR Protocol error: invalid bulk length\r\n")
    assert transport.disconnecting


def test_bytes_and_error_replies_are_counted_on_the_wire(keyspace, clock):
    table = CommandTable(keyspace, clock)
    protocol = RegionFactory(table, clock).buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    sent = [b"PING\r\n", encode_command("GET"), encode_command("INCR", "x") * 2,
            b"*1\r\n$999999999999\r\n"]
    for data in sent:
        protocol.dataReceived(data)
    stats = table.stats
    assert stats.net_input_bytes == sum(map(len, sent))
    assert stats.net_output_bytes == len(transport.value())
    assert stats.errors == {"ERR": 2}  # GET's arity, then the protocol error
    assert (stats.commands["get"].rejected, stats.commands["incr"].calls) == (1, 2)
    assert run(table, "CONFIG", "RESETSTAT") == b"+OK\r\n"
    assert not stats.errors and stats.net_input_bytes == 0
    assert stats.commands["incr"].calls == 0 and stats.commands["config"].calls == 1


def test_instantaneous_rates_average_the_last_samples():
    from geolru.commands.stats import RATE_INTERVAL, RATE_SAMPLES, Rate
    rate = Rate()
    assert rate.per_second() == 0.0
    for i in range(40):  # 50 per sample for a while, then 10
        rate.sample(i * RATE_INTERVAL, 50 * i if i < 20 else 1000 + 10 * (i - 20))
    assert rate.per_second() == pytest.approx(10 / RATE_INTERVAL)
    assert len(rate.samples) == RATE_SAMPLES + 1


def test_quit_replies_then_closes(keyspace, clock):
    factory = RegionFactory(CommandTable(keyspace, clock), clock)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"QUIT\r\nPING\r\n")
    assert transport.value() == b"+OK\r\n" and transport.disconnecting


def test_requirepass(keyspace, clock):
    table = CommandTable(keyspace, clock, requirepass=b"sesame")
    session = Session(1)
    assert run(table, "GET", "k", session=session).startswith(b"-NOAUTH")
    assert run(table, "AUTH", "wrong", session=session).startswith(b"-WRONGPASS")
    assert run(table, "AUTH", "sesame", session=session) == b"+OK\r\n"
    assert run(table, "GET", "k", session=session) == b"$-1\r\n"


def test_housekeeping_logs_a_summary_of_evictions(tmp_path, clock):
    from twisted.logger import globalLogPublisher
    events = []
    globalLogPublisher.addObserver(events.append)
    ks = open_keyspace(tmp_path, clock, max_entries=10)
    task = housekeeping(ks, clock)
    task.startService()
    try:
        for i in range(50):
            ks.write(b"k%d" % i, b"v", None)
        clock.advance(10.1)
        summaries = [e for e in events if e.get("log_namespace") == "geolru.housekeeping"]
        assert len(summaries) == 1 and summaries[0]["evicted"] == 40
    finally:
        globalLogPublisher.removeObserver(events.append)
        task.stopService()
        ks.store.close()


def test_store_remembers_missing_keys_and_forgets_them_on_a_write(keyspace, clock):
    store = keyspace.store
    assert store.get(b"ghost") is None
    put_behind_its_back(store, b"\x01", Record(b"\x02", None, 1, "x"))
    assert store.get(b"\x01").value == b"\x02"  # never asked before: read from LMDB
    put_behind_its_back(store, b"ghost", Record(b"unseen", None, 1, "x"))
    assert store.get(b"ghost") is None  # remembered: LMDB not asked again
    keyspace.write(b"ghost", b"here", None)
    clock.advance(0.01)
    keyspace.cache.discard(b"ghost")
    assert keyspace.lookup(b"ghost").value == b"here"


def test_a_damaged_record_fails_its_request_not_the_connection(keyspace, clock):
    put_behind_its_back(keyspace.store, b"n", Record(b"5", None, 1, "x", counter="not a counter"))
    transport = StringTransport()
    protocol = RegionFactory(CommandTable(keyspace, clock), clock).buildProtocol(None)
    protocol.makeConnection(transport)
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        protocol.dataReceived(encode_command("INCR", "n") + encode_command("PING"))
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert transport.value() == b"-ERR internal error in incr: ValueError\r\n+PONG\r\n"
    assert transport.connected
    assert [e["log_failure"].type for e in events if "log_failure" in e] == [ValueError]



START_MS = int(START * 1000)


VERSIONS = [(offset, origin) for offset in range(-2, 3) for origin in ("here", "there")]


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.tuples(
    st.one_of(st.none(), st.sampled_from([b"a", b"b"])),  # a value, or a delete
    st.one_of(st.none(), st.sampled_from([START_MS + 10**6, START_MS - 1])))  # deadline
    for _ in VERSIONS]),
    st.lists(st.tuples(
        st.integers(-2, 2),  # version, about our own write's: the same one happens
        st.sampled_from(["here", "there"]),
        st.booleans(),  # the write's expiry tombstone, if it had a deadline
        st.booleans()), min_size=1, max_size=8),  # a commit after it
    st.booleans())
def test_a_peers_plain_record_lands_as_the_merge_says_stored_or_buffered(
        tmp_path_factory, made, arrivals, cached):
    """Peers' plain records are decided by their versions without decoding what is
    stored (``Store.plain_stamp``): the key ends as ``merge`` of them all says,
    whether the record before was buffered or committed, and the cache shows
    nothing but what a client reads.  One version (and origin) is one write: it
    arrives as itself, or as its expiry tombstone (``made`` says what each write
    was; a generator free to give one version two values found cases no region
    meets, and failed now and then on them)."""
    clock = Clock()
    clock.advance(START)
    keyspace = open_keyspace(tmp_path_factory.mktemp("k"), clock)
    keyspace.write(b"k", b"mine", None)
    if cached:
        keyspace.store.commit()
    else:
        keyspace.cache.discard(b"k")
    expected = keyspace.store.get(b"k")
    mine = expected.version
    for offset, origin, expired, commit in arrivals:
        value, deadline = (b"mine", None) if (offset, origin) == (0, "here") \
            else made[VERSIONS.index((offset, origin))]
        record = Record(None if expired and deadline is not None else value,
                        None if expired else deadline, mine + offset, origin)
        keyspace.apply(b"k", record)
        expected = merge(expected, record)
        if commit:
            keyspace.store.commit()
    stored = keyspace.store.get(b"k")
    if stored != expected:  # (only a copy of what expired here, not kept)
        assert stored.value is None and visible(expected, keyspace.now_ms()) is None
    seen = visible(expected, keyspace.now_ms())
    entry = keyspace.cache.get(b"k")
    if entry is not None:  # (a peer's record refreshes the cache, never fills it)
        assert cached and seen is not None and entry.value == seen[0]
    keyspace.store.close()


def test_a_key_written_over_drops_its_elements_of_each_kind_the_store_has(tmp_path, clock):
    """A write to a key looks for elements to drop under the kinds of element the store
    has held (``Store.element_marks``, found again on open): a string written over a
    set drops its members, after a restart and beside a hash too; a store of strings
    alone looks for none."""
    keyspace = open_keyspace(tmp_path, clock)
    table = CommandTable(keyspace, clock)
    run(table, "SET", "k", "v")
    keyspace.store.commit()
    assert keyspace.store.element_marks == ()
    run(table, "SADD", "s", "a", "b")
    keyspace.store.commit()
    assert keyspace.store.element_marks == (MEMBER_MARK,)
    keyspace.store.close()
    keyspace = open_keyspace(tmp_path, clock)
    table = CommandTable(keyspace, clock)
    assert keyspace.store.element_marks == (MEMBER_MARK,)
    run(table, "HSET", "h", "f", "v")
    assert keyspace.store.element_marks == (FIELD_MARK, MEMBER_MARK)
    run(table, "SET", "s", "a string now")
    keyspace.store.commit()
    assert list(keyspace.store.fields(b"s", mark=MEMBER_MARK)) == []
    assert run(table, "HGETALL", "h") == b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    run(table, "SADD", "s2", "c")  # (a set again: its members are read from the store)
    keyspace.cache.discard(b"s2")
    assert run(table, "SMEMBERS", "s2") == b"*1\r\n$1\r\nc\r\n"
    keyspace.store.close()


def test_object_idletime_counts_whole_seconds_and_touches_nothing(keyspace, clock):
    """``OBJECT IDLETIME``: the seconds since the key was last read or written, as
    Redis counts them (its LRU clock is to the second). Asking is no read, nor are
    ``TYPE``, ``EXISTS``, ``TTL``, ``OBJECT ENCODING`` or ``MEMORY USAGE`` (Redis'
    ``LOOKUP_NOTOUCH``); ``GET`` and ``TOUCH`` are. It read 0 every time: the lookup
    before it touched the key."""
    table = CommandTable(keyspace, clock)
    clock.advance(0.2 - clock.seconds() % 1)
    assert run(table, "SET", "k", "v") == b"+OK\r\n"
    clock.advance(5.5)
    assert run(table, "OBJECT", "IDLETIME", "k") == b":5\r\n"
    for command in (["TYPE", "k"], ["EXISTS", "k"], ["TTL", "k"], ["PTTL", "k"],
                    ["EXPIRETIME", "k"], ["OBJECT", "ENCODING", "k"],
                    ["MEMORY", "USAGE", "k"]):
        run(table, *command)
    clock.advance(1)
    assert run(table, "OBJECT", "IDLETIME", "k") == b":6\r\n"
    assert run(table, "GET", "k") == b"$1\r\nv\r\n"
    assert run(table, "OBJECT", "IDLETIME", "k") == b":0\r\n"
    clock.advance(3)
    assert run(table, "TOUCH", "k") == b":1\r\n"
    assert run(table, "OBJECT", "IDLETIME", "k") == b":0\r\n"
    assert run(table, "OBJECT", "IDLETIME", "nope") == b"$-1\r\n"


def test_no_touch_reads_of_a_key_only_in_the_store_leave_the_cache_as_it_is(keyspace,
                                                                             clock):
    """A key the cache tier does not hold: ``TYPE``, ``EXISTS``, ``TTL`` and ``OBJECT``
    read it from the store and do not put it in the cache (which could evict a
    hotter key); ``OBJECT IDLETIME`` answers the time since it was last written."""
    table = CommandTable(keyspace, clock)
    assert run(table, "SET", "k", "v", "EX", "100") == b"+OK\r\n"
    assert run(table, "HSET", "h", "f", "v") == b":1\r\n"
    keyspace.cache.discard(b"k")
    keyspace.cache.discard(b"h")
    clock.advance(7.5)
    assert run(table, "TYPE", "k") == b"+string\r\n"
    assert run(table, "TYPE", "h") == b"+hash\r\n"
    assert run(table, "EXISTS", "k", "h", "nope") == b":2\r\n"
    assert run(table, "TTL", "k") == b":93\r\n"
    assert run(table, "TTL", "h") == b":-1\r\n"
    assert run(table, "OBJECT", "ENCODING", "k") == b"$6\r\nembstr\r\n"
    assert run(table, "OBJECT", "IDLETIME", "k") == b":7\r\n"
    assert run(table, "OBJECT", "IDLETIME", "h") == b":7\r\n"
    assert b"k" not in keyspace.cache and b"h" not in keyspace.cache
    assert run(table, "GET", "k") == b"$1\r\nv\r\n" and b"k" in keyspace.cache


def test_a_no_touch_read_of_an_expired_cached_key_expires_it(keyspace, clock):
    """``TYPE``, ``EXISTS`` and ``TTL`` touch nothing, but a key whose deadline passed
    goes and is counted, as any lookup's (Redis' ``LOOKUP_NOTOUCH`` expires too)."""
    table = CommandTable(keyspace, clock)
    assert run(table, "SET", "k", "v", "PX", "100") == b"+OK\r\n"
    clock.advance(0.2)
    assert run(table, "EXISTS", "k") == b":0\r\n"
    assert b"k" not in keyspace.cache and keyspace.cache.expirations == 1


def test_randomkey_answers_nil_only_when_no_key_is_live(keyspace, clock):
    """``RANDOMKEY`` reads on from a random place past what is no live key (deleted
    keys' tombstones, a hash's field rows: 12,000 of them here, more than a scan walks
    past in one call) and wraps around: nil only for a keyspace with no live key, as
    Redis answers."""
    assert keyspace.random_key() is None
    for i in range(100):
        keyspace.write(b"gone%d" % i, b"v", None)
        keyspace.delete(b"gone%d" % i)
    for start in range(0, 12_000, 1_000):
        keyspace.hash_set(b"h", {b"f%d" % i: b"v" for i in range(start, start + 1_000)})
    keyspace.write(b"k", b"v", None)
    keyspace.store.commit_and_wait()
    assert {keyspace.random_key() for _ in range(40)} <= {b"h", b"k"}
    assert None not in {keyspace.random_key() for _ in range(40)}
