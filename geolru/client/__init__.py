"""Clients of a geolru cluster: ``GeoCache`` (blocking, on redis-py) and
``TxGeoCache`` (Deferreds), which locate the nearest region through the master and fail
over, and the ``geolru`` command line.  It may import ``geolru.cluster``,
``geolru.common``, ``geolru.resp``, ``geolru.commands.docs`` and ``geolru.devtools``.
"""


from geolru.client.geocache import GeoCache, NoRegionAvailable
from geolru.client.tls import TLS
from geolru.client.txgeocache import TxGeoCache

__all__ = ["TLS", "GeoCache", "NoRegionAvailable", "TxGeoCache"]
