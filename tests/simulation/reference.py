"""A reference model of the merge rules, for the simulator's checks.

Written from the rules as docs/replication.md states them ("Counters", 1-5), not
from ``geolru.model``: the simulator's other checks merge the writes' records with
the production ``merge``, so a rule that is wrong the same way everywhere could not
fail them.  This model never merges records.  It takes the history of a string key
as operations -- each with its version, and for an increment the base it built on,
which is what its region had seen (the causal order) -- and computes what a client
must see once every region has them all:

- the *base* is the whole-key write (``SET``, ``DEL``, ``PEXPIRE``, ``PERSIST``,
  ``FLUSHALL``'s delete) with the greatest version, counting the base each surviving
  increment built on (an increment carries its base with it);
- an increment counts while it started (``since``) no earlier than the base; of one
  region's increments only those of its latest start count (a region starts again
  only once its earlier ones were voided or had expired);
- the value is the sum of the increments that count, plus the base's value when some
  of them built on it; increments built on the base expire with it, those started
  on nothing never;
- with no increment counting, the base itself, while it has not expired.

A sum over the increments themselves, not over any region's totals: a total merged
wrong (a maximum for a sum, a region's increments counted twice) shows here.

A HyperLogLog's ``PFADD`` is an increment whose amount is registers (of the elements
it added): of what counts, the value is the register-wise maximum of the ``PFADD``s'
registers, and of the base's when some of them built on it (a live HyperLogLog
string).  Where both kinds count (a first ``INCR`` and a first ``PFADD`` of a key,
made concurrently), the key is of the kind of the newest of them.

A hash (docs/hashes.md, "How a hash replicates") is its fields, each a key of its
own under the rules above, and the writes to the key itself:

- the hash stands, against the key's other writes, as a whole-key write at the
  version of its newest write (any ``HSET``, ``HDEL``, ``HINCRBY``, ``PEXPIRE``,
  ``PERSIST`` of it): the newer decides whether the key is a hash, a string, or
  nothing;
- a hash that wins came after the newest of those other writes (its *clear point*:
  a ``DEL``, ``SET``, expiry, or an increment started on nothing); a field counts
  only if written after it (as if that write had deleted every field);
- its deadline is that of the newest write that set one (``PEXPIRE``, ``PERSIST``,
  or the ``HSET`` that made the hash where it was absent), if made after the clear
  point; an ``HSET`` of an existing hash does not touch it;
- a hash with no field left is no key.

A set (docs/types.md) is a hash whose fields are members, each present while an add
of it made after the clear point was seen by no remove (``set_outcome``).

A sorted set (docs/collections.md, "Sorted sets") is a set whose every member's
write is an add, and whose member's score is a counter of the writes that stand
(``zset_outcome``, ``zscore``).

A list (docs/types.md) is a collection likewise whose elements are each made once, by
an insert: an element is in the list while it was inserted after the clear point and
no write removed it; its value is its newest write's (the insert, or an ``LSET``)
(``list_outcome``).  The order of the elements is the simulator's check, not this
model's: every region shows the same, and no two elements ever change places.
"""

from __future__ import annotations

import attrs

from geolru.model import hyperloglog  # (the format: registers in, a string out)

Stamp = tuple[int, str]  # (version, origin): the hybrid-logical-clock time and region
NOTHING: Stamp = (0, "")


@attrs.frozen
class Op:
    """One write to a string key, as its region made it."""

    stamp: Stamp
    value: bytes | None = None  # a whole-key write's value (None: a delete)
    deadline: int | None = None  # a whole-key write's deadline, unix ms
    delta: int | None = None  # an increment's amount (None: a whole-key write)
    since: Stamp | None = None  # an increment's start: its base's version, or its own
    base: Op | None = None  # the whole-key write an increment built on, if any
    registers: bytes | None = None  # a PFADD's: the registers its elements raise

    @property
    def increment(self) -> bool:
        return self.delta is not None or self.registers is not None

    @property
    def region(self) -> str:
        return self.stamp[1]


