"""A schedule: the regions, their links and clocks, what clients do and what goes wrong.

``generate(seed)`` makes one at random, the same one for the same seed.  A
schedule is plain data, so a hand-written one (the reproductions) runs the same
way.

Seeds from ``SHARDED`` on make *sharded* schedules (issue #23): three or four
regions in cluster mode, each of 1-3 shard processes (or 4, 2 and 1, as the issue's
example) owning a part of the 16,384 hash slots, in unequal counts (``layout``).  A
shard is a node of its own: its name is its region's for shard 0 and ``region/k``
for shard k, and faults strike shards (``name``) or every shard of a region
(``region/*``).  Below ``SHARDED`` every seed draws the schedule it drew before
shards existed (the shards draw from a random stream of their own).
"""

from __future__ import annotations

import functools
import random

import attrs

from geolru.model.slots import ALL, SlotSet, split

KEYS = [b"k%d" % i for i in range(6)]
HASH_KEYS = [b"h0", b"h1"]
FIELDS = [b"a", b"b", b"c"]
# the wide workload (seeds from WIDE on): hundreds of keys, most writes to a hot few,
# every string command that replicates, transactions, hashes of many fields
WIDE_KEYS = [b"w%d" % i for i in range(200)]
HOT_KEYS = WIDE_KEYS[:8]
WIDE_HASH_KEYS = [b"wh0", b"wh1"]
WIDE_FIELDS = [b"f%d" % i for i in range(20)]
WIDE_HLL_KEYS = [b"wp%d" % i for i in range(4)]  # (``extras`` 2) HyperLogLogs
WIDE_SET_KEYS = [b"ws%d" % i for i in range(3)]  # (``extras`` 3) sets
# a set's members: words, and integers (a set of them all replies in numeric order)
WIDE_MEMBERS = [b"m%d" % i for i in range(6)] + [b"%d" % i for i in (3, 12, 100)]
SET_KEY_FIELDS = [b"f0", b"f1"]  # a set key made a hash now and then (kinds collide)
WIDE_ZSET_KEYS = [b"wz0", b"wz1"]  # (``extras`` 5) sorted sets
WIDE_ZMEMBERS = [b"p%d" % i for i in range(6)]
WIDE_LIST_KEYS = [b"wl0", b"wl1"]  # (``extras`` 6) lists
CHANNELS = [b"ch0", b"ch1"]  # (``extras`` 8) pub/sub channels every region listens to
EXTRAS = 8  # the levels of ``generate``'s extras so far
NAMES = ["montreal", "frankfurt", "singapore", "saopaulo", "sydney"]
WORKLOAD_SECONDS = 3.0
EPOCH = 1_800_000_000.0  # the simulation's time 0, as unix seconds
SHARDED = 1_000_000_000  # seeds from here on are sharded schedules
WIDE = 3_000_000_000  # ... and from here on, schedules of the wide workload (no shards)
# regions a sharded schedule draws: no five (a schedule costs as many streams as it
# has, and every shard streams to every shard of every other region)
SHARDED_REGIONS = (3, 3, 3, 4)
ALL_SHARDS = "/*"  # "montreal/*": every shard of montreal


@attrs.frozen
class Schedule:
    seed: int
    names: tuple
    delays: dict  # frozenset({a, b}) -> one-way delay, seconds
    jitter: float  # each frame's delay: the link's, times 1 to 1 + jitter
    skews: dict  # name -> clock skew, seconds
    actions: tuple  # (time, kind, *arguments), by time
    timers_first: bool = True  # at SIGCONT: overdue timers before what arrived
    window: tuple = (1 << 20, 32 << 20)  # a stream's window, bytes: (minimum, maximum)
    buffer: int = 64 << 20  # bytes a stream holds in memory (peer_buffer)
    # region -> the slots of each of its shards (a tuple of SlotSet), or None for a
    # region without cluster mode; None: no region has it (the schedules from before)
    layout: dict | None = None
    wide: bool = False  # the wide workload's keys (WIDE_KEYS, WIDE_HASH_KEYS)
    with_sets: bool = False  # the set workload's keys (WIDE_SET_KEYS) are written
    with_zsets: bool = False  # ... and the sorted set workload's (WIDE_ZSET_KEYS)
    with_lists: bool = False  # ... and the list workload's (WIDE_LIST_KEYS)
    with_events: bool = False  # subscribers and near caches in every region (level 8)
    late: tuple = ()  # nodes that join during the run (a "join" action boots each)
    drifts: dict = attrs.field(factory=dict)  # name -> seconds its clock gains a second

    @property
    def string_keys(self) -> list:
        return WIDE_KEYS + WIDE_HLL_KEYS if self.wide else KEYS

    @property
    def sets(self) -> dict:
        """Each set key the workload writes, and the members it adds (and the fields
        it writes when it makes the key a hash)."""
        return {key: WIDE_MEMBERS for key in WIDE_SET_KEYS} if self.with_sets else {}

    @property
    def zsets(self) -> dict:
        """Each sorted set key the workload writes, and the members it writes."""
        return {key: WIDE_ZMEMBERS for key in WIDE_ZSET_KEYS} if self.with_zsets else {}

    @property
    def lists(self) -> list:
        """The list keys the workload writes."""
        return WIDE_LIST_KEYS if self.with_lists else []

    @property
    def set_key_fields(self) -> list:
        return SET_KEY_FIELDS if self.with_sets else []

    @property
    def hashes(self) -> dict:
        """Each hash key the workload writes, and its fields."""
        if self.wide:
            return {key: WIDE_FIELDS for key in WIDE_HASH_KEYS}
        return {key: FIELDS for key in HASH_KEYS}


