"""A region's optional HTTP side (``http =``): /metrics (Prometheus) and /info.json."""

from __future__ import annotations

import json

from twisted.web.resource import Resource

from geolru.commands import INFO_SECTIONS, CommandTable

# (name, type, help, value of a geolru.sending.Sender)
PEER_METRICS = [
    ("geolru_peer_lag_ops", "gauge", "Changes a peer has not acknowledged.",
     lambda stream: stream.lag()[0]),
    ("geolru_peer_lag_ms", "gauge", "How long the oldest unacknowledged batch has waited.",
     lambda stream: f"{stream.lag()[1]:.1f}"),
    ("geolru_peer_live", "gauge", "1 if the stream to the peer is live.",
     lambda stream: int(stream.status.state == "live")),
    ("geolru_peer_forwarded_total", "counter",
     "Records made elsewhere forwarded to the peer (it lacked them from their origin).",
     lambda stream: stream.status.forwarded),
    ("geolru_peer_not_forwarded_total", "counter",
     "Records made elsewhere not forwarded: the peer had them from their origin.",
     lambda stream: stream.status.not_forwarded),
]


def info_sections(table: CommandTable, sections=INFO_SECTIONS) -> dict[str, dict[str, str]]:
    """INFO as a dict of sections of ``key: value`` strings."""
    return {section: dict(line.split(":", 1) for line in getattr(table, "_info_" + section)())
            for section in sections}


class InfoJSON(Resource):
    isLeaf = True

    def __init__(self, table: CommandTable):
        super().__init__()
        self.table = table

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(info_sections(self.table), indent=1).encode()


METRICS = [  # (name, type, help, section, INFO field)
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

# (name, help, value of a geolru.stats.CommandStat), one sample per command run so far
COMMAND_METRICS = [
    ("geolru_command_calls_total", "Calls of the command.", lambda stat: stat.calls),
    ("geolru_command_seconds_total", "Time spent in the command.",
     lambda stat: f"{stat.ns / 1e9:.6f}"),
    ("geolru_command_failed_total", "Calls that replied with an error.",
     lambda stat: stat.failed),
    ("geolru_command_rejected_total", "Calls refused before running (arity, auth, MISCONF).",
     lambda stat: stat.rejected),
]


class Metrics(Resource):
    isLeaf = True

    def __init__(self, table: CommandTable):
        super().__init__()
        self.table = table

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; version=0.0.4")
        # not "keyspace": counting keys waits for the disk, and scrapes come often
        info = info_sections(self.table, {m[3] for m in METRICS})
        region = self.table.name
        lines = []
        for name, kind, text, section, field in METRICS:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}",
                      f'{name}{{region="{region}"}} {info[section].get(field, 0)}']
        stats = self.table.stats
        used = sorted((name, stat) for name, stat in stats.commands.items()
                      if stat.calls or stat.rejected)
        for name, text, value in COMMAND_METRICS:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} counter"]
            lines += [f'{name}{{region="{region}",command="{command}"}} {value(stat)}'
                      for command, stat in used]
        lines += ["# HELP geolru_errors_total Error replies by code.",
                  "# TYPE geolru_errors_total counter"]
        lines += [f'geolru_errors_total{{region="{region}",code="{code}"}} {count}'
                  for code, count in sorted(stats.errors.items())]
        replication = self.table.replication
        if replication is not None:
            for name, kind, text, value in PEER_METRICS:
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                lines += [f'{name}{{region="{region}",peer="{peer}"}} {value(stream)}'
                          for peer, stream in replication.streams.items()]
        return ("\n".join(lines) + "\n").encode()


def region_root(table: CommandTable) -> Resource:
    root = Resource()
    root.putChild(b"metrics", Metrics(table))
    root.putChild(b"info.json", InfoJSON(table))
    return root