def _alive(deadline: int | None, now_ms: int) -> bool:
    return deadline is None or deadline > now_ms


def _integer(value: bytes | None) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):  # (not a number, or a hash)
        return None


def string_outcome(ops, now_ms: int) -> tuple[bytes, int | None] | None:
    """What a client sees of a key whose surviving writes are ``ops``: (value,
    deadline), or None."""
    increments = [op for op in ops if op.increment]
    writes = [op for op in ops if not op.increment]
    writes += [op.base for op in increments if op.base is not None]
    base = max(writes, key=lambda op: op.stamp, default=None)
    base_stamp = base.stamp if base is not None else NOTHING
    starts: dict[str, tuple[Stamp, list]] = {}  # region -> (its latest start, its ops)
    for op in increments:
        if op.since < base_stamp:
            continue  # made before a newer SET or DEL: void
        start, made = starts.get(op.region, (None, []))
        if start is None or op.since > start:
            starts[op.region] = (op.since, [op])
        elif op.since == start:
            made.append(op)
    if not starts:
        if base is None or base.value is None or not _alive(base.deadline, now_ms):
            return None
        return base.value, base.deadline
    alive = []  # (since, deadline, ops) of each region whose part is alive
    for since, made in starts.values():
        deadline = base.deadline if base is not None and since == base.stamp else None
        if _alive(deadline, now_ms):
            alive.append((since, deadline, made))
    if not alive:
        return None
    newest = max((op for _, _, made in alive for op in made), key=lambda op: op.stamp)
    kind = newest.registers is not None
    alive = [part for part in alive if (part[2][0].registers is not None) == kind]
    deadlines = [deadline for _, deadline, _ in alive if deadline is not None]
    on_base = any(since == base_stamp for since, _, _ in alive)
    if kind:  # a HyperLogLog
        registers = hyperloglog.parse(base.value) if on_base else hyperloglog.empty()
        for _, _, made in alive:
            for op in made:
                hyperloglog.join(registers, op.registers)
        value = hyperloglog.render(registers)
    else:
        value = (sum(op.delta for _, _, made in alive for op in made)
                 + ((_integer(base.value) or 0) if on_base else 0))
        value = str(value).encode()
    return value, min(deadlines) if deadlines else None


def outcomes(certain: list[Op], maybe: list[Op], now_ms: int) -> set:
    """What a client may see: the certain writes with any subset of the others (which
    a crash may have lost)."""
    seen = set()
    for mask in range(1 << len(maybe)):
        chosen = [op for i, op in enumerate(maybe) if mask >> i & 1]
        seen.add(string_outcome(certain + chosen, now_ms))
    return seen


HASH = object()  # the value that stands for a hash among a key's other writes


@attrs.frozen
class HashWrite:
    """A write to a hash as a whole (what its header records): its version, and
    whether it set the key's deadline (to ``deadline``)."""

    stamp: Stamp
    sets_deadline: bool = False
    deadline: int | None = None
    kind: str = "hash"  # or "set"


def _clear_point(ops) -> Stamp:
    """The newest whole-key write among a key's own writes: an increment's start
    counts (the first on nothing is one)."""
    return max([NOTHING, *(op.since if op.increment else op.stamp for op in ops)])


def _collection(key_ops, hash_writes, now_ms: int):
    """Of a key written as a collection (``hash_writes``) and as a string
    (``key_ops``): ``("string", value, deadline)``, or None, if the collection does
    not stand; else (its kind, its clear point, its deadline).  The newest write to
    the collection decides its kind, and every write to a collection of another kind
    is a clear point (the newer replaced the older as a ``SET`` would)."""
    if hash_writes:
        version = max(write.stamp for write in hash_writes)
        key_ops = [*key_ops, Op(version, HASH)]
    seen = string_outcome(key_ops, now_ms)
    if seen is None or seen[0] is not HASH:
        return None if seen is None else ("string", *seen)
    kind = max(hash_writes, key=lambda write: write.stamp).kind
    cleared = max([_clear_point(op for op in key_ops if op.value is not HASH),
                   *(write.stamp for write in hash_writes if write.kind != kind)])
    setters = [w for w in hash_writes if w.sets_deadline and w.stamp > cleared]
    deadline = max(setters, key=lambda w: w.stamp).deadline if setters else None
    if not _alive(deadline, now_ms):
        return None
    return kind, cleared, deadline