def shard_name(region: str, k: int) -> str:
    """A shard's replication name (the origin of its writes)."""
    return region if k == 0 else f"{region}/{k}"


def region_of(name: str) -> str:
    """The region of a node name, or of a fault's target (``region/*``)."""
    return name.partition("/")[0]


def generate(seed: int, extras: int = 0) -> Schedule:
    """The schedule of ``seed``.  ``extras`` (up to ``EXTRAS``): what wide schedules
    have that came after most seeds kept as regressions were found, each thing from the
    level it came at: 1, a region's data folder put back to an older copy of it (a
    power cut, a restore from a backup); 2, the HyperLogLog workload; 3, the set
    workload; 4, the set keys made hashes now and then; 5, the sorted set workload;
    6, the list workload; 7, sorted sets' pops, range removals and ``STORE`` forms;
    8, events: ``PUBLISH``es, and near-cache reads of hot keys in every region
    (each type to come adds a level).  0 by default, so that a seed replays
    as it was found at its level; the CI's random schedules have them all."""
    rng = random.Random(seed)
    wide = seed >= WIDE
    sharded = SHARDED <= seed < WIDE
    names = tuple(NAMES[:rng.choice(SHARDED_REGIONS if sharded else (3, 3, 4, 5))])
    # the shards draw from a stream of their own: the other draws stay as they were
    shards = Shards(random.Random(f"shards {seed}"), names) if sharded else None
    workload = Wide(rng) if wide else None
    command, hash_command = ((workload.command, workload.hash_command) if workload
                             else (_command, _hash_command))
    delays = {frozenset((a, b)): rng.choice((0.0, rng.uniform(0, 0.15)))
              for i, a in enumerate(names) for b in names[i + 1:]}
    skews = {name: rng.uniform(-0.5, 0.5) for name in names}
    pick = shards.pick if shards else (lambda name: name)
    actions = []
    for _ in range(rng.randint(80, 200) if wide else rng.randint(20, 60)):
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        command(rng, len(names) - 1)))
    # faults: a few, anywhere in the workload; at least two regions are never killed
    victims = list(names)
    rng.shuffle(victims)
    fragile = victims[:len(names) - 2]
    for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
        start = rng.uniform(0, WORKLOAD_SECONDS)
        kind = rng.choice(("cut", "cut", "freeze", "freeze", "crash"))
        if kind == "cut":
            a, b = rng.sample(names, 2)
            a, b = shards.pick_link(a, b) if shards else (a, b)
            actions.append((start, "cut", a, b))
            actions.append((start + rng.uniform(0.1, 2.5), "heal", a, b))
        elif kind == "freeze":
            name = pick(rng.choice(names))
            actions.append((start, "freeze", name))
            actions.append((start + rng.uniform(0.1, 5.0), "thaw", name))
        elif fragile:
            name = pick(rng.choice(fragile))
            actions.append((start, "crash", name))
            actions.append((start + rng.uniform(0.05, 2.0), "restart", name))
    if fragile and rng.random() < 0.08:  # a region dies for good and is forgotten
        name = fragile[0]
        start = rng.uniform(0, WORKLOAD_SECONDS)
        actions = [a for a in actions
                   if a[1] in ("command", "transaction")
                   or name not in map(region_of, a[2:4])]
        target = name + ALL_SHARDS if shards else name
        actions.append((start, "crash", target))
        actions.append((start + rng.uniform(0.5, 2.0), "forget", name))
    actions.sort(key=lambda action: action[0])
    jitter = rng.choice((0.0, 0.1, 0.5))
    timers_first = rng.random() < 0.5
    # (drawn last, so that the seeds drawn before these knobs existed stay the same)
    # windows and buffers of a few records, so that the window fills and the
    # buffer overflows: forwarding on, leaving live mode, pausing a catch-up
    window = rng.choice(((1 << 20, 32 << 20), (1 << 20, 32 << 20), (300, 600), (500, 4000)))
    buffer = rng.choice((64 << 20, 64 << 20, 700, 2000))
    for _ in range(rng.randint(0, 30)):  # hashes (drawn after the rest, likewise)
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        hash_command(rng, len(names) - 1)))
    actions.sort(key=lambda action: action[0])
    # each SET of a string key writes a value of its own, so that a read tells which
    # write it saw; and clients read (from a random stream of their own: the draws
    # above stay as they were)
    actions = [_unique(action, i) for i, action in enumerate(actions)]
    actions += _reads(random.Random(f"reads {seed}"), names, wide)
    late, drifts = (), {}
    if wide:  # the newer faults (streams of their own)
        actions, late = _more_faults(random.Random(f"faults {seed}"), actions, fragile,
                                     restores=extras >= 1)
        if extras >= 2:
            actions += _hyperloglogs(random.Random(f"hyperloglogs {seed}"), names)
        if extras >= 3:
            actions += _sets(random.Random(f"sets {seed}"), names)
        if extras >= 4:
            actions += _kinds(random.Random(f"kinds {seed}"), names)
        if extras >= 5:
            actions += _zsets(random.Random(f"zsets {seed}"), names)
        if extras >= 6:
            actions += _lists(random.Random(f"lists {seed}"), names)
        if extras >= 7:
            actions += _zset_removals(random.Random(f"zset removals {seed}"), names)
        if extras >= 8:
            actions += _events(random.Random(f"events {seed}"), names)
        drifting = random.Random(f"drifts {seed}")
        # clocks that run fast or slow (by up to 2%: far more than a real clock's
        # 50 ppm, so that a run of seconds sees it)
        drifts = {name: drifting.uniform(-0.02, 0.02) for name in names
                  if drifting.random() < 0.5}
    actions.sort(key=lambda action: action[0])
    if shards:
        skews.update(shards.skews(skews))
    return Schedule(seed, names, delays, jitter, skews, tuple(actions), wide=wide, late=late,
                    with_sets=wide and extras >= 3, with_zsets=wide and extras >= 5,
                    with_lists=wide and extras >= 6, with_events=wide and extras >= 8,
                    drifts=drifts,
                    timers_first=timers_first, window=window, buffer=buffer,
                    layout=shards.layout if shards else None)


