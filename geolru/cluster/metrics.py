"""Prometheus metrics for the region and the master, through ``prometheus_client``.

The region's figures come from the same snapshot INFO renders
(``CommandTable.snapshot``), so the two never disagree; ``prometheus_client``
writes the text format (label values escaped: a region named ``a"b`` is fine).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from geolru.cluster.masterwire import region_state

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

REGION_METRICS = [  # (name, type, help, INFO section, INFO field)
    ("geolru_connected_clients", "gauge", "Client connections.", "clients",
     "connected_clients"),
    ("geolru_commands_processed_total", "counter", "Commands run.", "stats",
     "total_commands_processed"),
    ("geolru_keyspace_hits_total", "counter", "Reads that found the key.", "stats",
     "keyspace_hits"),
    ("geolru_keyspace_misses_total", "counter", "Reads that did not.", "stats",
     "keyspace_misses"),
    ("geolru_expired_keys_total", "counter", "Keys and cache entries expired.", "stats",
     "expired_keys"),
    ("geolru_cache_entries", "gauge", "Entries in the cache tier.", "cache", "cache_entries"),
    ("geolru_cache_bytes", "gauge", "Key and value bytes in the cache tier.", "cache",
     "cache_bytes"),
    ("geolru_cache_hits_total", "counter", "Reads served by the cache tier.", "cache",
     "cache_hits"),
    ("geolru_cache_misses_total", "counter", "Reads served by read-through.", "cache",
     "cache_misses"),
    ("geolru_cache_evictions_total", "counter", "LRU evictions.", "cache", "cache_evictions"),
    ("geolru_store_commits_total", "counter", "Group commits.", "persistence",
     "store_commits"),
    ("geolru_store_pending", "gauge", "Writes not yet committed.", "persistence",
     "store_pending"),
    ("geolru_store_writable", "gauge", "1 if the store commits.", "persistence",
     "store_writable"),
    ("geolru_store_tombstones", "gauge", "Deletes kept until no older write can return.",
     "persistence", "store_tombstones"),
    ("geolru_memory_rss_bytes", "gauge", "Resident memory.", "memory", "used_memory_rss"),
    ("geolru_blocked_clients", "gauge", "Clients waiting in WAIT.", "clients",
     "blocked_clients"),
    ("geolru_net_input_bytes_total", "counter", "Bytes read from clients.", "stats",
     "total_net_input_bytes"),
    ("geolru_net_output_bytes_total", "counter", "Bytes written to clients.", "stats",
     "total_net_output_bytes"),
    ("geolru_instantaneous_ops_per_sec", "gauge", "Commands per second, last 1.6 s.",
     "stats", "instantaneous_ops_per_sec"),
    ("geolru_error_replies_total", "counter", "Error replies.", "stats",
     "total_error_replies"),
    ("geolru_cpu_user_seconds_total", "counter", "User CPU time.", "cpu", "used_cpu_user"),
    ("geolru_cpu_system_seconds_total", "counter", "System CPU time.", "cpu",
     "used_cpu_sys"),
]
# not "keyspace": counting keys waits for the disk, and scrapes come often
REGION_SECTIONS = sorted({m[3] for m in REGION_METRICS})

COMMAND_METRICS = [  # (name, help, value of a geolru.commands.stats.CommandStat)
    ("geolru_command_calls_total", "Calls of the command.", lambda stat: stat.calls),
    ("geolru_command_seconds_total", "Time spent in the command.",
     lambda stat: stat.ns / 1e9),
    ("geolru_command_failed_total", "Calls that replied with an error.",
     lambda stat: stat.failed),
    ("geolru_command_rejected_total", "Calls refused before running (arity, auth, MISCONF).",
     lambda stat: stat.rejected),
]

PEER_METRICS = [  # (name, type, help, value of a geolru.replication.sender.Sender)
    ("geolru_peer_lag_ops", "gauge", "Changes a peer has not acknowledged.",
     lambda sender: sender.lag()[0]),
    ("geolru_peer_lag_ms", "gauge",
     "Milliseconds since the oldest write the peer has not committed was made.",
     lambda sender: sender.lag()[1]),
    ("geolru_peer_live", "gauge", "1 if the stream to the peer is live.",
     lambda sender: int(sender.status.state == "live")),
    ("geolru_peer_forwarded_total", "counter",
     "Records made elsewhere forwarded to the peer (it lacked them from their origin).",
     lambda sender: sender.status.forwarded),
    ("geolru_peer_not_forwarded_total", "counter",
     "Records made elsewhere not forwarded: the peer had them from their origin.",
     lambda sender: sender.status.not_forwarded),
]

_FAMILIES = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily}


def _family(kind: str, name: str, text: str, labels: list[str]):
    return _FAMILIES[kind](name, text, labels=labels)


class RegionCollector:
    """A region's figures, each scrape (a ``prometheus_client`` custom collector)."""

    def __init__(self, table):
        self.table = table

    def collect(self):
        table = self.table
        region = table.name
        snapshot = table.snapshot(REGION_SECTIONS)
        for name, kind, text, section, field in REGION_METRICS:
            family = _family(kind, name, text, ["region"])
            family.add_metric([region], float(snapshot[section].get(field, 0)))
            yield family
        used = sorted((name, stat) for name, stat in table.stats.commands.items()
                      if stat.calls or stat.rejected)
        for name, text, value in COMMAND_METRICS:
            family = CounterMetricFamily(name, text, labels=["region", "command"])
            for command, stat in used:
                family.add_metric([region, command], value(stat))
            yield family
        family = CounterMetricFamily("geolru_errors_total", "Error replies by code.",
                                     labels=["region", "code"])
        for code, count in sorted(table.stats.errors.items()):
            family.add_metric([region, code], count)
        yield family
        family = GaugeMetricFamily(
            "geolru_syncing", "1 while the region catches up after a start or a partition "
            "(key commands answer LOADING).", labels=["region"])
        family.add_metric([region], int(table.keyspace.syncing))
        yield family
        if table.replication is not None:
            for name, kind, text, value in PEER_METRICS:
                family = _family(kind, name, text, ["region", "peer"])
                for peer, sender in table.replication.streams.items():
                    family.add_metric([region, peer], value(sender))
                yield family


class MasterCollector:
    """The master's figures: regions by state, requests, each region's heartbeat."""

    def __init__(self, registry, factory, clock):
        self.registry, self.factory, self.clock = registry, factory, clock

    def collect(self):
        regions = self.registry.sorted_regions()
        now = self.clock.seconds()
        family = GaugeMetricFamily("geolru_master_regions", "Known regions by state.",
                                   labels=["state"])
        states = [region_state(e.up, e.syncing) for e in regions]
        for state in ("up", "syncing", "down"):
            family.add_metric([state], states.count(state))
        yield family
        yield CounterMetricFamily("geolru_master_requests_total", "Lines answered.",
                                  value=self.factory.requests)
        yield CounterMetricFamily("geolru_master_locates_total", "LOCATE requests answered.",
                                  value=self.factory.locates)
        family = GaugeMetricFamily("geolru_region_up", "1 if the region heartbeats, else 0.",
                                   labels=["region"])
        for e in regions:
            family.add_metric([e.name], int(e.up))
        yield family
        family = GaugeMetricFamily("geolru_region_heartbeat_age_seconds",
                                   "Since the last heartbeat.", labels=["region"])
        for e in regions:
            if e.last_heartbeat is not None:
                family.add_metric([e.name], now - e.last_heartbeat)
        yield family


def exposition(collector) -> bytes:
    """The Prometheus text format of one collector's figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
