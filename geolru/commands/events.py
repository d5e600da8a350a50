"""Keyspace notifications (``notify-keyspace-events``): which event a write fires, and
on which channels.

Redis' classes (``K E g $ l s h z x e t m d n A``), its channels
(``__keyspace@0__:<key>`` with the event, ``__keyevent@0__:<event>`` with the key) and
its event names for each command.  A region fires events for what it did:

- a command's writes here, as Redis names them (``command_events``);
- a record applied from a peer that changed what a client reads here: ``set`` or
  ``del`` of a string key, ``hset``/``hdel``, ``sadd``/``srem``, ``zadd``/``zrem``,
  ``linsert``/``lrem`` of an element (the region knows what changed, not the command
  that changed it: ``peer_event``); a record that loses its merge changes nothing and
  fires nothing;
- ``expired`` when it expires a key.

The cache tier's LRU evictions fire nothing: they drop a copy in memory, and what a
client reads does not change (docs/events.md).  Sans-IO.
"""

from __future__ import annotations

K, E, GENERIC, STRING, LIST, SET, HASH, ZSET, EXPIRED, EVICTED, STREAM, MISS, \
    MODULE, NEW = (1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7,
                   1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 13, 1 << 14)
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE
_CHARS = {"g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET,
          "x": EXPIRED, "e": EVICTED, "K": K, "E": E, "t": STREAM, "m": MISS,
          "d": MODULE, "n": NEW, "A": ALL}
BAD_CLASS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


def parse_classes(text: str) -> int | None:
    """``keyspaceEventsStringToFlags``: the flags, or None for an unknown class; kept
    as redis-server 7.0 keeps them, through their own string (so ``n`` next to ``A``,
    which the string leaves out, is lost, as there)."""
    flags = 0
    for c in text:
        if c not in _CHARS:
            return None
        flags |= _CHARS[c]
    if flags & ALL == ALL:
        flags &= ~NEW
    return flags


def format_classes(flags: int) -> str:
    """``keyspaceEventsFlagsToString``."""
    out = "A" if flags & ALL == ALL else "".join(
        c for c, bit in (("g", GENERIC), ("$", STRING), ("l", LIST), ("s", SET),
                         ("h", HASH), ("z", ZSET), ("x", EXPIRED), ("e", EVICTED),
                         ("t", STREAM), ("d", MODULE), ("n", NEW)) if flags & bit)
    return out + "".join(c for c, bit in (("K", K), ("E", E), ("m", MISS)) if flags & bit)


# a write command's event on its (first) key, when it changed something: class, name
_ONE = {
    **dict.fromkeys((b"set", b"setnx", b"getset", b"setex", b"psetex"), (STRING, "set")),
    b"append": (STRING, "append"), b"setrange": (STRING, "setrange"),
    **dict.fromkeys((b"incr", b"decr", b"incrby", b"decrby"), (STRING, "incrby")),
    b"incrbyfloat": (STRING, "incrbyfloat"), b"getdel": (GENERIC, "del"),
    b"setbit": (STRING, "setbit"), b"bitfield": (STRING, "setbit"),
    b"pfadd": (STRING, "pfadd"), b"pfmerge": (STRING, "pfadd"),
    b"persist": (GENERIC, "persist"),
    **dict.fromkeys((b"hset", b"hmset", b"hsetnx"), (HASH, "hset")),
    b"hdel": (HASH, "hdel"), b"hincrby": (HASH, "hincrby"),
    b"hincrbyfloat": (HASH, "hincrbyfloat"),
    b"sadd": (SET, "sadd"), b"srem": (SET, "srem"), b"spop": (SET, "spop"),
    b"zadd": (ZSET, "zadd"), b"zincrby": (ZSET, "zincr"), b"zrem": (ZSET, "zrem"),
    b"zpopmin": (ZSET, "zpopmin"), b"zpopmax": (ZSET, "zpopmax"),
    b"zremrangebyrank": (ZSET, "zremrangebyrank"),
    b"zremrangebyscore": (ZSET, "zremrangebyscore"),
    b"zremrangebylex": (ZSET, "zremrangebylex"), b"geoadd": (ZSET, "zadd"),
    b"lpush": (LIST, "lpush"), b"rpush": (LIST, "rpush"), b"lpushx": (LIST, "lpush"),
    b"rpushx": (LIST, "rpush"), b"lpop": (LIST, "lpop"), b"rpop": (LIST, "rpop"),
    b"linsert": (LIST, "linsert"), b"lset": (LIST, "lset"), b"lrem": (LIST, "lrem"),
    b"ltrim": (LIST, "ltrim"),
}
# ... a command that writes a destination (its first key), made whole
_STORED = {b"sinterstore": (SET, "sinterstore"), b"sunionstore": (SET, "sunionstore"),
           b"sdiffstore": (SET, "sdiffstore"), b"zunionstore": (ZSET, "zunionstore"),
           b"zinterstore": (ZSET, "zinterstore"), b"zdiffstore": (ZSET, "zdiffstore"),
           b"zrangestore": (ZSET, "zrangestore"), b"bitop": (STRING, "set"),
           b"geosearchstore": (ZSET, "geosearchstore"),
           b"georadius": (ZSET, "georadiusstore"),
           b"georadiusbymember": (ZSET, "georadiusstore")}