class Shards:
    """A sharded schedule's draws: each region's shards and their slots, and which
    shards a fault strikes."""

    def __init__(self, rng, names):
        self.rng = rng
        if len(names) == 3 and rng.random() < 0.2:
            counts = rng.sample((4, 2, 1), 3)  # the example, in any order
        else:
            # fewer shards where there are more regions: a schedule costs as many streams
            choices = (1, 2, 3) if len(names) == 3 else (1, 1, 2)
            counts = [rng.choice(choices) for _ in names]
        while len(set(counts)) == 1:  # unequal counts
            counts[rng.randrange(len(counts))] = rng.choice((1, 2, 3))
        self.layout = {name: _slots(rng, count)
                       for name, count in zip(names, counts, strict=True)}

    def nodes(self, region: str) -> list[str]:
        return [shard_name(region, k) for k in range(len(self.layout[region] or (0,)))]

    def pick(self, region: str) -> str:
        """What a fault on ``region`` strikes: one of its shards, or now and then
        all of them."""
        nodes = self.nodes(region)
        if len(nodes) > 1 and self.rng.random() < 0.25:
            return region + ALL_SHARDS
        return self.rng.choice(nodes)

    def pick_link(self, a: str, b: str) -> tuple[str, str]:
        """A cut between two regions: every link between their shards, or now and
        then the link between one shard of each."""
        if self.rng.random() < 0.7:
            return a + ALL_SHARDS, b + ALL_SHARDS
        return self.rng.choice(self.nodes(a)), self.rng.choice(self.nodes(b))

    def skews(self, regions: dict) -> dict:
        """Each shard a process with a clock of its own: shard 0 has its region's
        skew, the others one drawn apart."""
        return {node: self.rng.uniform(-0.5, 0.5)
                for region in regions for node in self.nodes(region)[1:]}


def _slots(rng, count: int):
    """The slots of ``count`` shards: ``None`` (no cluster mode) for a region of one
    now and then; else ``split`` (Redis' equal ranges), or now and then two pieces
    of a finer split each, in no order (a shard whose slots are not one range)."""
    if count == 1:
        return rng.choice((None, (ALL,)))
    if rng.random() < 0.7:
        return _split(count)
    order = list(range(2 * count))
    rng.shuffle(order)
    return tuple(_pieces(count, tuple(order[k::count])) for k in range(count))


@functools.cache
def _split(count: int) -> tuple:
    return tuple(split(count))  # (a SlotSet takes milliseconds to make)


@functools.cache
def _pieces(count: int, which: tuple):
    """The union of pieces ``which`` of ``split(2 * count)``."""
    pieces = _split(2 * count)
    return SlotSet.of([pieces[i].ranges[0] for i in which])


