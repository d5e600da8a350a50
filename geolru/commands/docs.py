"""What COMMAND INFO and COMMAND DOCS say of each command: redis-cli's argument hints
and ``help <command>``, and what client libraries read.

The facts (arity, flags, key specs, ACL categories, since, group, arguments) are
Redis' own, kept in ``geolru/data/command_facts.json`` (``scripts/command-facts``
regenerates it from redis-server 7 for the commands and subcommands a region
implements); geolru's own commands have theirs here (``OWN_FACTS``).  The
summaries are geolru's, written for what a region does.

Replies are built from typed trees: a ``str`` is a bulk string, ``{"+": s}`` a
simple string, an ``int`` an integer, a list an array, ``None`` a null.
"""

from __future__ import annotations

import json
from importlib import resources

# the subcommands a region implements, by container command
SUBCOMMANDS = {
    "cluster": ("countkeysinslot", "getkeysinslot", "help", "info", "keyslot", "myid",
                "nodes", "shards", "slots"),
    "client": ("caching", "getname", "getredir", "help", "id", "info", "kill", "list",
               "no-evict", "setinfo", "setname", "tracking", "trackinginfo"),
    "command": ("count", "docs", "info", "list"),
    "config": ("get", "resetstat", "rewrite", "set"),
    "slowlog": ("get", "help", "len", "reset"),
    "object": ("encoding", "freq", "help", "idletime", "refcount"),
    "memory": ("help", "usage"),
    "pubsub": ("channels", "help", "numpat", "numsub", "shardchannels", "shardnumsub"),
}


def _s(*words):
    return [{"+": w} for w in words]


def _own(name, arity, flags, acl, since, group, arguments=()):
    info = [name, arity, _s(*flags), 0, 0, 0, _s(*acl), [], [], []]
    docs = ["since", since, "group", group]
    if arguments:
        docs += ["arguments", list(arguments)]
    return info, docs


def _arg(name, kind, token=None, flags=()):
    out = ["name", name, "type", kind]
    if token:
        out += ["token", token]
    if flags:
        out += ["flags", _s(*flags)]
    return out


# commands (and subcommands) redis-server 7.0 does not have
OWN_FACTS = {
    "region": _own("region", 1, ("loading", "stale", "fast"), ("@fast", "@connection"),
                   "0.1.0", "server"),
    "peers": _own("peers", 1, ("loading", "stale"), ("@slow", "@admin"), "0.1.0", "server"),
    "help": _own("help", -1, ("loading", "stale"), ("@slow", "@connection"), "0.1.0",
                 "connection", [_arg("command", "string", flags=("optional",))]),
}
# options of Redis 7.2 a region takes on commands of 7.0: name -> (its arity then and
# now, the argument added); COMMAND says them as 7.2 does
NEWER_OPTIONS = {
    name: ((3, -3), _arg("withscore", "pure-token", "WITHSCORE", ("optional",))
           + ["since", "7.2.0"])
    for name in ("zrank", "zrevrank")}
EXTRA_SUBCOMMANDS = {
    "client": [_own("client|setinfo", 4, ("noscript", "loading", "stale"),
                    ("@slow", "@connection"), "7.2.0", "connection",
                    [["name", "attr", "type", "oneof", "arguments", [
                        _arg("libname", "string", "LIB-NAME"),
                        _arg("libver", "string", "LIB-VER")]]])],
}

