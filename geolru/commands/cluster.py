"""The cluster's commands: geolru's own REGION, WAIT and PEERS, and Redis Cluster's
(CLUSTER, READONLY, READWRITE, ASKING) and its routing (``route``: ``-MOVED`` and
``-CROSSSLOT``).  A region without cluster mode answers them as redis-server does
without it; in cluster mode the region's shards come from a ``ClusterView``
(docs/cluster.md)."""

from __future__ import annotations

import itertools

from twisted.internet import defer

from geolru.commands.args import arity_error, int_arg, text
from geolru.model.slots import SLOTS, key_slot
from geolru.resp import codec as p

CLUSTER_DISABLED = p.error("ERR This instance has cluster support disabled")
CROSSSLOT = p.error("CROSSSLOT Keys in request don't hash to the same slot")
CLUSTER_DOWN = p.error("CLUSTERDOWN Hash slot not served")

# CLUSTER's subcommands: (method, arity as Redis counts it, CLUSTER included)
_CLUSTER = {
    b"help": ("_cluster_help", 2), b"myid": ("_cluster_myid", 2),
    b"info": ("_cluster_info", 2), b"slots": ("_cluster_slots", 2),
    b"shards": ("_cluster_shards", 2), b"nodes": ("_cluster_nodes", 2),
    b"keyslot": ("_cluster_keyslot", 3), b"countkeysinslot": ("_cluster_countkeysinslot", 3),
    b"getkeysinslot": ("_cluster_getkeysinslot", 4),
}
# Redis' subcommands that change a cluster's layout: a region's comes from its ini
_CLUSTER_ADMIN = frozenset(
    b"addslots addslotsrange delslots delslotsrange flushslots forget meet replicate "
    b"reset failover setslot set-config-epoch bumpepoch saveconfig count-failure-reports "
    b"countfailurereports links myshardid replicas slaves".split())