def _unique(action: tuple, serial: int) -> tuple:
    """A SET of a string key with its value made unique (``v123#serial``)."""
    if action[1] == "command" and action[3][0] == b"SET" and action[3][1] in KEYS:
        args = action[3]
        return (*action[:3], (*args[:2], args[2] + b"#%d" % serial, *args[3:]))
    return action


def _deadline_ms(rng) -> bytes:
    """A PEXPIRE's milliseconds: soon (within the run) or later (past it), as each
    workload draws them (the same draws, in the same order)."""
    return b"%d" % rng.choice((rng.randint(50, 2500), rng.randint(5000, 12000)))


def _hyperloglogs(rng, names) -> list:
    """A few dozen commands on HyperLogLogs (``WIDE_HLL_KEYS``, now and then a hot
    string key): mostly ``PFADD``s of a few of 60 elements, and what else replaces or
    ends one (``DEL``, a plain ``SET``, ``COPY`` from another, a deadline)."""
    actions = []
    for serial in range(rng.randint(10, 40)):
        key = rng.choice(WIDE_HLL_KEYS if rng.random() < 0.9 else HOT_KEYS)
        roll = rng.random()
        if roll < 0.65:
            elements = (b"e%d" % rng.randrange(60) for _ in range(rng.randint(1, 4)))
            args = (b"PFADD", key, *elements)
        elif roll < 0.73:
            args = (b"DEL", key)
        elif roll < 0.83:
            args = (b"PEXPIRE", key, _deadline_ms(rng))
        elif roll < 0.88:
            args = (b"PERSIST", key)
        elif roll < 0.93:
            args = (b"SET", key, b"p%d#hll%d" % (rng.randrange(1000), serial))
        else:
            args = (b"COPY", rng.choice(WIDE_HLL_KEYS), key, b"REPLACE")
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _sets(rng, names) -> list:
    """A few dozen commands on sets (``WIDE_SET_KEYS``): mostly ``SADD``s and
    ``SREM``s of a few of ``WIDE_MEMBERS`` (concurrent ones: an add wins over a remove
    that did not see it), and the commands that add and remove at once or replace a
    set (``SPOP``, ``SMOVE``, the ``STORE`` forms), ``DEL``, a deadline, a string."""
    actions = []
    for serial in range(rng.randint(10, 40)):
        key = rng.choice(WIDE_SET_KEYS)
        other = rng.choice(WIDE_SET_KEYS)
        roll = rng.random()
        if roll < 0.45:
            args = (b"SADD", key, *rng.sample(WIDE_MEMBERS, rng.randint(1, 3)))
        elif roll < 0.7:
            args = (b"SREM", key, *rng.sample(WIDE_MEMBERS, rng.randint(1, 2)))
        elif roll < 0.75:
            args = (b"SPOP", key, *((b"%d" % rng.randint(1, 3),) if rng.random() < 0.5
                                    else ()))
        elif roll < 0.8:
            args = (b"SMOVE", key, other, rng.choice(WIDE_MEMBERS))
        elif roll < 0.85:
            store = rng.choice((b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"))
            args = (store, key, other, rng.choice(WIDE_SET_KEYS))
        elif roll < 0.89:
            args = (b"DEL", key)
        elif roll < 0.95:
            args = (b"PEXPIRE", key, _deadline_ms(rng))
        elif roll < 0.97:
            args = (b"PERSIST", key)
        else:
            args = (b"SET", key, b"s%d#set%d" % (rng.randrange(1000), serial))
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _zsets(rng, names) -> list:
    """A few dozen commands on sorted sets (``WIDE_ZSET_KEYS``): ``ZINCRBY``s (which
    add up across regions), ``ZADD``s (which replace the increments made on an older
    score), ``ZREM``s, and ``DEL`` and deadlines."""
    actions = []
    for _ in range(rng.randint(10, 40)):
        key, member = rng.choice(WIDE_ZSET_KEYS), rng.choice(WIDE_ZMEMBERS)
        roll = rng.random()
        if roll < 0.4:
            args = (b"ZINCRBY", key, b"%d" % rng.randint(-3, 5), member)
        elif roll < 0.65:
            args = (b"ZADD", key, b"%d" % rng.randint(0, 20), member,
                    *((b"%d" % rng.randint(0, 20), rng.choice(WIDE_ZMEMBERS))
                      if rng.random() < 0.3 else ()))
        elif roll < 0.7:
            args = (b"ZADD", key, b"INCR", b"%d" % rng.randint(1, 3), member)
        elif roll < 0.88:
            args = (b"ZREM", key, member)
        elif roll < 0.93:
            args = (b"DEL", key)
        else:
            args = (b"PEXPIRE", key, _deadline_ms(rng))
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _zset_removals(rng, names) -> list:
    """A few commands on the sorted sets that remove or replace many members at once:
    pops (``ZPOPMIN``, ``ZPOPMAX``, ``ZMPOP``), range removals, and the ``STORE``
    forms (a delete of the destination and an add of each member, in one unit)."""
    actions = []
    for _ in range(rng.randint(3, 15)):
        key, other = rng.choice(WIDE_ZSET_KEYS), rng.choice(WIDE_ZSET_KEYS)
        roll = rng.random()
        if roll < 0.3:
            args = (rng.choice((b"ZPOPMIN", b"ZPOPMAX")), key,
                    *((b"%d" % rng.randint(1, 3),) if rng.random() < 0.5 else ()))
        elif roll < 0.4:
            args = (b"ZMPOP", b"2", key, other, rng.choice((b"MIN", b"MAX")), b"COUNT",
                    b"%d" % rng.randint(1, 3))
        elif roll < 0.55:
            low = rng.randint(0, 15)
            args = (b"ZREMRANGEBYSCORE", key, b"%d" % low, b"(%d" % (low + rng.randint(1, 6)))
        elif roll < 0.65:
            args = (b"ZREMRANGEBYRANK", key, b"%d" % rng.randint(0, 2),
                    b"%d" % rng.randint(-2, 3))
        elif roll < 0.8:
            args = (b"ZRANGESTORE", key, other, b"0", b"%d" % rng.randint(0, 4))
        else:
            store = rng.choice((b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"))
            args = (store, key, b"2", key, other)
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _events(rng, names) -> list:
    """``PUBLISH``es to the channels every region's subscriber listens to (each message
    saying who published it, and its number there), and reads of hot keys through
    each region's near cache (a client with ``CLIENT TRACKING`` on)."""
    actions = []
    for serial in range(rng.randint(10, 40)):
        name = rng.choice(names)
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", name,
                        (b"PUBLISH", rng.choice(CHANNELS), b"%s#%d" % (name.encode(),
                                                                       serial))))
    for _ in range(rng.randint(20, 60)):
        actions.append((rng.uniform(0, WORKLOAD_SECONDS + 1), "nearread", rng.choice(names),
                        rng.choice(HOT_KEYS)))
    return actions


def _lists(rng, names) -> list:
    """A few dozen commands on lists (``WIDE_LIST_KEYS``): pushes at both ends (which
    all stay, however many regions push at once), pops (two regions may pop the same
    element: it goes once), ``LINSERT``, ``LSET`` (which loses to a pop of its element),
    ``LREM``, ``LTRIM``, ``LMOVE`` between the lists, ``DEL`` and deadlines; and a
    region's pushes of one value in a row (which grow one run).  Values repeat
    (``LINSERT``'s pivots and ``LREM``'s values find several)."""
    actions = []
    for _ in range(rng.randint(10, 40)):
        key, other = rng.choice(WIDE_LIST_KEYS), rng.choice(WIDE_LIST_KEYS)
        value = b"e%d" % rng.randrange(10)
        roll = rng.random()
        if roll < 0.08:  # a region's pushes of one value in a row: they grow one run
            at, name = rng.uniform(0, WORKLOAD_SECONDS), rng.choice(names)
            push = rng.choice((b"RPUSH", b"LPUSH"))
            for step in range(rng.randint(2, 6)):
                actions.append((at + step * rng.uniform(0.001, 0.3), "command", name,
                                (push, key, b"e%d" % rng.randrange(10))))
            continue
        if roll < 0.3:
            args = (b"RPUSH", key, value, *(b"e%d" % rng.randrange(10)
                                            for _ in range(rng.randint(0, 2))))
        elif roll < 0.45:
            args = (b"LPUSH", key, value, *((b"e%d" % rng.randrange(10),)
                                            if rng.random() < 0.3 else ()))
        elif roll < 0.6:
            args = (rng.choice((b"LPOP", b"RPOP")), key,
                    *((b"%d" % rng.randint(1, 3),) if rng.random() < 0.4 else ()))
        elif roll < 0.68:
            args = (b"LINSERT", key, rng.choice((b"BEFORE", b"AFTER")),
                    b"e%d" % rng.randrange(10), value)
        elif roll < 0.76:
            args = (b"LSET", key, b"%d" % rng.randint(-3, 3), value)
        elif roll < 0.81:
            args = (b"LREM", key, b"%d" % rng.randint(-2, 2), value)
        elif roll < 0.85:
            args = (b"LTRIM", key, b"%d" % rng.randint(0, 2), b"%d" % rng.randint(-3, 5))
        elif roll < 0.9:
            args = (b"LMOVE", key, other, rng.choice((b"LEFT", b"RIGHT")),
                    rng.choice((b"LEFT", b"RIGHT")))
        elif roll < 0.94:
            args = (b"DEL", key)
        else:
            args = (b"PEXPIRE", key, _deadline_ms(rng))
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _kinds(rng, names) -> list:
    """A few ``HSET``s and ``HDEL``s on the set keys: a key made a hash in one region
    while another adds to it as a set, the newer replacing the older."""
    actions = []
    for serial in range(rng.randint(2, 8)):
        key, field = rng.choice(WIDE_SET_KEYS), rng.choice(SET_KEY_FIELDS)
        args = (b"HSET", key, field, b"h%d" % serial) if rng.random() < 0.7 \
            else (b"HDEL", key, field)
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        args))
    return actions


