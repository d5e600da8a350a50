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


def test_a_counters_base_expiring_invalidates_what_a_client_read(tmp_path, pair, clock):
    """a's INCRBY 4 reaches b and c; b gives the key a deadline and adds 1, c adds 5
    without it. Every region reads 10, then 5 once b's deadline passes: the key
    lives on, the expiry job never sees it, and a near cache kept 10 (wide seed
    3000801571). The job now says ``expired`` at that moment."""
    from regions import Region
    a, b = pair
    c = Region(tmp_path, "c", clock)
    a("INCRBY", "w", "4")
    for key, record in a.outbox:
        b.keyspace.apply(key, record)
        c.keyspace.apply(key, record)
    a.outbox = []
    b("PEXPIRE", "w", "1000")
    b("INCRBY", "w", "1")
    c("INCRBY", "w", "5")
    b.send_to(a)
    c.send_to(a)
    session, pushed = tracked(a)
    assert a.table.execute(session, [b"GET", b"w"]) == b"$2\r\n10\r\n"
    events = []
    a.keyspace.change_listeners.append(lambda key, event: events.append((key, event)))
    clock.advance(1.5)
    a.keyspace.expire_due()
    assert events == [(b"w", "expired")]
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nw\r\n"]
    assert a("GET", "w") == b"$1\r\n5\r\n"
    clock.advance(10)
    a.keyspace.expire_due()  # (nothing more changes: said once)
    assert len(events) == 1 and a("GET", "w") == b"$1\r\n5\r\n"


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
    then a peer's delete (made before the deadline) replaced the record, so the job
    will never say ``expired``: the apply says it (simulator, wide seed 3000070158 at
    level 8). A replacing record that is itself due is left to the job (once)."""
    a, b = pair
    a("SET", "k", "v", "PX", "100")
    a.send_to(b)
    session, pushed = tracked(b)
    b.table.execute(session, [b"GET", b"k"])
    a("DEL", "k")  # (before the deadline, at a)
    clock.advance(0.2)  # (expired at b, but no expiry job ran there)
    a.send_to(b)  # (nothing a client sees changed: it had expired)
    assert pushed == [b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"]
    b.keyspace.expire_due()
    assert len(pushed) == 1


def test_a_redirect_targets_own_write_sends_the_invalidation_after_its_reply(pair):
    """Client A tracks with REDIRECT to B, a RESP3 client that does not track; when B
    itself writes a key A read, B gets the invalidation after its reply (it had stayed
    queued for good before)."""
    from geolru.commands.table import Session
    a, _ = pair
    b_pushed = []
    b = Session(20, push=b_pushed.append)
    a.table.sessions[20] = b
    a.table.execute(b, [b"HELLO", b"3"])
    client, _ = tracked(a, 21)
    a.table.execute(client, [b"CLIENT", b"TRACKING", b"off"])
    assert a.table.execute(client, [b"CLIENT", b"TRACKING", b"on", b"REDIRECT", b"20"]) == \
        b"+OK\r\n"
    a.table.execute(client, [b"GET", b"k"])
    assert a.table.execute(b, [b"SET", b"k", b"1"]) == \
        b"+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    assert b.pending == []