CLUSTER_HELP = [
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
    "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
    "INFO", "    Return information about the cluster.",
    "KEYSLOT <key>", "    Return the hash slot for <key>.",
    "MYID", "    Return the node id.",
    "NODES", "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port@bus-port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "SHARDS", "    Return information about slot range mappings and the nodes of each shard.",
    "SLOTS", "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "HELP", "    Print this help.",
]


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

    def cmd_cluster(self, session, args):
        cluster = self.cluster
        if cluster is None:
            return CLUSTER_DISABLED
        sub = args[1].lower()
        handler = _CLUSTER.get(sub)
        if handler is None:
            if sub in _CLUSTER_ADMIN:
                return p.error(f"ERR CLUSTER {text(args[1]).upper()} is not supported: a "
                               "geolru region's shards and slots come from its ini "
                               "(docs/deploy.md, Cluster mode)")
            return p.error(f"ERR unknown subcommand '{text(args[1])[:128]}'. "
                           "Try CLUSTER HELP.")
        name, arity = handler
        argc = len(args)
        if (arity > 0 and argc != arity) or argc < -arity:
            return arity_error(f"cluster|{sub.decode()}")
        return getattr(self, name)(session, args, cluster)

    def _cluster_help(self, session, args, cluster):
        return p.array([p.simple(line) for line in CLUSTER_HELP])

    def _cluster_myid(self, session, args, cluster):
        return p.bulk(cluster.myself.node_id.encode())

    def _cluster_keyslot(self, session, args, cluster):
        return p.integer(key_slot(args[2]))

    def _cluster_info(self, session, args, cluster):
        shards = cluster.shards()
        assigned = sum(len(s.slots) for s in shards)
        ok = sum(len(s.slots) for s in shards if s.up)
        state = "ok" if ok == SLOTS else "fail"
        lines = [f"cluster_state:{state}", f"cluster_slots_assigned:{assigned}",
                 f"cluster_slots_ok:{ok}", "cluster_slots_pfail:0",
                 f"cluster_slots_fail:{assigned - ok}", f"cluster_known_nodes:{len(shards)}",
                 f"cluster_size:{sum(1 for s in shards if s.slots.ranges)}",
                 "cluster_current_epoch:0", "cluster_my_epoch:0",
                 "cluster_stats_messages_sent:0", "cluster_stats_messages_received:0",
                 "total_cluster_links_buffer_limit_exceeded:0"]
        return p.verbatim_lines("\r\n".join(lines) + "\r\n", session.resp3)

    def _cluster_slots(self, session, args, cluster):
        rows = []
        for shard in cluster.shards():  # (one that is down too, as Redis lists it)
            node = p.array([p.bulk(shard.host.encode()), p.integer(shard.port),
                            p.bulk(shard.node_id.encode()), p.mapping([], session.resp3)])
            rows += [(low, high, node) for low, high in shard.slots.ranges]
        return p.array([p.array([p.integer(low), p.integer(high), node])
                        for low, high, node in sorted(rows)])

    def _cluster_shards(self, session, args, cluster):
        resp3 = session.resp3
        out = []
        for shard in cluster.shards():
            slots = [p.integer(n) for low, high in shard.slots.ranges for n in (low, high)]
            node = p.mapping([
                (p.bulk(b"id"), p.bulk(shard.node_id.encode())),
                (p.bulk(b"port"), p.integer(shard.port)),
                (p.bulk(b"ip"), p.bulk(shard.host.encode())),
                (p.bulk(b"endpoint"), p.bulk(shard.host.encode())),
                (p.bulk(b"role"), p.bulk(b"master")),
                (p.bulk(b"replication-offset"), p.integer(
                    self.keyspace.position if shard.myself else 0)),
                (p.bulk(b"health"), p.bulk(b"online" if shard.up else b"fail"))], resp3)
            out.append(p.mapping([(p.bulk(b"slots"), p.array(slots)),
                                  (p.bulk(b"nodes"), p.array([node]))], resp3))
        return p.array(out)

    def _cluster_nodes(self, session, args, cluster):
        lines = []
        for shard in cluster.shards():
            flags = "myself,master" if shard.myself else "master" if shard.up else "master,fail"
            ranges = " ".join(str(low) if low == high else f"{low}-{high}"
                              for low, high in shard.slots.ranges)
            lines.append(f"{shard.node_id} {shard.host}:{shard.port}@{shard.peer_port} "
                         f"{flags} - 0 0 0 {'connected' if shard.up else 'disconnected'}"
                         + (f" {ranges}" if ranges else ""))
        return p.verbatim_lines("".join(line + "\n" for line in lines), session.resp3)

    def _cluster_countkeysinslot(self, session, args, cluster):
        slot = int_arg(args[2])
        if not 0 <= slot < SLOTS:
            return p.error("ERR Invalid slot")
        return p.integer(sum(1 for _ in self._keys_in_slot(slot)))

    def _cluster_getkeysinslot(self, session, args, cluster):
        slot, count = int_arg(args[2]), int_arg(args[3])
        if not 0 <= slot < SLOTS or count < 0:
            return p.error("ERR Invalid slot or number of keys")
        return p.bulk_array(list(itertools.islice(self._keys_in_slot(slot), count)))

    def _keys_in_slot(self, slot: int):
        """The live keys of ``slot`` (a walk of the keyspace: geolru keeps no slot index)."""
        cursor = 0
        while True:
            cursor, batch = self.keyspace.scan(cursor, 10000)
            yield from (key for key in batch if key_slot(key) == slot)
            if cursor == 0:
                return

    def cmd_readonly(self, session, args):
        return CLUSTER_DISABLED if self.cluster is None else p.OK

    cmd_readwrite = cmd_readonly
    cmd_asking = cmd_readonly

    def route(self, session, name: bytes, args: list[bytes]) -> bytes | None:
        """In cluster mode: ``None`` if this shard serves the command's keys, else the
        error a cluster client follows (``-MOVED``) or reports (``-CROSSSLOT``)."""
        if name == b"exec":
            commands = session.multi or ()
        else:
            commands = (args,)
        slot = None
        keys_at = self._keys_at
        for command in commands:
            where = keys_at.get(command[0].lower())
            if where is None:
                continue
            for key in where(command):
                this = key_slot(key)
                if slot is None:
                    slot = this
                elif this != slot:
                    return CROSSSLOT
        if slot is None:
            return None
        cluster = self.cluster
        owner = cluster.owner(slot)
        if owner is not None and owner.myself:
            return None
        if owner is None:
            return CLUSTER_DOWN
        return b"-MOVED %d %s:%d\r\n" % (slot, owner.host.encode(), owner.port)
