"""A set's clear (a DEL, or the set emptied and made again) that reaches a region after
member records older than it, on real stores (three regions that pass their records
by hand, ``regions.Region``, and the simulator): member records ``FieldIndex.drop``
turns into tombstones stay gone once collected, and records carrying adds from
before the clear that a sender had queued, held or forwarded show the member only
until the clear arrives, never after it."""

import pytest
from regions import Region

from geolru.model import members as model
from geolru.model.hashkeys import key_id, member_id
from geolru.model.headers import clear_point
from geolru.model.record import decode
from geolru.store.layout import POSITION, place

X = member_id(b"s", b"x")
S = key_id(b"s")


@pytest.fixture
def trio(tmp_path, clock):
    return tuple(Region(tmp_path, name, clock) for name in "abc")


def members(region, key=b"s") -> set:
    reply = region("SMEMBERS", key)
    assert reply[:1] == b"*", reply
    return set(reply.split(b"\r\n")[2::2])


def take(region) -> list:
    """What ``region`` wrote (or stored from its peers) since the last take: what its
    stream would carry, in order."""
    out, region.outbox = region.outbox, []
    return out


def deliver(records, region) -> None:
    for key, record in records:
        region.keyspace.apply(key, record)


def only(records, identity) -> list:
    return [(key, record) for key, record in records if key == identity]


def stored(region, identity):
    """(position, record) of ``identity`` committed in ``region``'s store (None: none)."""
    region.store.commit_and_wait()
    stored_key, table, _ = place(region.store.tables, identity)
    with region.store.tables.env.begin() as txn:
        raw = txn.get(stored_key, db=table)
    return None if raw is None else decode(raw)


def field_tomb(region, position) -> bytes | None:
    """The identity registered for collection at ``position`` (committed), if any."""
    region.store.commit_and_wait()
    with region.store.tables.env.begin() as txn:
        return txn.get(POSITION.pack(position), db=region.store.tables.field_tombs)


def everyone(regions, rounds=2):
    """Every region's writes to every other (twice: what was passed on goes too)."""
    for _ in range(rounds):
        outs = {r: take(r) for r in regions}
        for r, out in outs.items():
            for other in regions:
                if other is not r:
                    deliver(out, other)


def all_converge_on(regions, expected: set) -> None:
    """``everyone``, then each region shows ``expected`` as the set's members."""
    everyone(regions)
    for region in regions:
        assert members(region) == expected, region.keyspace.origin


def _forwarded_then_deleted(a, b, clock, *added):
    """a adds ``added`` (x first), which reach b; b's record of x is to be passed on;
    a DELs the set.  (a's SADD, b's forward, a's DEL.)"""
    a("SADD", "s", *added)
    a_add = take(a)
    deliver(a_add, b)
    forwarded = take(b)
    clock.advance(0.01)
    a("DEL", "s")
    return a_add, forwarded, take(a)


# ------------------------------------------------ members a later clear made tombstones


def _live_only_by_an_add_from_before_the_clear(a, b, c, clock):
    """a adds x (v1) and reaches b alone; a DELs s (v2, held back); c adds x and
    removes it after that (c never saw a's add), and reaches b.  b's record of x joins
    a's add, unremoved, with c's add and remove: live at b, by a's add alone.
    (a's SADD, a's DEL, what b streamed)."""
    a("SADD", "s", "x")
    a_add = take(a)
    deliver(a_add, b)
    clock.advance(0.01)
    a("DEL", "s")
    a_del = take(a)
    clock.advance(0.01)
    c("SADD", "s", "x")
    clock.advance(0.01)
    c("SREM", "s", "x")
    deliver(take(c), b)
    assert members(b) == {b"x"}  # (a's add, not seen by c's remove: add wins)
    return a_add, a_del, take(b)