def _more_faults(rng, actions: list, fragile: list,
                 restores: bool = False) -> tuple[list, tuple]:
    """The wide workload's further faults, each now and then: one direction of a link
    stalled (its frames held back, then delivered: TCP retransmits); a host gone from
    the network without closing its connections (left half-open), its region then
    restarted; a disk that stalls or fills; a region's clock stepped (up to a second
    either way, as NTP may); a
    region's data folder wiped while it is down (it comes back empty); a region that
    joins only during the run.  Only where the others leave it alone (the two regions
    never killed stay so)."""
    late = ()
    regions = sorted({a[2] for a in actions if a[1] == "command"})
    if rng.random() < 0.4 and len(regions) > 1:  # one direction of a link stalls
        a, b = rng.sample(regions, 2)
        start = rng.uniform(0, WORKLOAD_SECONDS)
        actions.append((start, "stall", a, b))
        actions.append((start + rng.uniform(0.1, 3.0), "unstall", a, b))
    if rng.random() < 0.4:  # a disk stalls for up to 2 s, or fills for up to 3 s
        name, start = rng.choice(regions), rng.uniform(0, WORKLOAD_SECONDS)
        if rng.random() < 0.5:
            actions.append((start, "diskstall", name, rng.uniform(0.05, 2.0)))
        else:
            actions.append((start, "diskfull", name))
            actions.append((start + rng.uniform(0.1, 3.0), "diskfreed", name))
    if rng.random() < 0.5:
        name = rng.choice(regions)
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "clockstep", name,
                        rng.uniform(-1.0, 1.0)))
    touched = {name for a in actions
               if a[1] not in ("command", "read", "clockstep", "stall", "unstall")
               for name in a[2:4] if isinstance(name, str)}
    spare = [name for name in fragile if name not in touched]
    if spare and rng.random() < 0.3:
        name = spare.pop()
        start = rng.uniform(0, WORKLOAD_SECONDS)
        actions.append((start, "crash", name))
        actions.append((start + 0.001, "wipe", name))
        actions.append((start + rng.uniform(0.1, 2.0), "restart", name))
    if spare and rng.random() < 0.3:  # a host gone silently: its connections half-open,
        # then the region restarted on it
        name = spare.pop()
        start = rng.uniform(0, WORKLOAD_SECONDS)
        actions.append((start, "vanish", name))
        actions.append((start + rng.uniform(0.1, 2.0), "restart", name))
    if restores and spare and rng.random() < 0.3:  # a data folder put back to an older copy:
        # a power cut (the disk as at its last flush) or a restore from a backup
        name = spare.pop()
        start = rng.uniform(0, WORKLOAD_SECONDS)
        back = start + rng.choice((rng.uniform(0.05, 1.0), rng.uniform(1.0, 3.0)))
        actions.append((start, "snapshot", name))
        actions.append((back, "restore", name))
        actions.append((back + rng.uniform(0.1, 1.5), "restart", name))
    if spare and rng.random() < 0.3:
        name = spare.pop()
        late = (name,)
        actions.append((rng.uniform(0.2, WORKLOAD_SECONDS), "join", name))
    return actions, late


