"""The commands a region implements, one spec each: what COMMAND, the dispatch, AUTH,
MISCONF and STALE read.

A spec is a command's name, its Redis arity (n: exactly n arguments with the
name; -n: at least n), its family (the module of its handler, ``cmd_<name>``),
whether it writes, whether it touches data (refused while the region is stale),
and where its keys are (first, last, step, as COMMAND INFO says).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class CommandSpec:
    name: str
    arity: int
    family: str  # connection, strings, bits, hyperloglogs, keys, hashes, sets, zsets,
    # geoindex, lists, server, cluster, transactions
    write: bool = False
    keys: tuple[int, int, int] = (0, 0, 0)
    data: bool = False  # reads or writes keys: refused while the region is stale
    no_auth: bool = False  # allowed before AUTH


# name arity family [keys first,last,step] [flags: w write, d data, a before AUTH]
_TABLE = """
ping -1 connection - -          echo 2 connection - -          quit -1 connection - a
auth -2 connection - a          select 2 connection - -        hello -1 connection - a
client -2 connection - -        command -1 connection - -      help -1 connection - -
get 2 strings 1,1,1 d           set -3 strings 1,1,1 wd        setex 4 strings 1,1,1 wd
psetex 4 strings 1,1,1 wd       setnx 3 strings 1,1,1 wd       getset 3 strings 1,1,1 wd
getdel 2 strings 1,1,1 wd       getex -2 strings 1,1,1 wd      mget -2 strings 1,-1,1 d
mset -3 strings 1,-1,2 wd       msetnx -3 strings 1,-1,2 wd    append 3 strings 1,1,1 wd
strlen 2 strings 1,1,1 d        incr 2 strings 1,1,1 wd        decr 2 strings 1,1,1 wd
incrby 3 strings 1,1,1 wd       decrby 3 strings 1,1,1 wd      del -2 keys 1,-1,1 wd
unlink -2 keys 1,-1,1 wd        exists -2 keys 1,-1,1 d        type 2 keys 1,1,1 d
expire -3 keys 1,1,1 wd         pexpire -3 keys 1,1,1 wd       expireat -3 keys 1,1,1 wd
pexpireat -3 keys 1,1,1 wd      persist 2 keys 1,1,1 wd        ttl 2 keys 1,1,1 d
pttl 2 keys 1,1,1 d             expiretime 2 keys 1,1,1 d      pexpiretime 2 keys 1,1,1 d
keys 2 keys - d                 scan -2 keys - d               dbsize 1 keys - d
flushall -1 keys - wd           flushdb -1 keys - wd           info -1 server - -
config -2 server - -            time 1 server - -              region 1 cluster - -
wait 3 cluster - -              peers 1 cluster - -            multi 1 transactions - -
cluster -2 cluster - -          rename 3 keys 1,2,1 wd         renamenx 3 keys 1,2,1 wd
copy -3 keys 1,2,1 wd           randomkey 1 keys - d           save 1 server - -
bgsave -1 server - -            lastsave 1 server - -          setbit 4 bits 1,1,1 wd
getbit 3 bits 1,1,1 d           bitcount -2 bits 1,1,1 d       bitpos -3 bits 1,1,1 d
slowlog -2 server - -           monitor 1 server - -           bitop -4 bits 2,-1,1 wd
exec 1 transactions - -         discard 1 transactions - -     watch -2 transactions 1,-1,1 d
unwatch 1 transactions - -      incrbyfloat 3 strings 1,1,1 wd getrange 4 strings 1,1,1 d
substr 4 strings 1,1,1 d        setrange 4 strings 1,1,1 wd    touch -2 keys 1,-1,1 d
object -2 keys - d              memory -2 keys - d             hset -4 hashes 1,1,1 wd
hmset -4 hashes 1,1,1 wd        hsetnx 4 hashes 1,1,1 wd       hget 3 hashes 1,1,1 d
hmget -3 hashes 1,1,1 d         hdel -3 hashes 1,1,1 wd        hgetall 2 hashes 1,1,1 d
hkeys 2 hashes 1,1,1 d          hvals 2 hashes 1,1,1 d         hlen 2 hashes 1,1,1 d
hexists 3 hashes 1,1,1 d        hstrlen 3 hashes 1,1,1 d       hincrby 4 hashes 1,1,1 wd
hincrbyfloat 4 hashes 1,1,1 wd  hrandfield -2 hashes 1,1,1 d   hscan -3 hashes 1,1,1 d
readonly 1 cluster - -          readwrite 1 cluster - -        asking 1 cluster - -
bitfield -2 bits 1,1,1 wd       bitfield_ro -2 bits 1,1,1 d    pfadd -2 hyperloglogs 1,1,1 wd
pfcount -2 hyperloglogs 1,-1,1 d pfmerge -2 hyperloglogs 1,-1,1 wd
sadd -3 sets 1,1,1 wd           srem -3 sets 1,1,1 wd          smembers 2 sets 1,1,1 d
sismember 3 sets 1,1,1 d        smismember -3 sets 1,1,1 d     scard 2 sets 1,1,1 d
spop -2 sets 1,1,1 wd           srandmember -2 sets 1,1,1 d    smove 4 sets 1,2,1 wd
sinter -2 sets 1,-1,1 d         sintercard -3 sets - d         sinterstore -3 sets 1,-1,1 wd
sunion -2 sets 1,-1,1 d         sunionstore -3 sets 1,-1,1 wd  sdiff -2 sets 1,-1,1 d
sdiffstore -3 sets 1,-1,1 wd    sscan -3 sets 1,1,1 d          zadd -4 zsets 1,1,1 wd
zincrby 4 zsets 1,1,1 wd        zrem -3 zsets 1,1,1 wd         zscore 3 zsets 1,1,1 d
zmscore -3 zsets 1,1,1 d        zcard 2 zsets 1,1,1 d          zcount 4 zsets 1,1,1 d
zlexcount 4 zsets 1,1,1 d       zrank -3 zsets 1,1,1 d         zrevrank -3 zsets 1,1,1 d
zrange -4 zsets 1,1,1 d         zrevrange -4 zsets 1,1,1 d     zrangebyscore -4 zsets 1,1,1 d
zrevrangebyscore -4 zsets 1,1,1 d zrangebylex -4 zsets 1,1,1 d zrevrangebylex -4 zsets 1,1,1 d
zrangestore -5 zsets 1,2,1 wd   zpopmin -2 zsets 1,1,1 wd      zpopmax -2 zsets 1,1,1 wd
zremrangebyrank 4 zsets 1,1,1 wd zremrangebyscore 4 zsets 1,1,1 wd zremrangebylex 4 zsets 1,1,1 wd
zrandmember -2 zsets 1,1,1 d    zscan -3 zsets 1,1,1 d          zunion -3 zsets - d
zinter -3 zsets - d             zdiff -3 zsets - d             zunionstore -4 zsets 1,1,1 wd
zinterstore -4 zsets 1,1,1 wd   zdiffstore -4 zsets 1,1,1 wd   zintercard -3 zsets - d
zmpop -4 zsets - wd             bzmpop -5 zsets - wd           bzpopmin -3 zsets 1,-2,1 wd
bzpopmax -3 zsets 1,-2,1 wd
geoadd -5 geoindex 1,1,1 wd     geopos -2 geoindex 1,1,1 d     geodist -4 geoindex 1,1,1 d
geohash -2 geoindex 1,1,1 d     geosearch -7 geoindex 1,1,1 d  geosearchstore -8 geoindex 1,2,1 wd
georadius -6 geoindex 1,1,1 wd  georadius_ro -6 geoindex 1,1,1 d
georadiusbymember -5 geoindex 1,1,1 wd georadiusbymember_ro -5 geoindex 1,1,1 d
lpush -3 lists 1,1,1 wd         rpush -3 lists 1,1,1 wd        lpushx -3 lists 1,1,1 wd
rpushx -3 lists 1,1,1 wd        lpop -2 lists 1,1,1 wd         rpop -2 lists 1,1,1 wd
lrange 4 lists 1,1,1 d          lindex 3 lists 1,1,1 d         llen 2 lists 1,1,1 d
lset 4 lists 1,1,1 wd           linsert 5 lists 1,1,1 wd       lrem 4 lists 1,1,1 wd
ltrim 4 lists 1,1,1 wd          lpos -3 lists 1,1,1 d          lmove 5 lists 1,2,1 wd
rpoplpush 3 lists 1,2,1 wd      lmpop -4 lists - wd            blpop -3 lists 1,-2,1 wd
brpop -3 lists 1,-2,1 wd        blmove 6 lists 1,2,1 wd        brpoplpush 4 lists 1,2,1 wd
blmpop -5 lists - wd
subscribe -2 pubsub - -         unsubscribe -1 pubsub - -      psubscribe -2 pubsub - -
punsubscribe -1 pubsub - -      publish 3 pubsub - -           pubsub -2 pubsub - -
"""


def _spec(name: str, arity: str, family: str, keys: str, flags: str) -> CommandSpec:
    positions = (0, 0, 0) if keys == "-" else tuple(int(n) for n in keys.split(","))
    return CommandSpec(name, int(arity), family, write="w" in flags, keys=positions,
                       data="d" in flags, no_auth="a" in flags)


_WORDS = _TABLE.split()
SPECS: dict[str, CommandSpec] = {
    spec.name: spec for spec in (_spec(*_WORDS[i:i + 5]) for i in range(0, len(_WORDS), 5))}

# what the dispatch and COMMAND read, from the specs
COMMANDS = {name: spec.arity for name, spec in SPECS.items()}
WRITE_COMMANDS = frozenset(name for name, spec in SPECS.items() if spec.write)
WRITE_NAMES = frozenset(name.encode() for name in WRITE_COMMANDS)
NO_AUTH = frozenset(name.encode() for name, spec in SPECS.items() if spec.no_auth)
# what a stale region refuses: every command that reads or writes keys
DATA_NAMES = frozenset(name.encode() for name, spec in SPECS.items() if spec.data)
