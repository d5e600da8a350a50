"""The names the original design card gave (``geolru/protocols.py``,
``geolru/cache.py``) and the client's short import path still lead to the code, which
lives in its layer."""

import geolru.cache
import geolru.protocols
from geolru import client
from geolru.keyspace.lru import LRUCache
from geolru.master.protocol import MasterFactory
from geolru.region.protocol import RegionFactory
from geolru.resp.codec import RequestParser


def test_the_design_cards_modules_are_faces_over_the_layers():
    assert geolru.cache.LRUCache is LRUCache
    assert geolru.protocols.RegionFactory is RegionFactory
    assert geolru.protocols.MasterFactory is MasterFactory
    assert geolru.protocols.RequestParser is RequestParser
    assert {"GeoCache", "TxGeoCache", "TLS", "NoRegionAvailable"} <= set(client.__all__)