SUMMARIES = {
    "append": "Appends a string to the value of a key; creates the key if it is missing.",
    "auth": "Authenticates the connection (requirepass).",
    "client": "Commands about the client's own connection.",
    "cluster": "Redis Cluster's commands: the shards of a region in cluster mode.",
    "cluster|countkeysinslot": "Returns the number of keys in a hash slot.",
    "cluster|getkeysinslot": "Returns key names in a hash slot.",
    "cluster|help": "Lists the CLUSTER subcommands.",
    "cluster|info": "Describes the region's cluster state: slots served, shards known.",
    "cluster|keyslot": "Returns the hash slot of a key.",
    "cluster|myid": "Returns this shard's node id.",
    "cluster|nodes": "Describes the region's shards, a line each, as CLUSTER NODES does.",
    "cluster|shards": "Returns the region's shards and the slot ranges each serves.",
    "cluster|slots": "Returns the slot ranges and the shard that serves each.",
    "readonly": "Accepted in cluster mode (every shard of a region is a primary).",
    "readwrite": "Accepted in cluster mode (every shard of a region is a primary).",
    "asking": "Accepted in cluster mode (a region migrates no slots live).",
    "bitfield": "Reads, sets and increments integer fields of a string's bits.",
    "bitfield_ro": "Reads integer fields of a string's bits.",
    "client|getname": "Returns the connection's name.",
    "client|help": "Lists the CLIENT subcommands.",
    "client|id": "Returns the connection's unique id.",
    "client|info": "Describes the connection in one line.",
    "client|kill": "Closes client connections, by address or id.",
    "client|list": "Describes every client connection, a line each.",
    "client|no-evict": "Protects the connection from eviction (a region evicts none).",
    "client|tracking": "Turns client-side caching on or off: invalidations of the keys "
                       "it read (or under prefixes), for changes made in any region.",
    "client|caching": "Says whether the next command's keys are tracked (OPTIN, OPTOUT).",
    "client|getredir": "Returns the client that invalidations are redirected to.",
    "client|trackinginfo": "Returns the connection's client-side caching settings.",
    "client|setinfo": "Records the client library's name or version.",
    "client|setname": "Names the connection.",
    "command": "Describes the commands this region implements.",
    "command|count": "Returns how many commands this region implements.",
    "command|docs": "Documents commands: summary, since, group and arguments.",
    "command|info": "Describes commands: arity, flags and key positions.",
    "command|list": "Lists the names of the commands this region implements.",
    "config": "Reads configuration (this region's settings are set in its ini file).",
    "config|get": "Returns the configuration parameters matching glob patterns.",
    "config|rewrite": "Writes what CONFIG SET changed into the ini the region started from.",
    "config|set": "Changes what a region can change while it runs: maxmemory.",
    "config|resetstat": "Resets the statistics INFO reports.",
    "dbsize": "Returns the number of live keys.",
    "decr": "Decrements an integer by one; never loses a concurrent increment elsewhere.",
    "decrby": "Decrements an integer by a number; never loses a concurrent increment.",
    "del": "Deletes keys, in every region (the delete replicates as a tombstone).",
    "discard": "Drops the commands queued since MULTI.",
    "echo": "Returns its argument.",
    "exec": "Runs the commands queued since MULTI, as one unit, here and at every peer.",
    "exists": "Counts how many of the given keys exist.",
    "expire": "Sets a key's time to live in seconds (a deadline every region keeps).",
    "expireat": "Sets a key's deadline as a Unix time in seconds.",
    "expiretime": "Returns a key's deadline as a Unix time in seconds.",
    "flushall": "Deletes every key, in every region.",
    "flushdb": "Deletes every key, in every region (one database).",
    "get": "Returns a key's string value (from the cache, else the durable store).",
    "getdel": "Returns a key's value and deletes the key.",
    "getex": "Returns a key's value and sets or removes its time to live.",
    "getrange": "Returns a substring of a key's value.",
    "getset": "Sets a key's value and returns the previous one.",
    "hdel": "Removes fields from a hash; returns how many it had.",
    "hexists": "Returns whether a hash has a field.",
    "hget": "Returns the value of a hash's field.",
    "hgetall": "Returns every field of a hash and its value.",
    "hincrby": "Increments an integer in a hash's field; increments from every region "
               "all count.",
    "hincrbyfloat": "Adds a floating-point number to a hash's field (last writer wins "
                    "between regions).",
    "hkeys": "Returns the fields of a hash.",
    "hlen": "Returns the number of fields in a hash.",
    "hmget": "Returns the values of several fields of a hash.",
    "hmset": "Sets fields of a hash (as HSET, answering OK).",
    "hrandfield": "Returns random fields of a hash, with or without their values.",
    "hscan": "Iterates over the fields of a hash with a cursor.",
    "hset": "Sets fields of a hash; returns how many were new. Each field replicates "
            "and merges on its own.",
    "hsetnx": "Sets a hash's field only if the hash does not have it.",
    "hstrlen": "Returns the length of a hash field's value.",
    "hvals": "Returns the values of a hash's fields.",
    "hello": "Handshakes: protocol version, authentication and connection name.",
    "help": "Lists the commands this region implements.",
    "incr": "Increments an integer by one; increments from every region all count.",
    "incrby": "Increments an integer by a number; increments from every region all count.",
    "incrbyfloat": "Adds a floating-point number to a key's value (last writer wins "
                   "between regions).",
    "info": "Returns the region's state and statistics by section.",
    "keys": "Returns the keys matching a glob pattern.",
    "lastsave": "Returns when the store last flushed its commits to disk (Unix time).",
    "memory": "Reports memory use.",
    "memory|help": "Lists the MEMORY subcommands.",
    "memory|usage": "Estimates the bytes a key and its value take in the region.",
    "mget": "Returns the values of several keys.",
    "mset": "Sets several keys at once.",
    "msetnx": "Sets several keys at once, only if none of them exists.",
    "multi": "Starts a transaction: later commands are queued until EXEC.",
    "object": "Inspects how a key is kept.",
    "randomkey": "Returns a key picked at random.",
    "rename": "Renames a key (of any type, with its time to live), replacing the new name.",
    "renamenx": "Renames a key only if the new name holds nothing.",
    "save": "Commits every write and flushes the store to disk, then answers.",
    "bitcount": "Counts the set bits of a string, or of a range of it (bytes or bits).",
    "bitop": "Writes the AND, OR, XOR of strings, or the NOT of one, to a key.",
    "bitpos": "Returns the position of the first set or clear bit of a string.",
    "getbit": "Returns the bit at an offset of a string.",
    "monitor": "Streams every command the region runs (but admin commands) to this connection.",
    "slowlog": "The commands that ran longer than slowlog-log-slower-than.",
    "slowlog|get": "Returns the newest entries of the slow log.",
    "slowlog|help": "Lists the SLOWLOG subcommands.",
    "slowlog|len": "Returns how many entries the slow log holds.",
    "slowlog|reset": "Empties the slow log.",
    "setbit": "Sets or clears the bit at an offset of a string; returns the bit it had.",
    "pfadd": "Adds elements to a HyperLogLog (registers merge across regions).",
    "pfcount": "Estimates the number of distinct elements added to HyperLogLogs.",
    "pfmerge": "Merges HyperLogLogs into one.",
    "sadd": "Adds members to a set (an add wins over a remove made elsewhere at once).",
    "srem": "Removes members from a set (the adds this region had seen).",
    "smembers": "Returns the members of a set.",
    "sismember": "Returns whether a value is a member of a set.",
    "smismember": "Returns whether each of several values is a member of a set.",
    "scard": "Returns the number of members of a set.",
    "spop": "Removes and returns members of a set, picked at random.",
    "srandmember": "Returns members of a set, picked at random.",
    "smove": "Moves a member from one set to another.",
    "sinter": "Returns the members common to several sets.",
    "sintercard": "Returns how many members several sets have in common.",
    "sinterstore": "Writes the members common to several sets to a key.",
    "sunion": "Returns the members of several sets together.",
    "sunionstore": "Writes the members of several sets together to a key.",
    "sdiff": "Returns the members of a set that the other sets lack.",
    "sdiffstore": "Writes the members of a set that the other sets lack to a key.",
    "sscan": "Iterates over the members of a set with a cursor.",
    "zadd": "Adds members to a sorted set, or updates their scores.",
    "zincrby": "Adds to a member's score (increments from every region add up).",
    "zrem": "Removes members from a sorted set (the writes this region had seen).",
    "zscore": "Returns a member's score.",
    "zmscore": "Returns the scores of several members.",
    "zcard": "Returns the number of members of a sorted set.",
    "zcount": "Counts the members with scores within a range.",
    "zlexcount": "Counts the members within a lexicographical range.",
    "zrank": "Returns a member's rank, by ascending score.",
    "zrevrank": "Returns a member's rank, by descending score.",
    "zrange": "Returns members by rank, score or lexicographical range.",
    "zrevrange": "Returns members by rank, highest score first.",
    "zrangebyscore": "Returns members within a range of scores.",
    "zrevrangebyscore": "Returns members within a range of scores, highest first.",
    "zrangebylex": "Returns members within a lexicographical range.",
    "zrevrangebylex": "Returns members within a lexicographical range, in reverse.",
    "zrangestore": "Writes members by rank, score or lexicographical range to a key.",
    "zpopmin": "Removes and returns the members with the lowest scores.",
    "zpopmax": "Removes and returns the members with the highest scores.",
    "zremrangebyrank": "Removes the members within a range of ranks.",
    "zremrangebyscore": "Removes the members within a range of scores.",
    "zremrangebylex": "Removes the members within a lexicographical range.",
    "zrandmember": "Returns members of a sorted set, picked at random.",
    "zscan": "Iterates over the members and scores of a sorted set with a cursor.",
    "zunion": "Returns the union of sorted sets (or sets), scores weighted and combined.",
    "zinter": "Returns the intersection of sorted sets (or sets).",
    "zdiff": "Returns the members of a sorted set that the others lack.",
    "zunionstore": "Writes the union of sorted sets (or sets) to a key.",
    "zinterstore": "Writes the intersection of sorted sets (or sets) to a key.",
    "zdiffstore": "Writes the members of a sorted set that the others lack to a key.",
    "zintercard": "Returns how many members sorted sets (or sets) have in common.",
    "geoadd": "Adds points (longitude, latitude, name) to a geo index (a sorted set).",
    "geopos": "Returns the longitude and latitude of points of a geo index.",
    "geodist": "Returns the distance between two points of a geo index.",
    "geohash": "Returns the geohash strings of points of a geo index.",
    "lpush": "Adds elements at the head of a list (making it).",
    "rpush": "Adds elements at the tail of a list (making it).",
    "lpushx": "Adds elements at the head of a list, only if it exists.",
    "rpushx": "Adds elements at the tail of a list, only if it exists.",
    "lpop": "Removes and returns elements from the head of a list.",
    "rpop": "Removes and returns elements from the tail of a list.",
    "lrange": "Returns a range of elements of a list.",
    "lindex": "Returns the element of a list at an index.",
    "llen": "Returns the length of a list.",
    "lset": "Sets the value of the element of a list at an index.",
    "linsert": "Inserts an element before or after another in a list.",
    "lrem": "Removes elements equal to a value from a list.",
    "ltrim": "Keeps only a range of elements of a list.",
    "lpos": "Returns the indexes of elements equal to a value in a list.",
    "lmove": "Moves an element from one end of a list to an end of another.",
    "rpoplpush": "Moves the last element of a list to the head of another.",
    "lmpop": "Removes and returns elements from the first non-empty list of several.",
    "blpop": "Removes and returns the first element of the first non-empty list "
             "(geolru does not wait: an error if every list is empty).",
    "brpop": "Removes and returns the last element of the first non-empty list "
             "(geolru does not wait: an error if every list is empty).",
    "blmove": "LMOVE (geolru does not wait: an error if the source is empty).",
    "brpoplpush": "RPOPLPUSH (geolru does not wait: an error if the source is empty).",
    "blmpop": "LMPOP (geolru does not wait: an error if every list is empty).",
    "zmpop": "Removes and returns members of the first non-empty sorted set of several.",
    "bzmpop": "ZMPOP (geolru does not wait: an error if every sorted set is empty).",
    "bzpopmin": "Removes and returns the lowest member of the first non-empty sorted set "
                "(geolru does not wait: an error if every one is empty).",
    "bzpopmax": "Removes and returns the highest member of the first non-empty sorted set "
                "(geolru does not wait: an error if every one is empty).",
    "subscribe": "Listens to channels: messages published to them, in any region.",
    "unsubscribe": "Stops listening to channels (all, with none named).",
    "psubscribe": "Listens to the channels whose names match patterns, in any region.",
    "punsubscribe": "Stops listening to patterns (all, with none named).",
    "publish": "Sends a message to a channel's listeners, here and in every region; "
               "returns how many got it here.",
    "pubsub": "A container for pub/sub introspection commands.",
    "pubsub|channels": "Returns the channels someone listens to in this region.",
    "pubsub|help": "Lists the PUBSUB subcommands.",
    "pubsub|numpat": "Returns how many patterns are listened to in this region.",
    "pubsub|numsub": "Returns how many listen to channels in this region.",
    "pubsub|shardchannels": "Returns the shard channels listened to (none: SSUBSCRIBE is "
                            "not built).",
    "pubsub|shardnumsub": "Returns how many listen to shard channels (none).",
    "geosearch": "Returns the points of a geo index within a radius or a box.",
    "geosearchstore": "Writes the points of a geo index within a radius or a box to a key.",
    "georadius": "Returns (or STOREs) the points of a geo index within a radius of a "
                 "longitude and latitude.",
    "georadius_ro": "Returns the points of a geo index within a radius of a longitude and "
                    "latitude.",
    "georadiusbymember": "Returns (or STOREs) the points of a geo index within a radius "
                         "of one of its points.",
    "georadiusbymember_ro": "Returns the points of a geo index within a radius of one of "
                            "its points.",
    "bgsave": "Commits every write and flushes the store to disk in the background.",
    "copy": "Copies a key's value (of any type) and time to live to another key.",
    "object|encoding": "Returns the encoding Redis would use for a key's value.",
    "object|freq": "Access frequencies are not tracked (an LRU region): an error.",
    "object|help": "Lists the OBJECT subcommands.",
    "object|idletime": "Returns the seconds since a key was last read or written.",
    "object|refcount": "Returns the reference count of a key's value (always 1).",
    "peers": "Lists this region's peers: address, stream state and lag.",
    "persist": "Removes a key's time to live.",
    "pexpire": "Sets a key's time to live in milliseconds.",
    "pexpireat": "Sets a key's deadline as a Unix time in milliseconds.",
    "pexpiretime": "Returns a key's deadline as a Unix time in milliseconds.",
    "ping": "Returns PONG, or its argument.",
    "psetex": "Sets a key's value and time to live in milliseconds.",
    "pttl": "Returns a key's time to live in milliseconds.",
    "quit": "Closes the connection.",
    "region": "Returns this region's name, latitude and longitude.",
    "scan": "Iterates over the keys with a cursor.",
    "select": "Selects a database (a region has one: 0).",
    "set": "Sets a key's value, with optional conditions and time to live.",
    "setex": "Sets a key's value and time to live in seconds.",
    "setnx": "Sets a key's value only if the key does not exist.",
    "setrange": "Overwrites part of a key's value at an offset.",
    "strlen": "Returns the length of a key's value.",
    "substr": "Returns a substring of a key's value (GETRANGE's old name).",
    "time": "Returns the region's clock: Unix seconds and microseconds.",
    "touch": "Marks keys as recently used; returns how many exist.",
    "ttl": "Returns a key's time to live in seconds.",
    "type": "Returns the type of a key's value.",
    "unlink": "Deletes keys (as DEL).",
    "unwatch": "Forgets the keys WATCH watches.",
    "wait": "Waits until some peers have committed this connection's writes.",
    "watch": "Makes the next EXEC fail if any of these keys changes before it, here or "
             "in another region, or expires.",
}


