"""The commands a region implements: arity, whether they write, where their keys are."""

from __future__ import annotations

# name -> Redis arity (n: exactly n arguments with the name; -n: at least n)
COMMANDS = {
    "ping": -1, "echo": 2, "quit": -1, "auth": -2, "select": 2, "hello": -1,
    "client": -2, "command": -1, "help": -1,
    "get": 2, "set": -3, "setex": 4, "psetex": 4, "setnx": 3, "getset": 3, "getdel": 2,
    "getex": -2, "mget": -2, "mset": -3, "msetnx": -3, "append": 3, "strlen": 2,
    "incr": 2, "decr": 2, "incrby": 3, "decrby": 3,
    "del": -2, "unlink": -2, "exists": -2, "type": 2, "expire": -3, "pexpire": -3,
    "expireat": -3, "pexpireat": -3, "persist": 2, "ttl": 2, "pttl": 2,
    "expiretime": 2, "pexpiretime": 2, "keys": 2, "scan": -2, "dbsize": 1,
    "flushall": -1, "flushdb": -1,
    "info": -1, "config": -2, "time": 1, "region": 1, "wait": 3, "peers": 1,
}
WRITE_COMMANDS = frozenset((
    "set", "setex", "psetex", "setnx", "getset", "getdel", "getex", "mset", "msetnx",
    "append", "incr", "decr", "incrby", "decrby", "del", "unlink", "expire", "pexpire",
    "expireat", "pexpireat", "persist", "flushall", "flushdb"))
WRITE_NAMES = frozenset(name.encode() for name in WRITE_COMMANDS)
KEY_POSITIONS = {name: (1, 1, 1) for name in (
    "get", "set", "setex", "psetex", "setnx", "getset", "getdel", "getex", "append",
    "strlen", "incr", "decr", "incrby", "decrby", "type", "expire", "pexpire", "expireat",
    "pexpireat", "persist", "ttl", "pttl", "expiretime", "pexpiretime")}
KEY_POSITIONS.update({"mget": (1, -1, 1), "del": (1, -1, 1), "unlink": (1, -1, 1),
                      "exists": (1, -1, 1), "mset": (1, -1, 2), "msetnx": (1, -1, 2)})
NO_AUTH = frozenset((b"auth", b"hello", b"quit"))
# what a stale region refuses: every command that reads or writes keys
DATA_NAMES = frozenset(name.encode() for name in (*KEY_POSITIONS, "keys", "scan", "dbsize",
                                                   "flushall", "flushdb")
                       if name in COMMANDS)
