"""Differential tests: the same command scripts against redis-server 7 and a
region; the replies must be the same bytes."""

import random
import re

import pytest
import redis

from geolru.commands.docs import parse_resp
from support import RawConnection, encode_command, region_daemon

SCRIPTS = {
    "bitfield": [
        ["BITFIELD", "bf", "GET", "u8", "0"], ["EXISTS", "bf"],
        ["BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "u8", "0", "GET", "i4", "4"],
        ["GET", "bf"], ["BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT",
                        "INCRBY", "u2", "102", "1"], ["STRLEN", "bf"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "#1", "200"], ["STRLEN", "bf"],
        ["BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i8", "#1", "200",
         "INCRBY", "u7", "3", "-1", "SET", "u3", "1", "-1"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u3", "1", "-1", "SET", "i5", "9", "99",
         "INCRBY", "i64", "64", "9223372036854775807", "INCRBY", "i64", "64", "1"],
        ["BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i64", "64", "1",
         "INCRBY", "u63", "128", "-1"],
        ["BITFIELD", "bf", "GET", "u64", "0"], ["BITFIELD", "bf", "GET", "i65", "0"],
        ["BITFIELD", "bf", "GET", "x8", "0"], ["BITFIELD", "bf", "GET", "u8", "-1"],
        ["BITFIELD", "bf", "GET", "u8", "#-1"], ["BITFIELD", "bf", "GET", "u8"],
        ["BITFIELD", "bf", "SET", "u8", "0", "x"], ["BITFIELD", "bf", "OVERFLOW", "NOPE"],
        ["BITFIELD", "bf", "NOPE", "u8", "0"], ["BITFIELD", "bf"],
        ["BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#3"],
        ["BITFIELD_RO", "bf", "SET", "u8", "0", "1"], ["BITFIELD_RO", "missing", "GET", "u8", "0"],
        ["HSET", "h", "f", "v"], ["BITFIELD", "h", "GET", "u8", "0"],
        ["BITFIELD", "h", "GET", "x8", "0"], ["SET", "t", "abc", "EX", "100"],
        ["BITFIELD", "t", "SET", "u8", "8", "65"], ["GET", "t"], ["TTL", "t"],
        ["BITFIELD", "t", "OVERFLOW", "FAIL", "SET", "u2", "100", "7"], ["STRLEN", "t"],
    ],
    "hyperloglog": [
        ["PFADD", "h"], ["PFADD", "h"], ["GET", "h"], ["PFCOUNT", "h"],
        ["PFADD", "h", "a", "b", "c"], ["PFADD", "h", "a"], ["GET", "h"], ["PFCOUNT", "h"],
        ["PFADD", "h2", *[f"e{i}" for i in range(300)]], ["PFCOUNT", "h2"],
        ["PFCOUNT", "h", "h2"], ["PFCOUNT", "h", "nothing"], ["PFCOUNT", "nothing"],
        ["PFMERGE", "m", "h", "h2"], ["GET", "m"], ["PFCOUNT", "m"], ["PFMERGE", "m"],
        ["PFMERGE", "fresh"], ["PFCOUNT", "fresh"], ["EXISTS", "fresh"], ["TYPE", "m"],
        ["PFADD", "big", *[f"x{i}" for i in range(2000)]], ["PFCOUNT", "big"],
        ["STRLEN", "big"], ["PFADD", "big", *[f"y{i}" for i in range(2000)]],
        ["PFCOUNT", "big"], ["PFCOUNT", "big", "h2", "h"], ["PFMERGE", "h", "big"],
        ["PFCOUNT", "h"], ["SET", "s", "abc"], ["PFADD", "s", "x"], ["PFCOUNT", "s"],
        ["PFCOUNT", "h", "s"], ["PFMERGE", "s", "h"], ["PFMERGE", "h", "s"],
        ["SET", "bad", "HYLL\x09"], ["PFCOUNT", "bad"], ["HSET", "hash", "f", "v"],
        ["PFADD", "hash", "x"], ["PFCOUNT", "hash"], ["PFMERGE", "hash", "h"],
        ["PFMERGE", "h", "hash"], ["PFADD"], ["PFCOUNT"], ["PFMERGE"],
        ["SET", "ttl", "x"], ["DEL", "ttl"], ["PFADD", "ttl", "a"], ["EXPIRE", "ttl", "100"],
        ["PFADD", "ttl", "b"], ["TTL", "ttl"], ["PFCOUNT", "ttl"], ["SET", "c", "x"],
        ["APPEND", "c", "z"], ["PFADD", "c", "x"], ["OBJECT", "ENCODING", "h2"],
        ["PFADD", "tiny", "a"], ["OBJECT", "ENCODING", "tiny"], ["COPY", "tiny", "t2"],
        ["GET", "t2"], ["PFCOUNT", "t2"], ["PFADD", "t2", "b"], ["PFCOUNT", "t2"],
    ],
    "cluster mode off": [
        ["CLUSTER", "INFO"], ["CLUSTER", "SLOTS"], ["READONLY"], ["READWRITE"], ["ASKING"],
        ["INFO", "cluster"],
    ],
    "strings": [
        ["SET", "k", "v"], ["GET", "k"], ["GET", "missing"], ["SET", "k", "v2", "GET"],
        ["SET", "n", "v", "GET"], ["SETNX", "k", "x"], ["SETNX", "new", "x"],
        ["GETSET", "k", "v3"], ["GETDEL", "k"], ["GETDEL", "k"], ["STRLEN", "new"],
        ["STRLEN", "nope"], ["APPEND", "new", "yz"], ["APPEND", "fresh", "ab"],
        ["GET", "new"], ["MSET", "a", "1", "b", "2"], ["MGET", "a", "b", "zz"],
        ["MSET", "a"], ["MSETNX", "a", "3", "c", "4"], ["MSETNX", "c", "4", "d", "5"],
        ["MGET", "c", "d"], ["ECHO", "hi"], ["PING"], ["PING", "there"],
        ["PING", "a", "b"], ["SET", "", ""], ["GET", ""], ["EXISTS", ""],
    ],
    "set options": [
        ["SET", "k", "v", "NX"], ["SET", "k", "v", "NX"], ["SET", "k", "w", "XX"],
        ["SET", "x", "w", "XX"], ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "XX", "NX"],
        ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "-5"],
        ["SET", "k", "v", "EX", "abc"], ["SET", "k", "v", "PX", "1.5"],
        ["SET", "k", "v", "EX", "10", "PX", "100"], ["SET", "k", "v", "EX", "10", "KEEPTTL"],
        ["SET", "k", "v", "KEEPTTL", "EX", "10"], ["SET", "k", "v", "EX", "100"], ["TTL", "k"],
        ["SET", "k", "v2", "KEEPTTL"], ["TTL", "k"], ["SET", "k", "v3"], ["TTL", "k"],
        ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "NX", "GET"], ["SET", "k", "v", "XX", "GET"],
        ["SET", "k", "v", "EX", "9223372036854775807"], ["SET", "k", "v", "ex", "10", "nx"],
        ["SET", "k", "v", "PERSIST"], ["SET", "e", "v", "EXAT", "1"], ["GET", "e"],
        ["SET", "e", "v", "PXAT", "99999999999999"], ["TTL", "e"],
        ["SETEX", "s", "100", "v"], ["TTL", "s"], ["SETEX", "s", "0", "v"],
        ["SETEX", "s", "x", "v"], ["PSETEX", "s", "100000", "v"], ["TTL", "s"],
        ["PSETEX", "s", "-1", "v"],
    ],
    "getex": [
        ["SET", "k", "v"], ["GETEX", "k"], ["GETEX", "k", "EX", "100"], ["TTL", "k"],
        ["GETEX", "k", "PERSIST"], ["TTL", "k"], ["GETEX", "k", "EX"],
        ["GETEX", "k", "EX", "0"], ["GETEX", "k", "NX"], ["GETEX", "k", "KEEPTTL"],
        ["GETEX", "k", "EX", "10", "PERSIST"], ["GETEX", "missing", "EX", "10"],
        ["GETEX", "k", "EXAT", "1"], ["GET", "k"], ["GETEX", "k", "PX", "abc"],
    ],
    "counters": [
        ["INCR", "c"], ["INCR", "c"], ["DECR", "c"], ["INCRBY", "c", "10"],
        ["DECRBY", "c", "3"], ["INCRBY", "c", "x"], ["INCRBY", "c", "1.5"],
        ["SET", "c", "9223372036854775806"], ["INCR", "c"], ["INCR", "c"],
        ["SET", "c", "-9223372036854775808"], ["DECR", "c"],
        ["DECRBY", "c", "-9223372036854775808"], ["SET", "s", "abc"], ["INCR", "s"],
        ["SET", "s", " 1"], ["INCR", "s"], ["SET", "s", "01"], ["INCR", "s"],
        ["SET", "s", "+1"], ["INCR", "s"], ["SET", "t", "5"], ["EXPIRE", "t", "100"],
        ["INCR", "t"], ["TTL", "t"], ["APPEND", "t", "0"], ["TTL", "t"], ["GET", "t"],
        ["INCRBY", "c"], ["INCR", "a", "b"],
    ],
    "keys and expiry": [
        ["SET", "a", "1"], ["SET", "b", "2"], ["DEL", "a", "a", "zz"], ["EXISTS", "a", "b", "b"],
        ["UNLINK", "b"], ["EXISTS", "b"], ["TYPE", "b"], ["SET", "k", "v"], ["TYPE", "k"],
        ["TTL", "k"], ["PTTL", "k"], ["TTL", "nope"], ["PTTL", "nope"],
        ["EXPIRE", "k", "100"], ["TTL", "k"], ["EXPIRE", "k", "200", "NX"],
        ["EXPIRE", "k", "200", "XX"], ["TTL", "k"], ["EXPIRE", "k", "100", "GT"],
        ["EXPIRE", "k", "300", "GT"], ["TTL", "k"], ["EXPIRE", "k", "400", "LT"],
        ["EXPIRE", "k", "50", "LT"], ["TTL", "k"], ["EXPIRE", "k", "1", "NX", "XX"],
        ["EXPIRE", "k", "1", "GT", "LT"], ["EXPIRE", "k", "1", "FOO"], ["EXPIRE", "k", "x"],
        ["EXPIRE", "missing", "10"], ["PERSIST", "k"], ["PERSIST", "k"], ["TTL", "k"],
        ["EXPIRE", "k", "10", "XX"], ["EXPIRE", "k", "10", "GT"], ["EXPIRE", "k", "10", "LT"],
        ["TTL", "k"], ["PEXPIRE", "k", "100000"], ["TTL", "k"],
        ["EXPIREAT", "k", "99999999999"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
        ["PEXPIREAT", "k", "99999999999000"], ["EXPIRETIME", "k"], ["EXPIRETIME", "nope"],
        ["PERSIST", "k"], ["EXPIRETIME", "k"], ["EXPIRE", "k", "9223372036854775807"],
        ["EXPIRE", "k", "0"], ["EXISTS", "k"], ["SET", "k", "v"], ["EXPIRE", "k", "-1"],
        ["GET", "k"], ["SET", "k", "v"], ["EXPIREAT", "k", "1"], ["GET", "k"],
        ["SET", "one", "1"], ["KEYS", "o*"], ["KEYS", "[a-o]n?"], ["KEYS", "x*"],
        ["DBSIZE"], ["FLUSHALL", "BAD"], ["FLUSHALL", "SYNC"], ["DBSIZE"], ["FLUSHDB"],
    ],
    "errors": [
        ["GET"], ["GET", "a", "b"], ["SET", "k"], ["NOSUCHCOMMAND"],
        ["NOSUCHCOMMAND", "a", "b c"], ["nosuch", "x" * 200], ["SELECT", "0"],
        ["SELECT", "16"], ["SELECT", "x"], ["AUTH", "pw"], ["AUTH", "a", "b", "c"],
        ["CLIENT", "SETNAME", "my-name"], ["CLIENT", "GETNAME"],
        ["CLIENT", "SETNAME", "has space"], ["CLIENT", "NOPE"], ["CLIENT", "GETNAME", "x"],
        ["HELLO", "4"], ["HELLO", "x"], ["HELLO", "2", "BOGUS"], ["DBSIZE", "x"],
        ["SCAN", "abc"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"],
        ["SCAN", "0", "BOGUS", "1"], ["SCAN", "0", "COUNT"], ["TIME", "x"],
        ["CONFIG", "GET", "save"], ["CONFIG", "GET", "nonexistent"], ["CONFIG", "GET"],
        ["ECHO"],
    ],
    "transactions": [
        ["EXEC"], ["DISCARD"], ["MULTI"], ["INCR", "pc"], ["INCR", "pc"], ["GET", "pc"],
        ["EXEC"], ["GET", "pc"], ["MULTI"], ["MULTI"], ["WATCH", "x"], ["SET", "a", "1"],
        ["DISCARD"], ["GET", "a"], ["MULTI"], ["SET", "a", "1"], ["NOSUCH"], ["EXEC"],
        ["GET", "a"], ["MULTI"], ["GET"], ["SET", "a", "2"], ["EXEC"], ["GET", "a"],
        ["MULTI"], ["SET", "s", "abc"], ["INCR", "s"], ["SET", "t", "1"], ["EXEC"],
        ["GET", "t"], ["WATCH", "w"], ["SET", "w", "changed"], ["MULTI"], ["SET", "w", "tx"],
        ["EXEC"], ["GET", "w"], ["WATCH", "w"], ["MULTI"], ["SET", "w", "tx"], ["EXEC"],
        ["GET", "w"], ["WATCH", "w", "v"], ["UNWATCH"], ["SET", "w", "x"], ["MULTI"],
        ["GET", "w"], ["EXEC"], ["WATCH", "gone"], ["SET", "gone", "1"], ["DEL", "gone"],
        ["MULTI"], ["EXEC"], ["WATCH", "ttl"], ["SET", "ttl", "1", "PX", "1"],
        ["MULTI"], ["PING"], ["EXEC"], ["WATCH"], ["MULTI"], ["WAIT", "0", "0"], ["EXEC"],
        ["MULTI"], ["EXEC", "x"], ["DISCARD"],
    ],
    "ranges and floats": [
        ["SET", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"],
        ["INCRBYFLOAT", "f", "5.0e3"], ["INCRBYFLOAT", "f", "2.0e-3"], ["GET", "f"],
        ["INCRBYFLOAT", "new", "3"], ["INCRBYFLOAT", "new", "1.5"], ["INCRBYFLOAT", "f", "x"],
        ["INCRBYFLOAT", "f", ""], ["INCRBYFLOAT", "f", " 1"], ["INCRBYFLOAT", "f", "inf"],
        ["INCRBYFLOAT", "f", "nan"], ["SET", "s", "abc"], ["INCRBYFLOAT", "s", "1"],
        ["SET", "i", "5"], ["EXPIRE", "i", "100"], ["INCRBYFLOAT", "i", "1.25"], ["TTL", "i"],
        ["INCRBYFLOAT", "i", "-6.25"], ["GET", "i"], ["INCRBYFLOAT", "z", "1e308"],
        ["INCRBYFLOAT", "z", "1e308"], ["SET", "g", "Hello World"], ["GETRANGE", "g", "0", "4"],
        ["GETRANGE", "g", "-5", "-1"], ["GETRANGE", "g", "-1", "-5"], ["GETRANGE", "g", "5", "1"],
        ["GETRANGE", "g", "0", "-1"], ["GETRANGE", "g", "0", "1000"],
        ["GETRANGE", "g", "-100", "2"],
        ["GETRANGE", "g", "20", "30"], ["GETRANGE", "none", "0", "-1"], ["GETRANGE", "g", "a", "1"],
        ["SUBSTR", "g", "1", "3"], ["SETRANGE", "g", "6", "Redis"], ["GET", "g"],
        ["SETRANGE", "pad", "5", "x"], ["GET", "pad"], ["SETRANGE", "empty", "3", ""],
        ["EXISTS", "empty"], ["SETRANGE", "g", "-1", "x"], ["SETRANGE", "g", "0", ""],
        ["SETRANGE", "g", "x", "y"], ["SETRANGE", "g", "536870911", "xx"], ["EXPIRE", "g", "50"],
        ["SETRANGE", "g", "0", "J"], ["TTL", "g"], ["GET", "g"], ["TOUCH", "g", "none", "g"],
        ["TOUCH"], ["SET", "n", "12345"], ["OBJECT", "ENCODING", "n"], ["SET", "e", "short"],
        ["OBJECT", "ENCODING", "e"], ["SET", "r", "x" * 45], ["OBJECT", "ENCODING", "r"],
        ["SET", "lz", "0123"], ["OBJECT", "ENCODING", "lz"], ["OBJECT", "ENCODING", "none"],
        ["OBJECT", "BOGUS", "n"], ["OBJECT", "REFCOUNT", "e"], ["CLUSTER", "INFO"],
        ["CLUSTER", "SLOTS"], ["CLUSTER", "KEYSLOT", "foo"], ["CLUSTER"], ["cluster", "nodes"],
        ["OBJECT", "IDLETIME", "none"], ["MEMORY", "USAGE", "none"], ["MEMORY", "BOGUS"],
        ["MEMORY", "USAGE"], ["OBJECT", "ENCODING"],
    ],
    "sets": [
        ["SADD", "s", "3", "1", "2", "1"], ["SADD", "s"], ["SMEMBERS", "s"], ["SCARD", "s"],
        ["SISMEMBER", "s", "2"], ["SISMEMBER", "s", "9"], ["SISMEMBER", "none", "1"],
        ["SMISMEMBER", "s", "1", "9", "3"], ["SMISMEMBER", "none", "1"], ["SMISMEMBER", "s"],
        ["OBJECT", "ENCODING", "s"], ["TYPE", "s"], ["SREM", "s", "2", "7"], ["SREM", "s"],
        ["SREM", "none", "1"], ["SMEMBERS", "s"], ["SMEMBERS", "none"], ["SCARD", "none"],
        ["SADD", "t", "1", "5", "-4", "100"], ["SINTER", "s", "t"], ["SINTER", "s", "none"],
        ["SUNION", "s", "t"], ["SUNION", "none", "s"], ["SDIFF", "t", "s"], ["SDIFF", "none", "t"],
        ["SINTERSTORE", "d", "s", "t"], ["SMEMBERS", "d"], ["SUNIONSTORE", "d", "s", "t"],
        ["SMEMBERS", "d"], ["SDIFFSTORE", "d", "t", "s"], ["SMEMBERS", "d"],
        ["SINTERSTORE", "d", "s", "none"], ["EXISTS", "d"], ["SINTERCARD", "2", "s", "t"],
        ["SINTERCARD", "2", "s", "t", "LIMIT", "0"], ["SINTERCARD", "1", "t", "LIMIT", "2"],
        ["SINTERCARD", "0", "s"], ["SINTERCARD", "x", "s"], ["SINTERCARD", "3", "s", "t"],
        ["SINTERCARD", "1", "s", "LIMIT", "-1"], ["SINTERCARD", "1", "s", "LIMIT", "x"],
        ["SINTERCARD", "1", "s", "BOGUS"], ["SINTERCARD", "1", "s", "LIMIT"],
        ["SMOVE", "t", "s", "5"], ["SMOVE", "t", "s", "5"], ["SMOVE", "none", "s", "1"],
        ["SMOVE", "s", "s", "5"], ["SMOVE", "s", "s", "42"], ["SMEMBERS", "s"], ["SMEMBERS", "t"],
        ["SRANDMEMBER", "s", "10"], ["SRANDMEMBER", "s", "0"], ["SRANDMEMBER", "none"],
        ["SRANDMEMBER", "none", "5"], ["SRANDMEMBER", "s", "x"], ["SRANDMEMBER", "s", "1", "2"],
        ["SRANDMEMBER", "s", "-9223372036854775808"], ["SADD", "one", "only"],
        ["SRANDMEMBER", "one"], ["SRANDMEMBER", "one", "-3"], ["SPOP", "one"], ["EXISTS", "one"],
        ["SPOP", "none"], ["SPOP", "none", "3"], ["SPOP", "s", "-1"], ["SPOP", "s", "x"],
        ["SPOP", "s", "0"], ["SPOP", "s", "1", "2"], ["SPOP", "t", "10"], ["EXISTS", "t"],
        ["SSCAN", "s", "0"], ["SSCAN", "s", "0", "MATCH", "1*"], ["SSCAN", "none", "0"],
        ["SSCAN", "s", "x"], ["SADD", "w", "apple"], ["SCARD", "w"], ["SSCAN", "w", "0"],
        ["OBJECT", "ENCODING", "w"], ["SISMEMBER", "w", "apple"], ["SET", "str", "v"],
        ["SADD", "str", "1"], ["SREM", "str", "1"], ["SMEMBERS", "str"], ["SCARD", "str"],
        ["SISMEMBER", "str", "1"], ["SINTER", "s", "str"], ["SINTER", "none", "str"],
        ["SUNION", "s", "str"], ["SDIFF", "none", "str"], ["SMOVE", "str", "s", "1"],
        ["SMOVE", "s", "str", "1"], ["SMOVE", "none", "str", "1"], ["SPOP", "str"],
        ["SRANDMEMBER", "str"], ["SINTERCARD", "1", "str"], ["SSCAN", "str", "0"],
        ["SSCAN", "none", "0", "COUNT", "0"], ["SSCAN", "str", "0", "FOO"],
        ["SSCAN", "str", "x"], ["HSCAN", "none", "0", "BOGUS"], ["HSCAN", "str", "0", "FOO"],
        ["SSCAN", "s", "0", "COUNT", "0"],
        ["HSET", "s", "f", "v"], ["GET", "s"], ["SINTERSTORE", "str", "s", "s"], ["TYPE", "str"],
        ["EXPIRE", "s", "100"], ["TTL", "s"], ["SADD", "s", "77"], ["TTL", "s"],
        ["SCAN", "0", "TYPE", "set", "MATCH", "st*", "COUNT", "1000"], ["DEL", "s"],
        ["SMEMBERS", "s"], ["SADD"], ["SMEMBERS"], ["SCARD", "a", "b"], ["SMOVE", "a", "b"],
    ],
    "zsets": [
        ["ZADD", "z", "1", "a", "2", "b", "2", "c", "-1.5", "d"], ["ZADD", "z", "1"],
        ["ZADD", "z"], ["ZADD", "z", "x", "a"], ["ZADD", "z", "nan", "a"],
        ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"],
        ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "INCR", "1", "a", "2", "b"],
        ["ZADD", "z", "NX", "5", "a", "6", "e"], ["ZADD", "z", "XX", "CH", "7", "a", "8", "f"],
        ["ZADD", "z", "GT", "CH", "3", "b", "1", "c", "9", "g"], ["ZADD", "z", "LT", "0", "b"],
        ["ZADD", "z", "INCR", "2.5", "a"], ["ZADD", "z", "INCR", "XX", "1", "nope"],
        ["ZADD", "z", "INCR", "GT", "-1", "a"], ["ZADD", "z", "1", "dup", "2", "dup"],
        ["ZADD", "z", "CH", "3", "dup", "3", "dup"],
        ["ZINCRBY", "z", "1", "b"], ["ZINCRBY", "z", "0.1", "b"], ["ZINCRBY", "z", "x", "b"],
        ["ZINCRBY", "z", "inf", "inf"], ["ZINCRBY", "z", "-inf", "inf"],
        ["ZINCRBY", "new", "3", "m"],
        ["ZSCORE", "z", "a"], ["ZSCORE", "z", "nope"], ["ZSCORE", "none", "a"],
        ["ZMSCORE", "z", "a", "nope", "b"], ["ZMSCORE", "none", "a"], ["ZCARD", "z"],
        ["ZCARD", "none"], ["ZRANGE", "z", "0", "-1"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "1", "2"], ["ZRANGE", "z", "-2", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "5", "1"], ["ZRANGE", "z", "0", "100"], ["ZRANGE", "z", "0", "-1", "REV"],
        ["ZRANGE", "z", "(1", "9", "BYSCORE"], ["ZRANGE", "z", "-inf", "+inf", "BYSCORE",
                                                "LIMIT", "1", "2", "WITHSCORES"],
        ["ZRANGE", "z", "9", "(2", "BYSCORE", "REV"], ["ZRANGE", "z", "x", "1", "BYSCORE"],
        ["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"], ["ZRANGE", "z", "-", "+", "BYLEX",
                                                      "WITHSCORES"],
        ["ZRANGE", "z", "0", "1", "BOGUS"], ["ZRANGE", "z", "0", "x"], ["ZRANGE", "none", "0", "1"],
        ["ZRANGE", "z", "(", "+inf", "BYSCORE"], ["ZRANGEBYSCORE", "z", "1", "3"],
        ["ZRANGEBYSCORE", "z", "1", "3", "WITHSCORES", "LIMIT", "0", "2"],
        ["ZRANGEBYSCORE", "z", "1", "3", "REV"], ["ZREVRANGEBYSCORE", "z", "3", "1"],
        ["ZREVRANGE", "z", "0", "2", "WITHSCORES"], ["ZRANGEBYSCORE", "z", "(1", "(1"],
        ["ZCOUNT", "z", "-inf", "+inf"], ["ZCOUNT", "z", "(1", "3"], ["ZCOUNT", "z", "a", "3"],
        ["ZCOUNT", "none", "0", "1"], ["ZRANK", "z", "a"], ["ZRANK", "z", "nope"],
        ["ZREVRANK", "z", "a"], ["ZRANK", "none", "a"], ["ZADD", "lex", "0", "a", "0", "b",
                                                           "0", "c", "0", "d"],
        ["ZRANGEBYLEX", "lex", "[b", "(d"], ["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "2"],
        ["ZREVRANGEBYLEX", "lex", "+", "[b"], ["ZLEXCOUNT", "lex", "(a", "+"],
        ["ZRANGEBYLEX", "lex", "b", "d"], ["ZLEXCOUNT", "lex", "-", "x"],
        ["ZREM", "z", "a", "nope", "b"], ["ZREM", "none", "a"], ["ZREM", "z"],
        ["TYPE", "z"], ["OBJECT", "ENCODING", "z"], ["SET", "s", "v"], ["ZADD", "s", "1", "a"],
        ["ZSCORE", "s", "a"], ["ZRANGE", "s", "0", "1"], ["ZCARD", "s"], ["SADD", "z", "a"],
        ["HSET", "z", "f", "v"], ["GET", "z"], ["EXPIRE", "z", "100"], ["TTL", "z"],
        ["SCAN", "0", "TYPE", "zset", "MATCH", "le*", "COUNT", "1000"],
        ["ZREM", "lex", "a", "b", "c", "d"], ["EXISTS", "lex"], ["DEL", "z"], ["ZCARD", "z"],
        ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], ["ZPOPMIN", "p"],
        ["ZPOPMAX", "p", "2"], ["ZPOPMIN", "p", "0"], ["ZPOPMIN", "p", "-1"],
        ["ZPOPMIN", "p", "x"], ["ZPOPMIN", "p", "1", "2"], ["ZPOPMIN", "none"],
        ["ZPOPMAX", "none", "3"], ["ZPOPMIN", "p", "10"], ["EXISTS", "p"],
        ["ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"],
        ["ZREMRANGEBYRANK", "r", "0", "1"], ["ZREMRANGEBYRANK", "r", "-1", "-1"],
        ["ZREMRANGEBYSCORE", "r", "(3", "4"], ["ZREMRANGEBYSCORE", "r", "x", "4"],
        ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "r", "-", "+"],
        ["ZREMRANGEBYLEX", "r", "x", "+"], ["ZREMRANGEBYRANK", "none", "0", "1"],
        ["ZADD", "q", "1", "a", "2", "b", "3", "c"], ["ZRANGESTORE", "dst", "q", "0", "1"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "q", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "q", "5", "9"],
        ["EXISTS", "dst"], ["ZRANGESTORE", "dst", "q", "0", "1", "WITHSCORES"],
        ["ZADD", "one", "2", "x"], ["ZRANDMEMBER", "one", "10", "WITHSCORES"],
        ["ZRANDMEMBER", "one", "-2"], ["ZRANDMEMBER", "one"],
        ["ZRANDMEMBER", "q", "0"], ["ZRANDMEMBER", "none"], ["ZRANDMEMBER", "none", "3"],
        ["ZRANDMEMBER", "q", "x"], ["ZRANDMEMBER", "q", "1", "BOGUS"],
        ["ZRANDMEMBER", "q", "-9223372036854775807", "WITHSCORES"],
        ["ZSCAN", "q", "0"], ["ZSCAN", "q", "0", "MATCH", "b*"], ["ZSCAN", "none", "0"],
        ["ZSCAN", "q", "x"], ["SET", "str", "v"], ["ZPOPMIN", "str"], ["ZSCAN", "str", "0"],
        ["ZRANDMEMBER", "str"], ["ZREMRANGEBYRANK", "str", "0", "1"],
        ["ZRANGESTORE", "dst", "str", "0", "1"],
        ["ZADD", "u1", "1", "a", "2", "b", "3", "c"], ["ZADD", "u2", "10", "b", "20", "d"],
        ["SADD", "us", "a", "d", "e"], ["ZUNION", "2", "u1", "u2"],
        ["ZUNION", "3", "u1", "u2", "us", "WITHSCORES"],
        ["ZUNION", "2", "u1", "u2", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZINTER", "2", "u1", "u2", "WITHSCORES"], ["ZINTER", "2", "u1", "us", "WITHSCORES"],
        ["ZINTER", "2", "u1", "none"], ["ZDIFF", "2", "u1", "u2", "WITHSCORES"],
        ["ZDIFF", "1", "none"], ["ZUNIONSTORE", "out", "2", "u1", "u2"],
        ["ZRANGE", "out", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "out", "2", "u1", "u2", "WEIGHTS", "1", "-1"],
        ["ZRANGE", "out", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "out", "2", "u1", "u1"],
        ["EXISTS", "out"], ["ZINTERCARD", "2", "u1", "u2"],
        ["ZINTERCARD", "3", "u1", "u2", "us", "LIMIT", "1"], ["ZUNION", "0", "u1"],
        ["ZUNIONSTORE", "out", "0", "u1"], ["ZINTERCARD", "0", "u1"], ["ZUNION", "3", "u1"],
        ["ZUNION", "x", "u1"], ["ZUNION", "1", "u1", "WEIGHTS", "x"],
        ["ZUNION", "1", "u1", "AGGREGATE", "AVG"], ["ZUNION", "1", "u1", "BOGUS"],
        ["ZDIFF", "1", "u1", "WEIGHTS", "2"], ["ZUNIONSTORE", "out", "1", "u1", "WITHSCORES"],
        ["ZINTERCARD", "1", "u1", "LIMIT", "-1"], ["ZINTERCARD", "1", "u1", "WITHSCORES"],
        ["ZUNION", "2", "u1", "str"], ["ZADD", "inf", "inf", "x"], ["ZADD", "ninf", "-inf", "x"],
        ["ZUNION", "2", "inf", "ninf", "WITHSCORES"],
        ["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"],
        ["ZADD", "mp", "1", "a", "2", "b", "3", "c"], ["ZMPOP", "2", "none", "mp", "MIN"],
        ["ZMPOP", "1", "mp", "MAX", "COUNT", "5"], ["ZMPOP", "1", "mp", "MAX"],
        ["ZMPOP", "0", "mp", "MIN"], ["ZMPOP", "1", "mp", "UP"], ["ZMPOP", "3", "mp", "MIN"],
        ["ZMPOP", "1", "mp", "MIN", "COUNT", "0"], ["ZMPOP", "1", "mp", "MIN", "COUNT"],
        ["ZMPOP", "1", "str", "MIN"], ["ZADD", "mp", "5", "x", "6", "y"],
        ["BZPOPMIN", "none", "mp", "0"], ["BZPOPMAX", "mp", "1.5"], ["BZPOPMIN", "mp", "-1"],
        ["BZPOPMIN", "mp", "x"], ["BZPOPMIN", "str", "0"], ["ZADD", "mp", "7", "z"],
        ["BZMPOP", "0", "1", "mp", "MIN", "COUNT", "2"], ["BZMPOP", "x", "1", "mp", "MIN"],
        ["BZMPOP", "0", "0", "mp", "MIN"], ["MULTI"], ["BZPOPMIN", "none", "0"],
        ["BZMPOP", "0", "1", "none", "MAX"], ["EXEC"],
    ],
    "geo": [
        ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
         "Catania"], ["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
        ["GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting"], ["GEOPOS", "none", "a"],
        ["GEODIST", "Sicily", "Palermo", "Catania"], ["GEODIST", "Sicily", "Palermo",
                                                       "Catania", "km"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "MI"], ["GEODIST", "Sicily", "Palermo",
                                                             "Catania", "ft"],
        ["GEODIST", "Sicily", "Palermo", "Nope"], ["GEODIST", "none", "a", "b"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "parsec"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"],
        ["GEOHASH", "Sicily", "Palermo", "Catania", "Nope"], ["GEOHASH", "none", "a"],
        ["GEOADD", "Sicily", "NX", "13", "38", "Palermo", "12", "37", "Trapani"],
        ["GEOADD", "Sicily", "XX", "CH", "13.5", "38", "Palermo", "1", "1", "Nowhere"],
        ["GEOPOS", "Sicily", "Palermo", "Nowhere"], ["GEOADD", "Sicily", "200", "10", "x"],
        ["GEOADD", "Sicily", "10", "86", "x"], ["GEOADD", "Sicily", "x", "10", "y"],
        ["GEOADD", "Sicily", "NX", "XX", "1", "1", "z"], ["GEOADD", "Sicily", "1", "1"],
        ["GEOADD", "Sicily", "-180", "-85.05112878", "corner"],
        ["GEOPOS", "Sicily", "corner"], ["GEOHASH", "Sicily", "corner"],
        ["GEOADD", "Sicily", "180", "85.05112878", "other"], ["GEOPOS", "Sicily", "other"],
        ["GEODIST", "Sicily", "corner", "other"], ["GEODIST", "Sicily", "corner", "corner"],
        ["SET", "str", "v"], ["GEOADD", "str", "1", "1", "a"], ["GEOPOS", "str", "a"],
        ["GEODIST", "str", "a", "b"], ["GEOHASH", "str", "a"], ["TYPE", "Sicily"],
    ],
    "geosearch": [
        ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
         "Catania", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "COUNT", "1"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"],
        ["GEORADIUS", "Sicily", "15", "37", "2000", "mi", "STORE", "near"],
        ["ZRANGE", "near", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "near"],
        ["ZRANGE", "near", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "Sicily", "0", "0", "1", "m", "STORE", "near"], ["EXISTS", "near"],
        ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "near"],
        ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"],
        ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "ASC"],
        ["GEORADIUSBYMEMBER", "Sicily", "Nope", "200", "km"],
        ["GEORADIUSBYMEMBER", "none", "Nope", "x", "parsec"],
        ["GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "100", "ft"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "ASC",
         "WITHCOORD", "WITHDIST", "WITHHASH"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
         "DESC", "WITHDIST"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT",
         "2", "ANY", "WITHDIST"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400",
         "km", "ASC", "COUNT", "3"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400",
         "km", "ASC", "COUNT", "3", "STOREDIST"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEOSEARCHSTORE", "dst", "none", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"],
        ["EXISTS", "dst"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m",
         "WITHDIST"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"],
        ["GEOSEARCH", "Sicily", "BYRADIUS", "200", "km"],
        ["geosearch", "Sicily", "FROMLONLAT", "15", "37"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo",
         "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1",
         "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "0"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "x"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "x", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "parsec"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "190", "37", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "x", "37", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "Nope", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "none", "FROMMEMBER", "Nope", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "FOO"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "0", "km"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "x", "WITHDIST"],
        ["GEORADIUS", "Sicily", "15", "37", "-1", "km"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMLONLAT", "1", "1"],
        ["GEORADIUS", "Sicily", "15", "37", "200"],
        ["GEOADD", "pole", "0", "85", "a", "90", "84", "b", "180", "85", "c", "-179.9", "84.9",
         "d"], ["GEORADIUS", "pole", "0", "85", "1000", "km", "WITHDIST"],
        ["GEOSEARCH", "pole", "FROMLONLAT", "179.95", "84.95", "BYBOX", "300", "300", "km"],
        ["GEORADIUS", "pole", "0", "85", "20000", "km"],
        ["SET", "str", "v"], ["GEORADIUS", "str", "0", "0", "1", "m"],
        ["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
        ["GEOSEARCHSTORE", "dst", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "str"], ["TYPE", "str"],
    ],
    "lists": [
        ["RPUSH", "l", "a", "b", "c"], ["LPUSH", "l", "x", "y"], ["LRANGE", "l", "0", "-1"],
        ["LRANGE", "l", "-2", "100"], ["LRANGE", "l", "3", "1"], ["LRANGE", "l", "x", "1"],
        ["LRANGE", "none", "0", "-1"], ["LLEN", "l"], ["LLEN", "none"],
        ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "99"],
        ["LINDEX", "l", "x"], ["LINDEX", "none", "x"],
        ["LINSERT", "l", "BEFORE", "b", "q"], ["LINSERT", "l", "after", "c", "end"],
        ["LINSERT", "l", "AFTER", "nope", "z"], ["LINSERT", "none", "AFTER", "a", "z"],
        ["LINSERT", "l", "MIDDLE", "a", "z"], ["LRANGE", "l", "0", "-1"],
        ["LSET", "l", "0", "first"], ["LSET", "l", "-1", "last"], ["LSET", "l", "99", "z"],
        ["LSET", "none", "0", "z"], ["LSET", "l", "x", "z"], ["LRANGE", "l", "0", "-1"],
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"],
        ["LPOP", "l", "-1"], ["LPOP", "l", "x"], ["LPOP", "l", "1", "2"], ["LPOP", "none"],
        ["LPOP", "none", "2"], ["LPOP", "none", "0"], ["RPOP", "l", "100"], ["EXISTS", "l"],
        ["RPUSH", "r", "a", "b", "a", "c", "a", "b"], ["LPOS", "r", "a"],
        ["LPOS", "r", "a", "RANK", "2"], ["LPOS", "r", "a", "RANK", "-1"],
        ["LPOS", "r", "a", "COUNT", "0"], ["LPOS", "r", "a", "COUNT", "2", "RANK", "-1"],
        ["LPOS", "r", "a", "MAXLEN", "2", "COUNT", "0"], ["LPOS", "r", "z"],
        ["LPOS", "r", "z", "COUNT", "1"], ["LPOS", "r", "a", "RANK", "0"],
        ["LPOS", "r", "a", "COUNT", "-1"], ["LPOS", "r", "a", "MAXLEN", "x"],
        ["LPOS", "r", "a", "BOGUS"], ["LPOS", "r", "a", "COUNT"], ["LPOS", "none", "a"],
        ["LPOS", "none", "a", "COUNT", "1"], ["LPOS", "r", "a", "RANK", "-9223372036854775808"],
        ["LPOS", "r", "a", "RANK", "-9223372036854775808", "COUNT", "0"],
        ["LPOS", "r", "a", "RANK", "-9223372036854775808", "COUNT", "1"],
        ["LPOS", "r", "a", "RANK", "9223372036854775807"], ["LREM", "r", "1", "a"],
        ["LREM", "r", "-1", "a"], ["LRANGE", "r", "0", "-1"], ["LREM", "r", "0", "b"],
        ["LREM", "r", "x", "b"], ["LREM", "none", "1", "a"], ["LRANGE", "r", "0", "-1"],
        ["RPUSH", "t", "1", "2", "3", "4", "5", "6"], ["LTRIM", "t", "1", "-2"],
        ["LRANGE", "t", "0", "-1"], ["LTRIM", "t", "x", "1"], ["LTRIM", "t", "5", "1"],
        ["EXISTS", "t"], ["LTRIM", "none", "0", "1"],
        ["RPUSH", "src", "1", "2", "3"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        ["LMOVE", "src", "dst", "RIGHT", "LEFT"], ["LRANGE", "dst", "0", "-1"],
        ["LMOVE", "src", "dst", "UP", "LEFT"], ["RPOPLPUSH", "src", "dst"],
        ["RPOPLPUSH", "src", "dst"], ["EXISTS", "src"], ["LMOVE", "dst", "dst", "LEFT", "RIGHT"],
        ["LRANGE", "dst", "0", "-1"], ["RPUSH", "one", "x"], ["EXPIRE", "one", "100"],
        ["LMOVE", "one", "one", "LEFT", "RIGHT"], ["TTL", "one"], ["RPOPLPUSH", "one", "one"],
        ["TTL", "one"], ["LMPOP", "2", "none", "dst", "LEFT"],
        ["LMPOP", "2", "none", "dst", "RIGHT", "COUNT", "5"], ["LMPOP", "1", "none", "LEFT"],
        ["LMPOP", "0", "a", "LEFT"], ["LMPOP", "x", "a", "LEFT"], ["LMPOP", "3", "a", "LEFT"],
        ["LMPOP", "1", "a", "UP"], ["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
        ["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"],
        ["LPUSHX", "none", "a"], ["RPUSHX", "none", "a"], ["RPUSH", "p", "1"],
        ["LPUSHX", "p", "0"], ["RPUSHX", "p", "2", "3"], ["LRANGE", "p", "0", "-1"],
        ["SET", "str", "v"], ["LPUSH", "str", "a"], ["LRANGE", "str", "0", "1"],
        ["LPOP", "str"], ["LLEN", "str"], ["LINDEX", "str", "0"], ["LSET", "str", "0", "a"],
        ["LMOVE", "p", "str", "LEFT", "LEFT"], ["LRANGE", "p", "0", "-1"],
        ["LMOVE", "str", "p", "LEFT", "LEFT"], ["TYPE", "p"], ["OBJECT", "ENCODING", "p"],
        ["SCAN", "0", "TYPE", "list", "MATCH", "p*", "COUNT", "1000"], ["SADD", "s", "a"],
        ["LPUSH", "s", "a"],
        ["RPUSH", "s2", "a"], ["SADD", "s2", "a"], ["COPY", "p", "p2"],
        ["LRANGE", "p2", "0", "-1"], ["RENAME", "p2", "p3"], ["LRANGE", "p3", "0", "-1"],
        ["BLPOP", "none", "p", "0"], ["BRPOP", "p", "0.5"], ["BLPOP", "p", "-1"],
        ["BLPOP", "p", "x"], ["BLMOVE", "p3", "p", "LEFT", "LEFT", "0"],
        ["BRPOPLPUSH", "p3", "p", "0"], ["BLMPOP", "0", "1", "p", "LEFT"],
        ["BLMPOP", "x", "abc", "p", "LEFT"], ["BLMPOP", "x", "1", "p", "UP"],
        ["BLPOP", "p", "-0.0001"], ["BLPOP", "p", " 1"], ["BLPOP", "p", "1_0"],
        ["BLPOP", "p", "inf"], ["BLPOP", "p", "nan"], ["BLPOP", "p", "1e400"],
        ["LRANGE", "p", "0", "-1"], ["MULTI"], ["BLPOP", "none", "0"],
        ["BLMOVE", "none", "p", "LEFT", "LEFT", "0"], ["EXEC"],
    ],
    "hashes": [
        ["HSET", "h", "name", "ann", "city", "oslo"], ["HSET", "h", "name", "bo"],
        ["HSET", "h", "a"], ["HSET", "h"], ["HMSET", "h", "x", "1", "y", "2"], ["HMSET", "h", "x"],
        ["HGET", "h", "name"], ["HGET", "h", "nope"], ["HGET", "none", "f"],
        ["HMGET", "h", "name", "nope", "city"], ["HMGET", "none", "a", "b"], ["HMGET", "h"],
        ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HLEN", "h"], ["HGETALL", "none"],
        ["HKEYS", "none"], ["HVALS", "none"], ["HLEN", "none"], ["HEXISTS", "h", "name"],
        ["HEXISTS", "h", "nope"], ["HEXISTS", "none", "f"], ["HSTRLEN", "h", "city"],
        ["HSTRLEN", "h", "nope"], ["HSTRLEN", "none", "f"], ["HSETNX", "h", "name", "z"],
        ["HSETNX", "h", "new", "z"], ["HSETNX", "fresh", "f", "v"], ["HGETALL", "fresh"],
        ["HDEL", "h", "x", "x", "nope"], ["HDEL", "none", "f"], ["HDEL", "h"],
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "name", "1"],
        ["HINCRBY", "h", "n", "x"], ["HINCRBY", "h", "n", "1.5"],
        ["HSET", "h", "big", "9223372036854775806"], ["HINCRBY", "h", "big", "1"],
        ["HINCRBY", "h", "big", "1"], ["HINCRBY", "new", "f", "3"], ["HGETALL", "new"],
        ["HINCRBYFLOAT", "h", "fl", "10.5"], ["HINCRBYFLOAT", "h", "fl", "0.1"],
        ["HINCRBYFLOAT", "h", "fl", "-5e3"], ["HINCRBYFLOAT", "h", "name", "1"],
        ["HINCRBYFLOAT", "h", "fl", "x"], ["HINCRBYFLOAT", "h", "fl", "inf"],
        ["HINCRBYFLOAT", "h", "n", "1.25"], ["HGET", "h", "n"], ["HINCRBYFLOAT", "nf", "f", "2"],
        ["TYPE", "h"], ["TYPE", "none"], ["EXISTS", "h"], ["HGETALL", "h"],
        ["EXPIRE", "h", "100"], ["TTL", "h"], ["HSET", "h", "more", "1"], ["TTL", "h"],
        ["PERSIST", "h"], ["TTL", "h"], ["PEXPIRE", "h", "100000", "NX"], ["TTL", "h"],
        ["EXPIRETIME", "fresh"], ["HSET", "one", "f", "v"], ["HRANDFIELD", "one"],
        ["HRANDFIELD", "one", "1"], ["HRANDFIELD", "one", "-3"],
        ["HRANDFIELD", "one", "-2", "WITHVALUES"], ["HRANDFIELD", "one", "0"],
        ["HRANDFIELD", "none"], ["HRANDFIELD", "none", "3"], ["HRANDFIELD", "one", "x"],
        ["HRANDFIELD", "one", "1", "BOGUS"], ["HRANDFIELD", "h", "5", "WITHVALUES", "x"],
        ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "MATCH", "n*"], ["HSCAN", "h", "0", "COUNT", "2"],
        ["HSCAN", "none", "0"], ["HSCAN", "h", "x"], ["HSCAN", "h", "0", "COUNT", "0"],
        ["HSCAN", "h", "0", "BOGUS", "1"], ["HSCAN", "h", "0", "COUNT"],
        ["OBJECT", "ENCODING", "h"], ["HSET", "long", "f", "x" * 70],
        ["OBJECT", "ENCODING", "long"],
        ["HDEL", "one", "f"], ["EXISTS", "one"], ["TYPE", "one"], ["HLEN", "one"],
        ["SET", "one", "now a string"], ["GET", "one"], ["DEL", "fresh"], ["HGETALL", "fresh"],
        ["SET", "h", "replaced"], ["TYPE", "h"], ["HGET", "h", "name"], ["DEL", "h"],
        ["HSET", "h", "again", "1"], ["HGETALL", "h"],
        ["SCAN", "0", "TYPE", "hash", "MATCH", "lo*", "COUNT", "1000"],
        ["SCAN", "0", "MATCH", "lo*", "TYPE", "string", "COUNT", "1000"],
        ["SCAN", "0", "TYPE", "stream"], ["DBSIZE"], ["WATCH", "h"], ["HSET", "h", "w", "1"],
        ["MULTI"], ["HGET", "h", "w"], ["EXEC"], ["MULTI"], ["HSET", "h", "t", "1"],
        ["HINCRBY", "h", "t", "2"], ["HGETALL", "h"], ["EXEC"],
        ["HSET", "\x00\xff", "\r\n", "\x00"], ["HGETALL", "\x00\xff"],
    ],
    "wrong types": [
        ["SET", "s", "text"], ["HSET", "h", "f", "1"],
        *[[*command[:1], "h", *command[2:]] for command in (
            ["GET", "h"], ["GETSET", "h", "v"], ["GETDEL", "h"], ["GETEX", "h"],
            ["GETEX", "h", "EX", "10"], ["APPEND", "h", "x"], ["STRLEN", "h"],
            ["INCR", "h"], ["DECR", "h"], ["INCRBY", "h", "2"], ["DECRBY", "h", "2"],
            ["INCRBYFLOAT", "h", "1.5"], ["GETRANGE", "h", "0", "1"], ["SUBSTR", "h", "0", "1"],
            ["SETRANGE", "h", "0", "x"], ["SET", "h", "v", "GET"], ["SET", "h", "v", "NX"],
            ["SET", "h", "v", "NX", "GET"], ["SETNX", "h", "v"], ["MSETNX", "h", "v"],
            ["MGET", "h", "s"], ["OBJECT", "ENCODING", "h"])],
        *[[*command[:1], "s", *command[2:]] for command in (
            ["HSET", "s", "f", "v"], ["HMSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"],
            ["HGET", "s", "f"], ["HMGET", "s", "f"], ["HDEL", "s", "f"], ["HGETALL", "s"],
            ["HKEYS", "s"], ["HVALS", "s"], ["HLEN", "s"], ["HEXISTS", "s", "f"],
            ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"], ["HINCRBY", "s", "f", "x"],
            ["HINCRBYFLOAT", "s", "f", "1"], ["HINCRBYFLOAT", "s", "f", "x"],
            ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"])],
        ["GET", "s"], ["HGETALL", "h"], ["SET", "h", "v", "XX"], ["GET", "h"],
        ["HSET", "h2", "f", "1"], ["EXPIRE", "h2", "100"], ["SET", "h2", "v", "KEEPTTL"],
        ["TTL", "h2"], ["GET", "h2"], ["HSET", "h3", "f", "1"], ["MSET", "h3", "v"],
        ["GET", "h3"], ["HSET", "h4", "f", "1"], ["SET", "h4", "v"], ["GET", "h4"],
    ],
    "rename and copy": [
        ["SET", "a", "1"], ["EXPIRE", "a", "100"], ["RENAME", "a", "b"], ["GET", "a"],
        ["GET", "b"], ["TTL", "b"], ["RENAME", "missing", "x"], ["RENAME", "b", "b"],
        ["RENAME", "missing", "missing"], ["SET", "c", "2"], ["RENAMENX", "b", "c"],
        ["RENAMENX", "b", "d"], ["GET", "d"], ["RENAMENX", "d", "d"], ["RENAMENX", "nope", "e"],
        ["HSET", "h", "f1", "v1", "f2", "v2"], ["PEXPIRE", "h", "100000"], ["RENAME", "h", "h2"],
        ["HGETALL", "h2"], ["TYPE", "h"], ["TYPE", "h2"], ["TTL", "h2"], ["RENAME", "c", "h2"],
        ["TYPE", "h2"], ["GET", "h2"], ["HSET", "h3", "x", "1"], ["RENAME", "h3", "d"],
        ["HGET", "d", "x"], ["INCR", "n"], ["INCRBY", "n", "4"], ["RENAME", "n", "m"],
        ["INCR", "m"], ["GET", "m"],
        ["SET", "s", "v"], ["COPY", "s", "t"], ["GET", "t"], ["COPY", "s", "t"],
        ["SET", "s", "w"], ["COPY", "s", "t", "REPLACE"], ["GET", "t"], ["COPY", "s", "s"],
        ["COPY", "none", "u"], ["COPY", "s", "u", "DB", "0"], ["COPY", "s", "u", "DB", "x"],
        ["COPY", "s", "v", "BOGUS"], ["COPY", "s", "v", "DB"], ["COPY", "s"],
        ["HSET", "hh", "a", "1"], ["EXPIRE", "hh", "50"], ["COPY", "hh", "hc"],
        ["HGETALL", "hc"], ["TTL", "hc"], ["COPY", "hh", "t", "REPLACE"], ["TYPE", "t"],
        ["HGETALL", "t"], ["COPY", "s", "t", "REPLACE"], ["TYPE", "t"], ["GET", "t"],
        ["MULTI"], ["RENAME", "s", "s2"], ["COPY", "s2", "s3"], ["EXEC"], ["MGET", "s", "s2", "s3"],
        ["RENAME", "a"], ["RENAMENX", "a"], ["BGSAVE", "BOGUS"], ["LASTSAVE", "x"], ["SAVE", "x"],
        ["SAVE"],
    ],
    "bits": [
        ["SETBIT", "b", "7", "1"], ["GET", "b"], ["SETBIT", "b", "7", "1"],
        ["SETBIT", "b", "7", "0"],
        ["SETBIT", "b", "100", "1"], ["STRLEN", "b"], ["GETBIT", "b", "100"], ["GETBIT", "b", "99"],
        ["GETBIT", "b", "100000"], ["GETBIT", "none", "3"], ["SETBIT", "b", "-1", "1"],
        ["SETBIT", "b", "x", "1"], ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "1", "-1"],
        ["SETBIT", "b", "1", "x"], ["SETBIT", "b", "4294967296", "1"], ["GETBIT", "b", "-1"],
        ["SET", "s", "foobar"], ["BITCOUNT", "s"], ["BITCOUNT", "s", "0", "0"],
        ["BITCOUNT", "s", "1", "1"], ["BITCOUNT", "s", "1", "1", "BYTE"],
        ["BITCOUNT", "s", "5", "30", "BIT"], ["BITCOUNT", "s", "-2", "-1"],
        ["BITCOUNT", "s", "-1", "-2"], ["BITCOUNT", "s", "2", "1"], ["BITCOUNT", "s", "0", "100"],
        ["BITCOUNT", "s", "-100", "-1"], ["BITCOUNT", "s", "-100", "-50"],
        ["BITCOUNT", "s", "0", "-1", "bit"], ["BITCOUNT", "s", "3", "3", "BIT"],
        ["BITCOUNT", "s", "0"], ["BITCOUNT", "s", "0", "1", "WORD"], ["BITCOUNT", "s", "a", "1"],
        ["BITCOUNT", "none"], ["BITCOUNT", "none", "0", "1"], ["BITCOUNT", "none", "x", "1"],
        ["BITCOUNT", "none", "0"], ["BITPOS", "none", "1", "x"],
        ["BITPOS", "none", "0", "0", "1", "NIBBLE"],
        ["BITPOS", "s", "1", "0", "1", "2", "3"], ["BITCOUNT", "s", "0", "1", "2", "3"],
        ["SET", "p", "\xff\xf0\x00"], ["BITPOS", "p", "0"], ["BITPOS", "p", "1"],
        ["SET", "q", "\x00\xff\xf0"], ["BITPOS", "q", "1", "0"], ["BITPOS", "q", "1", "2"],
        ["BITPOS", "q", "1", "2", "-1", "BYTE"], ["BITPOS", "q", "1", "7", "15", "BIT"],
        ["BITPOS", "q", "0", "8", "12", "BIT"], ["SET", "ones", "\xff\xff"],
        ["BITPOS", "ones", "0"], ["BITPOS", "ones", "0", "0"], ["BITPOS", "ones", "0", "0", "-1"],
        ["BITPOS", "ones", "0", "3", "BIT"], ["BITPOS", "ones", "0", "3", "15", "BIT"],
        ["BITPOS", "ones", "1", "5", "3", "BIT"], ["BITPOS", "ones", "1", "-3", "-1", "BIT"],
        ["BITPOS", "none", "0"], ["BITPOS", "none", "1"], ["BITPOS", "none", "1", "0", "5"],
        ["BITPOS", "q", "2"], ["BITPOS", "q", "x"], ["BITPOS", "q", "1", "x"],
        ["BITPOS", "q", "1", "0", "1", "NIBBLE"], ["BITPOS", "q", "0", "-1", "-2"],
        ["SET", "empty", ""], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"],
        ["BITCOUNT", "empty"], ["HSET", "h", "f", "v"], ["SETBIT", "h", "1", "1"],
        ["GETBIT", "h", "1"], ["BITCOUNT", "h"], ["BITPOS", "h", "1"],
        ["SET", "t", "x"], ["EXPIRE", "t", "100"], ["SETBIT", "t", "20", "1"], ["TTL", "t"],
        ["SET", "x1", "foobar"], ["SET", "x2", "abcdef"], ["SET", "x3", "\x0f"],
        ["BITOP", "AND", "dst", "x1", "x2"], ["GET", "dst"], ["BITOP", "or", "dst", "x1", "x3"],
        ["GET", "dst"], ["BITOP", "XOR", "dst", "x1", "x2", "x3"], ["GET", "dst"],
        ["BITOP", "NOT", "dst", "x3"], ["GET", "dst"], ["BITOP", "NOT", "dst", "x1", "x2"],
        ["BITOP", "NAND", "dst", "x1"], ["BITOP", "AND", "dst", "x1", "none"], ["GET", "dst"],
        ["EXPIRE", "dst", "100"], ["BITOP", "OR", "dst", "x1"], ["TTL", "dst"],
        ["BITOP", "OR", "dst", "none1", "none2"], ["EXISTS", "dst"],
        ["BITOP", "AND", "dst", "x1", "h"], ["BITOP", "AND", "h", "x1"], ["TYPE", "h"],
        ["BITOP", "AND", "dst"], ["BITOP", "NOT", "dst", "none"], ["EXISTS", "dst"],
    ],
    "slowlog": [
        ["CONFIG", "SET", "slowlog-log-slower-than", "-1"], ["SLOWLOG", "RESET"],
        ["SET", "k", "v"], ["SLOWLOG", "LEN"], ["SLOWLOG", "GET"], ["SLOWLOG", "GET", "x"],
        ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "1", "2"], ["SLOWLOG", "BOGUS"],
        ["SLOWLOG", "LEN", "x"], ["SLOWLOG"], ["CONFIG", "SET", "slowlog-max-len", "-1"],
        ["CONFIG", "SET", "slowlog-max-len", "x"],
        ["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
        ["CONFIG", "SET", "slowlog-max-len", "5"], ["CONFIG", "GET", "slowlog-max-len"],
        ["CONFIG", "GET", "slowlog-log-slower-than"],
        ["CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128"],
    ],
    "client kill": [
        ["CLIENT", "KILL", "USER", "default"], ["CLIENT", "KILL", "USER", "nobody"],
        ["CLIENT", "KILL", "TYPE", "normal"], ["CLIENT", "KILL", "TYPE", "pubsub"],
        ["CLIENT", "KILL", "TYPE", "bogus"], ["CLIENT", "KILL", "LADDR", "127.0.0.1:1"],
        ["CLIENT", "KILL", "MAXAGE", "10"], ["CLIENT", "KILL", "ID", "1", "USER", "default"],
        ["CLIENT", "KILL", "SKIPME", "maybe"], ["CLIENT", "KILL", "ID", "x"],
        ["CLIENT", "KILL", "ADDR", "127.0.0.1:1", "ID"],
    ],
    "config set": [
        ["CONFIG", "SET", "maxmemory", "100mb"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "MAXMEMORY", "2GB"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "maxmemory", "5000"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "maxmemory", "1.5mb"], ["CONFIG", "SET", "maxmemory", "-1"],
        ["CONFIG", "SET", "maxmemory", "10xb"], ["CONFIG", "SET", "maxmemory", ""],
        ["CONFIG", "GET", "maxmemory"], ["CONFIG", "SET", "maxmemory", "5Mb"],
        ["CONFIG", "SET", "maxmemory", "007"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "maxmemory", "+5"], ["CONFIG", "SET", "maxmemory", "0x10"],
        ["CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"],
        ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
        ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "SET", "nosuchparam", "1"],
        ["CONFIG", "SET", "maxmemory"], ["CONFIG", "SET", "maxmemory", "1", "x"],
        ["CONFIG", "SET"], ["CONFIG", "SET", "maxmemory", "0"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "maxclients", "x"], ["CONFIG", "SET", "maxclients", "0"],
        ["CONFIG", "SET", "maxclients", "5000"], ["CONFIG", "GET", "maxclients"],
        ["CONFIG", "SET", "proto-max-bulk-len", "5"],
        ["CONFIG", "SET", "proto-max-bulk-len", "2mb"], ["CONFIG", "GET", "proto-max-bulk-len"],
        ["CONFIG", "SET", "requirepass", "sesame"], ["GET", "k"],
        ["CONFIG", "SET", "requirepass", ""], ["CONFIG", "GET", "requirepass"],
        ["CONFIG", "SET", "maxclients", "10000", "proto-max-bulk-len", "512mb"],
    ],
    "binary": [
        ["SET", "\x00\xff", "\r\n\x00"], ["GET", "\x00\xff"], ["APPEND", "\x00\xff", "\x01"],
        ["STRLEN", "\x00\xff"], ["MGET", "\x00\xff", "\r\n"],
    ],
}

# inline (telnet) requests: raw bytes, compared reply by reply
INLINE = [
    b'SET greeting "hello world"\r\n', b"GET greeting\r\n", b"GET greeting\n",
    b"SET q 'it\\'s'\r\n", b"GET q\r\n", b"SET a \"\\x41\\n\"\r\n", b"GET a\r\n", b"   PING   \r\n",
    b"ECHO \"tab\\there\"\r\n", b"EXISTS greeting a q\r\n", b"nosuch  arg\r\n",
]

PROTOCOL_ERRORS = [
    b"*1\r\n$4000000000\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-7\r\n", b"*x\r\n",
    b"*2\r\n:1\r\n", b"*1\r\n$3\r\nabc" + b"\r\n*1\r\n+PING\r\n", b'SET k "oops\r\n',
    b"SET k 'a'b\r\n",
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, reference_redis):
    region = region_daemon(tmp_path_factory.mktemp("diffregion")).start()
    yield region, reference_redis
    region.stop()


def replies(port: int, script) -> list[bytes]:
    conn = RawConnection(port)
    assert conn.call("FLUSHALL") == b"+OK\r\n"
    out = []
    for command in script:
        out.append(conn.call(*[a.encode("latin-1") for a in command]))
    conn.close()
    return out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_same_replies_as_redis(servers, name):
    region, reference = servers
    script = SCRIPTS[name]
    expected = replies(reference.port, script)
    actual = replies(region.port, script)
    for command, want, got in zip(script, expected, actual, strict=True):
        assert got == want, f"{command}: redis said {want!r}, region said {got!r}"


def test_same_replies_to_inline_commands(servers):
    region, reference = servers
    results = []
    for port in (reference.port, region.port):
        conn = RawConnection(port)
        conn.call("FLUSHALL")
        got = []
        for line in INLINE:
            conn.send(line)
            got.append(conn.read_reply())
        results.append(got)
        conn.close()
    for line, want, got in zip(INLINE, *results, strict=True):
        assert got == want, f"{line!r}: redis said {want!r}, region said {got!r}"


@pytest.mark.parametrize("data", PROTOCOL_ERRORS)
def test_same_protocol_errors_and_both_close(servers, data):
    region, reference = servers
    results = []
    for port in (reference.port, region.port):
        conn = RawConnection(port)
        conn.send(data)
        results.append(conn.read_reply())
        assert conn.closed_by_peer(), f"port {port} kept the connection open"
    assert results[1] == results[0]


STATS_SCRIPT = [
    ["SET", "k", "v"], ["GET", "k"], ["GET", "k"], ["GET", "missing"], ["INCR", "k"],
    ["INCR", "n"], ["GET"], ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "EX", "x"],
    ["EXPIRE", "k"], ["DEL", "k", "n"], ["NOSUCH", "a"], ["MGET", "a", "b"],
]


def command_and_error_stats(port: int) -> tuple[dict, dict]:
    """After CONFIG RESETSTAT and STATS_SCRIPT: each script command's (calls,
    rejected_calls, failed_calls), and errorstats."""
    conn = RawConnection(port)
    conn.call("FLUSHALL")
    conn.call("CONFIG", "RESETSTAT")
    for command in STATS_SCRIPT:
        conn.call(*command)
    info = conn.call("INFO", "commandstats", "errorstats").decode()
    conn.close()
    names = {c[0].lower() for c in STATS_SCRIPT}
    commands, errors = {}, {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields = dict(item.split("=") for item in value.split(",")) if "=" in value else {}
        if key.startswith("cmdstat_") and key[8:] in names:
            commands[key[8:]] = tuple(int(fields[f]) for f in
                                      ("calls", "rejected_calls", "failed_calls"))
        elif key.startswith("errorstat_"):
            errors[key[10:]] = int(fields["count"])
    return commands, errors


def test_same_commandstats_and_errorstats_as_redis(servers):
    """Calls, rejected calls (arity), failed calls (errors while running) and
    errors by code, as Redis 7 counts them."""
    region, reference = servers
    expected = command_and_error_stats(reference.port)
    assert expected[0]["get"] == (3, 1, 0) and expected[0]["incr"] == (2, 0, 1)
    assert command_and_error_stats(region.port) == expected


def test_object_freq_says_what_redis_says_but_not_advice_geolru_cannot_take(servers):
    """Redis adds that switching policies at run time takes a while: a region's
    policy is allkeys-lru and CONFIG SET cannot change it (docs/commands.md)."""
    region, reference = servers
    replies = []
    for port in (region.port, reference.port):
        conn = RawConnection(port)
        conn.call("SET", "n", "1")
        replies.append(conn.call("OBJECT", "FREQ", "n"))
        conn.close()
    ours, theirs = replies
    same = b"-ERR An LFU maxmemory policy is not selected, access frequency not tracked."
    assert ours.startswith(same) and theirs.startswith(same)
    assert b"switching between policies" in theirs and b"switching" not in ours
    assert b"allkeys-lru" in ours


def test_slowlog_entries_are_made_as_redis_makes_them(servers):
    """With slowlog-log-slower-than 0 every command is an entry: the same fields in the
    same order, arguments cut as Redis cuts them, passwords redacted, EXEC left out."""
    entries = []
    for daemon in servers:
        conn = RawConnection(daemon.port)
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.call("SLOWLOG", "RESET")
        conn.call("SET", "long", "x" * 200)
        conn.call("MSET", *[f"k{i}" for i in range(40)])
        conn.call("AUTH", "nobody", "wrong")  # (an error either way: no password is set)
        for command in (["MULTI"], ["SET", "in", "multi"], ["EXEC"]):
            conn.call(*command)
        entries.append(conn.call("SLOWLOG", "GET", "-1"))
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.close()
    ours, theirs = (parse_resp(reply) for reply in entries)
    assert [entry[3] for entry in ours] == [entry[3] for entry in theirs]  # as kept
    assert [len(entry) for entry in ours] == [len(entry) for entry in theirs]
    assert ours[-3][3] == ["MSET", *[f"k{i}" for i in range(30)], "... (10 more arguments)"]
    assert ours[2][3] == ["AUTH", "(redacted)", "(redacted)"]


def monitored(port: int) -> list[bytes]:
    """What a MONITOR connection sees while another runs ``MONITOR_SCRIPT``, then
    sends two commands itself; timestamps and client addresses taken out."""
    monitor = RawConnection(port)
    assert monitor.call("MONITOR") == b"+OK\r\n"
    client = RawConnection(port)
    for command in MONITOR_SCRIPT:
        client.call(*command)
    client.close()
    monitor.send(encode_command("GET", "k") + encode_command("PING"))
    seen = b""
    while not seen.endswith(b'"PING"\r\n'):  # (its own PING comes after its reply)
        seen += monitor.read_reply()
    monitor.close()
    return [re.sub(rb"^\+[0-9.]+ \[0 [0-9.:]+\] ", b"", line)
            for line in seen.split(b"\r\n")[:-1]]


MONITOR_SCRIPT = [
    ["SET", "a b", 'x"y\x01\\\n\t\xff'], ["CONFIG", "GET", "maxmemory"], ["MULTI"],
    ["SET", "q", "1"], ["EXEC"], ["AUTH", "pw"], ["HELLO", "2", "AUTH", "u", "p"],
    ["CLIENT", "LIST"], ["CLIENT", "GETNAME"], ["GET", "q"], ["nosuch"], ["GET"],
    ["SLOWLOG", "LEN"], ["DEL", "q", "a b"], ["TYPE", "q"],
]


def test_monitor_shows_what_redis_shows(servers):
    """Every command another client ran, but admin ones and those refused before
    running, quoted as Redis quotes them, passwords redacted; a monitor reads no key."""
    region, reference = servers
    assert monitored(region.port) == monitored(reference.port)


def info_shape(port: int, *sections: str) -> list[str]:
    """The layout of an INFO reply: its header, field and blank lines in order (runs
    of field lines as one), down to the CRLFs."""
    conn = RawConnection(port)
    reply = conn.call("INFO", *sections)
    conn.close()
    body = reply.split(b"\r\n", 1)[1][:-2]  # the bulk's payload
    shape = []
    for line in body.split(b"\r\n"):
        kind = "header" if line.startswith(b"# ") else "blank" if not line else "fields"
        if not (kind == "fields" and shape and shape[-1] == "fields"):
            shape.append(kind)
    return shape


@pytest.mark.parametrize("sections", [("server",), ("server", "clients", "memory")])
def test_info_sections_are_laid_out_as_redis_lays_them_out(servers, sections):
    """One blank line between sections, one CRLF after the last (README: byte for
    byte); INFO's default sections differ (geolru has no Keyspace section, say), but
    not their layout."""
    region, reference = servers
    assert info_shape(region.port, *sections) == info_shape(reference.port, *sections)
    for port in (region.port, reference.port):  # (a section may have no fields)
        shape = [kind for kind in info_shape(port) if kind != "fields"]
        assert shape == ["header", "blank"] * (len(shape) // 2), port


def test_redis_py_default_pipeline_is_a_transaction(servers):
    """redis-py's pipeline() wraps its commands in MULTI/EXEC: three INCRs give three
    replies, once each, on both servers."""
    for daemon in servers:
        r = daemon.client()
        r.delete("pc")
        pipe = r.pipeline()
        pipe.incr("pc").incr("pc").incr("pc")
        assert pipe.execute() == [1, 2, 3]
        assert r.get("pc") == b"3"


def test_a_watch_race_aborts_the_transaction_on_both(servers):
    """redis-py's optimistic locking: another client's write between WATCH and EXEC
    makes EXEC answer nil (WatchError), and a retry succeeds."""
    for daemon in servers:
        r, other = daemon.client(), daemon.client()
        r.set("balance", 10)
        pipe = r.pipeline()
        pipe.watch("balance")
        balance = int(pipe.get("balance"))
        other.set("balance", 100)  # the race
        pipe.multi()
        pipe.set("balance", balance - 1)
        with pytest.raises(redis.WatchError):
            pipe.execute()
        assert r.get("balance") == b"100"

        def debit(pipe):
            value = int(pipe.get("balance"))
            pipe.multi()
            pipe.set("balance", value - 1)
        r.transaction(debit, "balance")
        assert r.get("balance") == b"99"


def test_command_info_and_docs_say_what_redis_says(servers):
    """COMMAND INFO byte for byte, and COMMAND DOCS but for the prose (summaries are
    geolru's own), as redis-server 7 says them, for every command a region shares
    with Redis (and the subcommands it implements)."""
    from geolru.commands.docs import (
        NEWER_OPTIONS,
        OWN_FACTS,
        parse_resp,
        strip_docs,
        strip_info,
    )
    from geolru.commands.specs import SPECS
    region, reference = servers
    ours, theirs = RawConnection(region.port), RawConnection(reference.port)

    def own_only(tree, extra="client|setinfo"):  # (Redis 7.2's, not 7.0's)
        if isinstance(tree, list):
            out, skip = [], False
            for item in tree:
                if skip:
                    skip = False
                    continue
                if item == extra:
                    skip = True
                    continue
                if isinstance(item, list) and item and item[0] == extra:
                    continue
                out.append(own_only(item, extra))
            return out
        return tree

    def as_in_7_0(name, info, docs):  # (a 7.2 option a region takes, undone)
        if name in NEWER_OPTIONS:
            (then, _), argument = NEWER_OPTIONS[name]
            info[1] = then
            arguments = docs[docs.index("arguments") + 1]
            arguments.remove(argument)
        return info, docs

    for name in (n for n in SPECS if n not in OWN_FACTS):
        info = [parse_resp(c.call(b"COMMAND", b"INFO", name.encode()))[0]
                for c in (ours, theirs)]
        docs = [parse_resp(c.call(b"COMMAND", b"DOCS", name.encode())) for c in (ours, theirs)]
        as_in_7_0(name, info[0], docs[0][1])
        assert own_only(info[0]) == strip_info(name, info[1]), name
        assert own_only(strip_docs(name, docs[0][1])) == strip_docs(name, docs[1][1]), name
        assert docs[0][1][:2] == ["summary", docs[0][1][1]] and docs[0][1][1]
    assert int(ours.call(b"COMMAND", b"COUNT")[1:-2]) == len(SPECS)


# ------------------------------------------------------------ random sequences

KEYS_ = ["a", "b", "c"]
VALUES = ["0", "1", "10", "-3", "abc", "", "1.5", "9223372036854775807", "x" * 50]
FLOATS = ["1.5", "-0.25", "3", "1e3", "0.1", "-10"]


def _commands():
    from hypothesis import strategies as st
    key, value, n = st.sampled_from(KEYS_), st.sampled_from(VALUES), st.integers(-5, 20)
    field = st.sampled_from(["f", "g", "h"])
    member = st.sampled_from(["1", "2", "10", "-3", "m", "n"])
    seconds = st.sampled_from(["100", "1000", "50"])
    set_options = st.lists(st.sampled_from(
        [["NX"], ["XX"], ["GET"], ["EX", "100"], ["PX", "500000"], ["KEEPTTL"]]), max_size=2)
    return st.one_of(
        st.tuples(st.just("SET"), key, value, set_options).map(
            lambda t: [t[0], t[1], t[2], *(w for o in t[3] for w in o)]),
        st.tuples(st.sampled_from(["GET", "DEL", "EXISTS", "INCR", "DECR", "STRLEN", "TTL",
                                   "PERSIST", "GETDEL", "TYPE", "WATCH"]), key).map(list),
        st.tuples(st.sampled_from(["INCRBY", "DECRBY"]), key, n.map(str)).map(list),
        st.tuples(st.just("INCRBYFLOAT"), key, st.sampled_from(FLOATS)).map(list),
        st.tuples(st.sampled_from(["APPEND", "GETSET", "SETNX"]), key, value).map(list),
        st.tuples(st.just("GETRANGE"), key, n.map(str), n.map(str)).map(list),
        st.tuples(st.just("SETRANGE"), key, st.integers(0, 8).map(str), value).map(list),
        st.tuples(st.just("EXPIRE"), key, seconds,
                  st.sampled_from([[], ["NX"], ["XX"], ["GT"], ["LT"]])).map(
            lambda t: [t[0], t[1], t[2], *t[3]]),
        st.tuples(st.just("MGET"), key, key).map(list),
        st.tuples(st.sampled_from(["MSET", "MSETNX"]), key, value, key, value).map(list),
        st.sampled_from([["MULTI"], ["EXEC"], ["DISCARD"], ["UNWATCH"], ["INCR"],
                         ["NOSUCH", "a"]]),
        # hashes, on the same keys: every WRONGTYPE path is a draw away
        st.tuples(st.sampled_from(["HSET", "HSETNX"]), key, field, value).map(list),
        st.tuples(st.just("HSET"), key, field, value, field, value).map(list),
        st.tuples(st.sampled_from(["HGET", "HDEL", "HEXISTS", "HSTRLEN"]), key,
                  field).map(list),
        st.tuples(st.sampled_from(["HGETALL", "HLEN", "HKEYS", "HVALS"]), key).map(list),
        st.tuples(st.just("HINCRBY"), key, field, n.map(str)).map(list),
        st.tuples(st.just("HINCRBYFLOAT"), key, field, st.sampled_from(FLOATS)).map(list),
        st.tuples(st.just("HMGET"), key, field, field).map(list),
        # sets, on the same keys, of numbers and words
        st.tuples(st.sampled_from(["SADD", "SREM", "SISMEMBER", "SMISMEMBER"]), key, member,
                  st.lists(member, max_size=2)).map(lambda t: [t[0], t[1], t[2], *t[3]]),
        st.tuples(st.sampled_from(["SMEMBERS", "SCARD"]), key).map(list),
        st.tuples(st.sampled_from(["SINTER", "SUNION", "SDIFF"]), key, key).map(list),
        st.tuples(st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key, key,
                  key).map(list),
        st.tuples(st.just("SMOVE"), key, key, member).map(list),
        st.tuples(st.just("SINTERCARD"), st.just("2"), key, key).map(list),
        # sorted sets, likewise
        st.tuples(st.just("ZADD"), key, st.lists(st.sampled_from(
            [["NX"], ["XX"], ["GT"], ["LT"], ["CH"]]), max_size=2),
                  st.sampled_from(FLOATS + ["inf", "-inf"]), member).map(
            lambda t: [t[0], t[1], *(w for o in t[2] for w in o), t[3], t[4]]),
        st.tuples(st.just("ZINCRBY"), key, st.sampled_from(FLOATS), member).map(list),
        st.tuples(st.sampled_from(["ZREM", "ZSCORE", "ZRANK", "ZREVRANK"]), key,
                  member).map(list),
        st.tuples(st.just("ZRANGE"), key, n.map(str), n.map(str),
                  st.sampled_from([[], ["WITHSCORES"], ["REV", "WITHSCORES"]])).map(
            lambda t: [t[0], t[1], t[2], t[3], *t[4]]),
        st.tuples(st.just("ZRANGEBYSCORE"), key, st.sampled_from(["-inf", "(1", "0"]),
                  st.sampled_from(["+inf", "3", "(10"]), st.just("WITHSCORES")).map(list),
        st.tuples(st.sampled_from(["ZCARD", "ZMSCORE"]), key).map(list),
        # lists, likewise
        st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), key, member,
                  st.lists(member, max_size=2)).map(lambda t: [t[0], t[1], t[2], *t[3]]),
        st.tuples(st.sampled_from(["LPOP", "RPOP"]), key,
                  st.sampled_from([[], ["0"], ["1"], ["3"]])).map(
            lambda t: [t[0], t[1], *t[2]]),
        st.tuples(st.sampled_from(["LRANGE", "LTRIM"]), key, n.map(str), n.map(str)).map(list),
        st.tuples(st.sampled_from(["LINDEX"]), key, n.map(str)).map(list),
        st.tuples(st.just("LSET"), key, n.map(str), member).map(list),
        st.tuples(st.just("LINSERT"), key, st.sampled_from(["BEFORE", "AFTER"]), member,
                  member).map(list),
        st.tuples(st.just("LREM"), key, st.integers(-2, 2).map(str), member).map(list),
        st.tuples(st.just("LPOS"), key, member, st.sampled_from(
            [[], ["RANK", "-1"], ["COUNT", "0"], ["RANK", "2", "COUNT", "1"]])).map(
            lambda t: [t[0], t[1], t[2], *t[3]]),
        st.tuples(st.just("LMOVE"), key, key, st.sampled_from(["LEFT", "RIGHT"]),
                  st.sampled_from(["LEFT", "RIGHT"])).map(list),
        st.tuples(st.just("LLEN"), key).map(list),
    )


UNORDERED = ("SMEMBERS", "SINTER", "SUNION", "SDIFF")  # a set of Redis' hash table's order


def _same(command, want: bytes, got: bytes) -> bool:
    """Byte for byte, but for time to live, which moves between the two calls, and
    the order of a set's members, which is Redis' hash table's (an intset's is
    numeric: the scripts check that one byte for byte)."""
    if command[0] in UNORDERED and want.startswith(b"*") and got.startswith(b"*"):
        return sorted(want.split(b"\r\n")) == sorted(got.split(b"\r\n"))
    if command[0] == "TTL" and want.startswith(b":") and got.startswith(b":"):
        a, b = int(want[1:-2]), int(got[1:-2])
        return a == b or (a >= 0 and b >= 0 and abs(a - b) <= 2)
    return want == got


def _read(conn, count: int) -> bytes:
    """The raw bytes of exactly ``count`` replies (or pushed messages)."""
    import hiredis
    reader, raw, got = hiredis.Reader(), b"", 0
    while got < count:
        chunk = conn.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {raw!r}")
        raw += chunk
        reader.feed(chunk)
        while got < count and reader.gets() is not False:
            got += 1
    return raw


# (who sends, the command, how many replies it gets there, and messages the subscriber
# then reads); "s" the subscriber's connection, "p" the publisher's
PUBSUB_SCRIPT = [
    ("s", ["SUBSCRIBE", "a", "b", "a"], 3, 0), ("s", ["PSUBSCRIBE", "n*", "x?"], 2, 0),
    ("s", ["PING"], 1, 0), ("s", ["PING", "hi"], 1, 0), ("s", ["GET", "x"], 1, 0),
    ("s", ["SET", "x", "1"], 1, 0), ("s", ["MULTI"], 1, 0), ("s", ["CLIENT", "INFO"], 1, 0),
    ("s", ["CONFIG", "GET", "maxclients"], 1, 0),
    ("p", ["PUBLISH", "a", "hello"], 1, 1), ("p", ["PUBLISH", "news", "x"], 1, 1),
    ("p", ["PUBLISH", "xy", "both?"], 1, 1), ("p", ["PUBLISH", "nope", "x"], 1, 0),
    ("p", ["PUBSUB", "NUMSUB", "a", "b", "c"], 1, 0), ("p", ["PUBSUB", "NUMSUB"], 1, 0),
    ("p", ["PUBSUB", "NUMPAT"], 1, 0), ("p", ["PUBSUB", "CHANNELS", "a*"], 1, 0),
    ("p", ["PUBSUB", "CHANNELS", "z*"], 1, 0), ("p", ["PUBSUB", "FOO"], 1, 0),
    ("p", ["PUBSUB", "NUMPAT", "x"], 1, 0), ("p", ["PUBSUB", "CHANNELS", "a", "b"], 1, 0),
    ("p", ["PUBSUB", "HELP"], 1, 0), ("p", ["OBJECT", "HELP"], 1, 0),
    ("p", ["PUBSUB", "SHARDCHANNELS"], 1, 0),
    ("p", ["PUBSUB", "SHARDNUMSUB", "a"], 1, 0), ("p", ["PUBLISH", "a"], 1, 0),
    ("p", ["SUBSCRIBE"], 1, 0),
    ("s", ["UNSUBSCRIBE", "a", "zz"], 2, 0), ("s", ["UNSUBSCRIBE"], 1, 0),
    ("s", ["PUNSUBSCRIBE", "x?"], 1, 0), ("s", ["PUNSUBSCRIBE"], 1, 0),
    ("s", ["UNSUBSCRIBE"], 1, 0), ("s", ["PUNSUBSCRIBE"], 1, 0), ("s", ["PING"], 1, 0),
    ("s", ["GET", "x"], 1, 0), ("p", ["PUBLISH", "a", "gone"], 1, 0),
]


def test_pubsub_replies_and_messages_are_redis_own(servers):
    """A subscriber and a publisher, at the region and at redis-server: the same
    confirmations, messages (pattern ones too), subscriber-mode refusals, PUBSUB
    introspection and errors, byte for byte (RESP2)."""
    region, reference = servers
    seen = {}
    for name, server in (("region", region), ("redis", reference)):
        conns = {"s": RawConnection(server.port), "p": RawConnection(server.port)}
        assert conns["p"].call("FLUSHALL") == b"+OK\r\n"
        out = []
        for who, command, replies, messages in PUBSUB_SCRIPT:
            conns[who].send(encode_command(*[a.encode() for a in command]))
            out.append(_read(conns[who], replies))
            if messages:
                out.append(_read(conns["s"], messages))
        for conn in conns.values():
            conn.close()
        seen[name] = out
    steps = [step for step in PUBSUB_SCRIPT for _ in range(1 + bool(step[3]))]
    for step, want, got in zip(steps, seen["redis"], seen["region"], strict=True):
        assert got == want, f"{step}: redis said {want!r}, region said {got!r}"


NOTIFIED_SCRIPT = [
    ["SET", "s", "1"], ["SET", "s", "2", "EX", "100"], ["SETEX", "t", "100", "x"],
    ["SETNX", "s", "3"], ["SETNX", "u", "3"], ["APPEND", "s", "x"], ["INCR", "n"],
    ["INCRBYFLOAT", "n", "1.5"], ["SETRANGE", "s", "0", "y"], ["GETDEL", "u"],
    ["GETDEL", "u"], ["MSET", "a", "1", "b", "2"], ["DEL", "a", "b", "zz"],
    ["EXPIRE", "s", "100"], ["PERSIST", "s"], ["PERSIST", "s"], ["EXPIRE", "t", "0"],
    ["RENAME", "s", "s2"], ["COPY", "s2", "s3"], ["HSET", "h", "f", "1", "g", "2"],
    ["HDEL", "h", "f"], ["HDEL", "h", "nope"], ["HINCRBY", "h", "i", "3"],
    ["HDEL", "h", "g", "i"], ["SADD", "st", "a", "b"], ["SADD", "st", "a"],
    ["SREM", "st", "a"], ["SREM", "st", "zz"], ["SMOVE", "st", "st2", "b"],
    ["SADD", "x1", "1", "2"], ["SADD", "x2", "2"], ["SINTERSTORE", "x3", "x1", "x2"],
    ["SINTERSTORE", "x3", "x1", "nope"], ["SADD", "one", "m"], ["SPOP", "one"],
    ["ZADD", "z", "1", "a", "2", "b"],
    ["ZINCRBY", "z", "1", "a"], ["ZREM", "z", "a"], ["ZPOPMIN", "z"],
    ["RPUSH", "l", "a", "b", "c"], ["LPUSH", "l", "z"], ["LPOP", "l"], ["RPOP", "l", "2"],
    ["LINSERT", "l", "BEFORE", "a", "q"], ["LSET", "l", "0", "w"], ["LREM", "l", "0", "w"],
    ["LPUSHX", "nope", "a"], ["RPUSH", "m", "1"], ["LMOVE", "m", "m2", "LEFT", "RIGHT"],
    ["RPOPLPUSH", "m2", "m3"], ["LTRIM", "m3", "5", "6"], ["PFADD", "hll", "a"],
    ["SETBIT", "bits", "3", "1"], ["GEOADD", "g", "1", "1", "p"],
    ["RPUSH", "q1", "a", "b"], ["LMPOP", "2", "q0", "q1", "RIGHT", "COUNT", "2"],
    ["RPUSH", "q2", "a"], ["BLPOP", "q0", "q2", "0"], ["RPUSH", "q3", "a", "b"],
    ["BRPOP", "q3", "0"], ["ZADD", "zz", "1", "a", "2", "b"],
    ["ZMPOP", "1", "zz", "MAX"], ["BZPOPMIN", "zz", "0"], ["ZADD", "zz", "INCR", "5", "c"],
    ["SET", "gx", "1"], ["GETEX", "gx", "EX", "100"], ["GETEX", "gx", "PERSIST"],
    ["GETEX", "gx"], ["GETEX", "nope", "EX", "5"], ["RPUSH", "bm", "1", "2"],
    ["BLMOVE", "bm", "bm2", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "bm", "bm2", "0"],
    ["FLUSHALL"],
]


def test_keyspace_notifications_are_redis_own(servers):
    """With notify-keyspace-events KEA (and n), a subscriber to every keyspace and
    keyevent channel sees, after each write, the events redis-server fires for it,
    in its order, byte for byte."""
    region, reference = servers
    seen = {}
    for name, server in (("region", region), ("redis", reference)):
        writer, listener = RawConnection(server.port), RawConnection(server.port)
        assert writer.call("FLUSHALL") == b"+OK\r\n"
        assert writer.call("CONFIG", "SET", "notify-keyspace-events", "KEAn") == b"+OK\r\n"
        out = [writer.call("CONFIG", "GET", "notify-keyspace-events"),
               writer.call("CONFIG", "SET", "notify-keyspace-events", "KEq")]
        listener.send(encode_command("PSUBSCRIBE", "__key*__:*"))
        _read(listener, 1)
        for command in NOTIFIED_SCRIPT:
            out.append(writer.call(*[a.encode() for a in command]))
            listener.send(encode_command("PING", "end"))
            events = b""
            while not events.endswith(b"*2\r\n$4\r\npong\r\n$3\r\nend\r\n"):
                events += _read(listener, 1)
            out.append(events)
        writer.call("CONFIG", "SET", "notify-keyspace-events", "")
        out.append(writer.call("CONFIG", "GET", "notify-keyspace-events"))
        writer.close()
        listener.close()
        seen[name] = out
    steps = [["CONFIG GET"], ["CONFIG SET KEq"]] + [
        c for c in NOTIFIED_SCRIPT for _ in (0, 1)] + [["CONFIG GET"]]
    for step, want, got in zip(steps, seen["redis"], seen["region"], strict=True):
        assert got == want, f"{step}: redis said {want!r}, region said {got!r}"


def test_client_tracking_invalidates_as_redis_does(servers):
    """Client-side caching, at the region and at redis-server: RESP3 invalidation
    pushes (default mode, OPTIN with CACHING, BCAST with prefixes, NOLOOP, FLUSHALL's
    null), RESP2 redirection to a subscriber of __redis__:invalidate, TRACKINGINFO,
    GETREDIR and every error, byte for byte."""
    region, reference = servers
    seen = {}
    for name, server in (("region", region), ("redis", reference)):
        t, w, r = (RawConnection(server.port) for _ in range(3))
        assert w.call("FLUSHALL") == b"+OK\r\n"
        t.call("HELLO", "3")
        rid = r.call("CLIENT", "ID")[1:-2]
        out = [t.call("CLIENT", "TRACKINGINFO"), t.call("CLIENT", "GETREDIR"),
               t.call("CLIENT", "CACHING", "yes"), t.call("CLIENT", "TRACKING", "on"),
               t.call("CLIENT", "TRACKINGINFO"), t.call("GET", "k"),
               t.call("MGET", "a", "b"), w.call("SET", "k", "1"), _read(t, 1),
               w.call("SET", "k", "2"), w.call("MSET", "a", "1", "b", "2"), _read(t, 2),
               t.call("GET", "k"), t.call("SET", "k", "3"),  # (its own write: after)
               t.call("CLIENT", "TRACKING", "on", "BCAST"),
               t.call("CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
               t.call("CLIENT", "TRACKING", "on", "PREFIX", "x"),
               t.call("CLIENT", "TRACKING", "maybe"), t.call("CLIENT", "TRACKING", "on", "X"),
               t.call("CLIENT", "TRACKING", "on", "REDIRECT", "999999"),
               t.call("CLIENT", "TRACKING", "on", "REDIRECT", "x"),
               t.call("CLIENT", "TRACKING", "off"), t.call("CLIENT", "TRACKING", "on", "OPTIN"),
               t.call("CLIENT", "CACHING", "no"), t.call("CLIENT", "CACHING", "maybe"),
               t.call("GET", "x1"), t.call("CLIENT", "CACHING", "yes"),
               t.call("CLIENT", "TRACKINGINFO"), t.call("GET", "x2"),
               w.call("SET", "x1", "1"), w.call("SET", "x2", "1"), _read(t, 1),
               t.call("CLIENT", "TRACKING", "off"),
               t.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "us"),
               t.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "o:",
                      "NOLOOP"),
               t.call("CLIENT", "TRACKINGINFO"), w.call("SET", "user:1", "x"), _read(t, 1),
               t.call("SET", "o:1", "mine"), w.call("SET", "other", "x"),
               w.call("SET", "o:2", "x"), _read(t, 1), w.call("FLUSHALL"), _read(t, 1),
               t.call("CLIENT", "TRACKING", "off"), t.call("CLIENT", "TRACKING"),
               t.call("CLIENT", "CACHING"), t.call("CLIENT", "GETREDIR", "x"),
               t.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "a"),
               t.call("CLIENT", "TRACKING", "on", "BCAST"),
               t.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b"),
               t.call("CLIENT", "TRACKING", "off"), t.call("CLIENT", "TRACKING", "on"),
               t.call("MULTI"), t.call("SET", "m", "1"), t.call("GET", "m"),
               t.call("EXEC"), w.call("SET", "m", "2"), _read(t, 1),
               t.call("CLIENT", "TRACKING", "off"),
               t.call("CLIENT", "TRACKING", "on", "OPTIN"), t.call("CLIENT", "CACHING", "yes"),
               t.call("MULTI"), t.call("GET", "o1"), t.call("GET", "o2"), t.call("EXEC"),
               w.call("MSET", "o1", "1", "o2", "2"), _read(t, 2),
               t.call("CLIENT", "TRACKING", "off")]
        r.send(encode_command("SUBSCRIBE", "__redis__:invalidate"))
        out.append(_read(r, 1))
        out += [w.call("CLIENT", "TRACKING", "on", "REDIRECT", rid.decode()),
                w.call("CLIENT", "GETREDIR").replace(b":%s\r\n" % rid, b":ID\r\n"),
                w.call("GET", "z"),
                t.call("SET", "z", "1"), _read(r, 1), w.call("GET", "z"),
                t.call("FLUSHALL"), _read(r, 1)]
        r.close()
        out += [w.call("GET", "z"), t.call("SET", "z", "2"),
                w.call("CLIENT", "TRACKINGINFO").replace(b":%s\r\n" % rid, b":ID\r\n")]
        for conn in (t, w):
            conn.close()
        seen[name] = out
    for at, (want, got) in enumerate(zip(seen["redis"], seen["region"], strict=True)):
        assert got == want, f"step {at}: redis said {want!r}, region said {got!r}"


