"""twistd plugins: ``geolru-region`` (and, later, ``geolru-master``)."""

from twisted.application.service import ServiceMaker

geolru_region = ServiceMaker(
    "geolru region", "geolru.region_tap",
    "A geolru region: Redis-compatible LRU+TTL cache over a durable store.",
    "geolru-region")