def test_a_member_made_a_tombstone_by_a_later_clear_and_collected_stays_gone(trio, clock):
    """The DEL reaches b after x's record: ``FieldIndex.drop`` rewrites
    the record where it is (position t, long acknowledged) as a tombstone, and it is
    collectable at once.  b collects it; then a's old add of x comes again (a third
    region's forward, a catch-up).  It stays out: b's header still holds the clear (a
    newer position than t, collected under the rule only once every peer has it),
    and what drop kept (c's add and remove, both after the clear) is what b had
    streamed at t, so no older copy of them can come after t is acknowledged."""
    a, b, c = trio
    a_add, a_del, streamed = _live_only_by_an_add_from_before_the_clear(*trio, clock)
    streamed = only(streamed, X)
    t, live = stored(b, X)
    assert live.value is not None
    deliver(a_del, b)
    assert members(b) == set()
    position, tomb = stored(b, X)
    assert position == t and tomb.value is None  # a tombstone at the old position...
    assert field_tomb(b, t) is not None  # ...registered for collection there
    # what drop kept is what b streamed at t, with the clear applied: every peer that
    # acknowledged t and knows the clear holds at least this
    assert model.since(streamed[-1][1], clear_point(b.store.get(S))) == tomb
    header_position = stored(b, S)[0]
    assert header_position > t
    b.keyspace.collect_tombstones(t)  # (a horizon below the header's own tombstone)
    b.store.commit_and_wait()
    assert stored(b, X) is None  # collected
    assert stored(b, S) is not None  # the clear is not
    deliver(a_add, b)  # a's old add again, late
    deliver(streamed, b)  # and b's own pre-clear copy, e.g. from c's forward back
    assert members(b) == set()
    assert b("SISMEMBER", "s", "x") == b":0\r\n"
    # the set made again at b after that: x stays out
    clock.advance(0.01)
    b("SADD", "s", "y")
    deliver(a_add, b)
    assert members(b) == {b"y"}
    all_converge_on(trio, {b"y"})


def test_a_member_made_a_tombstone_by_a_later_clear_when_the_set_is_made_again(trio, clock):
    """The same, with the clear carried by a set made again at a (DEL, then SADD z):
    the header that reaches b is the new set's, cleared at the DEL."""
    a, b, c = trio
    a_add, a_del, streamed = _live_only_by_an_add_from_before_the_clear(*trio, clock)
    streamed = only(streamed, X)
    t = stored(b, X)[0]
    clock.advance(0.01)
    a("SADD", "s", "z")
    deliver(take(a), b)  # (a catch-up: z's record and the key's newest header only)
    ((_, delete),) = a_del
    assert stored(b, S)[1].hash_meta.cleared == (delete.version, delete.origin)
    assert members(b) == {b"z"}
    assert field_tomb(b, t) is not None
    b.keyspace.collect_tombstones(t)
    b.store.commit_and_wait()
    assert stored(b, X) is None
    deliver(a_add, b)
    deliver(streamed, b)
    assert members(b) == {b"z"}
    everyone(trio)
    deliver(a_del, b)
    deliver(a_del, c)
    for region in trio:
        assert members(region) == {b"z"}, region.keyspace.origin


# ------------------------------------------------ adds from before a DEL, forwarded


@pytest.mark.parametrize("cached", [False, True])
def test_a_forwarded_add_from_before_a_del_goes_when_the_del_comes_after(trio, clock, cached):
    """a adds x (v1), which reaches b; a DELs s
    (v2).  b passes x's record (a's add) on to c before c has the DEL: c keeps the add
    and shows x, as it should until the DEL.  The DEL reaches c after: its clear takes
    the add out of the record c stored (``FieldIndex.drop``), and the cache's copy
    goes with the header's change."""
    a, b, c = trio
    _, forwarded, a_del = _forwarded_then_deleted(a, b, clock, "x")
    deliver(forwarded, c)
    if cached:
        assert members(c) == {b"x"}
    deliver(a_del, c)
    assert members(c) == set()
    assert c("SISMEMBER", "s", "x") == b":0\r\n"
    assert c("EXISTS", "s") == b":0\r\n"
    assert stored(c, X) is None  # gone from the store (its only write was before the DEL)
    c.keyspace.collect_tombstones()
    c.store.commit_and_wait()
    clock.advance(0.01)
    c("SADD", "s", "y")
    all_converge_on(trio, {b"y"})


def test_a_forwarded_record_newer_than_the_del_holding_an_add_from_before_it(tmp_path, clock):
    """The same with a record whose own version is after the DEL: d adds and removes x
    after the DEL without having seen a's add; b joins the two (live by a's add alone)
    and passes the joined record on to c, which does not have the DEL yet.  When the
    DEL comes, c keeps d's add and remove and drops a's add: x is gone, and stays gone
    after c collects what it can and makes the set again."""
    a, b, c, d = (Region(tmp_path, name, clock) for name in "abcd")
    a_add, a_del, forwarded = _live_only_by_an_add_from_before_the_clear(a, b, d, clock)
    deliver(forwarded, c)
    assert members(c) == {b"x"}
    deliver(a_del, c)
    assert members(c) == set()
    position, kept = stored(c, X)
    assert [region for region, _ in kept.hash_meta.adds] == ["d"] and kept.value is None
    assert field_tomb(c, position) is not None
    c.keyspace.collect_tombstones(position)  # (x's, not the DEL's: a newer position)
    c.store.commit_and_wait()
    assert stored(c, X) is None
    deliver(a_add, c)  # late: a's add from before the DEL
    deliver(forwarded, c)  # and b's forward of it again (a catch-up)
    clock.advance(0.01)
    c("SADD", "s", "y")
    assert members(c) == {b"y"}
    all_converge_on((a, b, c, d), {b"y"})