# what the facts leave out of Redis' docs: its prose
DROPPED = {"summary", "complexity", "history"}


def strip_docs(name: str, flat: list) -> list:
    """A command's docs (a flat key/value array) without Redis' prose, with only the
    subcommands a region implements."""
    out = []
    for key, value in zip(flat[::2], flat[1::2], strict=True):
        if key in DROPPED:
            continue
        if key == "subcommands":
            kept = []  # (by name: Redis lists them in its hash table's order)
            for sub, docs in sorted(zip(value[::2], value[1::2], strict=True)):
                if sub.split("|", 1)[1] in SUBCOMMANDS.get(name, ()):
                    kept += [sub, strip_docs(sub, docs)]
            value = kept
        out += [key, value]
    return out


def strip_info(name: str, info: list) -> list:
    """A command's COMMAND INFO entry with only the subcommands a region implements."""
    info = list(info)
    info[9] = sorted((sub for sub in info[9]
                      if sub[0].split("|", 1)[1] in SUBCOMMANDS.get(name, ())),
                     key=lambda sub: sub[0])
    return info


def _load() -> dict:
    facts = json.loads(resources.files("geolru").joinpath("data/command_facts.json").read_text(
        encoding="utf-8"))
    for name, (info, docs) in OWN_FACTS.items():
        facts["info"][name], facts["docs"][name] = info, docs
    for name, ((_, arity), argument) in NEWER_OPTIONS.items():
        facts["info"][name][1] = arity
        flat = facts["docs"][name]
        flat[flat.index("arguments") + 1].append(argument)
    for name, extras in EXTRA_SUBCOMMANDS.items():
        for info, docs in extras:
            facts["info"][name][9].append(info)
            flat = facts["docs"][name]
            if "subcommands" not in flat:
                flat += ["subcommands", []]
            flat[flat.index("subcommands") + 1] += [info[0], docs]
    return facts