def _reads(rng, names, wide: bool = False) -> list:
    """Clients' GETs of the string keys, at any region, during the workload and the
    second after it (of the wide workload's, mostly the hot ones)."""
    def key():
        if not wide:
            return rng.choice(KEYS)
        return rng.choice(HOT_KEYS if rng.random() < 0.7 else WIDE_KEYS)
    return [(rng.uniform(0, WORKLOAD_SECONDS + 1.0), "read", rng.choice(names), key())
            for _ in range(rng.randint(20, 80) * (3 if wide else 1))]


def _command(rng, peers: int) -> tuple:
    key = rng.choice(KEYS)
    roll = rng.random()
    if roll < 0.35:
        return (b"SET", key, b"v%d" % rng.randrange(1000))
    if roll < 0.50:
        return (b"SET", key, b"t%d" % rng.randrange(1000), b"PX",
                b"%d" % rng.randint(50, 2500))
    if roll < 0.65:
        return (b"DEL", key)
    if roll < 0.80:
        return (b"INCRBY", key, b"%d" % rng.randint(-5, 10))
    if roll < 0.85:
        return (b"PEXPIRE", key, b"%d" % rng.randint(50, 2500))
    if roll < 0.88:
        return (b"PERSIST", key)
    if roll < 0.89:
        return (b"FLUSHALL",)
    return (b"WAIT", b"%d" % peers, b"2000")


