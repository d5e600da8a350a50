"""A schedule: the regions, their links and clocks, what clients do and what goes wrong.

``generate(seed)`` makes one at random, the same one for the same seed.  A
schedule is plain data, so a hand-written one (the reproductions) runs the same
way.
"""

from __future__ import annotations

import random

import attrs

KEYS = [b"k%d" % i for i in range(6)]
HASH_KEYS = [b"h0", b"h1"]
FIELDS = [b"a", b"b", b"c"]
NAMES = ["montreal", "frankfurt", "singapore", "saopaulo", "sydney"]
WORKLOAD_SECONDS = 3.0


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


def generate(seed: int) -> Schedule:
    rng = random.Random(seed)
    names = tuple(NAMES[:rng.choice((3, 3, 4, 5))])
    delays = {frozenset((a, b)): rng.choice((0.0, rng.uniform(0, 0.15)))
              for i, a in enumerate(names) for b in names[i + 1:]}
    skews = {name: rng.uniform(-0.5, 0.5) for name in names}
    actions = []
    for _ in range(rng.randint(20, 60)):
        actions.append((rng.uniform(0, WORKLOAD_SECONDS), "command", rng.choice(names),
                        _command(rng, len(names) - 1)))
    # faults: a few, anywhere in the workload; at least two regions are never killed
    victims = list(names)
    rng.shuffle(victims)
    fragile = victims[:len(names) - 2]
    for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
        start = rng.uniform(0, WORKLOAD_SECONDS)
        kind = rng.choice(("cut", "cut", "freeze", "freeze", "crash"))
        if kind == "cut":
            a, b = rng.sample(names, 2)
            actions.append((start, "cut", a, b))
            actions.append((start + rng.uniform(0.1, 2.5), "heal", a, b))
        elif kind == "freeze":
            name = rng.choice(names)
            actions.append((start, "freeze", name))
            actions.append((start + rng.uniform(0.1, 5.0), "thaw", name))
        elif fragile:
            name = rng.choice(fragile)
            actions.append((start, "crash", name))
            actions.append((start + rng.uniform(0.05, 2.0), "restart", name))
    if fragile and rng.random() < 0.08:  # a region dies for good and is forgotten
        name = fragile[0]
        start = rng.uniform(0, WORKLOAD_SECONDS)
        actions = [a for a in actions if name not in a[2:4] or a[1] == "command"]
        actions.append((start, "crash", name))
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
                        _hash_command(rng, len(names) - 1)))
    actions.sort(key=lambda action: action[0])
    return Schedule(seed, names, delays, jitter, skews, tuple(actions),
                    timers_first=timers_first, window=window, buffer=buffer)


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


def frozen_forwarder(delete: bool) -> Schedule:
    """The reproduction from the issue "Replication you can prove": Singapore writes
    ``old``; Montreal replaces it (``SET … PX 2000``, or once it has ``old``,
    ``DEL``) and ``WAIT 2`` says both peers have that; Frankfurt, which held
    Singapore's ``old`` to forward to Montreal, is frozen 30 ms in for 5 s and
    thaws with its forwarding timer overdue.  Nothing may come back."""
    names = ("montreal", "frankfurt", "singapore")
    delays = {frozenset((a, b)): 0.001 for i, a in enumerate(names) for b in names[i + 1:]}
    start = 0.5  # every link is up by then
    actions = [(start, "command", "singapore", (b"SET", key, b"old")) for key in KEYS]
    for key in KEYS:
        replace = (b"DEL", key) if delete else (b"SET", key, b"new", b"PX", b"2000")
        actions.append((start + (0.005 if delete else 0.002), "command", "montreal", replace))
    actions += [(start + 0.012, "command", "montreal", (b"WAIT", b"2", b"10000")),
                (start + 0.030, "freeze", "frankfurt"),
                (start + 5.030, "thaw", "frankfurt")]
    return Schedule(-1 if delete else -2, names, delays, 0.0,
                    {name: 0.0 for name in names}, tuple(actions), timers_first=True)


def at_distance(crash: bool = False) -> Schedule:
    """Three regions as far apart as Montreal, Frankfurt and Singapore, each writing
    every few milliseconds; with ``crash``, Singapore is killed for a second and
    restarts.  No region should need another's writes forwarded to it."""
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
    return Schedule(-3 - crash, names, delays, 0.0, {name: 0.0 for name in names},
                    tuple(actions))