FACTS = _load()


def _admin() -> frozenset:
    """Commands and subcommands (``client|list``) Redis flags ``admin``: MONITOR
    shows none of them."""
    flagged = set()
    for name, info in FACTS["info"].items():
        if {"+": "admin"} in info[2]:
            flagged.add(name.encode())
        flagged.update(sub[0].encode() for sub in info[9] if {"+": "admin"} in sub[2])
    return frozenset(flagged)


ADMIN = _admin()


def encode(tree) -> bytes:
    """RESP2 bytes of a typed tree."""
    if isinstance(tree, str):
        data = tree.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)
    if isinstance(tree, bool) or tree is None:
        return b"$-1\r\n"
    if isinstance(tree, int):
        return b":%d\r\n" % tree
    if isinstance(tree, dict):
        return b"+%s\r\n" % tree["+"].encode()
    return b"*%d\r\n" % len(tree) + b"".join(encode(item) for item in tree)


def _with_summary(name: str, flat: list) -> list:
    out = ["summary", SUMMARIES.get(name, "")]
    for key, value in zip(flat[::2], flat[1::2], strict=True):
        if key == "subcommands":
            value = [part if i % 2 == 0 else _with_summary(value[i - 1], part)
                     for i, part in enumerate(value)]
        out += [key, value]
    return out


