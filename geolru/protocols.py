"""The protocols of geolru's daemons, in one place, as the design card names them.

The code lives in its layer: the RESP codec in ``geolru.resp``, the region's client
protocol in ``geolru.region.protocol``, the master's line protocol in
``geolru.master.protocol`` and the replication streams in
``geolru.replication.transport``.
"""

from geolru.master.protocol import MasterFactory, MasterProtocol
from geolru.region.protocol import RegionFactory, RegionProtocol
from geolru.replication.transport import ReceiverFactory, SenderFactory
from geolru.resp.codec import ProtocolError, RequestParser

__all__ = [
    "MasterFactory", "MasterProtocol", "ProtocolError", "ReceiverFactory", "RegionFactory",
    "RegionProtocol", "RequestParser", "SenderFactory",
]
