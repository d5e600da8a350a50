"""The master's HTTP side: a status page with a world map, JSON and metrics."""

from __future__ import annotations

import html
import json
import time
from importlib import resources

from twisted.web.resource import Resource

from geolru.cluster.masterwire import region_state
from geolru.cluster.metrics import CONTENT_TYPE, MasterCollector, exposition

WORLD_PATH = resources.files("geolru").joinpath("data/world.path").read_text()


def _age(clock, entry) -> str:
    if entry.last_heartbeat is None:
        return "never (restored from the state file)"
    return f"{clock.seconds() - entry.last_heartbeat:.1f} s ago"


class RegistryPage(Resource):
    """A page about the registry, as of the clock's now."""

    isLeaf = True

    def __init__(self, registry, clock):
        super().__init__()
        self.registry = registry
        self.clock = clock


def _state(entry) -> str:
    return region_state(entry.up, entry.syncing)


class StatusPage(RegistryPage):

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"refresh", b"2")
        registry = self.registry
        regions = registry.sorted_regions()
        marks, rows = [], []
        # on the map a region of shards is one place; each link (a pair of regions)
        # shows the worse lag of the streams between their shards
        at = {e.region_name: (e.longitude + 180, 90 - e.latitude) for e in regions}
        region_of = {e.name: e.region_name for e in regions}
        lags = {}
        for e in regions:
            for peer, ms in e.peer_lag_ms.items() if e.up else ():
                if region_of.get(peer) in at:
                    pair = tuple(sorted((e.region_name, region_of[peer])))
                    lags[pair] = max(lags.get(pair, 0.0), ms)
        for (a, b), ms in sorted(lags.items()):
            (x1, y1), (x2, y2) = at[a], at[b]
            marks.append(
                f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" '
                f'stroke="{"#d62828" if ms > 1000 else "#557"}" stroke-width="0.4"/>'
                f'<text x="{(x1 + x2) / 2:.2f}" y="{(y1 + y2) / 2 - 1:.2f}" font-size="3.5" '
                f'fill="#333">{ms:.0f} ms</text>')
        colours = {"up": "#2a9d3c", "syncing": "#e09f1f", "down": "#d62828"}
        for region, (x, y) in sorted(at.items()):
            shards = registry.shards_of(region)
            if registry.serves_every_slot(region):
                state = "up"
            else:  # a shard is down or syncing: some slots are not served
                state = "syncing" if all(e.up for e in shards) else "down"
            name = html.escape(region + (f" ({len(shards)} shards)" if len(shards) > 1 else ""))
            marks.append(
                f'<circle cx="{x:.2f}" cy="{y:.2f}" r="2.2" fill="{colours[state]}" '
                f'stroke="#fff" stroke-width="0.5"><title>{name}</title></circle>'
                f'<text x="{x + 3:.2f}" y="{y + 1.2:.2f}" font-size="4.5" '
                f'fill="#222">{name}</text>')
        for e in regions:
            state = _state(e)
            colour = colours[state]
            name = html.escape(e.name)
            lags = ", ".join(f"{html.escape(peer)} {ms:.1f} ms"
                             for peer, ms in sorted(e.peer_lag_ms.items())) if e.up else ""
            rows.append(
                f"<tr><td>{name}</td><td>{html.escape(e.host)}:{e.port}</td>"
                f"<td>{e.peer_port}</td><td>{e.latitude:.4f}, {e.longitude:.4f}</td>"
                f"<td>{html.escape(e.slots or 'all')}</td>"
                f'<td style="color:{colour}">{state}</td>'
                f"<td>{html.escape(_age(self.clock, e))}</td><td>{lags}</td></tr>")
        up = sum(registry.serves_every_slot(region) for region in at)
        syncing = sum(any(e.up and e.syncing for e in registry.shards_of(region))
                      for region in at)
        rendered = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.clock.seconds()))
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>geolru master</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
svg {{ width: 100%; max-width: 1100px; background: #dcecf7; border: 1px solid #9ab; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }}
</style></head><body>
<h1>geolru master</h1>
<p>{up} of {len(at)} regions serve every slot{f", {syncing} syncing" if syncing else ""}.
Rendered {rendered}; this page refreshes itself every 2 s.
<a href="/regions.json">regions.json</a> · <a href="/metrics">metrics</a></p>
<svg viewBox="0 0 360 180" xmlns="http://www.w3.org/2000/svg">
<path d="{WORLD_PATH}" fill="#f4f1e8" stroke="#8a8a7a" stroke-width="0.3"/>
{"".join(marks)}
</svg>
<table><tr><th>region or shard</th><th>clients</th><th>peer port</th><th>position</th>
<th>slots</th><th>state</th><th>last heartbeat</th><th>replication lag to peers</th></tr>
{"".join(rows)}
</table></body></html>"""
        return page.encode()


class RegionsJSON(RegistryPage):

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        now = self.clock.seconds()
        regions = []
        for e in self.registry.sorted_regions():
            row = e.as_dict()
            row["state"] = _state(e)
            row["heartbeat_age"] = None if e.last_heartbeat is None else now - e.last_heartbeat
            del row["last_heartbeat"]
            regions.append(row)
        return json.dumps({"regions": regions}, indent=1).encode()


class Metrics(RegistryPage):
    def __init__(self, registry, factory, clock):
        super().__init__(registry, clock)
        self.collector = MasterCollector(registry, factory, clock)

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE)
        return exposition(self.collector)


def status_root(registry, factory, clock) -> Resource:
    root = Resource()
    page = StatusPage(registry, clock)
    root.putChild(b"", page)
    root.putChild(b"regions.json", RegionsJSON(registry, clock))
    root.putChild(b"metrics", Metrics(registry, factory, clock))
    return root
