"""A region's optional HTTP side (``http =``): /metrics (Prometheus) and /info.json."""

from __future__ import annotations

import json

from twisted.web.resource import Resource

from geolru.cluster.metrics import CONTENT_TYPE, RegionCollector, exposition
from geolru.commands.table import CommandTable


class InfoJSON(Resource):
    isLeaf = True

    def __init__(self, table: CommandTable):
        super().__init__()
        self.table = table

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(self.table.snapshot(), indent=1).encode()


class Metrics(Resource):
    isLeaf = True

    def __init__(self, table: CommandTable):
        super().__init__()
        self.collector = RegionCollector(table)

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE)
        return exposition(self.collector)


def region_root(table: CommandTable) -> Resource:
    root = Resource()
    root.putChild(b"metrics", Metrics(table))
    root.putChild(b"info.json", InfoJSON(table))
    return root