class Wide:
    """The wide workload's commands: a hot few of hundreds of keys, every string
    command that replicates, transactions of a few keys, hashes of 20 fields.  Each
    value written is one no other write writes."""

    def __init__(self, rng):
        self.rng = rng
        self.serial = 0

    def _value(self, prefix: bytes) -> bytes:
        self.serial += 1
        return b"%s%d#w%d" % (prefix, self.rng.randrange(1000), self.serial)

    def _ttl(self) -> bytes:
        """Milliseconds: mostly within the workload, a third long enough to be alive
        once every write has reached everywhere (what ``_check_alive`` compares)."""
        rng = self.rng
        return b"%d" % (rng.randint(5000, 12000) if rng.random() < 0.33
                        else rng.randint(50, 2500))

    def _key(self) -> bytes:
        rng = self.rng
        return rng.choice(HOT_KEYS if rng.random() < 0.7 else WIDE_KEYS)

    def command(self, rng, peers: int):
        roll = rng.random()
        if roll < 0.12:  # MULTI ... EXEC of 2-4 commands on distinct keys
            keys = list(dict.fromkeys(self._key() for _ in range(rng.randint(2, 4))))
            return ("transaction", tuple(self._string_command(key, alone=False)
                                         for key in keys))
        if roll < 0.94:
            return self._string_command(self._key())
        if roll < 0.95:
            return (b"FLUSHALL",)
        return (b"WAIT", b"%d" % peers, b"2000")

    def _string_command(self, key: bytes, alone: bool = True) -> tuple:
        """A command on ``key`` (and on another key, an ``MSET``, unless it is one of a
        transaction's, whose keys are its commands' own)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.18:
            return (b"SET", key, self._value(b"v"))
        if roll < 0.24:
            return (b"SET", key, self._value(b"t"), b"PX", self._ttl())
        if roll < 0.28:
            return (b"SET", key, self._value(b"n"), rng.choice((b"NX", b"XX", b"GET")))
        if roll < 0.31:
            return (b"SETNX", key, self._value(b"x"))
        if roll < 0.35:
            return (b"GETSET", key, self._value(b"g"))
        if roll < 0.39:
            return (b"APPEND", key, self._value(b"+"))
        if roll < 0.47:
            return (b"INCRBY", key, b"%d" % rng.randint(-5, 10))
        if roll < 0.51:
            return (rng.choice((b"INCR", b"DECR")), key)
        if roll < 0.53:
            return (b"DECRBY", key, b"%d" % rng.randint(1, 5))
        if roll < 0.55:
            return (b"INCRBYFLOAT", key, b"1.5")
        if roll < 0.60:
            other = rng.choice(WIDE_KEYS)
            if other == key or not alone:
                return (b"SET", key, self._value(b"m"))
            if rng.random() < 0.25:
                return (b"MSETNX", key, self._value(b"m"), other, self._value(b"m"))
            if rng.random() < 0.3:
                return (rng.choice((b"RENAME", b"RENAMENX")), key, other)
            if rng.random() < 0.3:
                return (b"COPY", key, other, b"REPLACE")
            return (b"MSET", key, self._value(b"m"), other, self._value(b"m"))
        if roll < 0.63:
            return (b"GETDEL", key)
        if roll < 0.65:
            return (b"GETEX", key, b"PX", self._ttl())
        if roll < 0.67:
            return rng.choice(((b"SETRANGE", key, b"2", self._value(b"r")),
                               (b"SETBIT", key, b"%d" % rng.randint(0, 40), b"1"),
                               (b"SETEX", key, b"%d" % rng.randint(1, 12), self._value(b"e")),
                               (b"PSETEX", key, self._ttl(), self._value(b"p"))))
        if roll < 0.76:
            return (rng.choice((b"DEL", b"UNLINK")), key)
        if roll < 0.86:
            return (b"PEXPIRE", key, self._ttl())
        if roll < 0.88:
            return (b"EXPIRE", key, b"%d" % rng.randint(1, 12))
        if roll < 0.90:  # a moment that may be past already (then it deletes)
            at = int(EPOCH * 1000) + rng.randint(0, 12_000)
            return (b"PEXPIREAT", key, b"%d" % at)
        return (b"PERSIST", key)

    def hash_command(self, rng, peers: int) -> tuple:
        key, field = rng.choice(WIDE_HASH_KEYS), rng.choice(WIDE_FIELDS)
        roll = rng.random()
        if roll < 0.40:
            return (b"HSET", key, field, self._value(b"v"))
        if roll < 0.50:
            other = rng.choice(WIDE_FIELDS)
            return (b"HSET", key, field, self._value(b"w"), other, self._value(b"x"))
        if roll < 0.55:
            return (b"HSETNX", key, field, self._value(b"y"))
        if roll < 0.70:
            return (b"HDEL", key, field)
        if roll < 0.82:
            return (b"HINCRBY", key, field, b"%d" % rng.randint(-5, 10))
        if roll < 0.87:
            return (b"DEL", key)
        if roll < 0.93:
            return (b"PEXPIRE", key, self._ttl())
        return (b"PERSIST", key)


def _hash_command(rng, peers: int) -> tuple:
    key, field = rng.choice(HASH_KEYS), rng.choice(FIELDS)
    roll = rng.random()
    if roll < 0.30:
        return (b"HSET", key, field, b"v%d" % rng.randrange(1000))
    if roll < 0.40:
        other = rng.choice(FIELDS)
        return (b"HSET", key, field, b"w%d" % rng.randrange(1000), other, b"x")
    if roll < 0.55:
        return (b"HDEL", key, field)
    if roll < 0.70:
        return (b"HINCRBY", key, field, b"%d" % rng.randint(-5, 10))
    if roll < 0.77:
        return (b"DEL", key)
    if roll < 0.85:
        return (b"PEXPIRE", key, b"%d" % rng.randint(50, 2500))
    if roll < 0.89:
        return (b"PERSIST", key)
    if roll < 0.92:
        return (b"SET", key, b"s%d" % rng.randrange(1000))
    if roll < 0.95:  # a counter where a hash was, or the other way round
        return (b"INCRBY", key, b"%d" % rng.randint(1, 5))
    return (b"WAIT", b"%d" % peers, b"2000")


def cities(montreal: int = 4, frankfurt: int = 2, singapore: int = 1) -> dict:
    """The issue's layout: Montreal in 4 shards, Frankfurt in 2, Singapore in 1 (in
    cluster mode), each ``split`` as ``redis-cli --cluster create`` does."""
    return {"montreal": _split(montreal), "frankfurt": _split(frankfurt),
            "singapore": _split(singapore)}


def _still(names, layout) -> dict:
    """Clocks without skew, for every node of ``layout``."""
    return {shard_name(region, k): 0.0 for region in names
            for k in range(len((layout or {}).get(region) or (0,)))}


def frozen_forwarder(delete: bool, layout: dict | None = None) -> Schedule:
    """The reproduction from the issue "Replication you can prove": Singapore writes
    ``old``; Montreal replaces it (``SET … PX 2000``, or once it has ``old``,
    ``DEL``) and ``WAIT 2`` says both peers have that; Frankfurt, which held
    Singapore's ``old`` to forward to Montreal, is frozen 30 ms in for 5 s and
    thaws with its forwarding timer overdue.  Nothing may come back.  With a
    ``layout``, each replacement is waited for at its shard, and every shard of
    Frankfurt freezes."""
    names = ("montreal", "frankfurt", "singapore")
    delays = {frozenset((a, b)): 0.001 for i, a in enumerate(names) for b in names[i + 1:]}
    start = 0.5  # every link is up by then
    actions = [(start, "command", "singapore", (b"SET", key, b"old")) for key in KEYS]
    wait = (b"WAIT", b"2", b"10000")
    for i, key in enumerate(KEYS):
        replace = (b"DEL", key) if delete else (b"SET", key, b"new", b"PX", b"2000")
        at = start + (0.005 if delete else 0.002)
        if layout is None:
            actions.append((at, "command", "montreal", replace))
        else:  # the WAIT goes to the shard of the client's last write
            actions += [(at + i * 0.0002, "command", "montreal", replace),
                        (at + i * 0.0002 + 0.0001, "command", "montreal", wait)]
    frankfurt = "frankfurt" if layout is None else "frankfurt" + ALL_SHARDS
    if layout is None:
        actions.append((start + 0.012, "command", "montreal", wait))
    actions += [(start + 0.030, "freeze", frankfurt),
                (start + 5.030, "thaw", frankfurt)]
    return Schedule(-1 if delete else -2, names, delays, 0.0, _still(names, layout),
                    tuple(actions), timers_first=True, layout=layout)


def at_distance(crash: bool = False, layout: dict | None = None) -> Schedule:
    """Three regions as far apart as Montreal, Frankfurt and Singapore, each writing
    every few milliseconds; with ``crash``, Singapore is killed for a second and
    restarts.  No region (no shard) should need another's writes forwarded to it."""
    names = ("montreal", "frankfurt", "singapore")
    delays = {frozenset(("montreal", "frankfurt")): 0.045,
              frozenset(("frankfurt", "singapore")): 0.080,
              frozenset(("montreal", "singapore")): 0.115}
    actions = []
    for i in range(600):
        at = 0.5 + i * 0.004
        writer = names[i % 3]
        key = KEYS[i % len(KEYS)]
        command = (b"INCRBY", key, b"1") if i % 7 == 0 else (b"SET", key, b"v%d" % i)
        actions.append((at, "command", writer, command))
    if crash:
        actions = [a for a in actions if not (1.0 <= a[0] < 2.2 and a[2] == "singapore")]
        actions += [(1.0, "crash", "singapore"), (2.0, "restart", "singapore")]
    actions.sort(key=lambda action: action[0])
    return Schedule(-3 - crash, names, delays, 0.0, _still(names, layout), tuple(actions),
                    layout=layout)