def hash_outcome(key_ops, hash_writes, fields: dict, now_ms: int):
    """What a client sees at a key with writes of its own ``key_ops`` (strings,
    counters, deletes), writes to it as a hash ``hash_writes`` and its fields' writes
    ``fields`` (field -> ops): ``("hash", ((field, value), ...), deadline)``,
    ``("string", value, deadline)``, or None."""
    standing = _collection(key_ops, hash_writes, now_ms)
    if standing is None or standing[0] == "string":
        return standing
    _, cleared, deadline = standing
    return _hash_items(fields, cleared, deadline, now_ms)


def _hash_items(fields: dict, cleared: Stamp, deadline, now_ms: int):
    items = []
    for field, ops in sorted(fields.items()):
        value = string_outcome([*ops, Op(cleared)], now_ms)
        if value is not None:
            items.append((field, value[0]))
    return ("hash", tuple(items), deadline) if items else None


@attrs.frozen
class MemberOp:
    """One write to a set's member: an add (its own version), or a remove and, per
    region, the newest add of that region it had seen."""

    stamp: Stamp | None = None  # an add's
    seen: tuple = ()  # a remove's: ((region, stamp), ...)


def set_outcome(key_ops, set_writes, members: dict, now_ms: int, fields: dict | None = None):
    """What a client sees at a key with writes of its own ``key_ops``, writes to it as
    a set (or a hash) ``set_writes`` (``HashWrite``: a set's header stands as a hash's
    does), its members' writes ``members`` (member -> ``MemberOp``s) and its fields'
    ``fields``: ``("set", (member, ...), deadline)``, ``("hash", ...)`` (as
    ``hash_outcome``), ``("string", value, deadline)``, or None.

    A member is in the set while one of its adds was made after the set's clear point
    and no remove had seen it (a remove that saw a region's add at some version saw
    that region's earlier adds too): an add wins over a remove that did not see it,
    and a member whose every add some remove saw stays out."""
    standing = _collection(key_ops, set_writes, now_ms)
    if standing is None or standing[0] == "string":
        return standing
    kind, cleared, deadline = standing
    if kind == "hash":
        return _hash_items(fields or {}, cleared, deadline, now_ms)
    present = []
    for member, ops in sorted(members.items()):
        removes = [dict(op.seen) for op in ops if op.stamp is None]
        if any(op.stamp is not None and op.stamp > cleared and not any(
                seen.get(op.stamp[1], NOTHING) >= op.stamp for seen in removes)
               for op in ops):
            present.append(member)
    return ("set", tuple(present), deadline) if present else None


@attrs.frozen
class ScoreOp:
    """One write that adds a sorted set's member: a ``ZADD`` of a score (a *base*), or
    a ``ZINCRBY`` of an amount, with the start its region gave it (the base it built
    on, or the first of its region's increments made on nothing)."""

    stamp: Stamp
    score: float | None = None  # a ZADD's
    delta: float | None = None  # a ZINCRBY's
    since: Stamp | None = None  # a ZINCRBY's start
    again: bool = False  # a ZINCRBY that starts its region anew on a start it had before


def zset_outcome(key_ops, zset_writes, members: dict, now_ms: int):
    """What a client sees at a key with writes of its own ``key_ops``, writes to it as
    a sorted set ``zset_writes`` (``HashWrite``) and its members' writes ``members``
    (member -> ``ScoreOp``s and removes, ``MemberOp``s with ``seen``): ``("zset",
    ((member, score), ...) by member, deadline)``, ``("string", value, deadline)``,
    or None (``zscore`` says which members stand, and their scores)."""
    standing = _collection(key_ops, zset_writes, now_ms)
    if standing is None or standing[0] == "string":
        return standing
    _, cleared, deadline = standing
    scored = [(member, score) for member, ops in sorted(members.items())
              if (score := zscore(ops, cleared)) is not None]
    return ("zset", tuple(scored), deadline) if scored else None