def test_the_del_first_then_the_forward(trio, clock):
    """The other order: c has the DEL when b's forward of a's older add comes."""
    a, b, c = trio
    _, forwarded, a_del = _forwarded_then_deleted(a, b, clock, "x")
    deliver(a_del, c)
    deliver(forwarded, c)
    assert members(c) == set()
    assert stored(c, X) is None


def test_a_forward_then_a_concurrent_set_at_the_receiver_then_the_del(trio, clock):
    """c makes the set itself (SADD y, after the DEL by the clock, before it came)
    between b's forward and the DEL: c's newer header takes the DEL's clear when it
    comes, and the forwarded add goes."""
    a, b, c = trio
    _, forwarded, a_del = _forwarded_then_deleted(a, b, clock, "x")
    deliver(forwarded, c)
    clock.advance(0.01)
    c("SADD", "s", "y")
    assert members(c) == {b"x", b"y"}
    deliver(a_del, c)
    assert members(c) == {b"y"}
    all_converge_on(trio, {b"y"})


def test_a_forward_whose_receiver_removes_the_member_before_the_del_comes(trio, clock):
    """c removes x (a's add, forwarded) before the DEL comes: its remove's record
    holds a's add from before the DEL; the regions that know the clear drop it."""
    a, b, c = trio
    _, forwarded, a_del = _forwarded_then_deleted(a, b, clock, "x", "w")
    deliver(forwarded, c)
    clock.advance(0.01)
    c("SREM", "s", "x")
    assert members(c) == {b"w"}
    deliver(a_del, c)
    deliver(a_del, b)
    everyone(trio)
    for region in trio:
        assert members(region) == set(), region.keyspace.origin
        record = stored(region, X)  # (a's add, from before the DEL, kept nowhere)
        assert record is None or "a" not in dict(record[1].hash_meta.adds)


# ------------------------------------------------------------------ the simulator
# The same two orders with the real replicator (senders that hold, forward and
# collect on the peers' publications), in the simulator's world: what each region
# stored is sampled as it goes, and the run's own checks (convergence, the reference
# model of sets: no member whose every add a remove or a clear had seen is back)
# decide at the end.

M0 = member_id(b"ws0", b"m0")
WS0 = key_id(b"ws0")
MONTREAL, FRANKFURT, SINGAPORE, SAOPAULO = "montreal", "frankfurt", "singapore", "saopaulo"


def _simulate(names, actions, probes):
    """Run a hand-made schedule; (its result, samples: (time, region, adds of m0 or
    None, whether m0's record is live, the header's (live, cleared by)))."""
    from simulation.run import Simulation
    from simulation.schedule import Schedule

    samples = []

    class Probing(Simulation):
        def _act(self, kind, *args):
            if kind != "probe":
                return super()._act(kind, *args)
            for name in names:
                store = self.world.nodes[name].store
                member, head = store.get(M0), store.get(WS0)
                samples.append(
                    (
                        self.world.scheduler.now,
                        name,
                        None if member is None else tuple(r for r, _ in member.hash_meta.adds),
                        member is not None and member.value is not None,
                        None
                        if head is None
                        else (head.value is not None, head.hash_meta and head.hash_meta.cleared[1]),
                    )
                )

    delays = {frozenset((a, b)): 0.005 for i, a in enumerate(names) for b in names[i + 1 :]}
    actions = sorted([*actions, *((t, "probe") for t in probes)], key=lambda a: a[0])
    schedule = Schedule(
        -900, tuple(names), delays, 0.0, {n: 0.0 for n in names}, tuple(actions), with_sets=True
    )
    return Probing(schedule).run(), samples


