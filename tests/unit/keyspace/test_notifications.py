"""Keyspace notifications for what no command here made, sans-IO: a peer's record
that changes what a client reads fires the event of its kind; one that loses its
merge fires nothing; an expiry fires ``expired``."""

from regions import exchange

from geolru.commands.table import Session


def listen(region, classes=b"KEA"):
    region("CONFIG", "SET", "notify-keyspace-events", classes)
    pushed = []
    session = Session(99, push=pushed.append)
    region.table.execute(session, [b"PSUBSCRIBE", b"__keyevent@0__:*"])
    return pushed


def events(pushed) -> list:
    out = [m.split(b"\r\n")[6:9:2] for m in pushed]
    pushed.clear()
    return [(channel.split(b":", 1)[1], key) for channel, key in out]


def test_a_peers_writes_fire_the_events_of_what_they_changed(pair, clock):
    a, b = pair
    pushed = listen(b)
    a("SET", "s", "1")
    a("HSET", "h", "f", "1")
    a("SADD", "st", "m")
    a("ZADD", "z", "1", "m")
    a("RPUSH", "l", "x", "y")
    a.send_to(b)
    assert sorted(events(pushed)) == sorted([
        (b"set", b"s"), (b"hset", b"h"), (b"sadd", b"st"), (b"zadd", b"z"),
        (b"linsert", b"l"), (b"linsert", b"l")])
    clock.advance(0.01)
    a("DEL", "s")
    a("SREM", "st", "m")
    a("LPOP", "l")
    a.send_to(b)
    assert sorted(events(pushed)) == sorted([(b"del", b"s"), (b"srem", b"st"),
                                             (b"lrem", b"l")])


def test_a_write_that_loses_its_merge_fires_nothing(pair, clock):
    a, b = pair
    a("SET", "k", "older")
    clock.advance(0.01)
    b("SET", "k", "newer")
    pushed = listen(b)
    a.send_to(b)  # (older than what b has: it changes nothing there)
    assert events(pushed) == []
    exchange(a, b)
    assert a("GET", "k") == b("GET", "k") == b"$5\r\nnewer\r\n"


def test_an_expiry_fires_expired(pair, clock):
    a, _ = pair
    pushed = listen(a, b"Ex")
    a("SET", "k", "v", "PX", "100")
    assert events(pushed) == []  # (only x: no set event)
    clock.advance(0.2)
    a.keyspace.expire_due()
    assert events(pushed) == [(b"expired", b"k")]


def test_a_peers_string_over_a_collection_and_its_deadlines_fire_events(pair, clock):
    a, b = pair
    a("HSET", "h", "f", "1")
    a("SET", "s", "v")
    a.send_to(b)
    pushed = listen(b)
    clock.advance(0.01)
    a("SET", "h", "now a string")  # (replaces the hash: its fields are gone)
    a("PEXPIRE", "s", "100000")
    a.send_to(b)
    assert sorted(events(pushed)) == [(b"expire", b"s"), (b"set", b"h")]
    clock.advance(0.01)
    a("PERSIST", "s")
    a("HSET", "h2", "f", "1")
    a.send_to(b)
    clock.advance(0.01)
    a("PEXPIRE", "h2", "100000")
    a.send_to(b)
    assert events(pushed) == [(b"persist", b"s"), (b"hset", b"h2"), (b"expire", b"h2")]


def test_a_peers_change_invalidates_a_hash_a_client_read(pair, clock):
    from geolru.commands.table import Session
    a, b = pair
    a("HSET", "h", "f", "1")
    a.send_to(b)
    pushed = []
    session = Session(9, push=pushed.append)
    b.table.sessions[9] = session
    b.table.execute(session, [b"HELLO", b"3"])
    b.table.execute(session, [b"CLIENT", b"TRACKING", b"on"])
    b.table.execute(session, [b"HGET", b"h", b"f"])
    clock.advance(0.01)
    a("SET", "h", "x")
    a.send_to(b)
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nh\r\n"]
    b.table.execute(session, [b"CLIENT", b"TRACKING", b"off"])
    assert not b.keyspace.watch_changes and not b.table.tracking.table
