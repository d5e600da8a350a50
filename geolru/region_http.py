"""A region's optional HTTP side (``http =``): /metrics (Prometheus) and /info.json."""

from __future__ import annotations

import json

from twisted.web.resource import Resource

from geolru.commands import INFO_SECTIONS, CommandTable


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
    ("geolru_memory_rss_bytes", "gauge", "Resident memory.", "memory", "used_memory_rss"),
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
        replication = self.table.replication
        if replication is not None:
            lines += ["# HELP geolru_peer_lag_ops Changes a peer has not acknowledged.",
                      "# TYPE geolru_peer_lag_ops gauge"]
            peers = replication.peers()
            lines += [f'geolru_peer_lag_ops{{region="{region}",peer="{name}"}} {behind}'
                      for name, _, _, behind, _ in peers]
            lines += ["# HELP geolru_peer_lag_ms How long the oldest unacknowledged batch "
                      "has waited.", "# TYPE geolru_peer_lag_ms gauge"]
            lines += [f'geolru_peer_lag_ms{{region="{region}",peer="{name}"}} {waited:.1f}'
                      for name, _, _, _, waited in peers]
            lines += ["# HELP geolru_peer_live 1 if the stream to the peer is live.",
                      "# TYPE geolru_peer_live gauge"]
            lines += [f'geolru_peer_live{{region="{region}",peer="{name}"}} '
                      f'{int(state == "live")}' for name, _, state, _, _ in peers]
        return ("\n".join(lines) + "\n").encode()


def region_root(table: CommandTable) -> Resource:
    root = Resource()
    root.putChild(b"metrics", Metrics(table))
    root.putChild(b"info.json", InfoJSON(table))
    return root
