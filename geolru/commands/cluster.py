"""The cluster's commands: geolru's own REGION, WAIT and PEERS, and Redis' CLUSTER
(a region is not in Redis Cluster mode: it answers as redis-server does without it)."""

from __future__ import annotations

from twisted.internet import defer

from geolru.commands.args import int_arg
from geolru.resp import codec as p

CLUSTER_DISABLED = p.error("ERR This instance has cluster support disabled")


class GeoCommands:
    def cmd_region(self, session, args):
        return p.bulk_array([self.name.encode(), repr(self.latitude).encode(),
                             repr(self.longitude).encode()])

    def cmd_wait(self, session, args):
        count, timeout = int_arg(args[1]), int_arg(args[2])
        if timeout < 0:
            return p.error("ERR timeout is negative")
        if self.replication is None:
            return p.ZERO
        if session.in_exec:  # inside a transaction WAIT does not block (as in Redis)
            return p.integer(self.replication.acknowledged_count(session.last_write))
        d = defer.Deferred()
        self.replication.wait(session.last_write, count, timeout, d.callback)
        return d.addCallback(p.integer)

    def cmd_cluster(self, session, args):
        return CLUSTER_DISABLED

    def cmd_peers(self, session, args):
        if self.replication is None:
            return p.EMPTY_ARRAY
        # one map per peer (field-value pairs in RESP2), as CLUSTER SHARDS answers,
        # under the names INFO replication gives the same figures
        return p.array([
            p.mapping([(b"$4\r\nname\r\n", p.bulk(name.encode())),
                       (b"$7\r\naddress\r\n", p.bulk(address.encode())),
                       (b"$5\r\nstate\r\n", p.bulk(state.encode())),
                       (b"$7\r\nlag_ops\r\n", p.integer(behind)),
                       (b"$6\r\nlag_ms\r\n", p.bulk(b"%.1f" % waited))], session.resp3)
            for name, address, state, behind, waited in self.replication.peers()])