def zscore(ops, cleared: Stamp = NOTHING) -> float | None:
    """A member's score from its writes ``ops`` in a set last cleared at ``cleared``
    (None: not in the set), by docs/collections.md, "Sorted sets":

    - a write a remove had seen is removed (a remove that saw a region's write at some
      version saw its earlier writes too), and so is one made before the clear (the
      clear is a remove that saw them all);
    - a region's increments of one start count together or not at all: they count
      while the newest of them is not removed (a region that begins again on a start
      it had before, its increments there removed, makes a start of its own: ``again``);
    - a ``ZADD`` stands while not removed, or while increments that count built on it;
    - of what stands, the score is a counter's (docs/replication.md): the newest
      ``ZADD`` is the base; increments that started before it are void; of a region's,
      those of its latest start count; the score is their sum, plus the base's when
      some of them built on it, or the base's alone when none count."""
    removes = [dict(op.seen) for op in ops if isinstance(op, MemberOp)]

    def removed(op) -> bool:
        return op.stamp <= cleared or any(
            seen.get(op.stamp[1], NOTHING) >= op.stamp for seen in removes)

    starts: dict[tuple, list] = {}  # (region, start, its time) -> its increments
    times: dict[tuple, int] = {}  # (region, start) -> the times its region began on it
    for op in sorted((op for op in ops if isinstance(op, ScoreOp) and op.delta is not None),
                     key=lambda op: op.stamp):
        begun = (op.stamp[1], op.since)
        if op.again or begun not in times:
            times[begun] = times.get(begun, -1) + 1
        starts.setdefault((*begun, times[begun]), []).append(op)
    counting = {start: made for start, made in starts.items()
                if not removed(max(made, key=lambda op: op.stamp))}
    built_on = {since for _, since, _ in counting}
    bases = [op for op in ops if isinstance(op, ScoreOp) and op.score is not None
             and (not removed(op) or op.stamp in built_on)]
    if not counting and not bases:
        return None
    base = max(bases, key=lambda op: op.stamp, default=None)
    base_stamp = base.stamp if base is not None else NOTHING
    latest: dict[str, tuple] = {}  # region -> (its latest start, its increments)
    for (region, since, time), made in counting.items():
        if since >= base_stamp and (since, time) > latest.get(region, (NOTHING, -1, ()))[:2]:
            latest[region] = (since, time, made)
    if not latest:
        return base.score
    total = sum(op.delta for _, _, made in latest.values() for op in made)
    on_base = base is not None and any(since == base_stamp for since, _, _ in latest.values())
    return total + (base.score if on_base else 0.0)


@attrs.frozen
class ElementOp:
    """One write to a list's element: its value (the insert's, or an ``LSET``'s), or
    None for a remove (a pop, ``LREM``, ``LTRIM``)."""

    stamp: Stamp
    value: bytes | None


def list_outcome(key_ops, list_writes, elements: dict, now_ms: int):
    """What a client sees at a key with writes of its own ``key_ops``, writes to it as
    a list ``list_writes`` (``HashWrite``, of kind "list") and its elements' writes
    ``elements`` (name -> (the insert's stamp, its ``ElementOp``s)): ``("list",
    ((name, value), ...) by name, deadline)``, ``("string", value, deadline)``, or
    None."""
    standing = _collection(key_ops, list_writes, now_ms)
    if standing is None or standing[0] == "string":
        return standing
    _, cleared, deadline = standing
    present = []
    for name, (inserted, ops) in sorted(elements.items()):
        if inserted <= cleared or any(op.value is None for op in ops):
            continue
        present.append((name, max(ops, key=lambda op: op.stamp).value))
    return ("list", tuple(present), deadline) if present else None