def test_simulated_a_forward_of_an_add_from_before_a_del_that_comes_after():
    """An add from before a DEL, forwarded ahead of it, replicated for real: Montreal's stream to
    Singapore stalls; Montreal adds m0 (reaching Frankfurt), then its stream to
    Frankfurt stalls too and it DELs the set.  Frankfurt forwards m0's add to
    Singapore, which shows m0 (it has no DEL).  The streams go again: the DEL comes
    after, the add goes, and every region ends with the set made again, {m1}."""
    names = (MONTREAL, FRANKFURT, SINGAPORE)
    actions = [
        (0.5, "stall", MONTREAL, SINGAPORE),
        (0.6, "command", MONTREAL, (b"SADD", b"ws0", b"m0")),
        (0.7, "stall", MONTREAL, FRANKFURT),
        (0.75, "command", MONTREAL, (b"DEL", b"ws0")),
        (5.5, "unstall", MONTREAL, SINGAPORE),
        (5.6, "unstall", MONTREAL, FRANKFURT),
        (9.0, "command", SINGAPORE, (b"SADD", b"ws0", b"m1")),
    ]
    result, samples = _simulate(names, actions, [5.0, 5.8])
    before = {name: (adds, live, head) for t, name, adds, live, head in samples if t == 5.0}
    assert before[SINGAPORE] == (("montreal",), True, (True, "")), before  # the forward
    after = {name: (adds, live) for t, name, adds, live, head in samples if t == 5.8}
    assert all(not live for adds, live in after.values()), after
    assert result.ok, result.report()


def test_simulated_a_clear_after_a_joined_record_and_its_tombstone_collected_at_once():
    """Both cases, replicated for real, with four regions.  Montreal adds m0 and
    DELs the set; Sao Paulo, which has seen neither, adds m0 and removes it.
    Frankfurt and Singapore join Montreal's add with Sao Paulo's add and remove: m0 is
    live there by Montreal's add alone (Singapore had it forwarded), and neither has
    the DEL.  Singapore freezes.  The DEL reaches Frankfurt: ``FieldIndex.drop`` makes
    m0's record a tombstone where it was, and Frankfurt collects it at once, while
    the DEL's header waits for frozen Singapore.  Singapore thaws still showing m0,
    then gets the DEL; nothing comes back, every region converges."""
    names = (MONTREAL, FRANKFURT, SINGAPORE, SAOPAULO)
    actions = [
        (0.5, "stall", MONTREAL, SINGAPORE),
        (0.5, "stall", MONTREAL, SAOPAULO),
        (0.5, "stall", SAOPAULO, SINGAPORE),
        (0.5, "stall", FRANKFURT, SAOPAULO),
        (0.5, "stall", SINGAPORE, SAOPAULO),
        (0.6, "command", MONTREAL, (b"SADD", b"ws0", b"m0")),
        (0.7, "stall", MONTREAL, FRANKFURT),
        (0.75, "command", MONTREAL, (b"DEL", b"ws0")),
        (0.8, "command", SAOPAULO, (b"SADD", b"ws0", b"m0")),
        (0.85, "command", SAOPAULO, (b"SREM", b"ws0", b"m0")),
        (1.0, "unstall", FRANKFURT, SAOPAULO),
        (1.0, "unstall", SINGAPORE, SAOPAULO),
        (1.5, "freeze", SINGAPORE),
        (2.0, "unstall", MONTREAL, FRANKFURT),
        (4.0, "thaw", SINGAPORE),
        (5.5, "unstall", MONTREAL, SINGAPORE),
        (5.5, "unstall", MONTREAL, SAOPAULO),
        (5.5, "unstall", SAOPAULO, SINGAPORE),
        (9.0, "command", SINGAPORE, (b"SADD", b"ws0", b"m1")),
    ]
    probes = [1.9 + i * 0.02 for i in range(60)]
    result, samples = _simulate(names, actions, probes)
    frankfurt = [
        (t, adds, live, head) for t, name, adds, live, head in samples if name == FRANKFURT
    ]
    singapore = [
        (t, adds, live, head) for t, name, adds, live, head in samples if name == SINGAPORE
    ]
    # m0 live at Frankfurt and Singapore by Montreal's add alone, before the DEL
    assert frankfurt[0][1:] == (("montreal", "saopaulo"), True, (True, "")), frankfurt[0]
    assert singapore[0][1:] == (("montreal", "saopaulo"), True, (True, "")), singapore[0]
    # the DEL reaches Frankfurt after it: the record keeps Sao Paulo's writes only...
    assert any(
        adds == ("saopaulo",) and not live and head == (False, "montreal")
        for _, adds, live, head in frankfurt
    ), frankfurt
    # ...and its tombstone is collected while the DEL's header (its clear) stays
    assert any(adds is None and head == (False, "montreal") for _, adds, live, head in frankfurt), (
        frankfurt
    )
    # Singapore, frozen, still shows m0 (no DEL) when Frankfurt has collected it
    collected = min(t for t, adds, _, head in frankfurt if adds is None)
    assert any(live for t, _, live, _ in singapore if t >= collected)
    assert result.ok, result.report()