_EXPIRES = (b"expire", b"pexpire", b"expireat", b"pexpireat")
# the commands that take from the first non-empty of several keys: which event, by
# their side (or fixed); the key is in their reply
_TAKEN = {b"lmpop": (LIST, {b"LEFT": "lpop", b"RIGHT": "rpop"}),
          b"blmpop": (LIST, {b"LEFT": "lpop", b"RIGHT": "rpop"}),
          b"zmpop": (ZSET, {b"MIN": "zpopmin", b"MAX": "zpopmax"}),
          b"bzmpop": (ZSET, {b"MIN": "zpopmin", b"MAX": "zpopmax"}),
          b"blpop": (LIST, "lpop"), b"brpop": (LIST, "rpop"),
          b"bzpopmin": (ZSET, "zpopmin"), b"bzpopmax": (ZSET, "zpopmax")}
# replies that say the command changed nothing (Redis fires no event then)
_NOTHING = (b":0\r\n", b"$-1\r\n", b"*-1\r\n", b"_\r\n", b"*0\r\n", b":-1\r\n")
_COUNTED = frozenset((b"sadd", b"srem", b"hdel", b"zrem", b"lrem", b"spop", b"lpushx",
                      b"rpushx", b"persist", b"linsert", b"zremrangebyrank",
                      b"zremrangebyscore", b"zremrangebylex", b"lpop", b"rpop", b"zpopmin",
                      b"zpopmax", b"getdel", b"setnx", *_EXPIRES))


# the class of each event a change no command made here fires
PEER_CLASSES = {"expired": EXPIRED, "set": STRING, "del": GENERIC, "expire": GENERIC,
                "persist": GENERIC, "hset": HASH,
                "hdel": HASH, "sadd": SET, "srem": SET, "zadd": ZSET, "zrem": ZSET,
                "linsert": LIST, "lrem": LIST, "lset": LIST}


def command_events(name: bytes, args: list, reply: bytes, keys: list, existed: dict,
                   exists) -> list[tuple[int, str, bytes]]:
    """The events a write command fired, in Redis' order: ``(class, event, key)``.
    ``keys`` its keys, ``existed`` whether each was live before it, ``exists(key)``
    whether it is now."""
    if reply[:1] == b"-" or not keys:
        return []
    if name in _COUNTED and reply in _NOTHING:
        return []
    events = []
    first = keys[0]
    if name in _TAKEN:
        if reply[:1] not in (b"*", b">") or reply in _NOTHING:
            return []
        first = reply.split(b"\r\n", 3)[2]  # (the key: *2/*3, $n, key, …)
        kind, event = _TAKEN[name]
        if isinstance(event, dict):
            event = event[next(a.upper() for a in args if a.upper() in event)]
        events = [(kind, event, first)]
    elif name == b"getex":
        if reply in _NOTHING:
            return []
        words = [a.upper() for a in args[2:]]
        if b"PERSIST" in words:
            events = [(GENERIC, "persist", first)]
        elif words:
            events = [(GENERIC, "expire", first)] if exists(first) else [
                (GENERIC, "del", first)]
        return events
    if name in (b"del", b"unlink"):
        return [(GENERIC, "del", key) for key in dict.fromkeys(keys) if existed.get(key)]
    if name in (b"rename", b"renamenx"):
        return [(GENERIC, "rename_from", keys[0]), (GENERIC, "rename_to", keys[1])] \
            if reply != b":0\r\n" else []
    if name == b"copy":
        return [(GENERIC, "copy_to", keys[1])] if reply == b":1\r\n" else []
    if name in (b"mset", b"msetnx"):
        if reply == b":0\r\n":
            return []
        return [(STRING, "set", key) for key in keys]
    if name == b"smove":
        if reply != b":1\r\n":
            return []
        events = [(SET, "srem", keys[0]), (SET, "sadd", keys[1])]
    elif name in (b"lmove", b"rpoplpush", b"blmove", b"brpoplpush"):
        if reply in _NOTHING or reply[:1] == b"-":
            return []
        moved = name in (b"lmove", b"blmove")
        source_left = moved and args[3].upper() == b"LEFT"
        destination_left = not moved or args[4].upper() == b"LEFT"
        # (Redis pushes, then says the pop)
        events = [(LIST, "lpush" if destination_left else "rpush", keys[1]),
                  (LIST, "lpop" if source_left else "rpop", keys[0])]
    elif name in _EXPIRES:
        events = [(GENERIC, "expire", first)] if exists(first) else [(GENERIC, "del", first)]
    elif name in _STORED:
        if name in (b"georadius", b"georadiusbymember") and len(keys) < 2:
            return []
        destination = keys[-1] if name in (b"georadius", b"georadiusbymember") else first
        if exists(destination):
            events = [(*_STORED[name], destination)]
        elif existed.get(destination):
            events = [(GENERIC, "del", destination)]
        return events
    elif name in _TAKEN:
        pass
    elif name == b"zadd" and any(a.upper() == b"INCR" for a in args[2:]):
        if reply in _NOTHING:
            return []
        events = [(ZSET, "zincr", first)]
    elif name in _ONE:
        events = [(*_ONE[name], first)]
        if name in (b"setex", b"psetex") or (name == b"set" and any(
                a.upper() in (b"EX", b"PX", b"EXAT", b"PXAT") for a in args[3:])):
            events.append((GENERIC, "expire", first))
    else:
        return []
    for key in list(dict.fromkeys(k for _, _, k in events)):
        if (GENERIC, "del", key) in events:
            continue
        places = [i for i, (_, _, k) in enumerate(events) if k == key]
        if existed.get(key) and not exists(key):
            # (emptied: Redis deletes it, right after that key's own event)
            events.insert(places[-1] + 1, (GENERIC, "del", key))
        elif not existed.get(key) and exists(key):
            events.insert(places[0], (NEW, "new", key))
    return events