def info_reply(name: str) -> bytes:
    """A command's COMMAND INFO entry."""
    return encode(FACTS["info"][name])


def docs_reply(names) -> bytes:
    """COMMAND DOCS for ``names`` (the ones it knows), as a flat name/docs array."""
    tree = []
    for name in names:
        if name in FACTS["docs"]:
            tree += [name, _with_summary(name, FACTS["docs"][name])]
    return encode(tree)


def parse_resp(data: bytes):
    """A whole RESP2 reply as a typed tree (what ``encode`` writes back)."""
    value, end = _parse(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after a RESP reply")
    return value


def _parse(data: bytes, pos: int):
    line_end = data.index(b"\r\n", pos)
    kind, body = data[pos:pos + 1], data[pos + 1:line_end]
    pos = line_end + 2
    if kind == b"+":
        return {"+": body.decode()}, pos
    if kind == b":":
        return int(body), pos
    if kind == b"$":
        n = int(body)
        if n < 0:
            return None, pos
        return data[pos:pos + n].decode(), pos + n + 2
    if kind == b"*":
        n = int(body)
        if n < 0:
            return None, pos
        items = []
        for _ in range(n):
            item, pos = _parse(data, pos)
            items.append(item)
        return items, pos
    raise ValueError(f"unexpected RESP type {kind!r}")


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _argument_text(argument: list) -> str:
    arg = _pairs(argument)
    kind, name, token = arg["type"], arg["name"], arg.get("token")
    flags = {flag["+"] for flag in arg.get("flags", [])}
    if kind == "pure-token":
        text = token
    elif kind in ("oneof", "block"):
        parts = [_argument_text(sub) for sub in arg.get("arguments", [])]
        text = ("|" if kind == "oneof" else " ").join(parts)
        if token:
            text = f"{token} {text}"
    else:
        text = f"{token} {name}" if token else name
    if "multiple" in flags:
        text = f"{text} [{text} ...]"
    if "optional" in flags:
        text = f"[{text}]"
    return text


def usage(name: str) -> str | None:
    """``SET key value [NX|XX] …``, and the summary, as redis-cli's help shows them."""
    docs = FACTS["docs"].get(name.lower())
    if docs is None:
        return None
    facts = _pairs(docs)
    words = [name.upper(), *(_argument_text(a) for a in facts.get("arguments", []))]
    lines = [" ".join(words), f"  {SUMMARIES.get(name.lower(), '')}"]
    subcommands = facts.get("subcommands", [])
    for sub, sub_docs in zip(subcommands[::2], subcommands[1::2], strict=True):
        sub_facts = _pairs(sub_docs)
        sub_words = [sub.replace("|", " ").upper(),
                     *(_argument_text(a) for a in sub_facts.get("arguments", []))]
        lines.append(f"  {' '.join(sub_words)}: {SUMMARIES.get(sub, '')}")
    return "\n".join(lines)


def groups() -> dict[str, list[str]]:
    """Group name -> its commands, as COMMAND DOCS groups them."""
    out: dict[str, list[str]] = {}
    for name, docs in sorted(FACTS["docs"].items()):
        out.setdefault(_pairs(docs)["group"], []).append(name.upper())
    return out
