"""twistd plugins: ``geolru-region`` and ``geolru-master``."""

from twisted.application.service import ServiceMaker

geolru_region = ServiceMaker(
    "geolru region", "geolru.region.tap",
    "A geolru region: Redis-compatible LRU+TTL cache over a durable store.",
    "geolru-region")

geolru_master = ServiceMaker(
    "geolru master", "geolru.master.tap",
    "The geolru master: region registry, health, and geodesic LOCATE.",
    "geolru-master")