def test_random_geo_searches_match_redis(servers):
    """Points in clusters (two near the poles, one across the antimeridian) and searches
    of every form and reach, from a meter to the half of the Earth: the region finds
    what redis-server finds, in its order (the order of its cells when nothing sorts),
    with the same distances, hashes and coordinates."""
    region, reference = servers
    rng = random.Random(20261207)
    centres = [(13.4, 38.1), (-73.6, 45.5), (103.8, 1.35), (179.9, -16.5), (0, 84.5),
               (-60, -80), (2.35, 48.86)]
    script = []
    for n in range(400):
        x, y = rng.choice(centres)
        spread = rng.choice([0.01, 0.5, 5.0])
        script.append(["GEOADD", "pts", "%.6f" % max(-180, min(180, x + rng.gauss(0, spread))),
                       "%.6f" % max(-85, min(85, y + rng.gauss(0, spread))), f"p{n}"])
    for _ in range(600):
        x, y = rng.choice(centres)
        x, y = "%.5f" % max(-180, min(180, x + rng.gauss(0, 1))), "%.5f" % (y + rng.gauss(0, .3))
        unit = rng.choice(["m", "km", "mi", "ft"])
        size = "%g" % (rng.choice([1, 50, 500, 5000, 20000]) * 1000
                       / {"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048}[unit]
                       * rng.uniform(0.2, 1))
        options = rng.sample(["WITHDIST", "WITHHASH", "WITHCOORD"], rng.randint(0, 3))
        options += rng.choice([[], ["ASC"], ["DESC"], ["COUNT", "5"], ["COUNT", "3", "ANY"],
                               ["COUNT", "7", "DESC"]])
        if rng.random() < 0.5:
            script.append(["GEORADIUS", "pts", x, y, size, unit, *options])
        else:
            where = ["FROMLONLAT", x, y] if rng.random() < 0.7 \
                else ["FROMMEMBER", f"p{rng.randrange(400)}"]
            shape = ["BYRADIUS", size, unit] if rng.random() < 0.5 \
                else ["BYBOX", size, "%g" % (float(size) * rng.uniform(0.3, 3)), unit]
            script.append(["GEOSEARCH", "pts", *where, *shape, *options])
    expected = replies(reference.port, script)
    actual = replies(region.port, script)
    found = 0
    for command, want, got in zip(script, expected, actual, strict=True):
        assert got == want, f"{command}: redis said {want!r}, region said {got!r}"
        found += command[0] != "GEOADD" and want != b"*0\r\n"
    assert found > 400  # (most searches find something)


def test_random_command_sequences_match_redis(servers):
    """Hypothesis writes command sequences over strings, counters, floats, ranges,
    hashes, TTLs and transactions (MULTI/EXEC/DISCARD/WATCH, rejected commands inside); the
    region answers each as redis-server does, byte for byte (a TTL within 2 s)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    region, reference = servers

    @settings(max_examples=200, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_commands(), min_size=1, max_size=25))
    def check(script):
        expected = replies(reference.port, script)
        actual = replies(region.port, script)
        for command, want, got in zip(script, expected, actual, strict=True):
            assert _same(command, want, got), \
                f"{command} in {script}: redis said {want!r}, region said {got!r}"

    check()


# ------------------------------------------------------------ cluster mode

CLUSTER_SCRIPT = [
    ["SET", "foo", "1"], ["SET", "bar", "2"], ["CLUSTER", "KEYSLOT", "foo"],
    ["CLUSTER", "KEYSLOT", "{foo}x"], ["CLUSTER", "KEYSLOT", ""], ["CLUSTER", "KEYSLOT", "{}"],
    ["CLUSTER", "KEYSLOT", "a{b}c{d}"], ["CLUSTER", "COUNTKEYSINSLOT", "12182"],
    ["CLUSTER", "COUNTKEYSINSLOT", "0"], ["CLUSTER", "COUNTKEYSINSLOT", "16384"],
    ["CLUSTER", "COUNTKEYSINSLOT", "-1"], ["CLUSTER", "COUNTKEYSINSLOT", "x"],
    ["CLUSTER", "GETKEYSINSLOT", "12182", "10"], ["CLUSTER", "GETKEYSINSLOT", "12182", "0"],
    ["CLUSTER", "GETKEYSINSLOT", "12182", "-1"], ["CLUSTER", "GETKEYSINSLOT", "16384", "1"],
    ["CLUSTER", "GETKEYSINSLOT", "1"], ["CLUSTER", "KEYSLOT"], ["CLUSTER", "KEYSLOT", "a", "b"],
    ["CLUSTER", "NOPE"], ["CLUSTER", "MYID", "x"], ["MGET", "foo", "bar"],
    ["MSET", "foo", "1", "bar", "2"], ["DEL", "foo", "bar"], ["EXISTS", "foo", "bar"],
    ["MGET", "{foo}", "{foo}x"], ["RENAME", "foo", "bar"], ["READONLY"], ["READWRITE"],
    ["ASKING"], ["MULTI"], ["SET", "foo", "3"], ["SET", "bar", "4"], ["EXEC"],
    ["GET", "foo"], ["MULTI"], ["SET", "{a}1", "1"], ["SET", "{a}2", "2"], ["EXEC"],
    ["WATCH", "foo", "bar"], ["INFO", "cluster"], ["GEOADD", "{g}a", "1", "1", "p"],
    ["GEORADIUS", "{g}a", "1", "1", "10", "km", "STORE", "{g}b"],
    ["GEORADIUS", "{g}a", "1", "1", "10", "km", "STOREDIST", "elsewhere"],
    ["GEOSEARCHSTORE", "elsewhere", "{g}a", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
    ["GEORADIUSBYMEMBER", "{g}a", "store", "10", "km"],
]


@pytest.fixture(scope="module")
def cluster_servers(tmp_path_factory):
    """A region in cluster mode (one shard: every slot) and redis-server in cluster
    mode serving every slot."""
    from support import bus_ports, redis_server, wait_until
    work = tmp_path_factory.mktemp("clusterdiff")
    reference = redis_server(work, "--cluster-enabled", "yes",
                             "--cluster-config-file", str(work / "nodes.conf"),
                             port=bus_ports(1)[0]).start()
    region = region_daemon(tmp_path_factory.mktemp("clusterregion"),
                           cluster_enabled="yes").start()
    try:
        conn = RawConnection(reference.port)
        assert conn.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383") == b"+OK\r\n"
        wait_until(lambda: b"cluster_state:ok" in conn.call("CLUSTER", "INFO"), 15,
                   what="redis-server's cluster to be ok")
        yield region, reference
    finally:
        region.stop()
        reference.stop()


def test_cluster_mode_replies_as_redis_cluster(cluster_servers):
    region, reference = cluster_servers
    expected = replies(reference.port, CLUSTER_SCRIPT)
    actual = replies(region.port, CLUSTER_SCRIPT)
    for command, want, got in zip(CLUSTER_SCRIPT, expected, actual, strict=True):
        assert got == want, f"{command}: redis said {want!r}, region said {got!r}"


def test_cluster_slots_shards_nodes_and_info_are_shaped_as_redis(cluster_servers):
    """The same structure (the addresses, ids and counters are each server's own)."""
    region, reference = cluster_servers
    slots = [parse_resp(RawConnection(d.port).call("CLUSTER", "SLOTS"))
             for d in (region, reference)]
    assert [[(low, high, len(node), node[3]) for low, high, node in s] for s in slots] \
        == [[(0, 16383, 4, [])]] * 2
    for daemon in (region, reference):  # RESP3: the node's extra fields are a map
        conn = RawConnection(daemon.port)
        conn.call("HELLO", "3")
        assert conn.call("CLUSTER", "SLOTS").endswith(b"%0\r\n")
    shards = [parse_resp(RawConnection(d.port).call("CLUSTER", "SHARDS"))
              for d in (region, reference)]
    assert [s[0][0::2] for s in shards] == [["slots", "nodes"]] * 2
    assert shards[0][0][1] == shards[1][0][1] == [0, 16383]
    node_fields = [[k for k in s[0][3][0][0::2] if k != "hostname"] for s in shards]
    assert node_fields[0] == node_fields[1]
    nodes = [RawConnection(d.port).call("CLUSTER", "NODES").split(b"\r\n", 1)[1]
             for d in (region, reference)]
    fields = [n.split(b"\n")[0].split() for n in nodes]
    assert [f[2] for f in fields] == [b"myself,master"] * 2 and fields[0][-1] == fields[1][-1]
    assert len(fields[0]) == len(fields[1])
    infos = [RawConnection(d.port).call("CLUSTER", "INFO").split(b"\r\n", 1)[1]
             for d in (region, reference)]
    names = [[line.split(b":")[0] for line in i.split(b"\r\n") if b":" in line]
             for i in infos]
    assert names[0] == names[1][:len(names[0])] and b"cluster_state:ok" in infos[0]
