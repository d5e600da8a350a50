"""Client tracking for changes no command here made, sans-IO: a peer's record, an
expiry; and the tracking table's bound (the differential test covers the commands
against redis-server)."""

from geolru.commands.table import Session


def tracked(region, number: int = 7):
    pushed = []
    session = Session(number, push=pushed.append)
    region.table.sessions[number] = session
    region.table.execute(session, [b"HELLO", b"3"])
    assert region.table.execute(session, [b"CLIENT", b"TRACKING", b"on"]) == b"+OK\r\n"
    return session, pushed


def test_a_peers_write_and_an_expiry_invalidate_what_a_client_read(pair, clock):
    a, b = pair
    a("SET", "k", "1")
    a("SET", "t", "1", "PX", "100")
    a.send_to(b)
    session, pushed = tracked(b)
    b.table.execute(session, [b"MGET", b"k", b"t"])
    clock.advance(0.01)
    a("SET", "k", "2")
    a.send_to(b)
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"]
    clock.advance(0.2)
    b.keyspace.expire_due()
    assert pushed[1:] == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nt\r\n"]
    a("SET", "k", "3")
    a.send_to(b)  # (not read again since: nothing to say)
    assert len(pushed) == 2


def test_the_table_keeps_its_bound_by_invalidating_what_it_drops(pair):
    a, _ = pair
    a("CONFIG", "SET", "tracking-table-max-keys", "2")
    session, pushed = tracked(a)
    for key in (b"x", b"y"):
        assert a.table.execute(session, [b"GET", key]) == b"_\r\n"
    # (the client that read the third key is the one told: after its reply)
    assert a.table.execute(session, [b"GET", b"z"]) == \
        b"_\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nx\r\n"
    other, _ = tracked(a, 8)
    a.table.execute(other, [b"GET", b"w"])  # (another client's read drops y: a push)
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ny\r\n"]
    assert set(a.table.tracking.table) == {b"z", b"w"}
    assert a("CONFIG", "GET", "tracking-table-max-keys") == \
        b"*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n2\r\n"


def test_a_key_that_expired_unseen_then_was_replaced_by_a_peer_is_invalidated(pair, clock):
    """A client read a key; its deadline passed before this region's expiry job ran;
    then a peer's write replaced the record with one no client sees either (its own
    deadline past too), so the job will never say ``expired``: the apply says it
    (simulator, wide seed 3000070158 at level 8)."""
    a, b = pair
    a("SET", "k", "v", "PX", "100")
    a.send_to(b)
    session, pushed = tracked(b)
    b.table.execute(session, [b"GET", b"k"])
    clock.advance(0.2)  # (expired at b, but no expiry job ran there)
    a("SET", "k", "w", "PX", "1")
    clock.advance(0.01)
    a.send_to(b)  # (a newer record, expired too: nothing a client sees changed)
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"]
