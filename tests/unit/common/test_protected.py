"""Protected mode: beyond loopback, no password, no service — and one line that says
what to set.  Driven over ``StringTransport`` with a peer address from elsewhere."""

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from geolru.common.protected import from_loopback, listens_beyond_loopback

FAR = IPv4Address("TCP", "10.1.2.3", 40000)
NEAR = IPv4Address("TCP", "127.0.0.1", 40000)


@pytest.mark.parametrize("description, beyond", [
    ("tcp:7001", True), ("tcp:7001:interface=0.0.0.0", True),
    ("tcp:7001:interface=10.0.0.5", True), ("tcp:7001:interface=127.0.0.1", False),
    ("tcp:port=7001:interface=\\:\\:1", False), ("tcp6:7001:interface=\\:\\:", True),
    ("ssl:7443:privateKey=k.pem:interface=127.0.0.2", False),
])
def test_which_endpoints_listen_beyond_loopback(description, beyond):
    assert listens_beyond_loopback(description) is beyond


def test_loopback_peers():
    assert from_loopback(NEAR) and not from_loopback(FAR)


def region_factory(tmp_path, protected):
    from geolru.commands.table import CommandTable
    from geolru.keyspace.keyspace import Keyspace
    from geolru.keyspace.lru import LRUCache
    from geolru.region.protocol import RegionFactory
    from geolru.store.store import Store
    clock = Clock()
    store = Store(str(tmp_path / "store"), clock, threaded=False)
    store.open()
    table = CommandTable(Keyspace(LRUCache(clock), store, "r", clock), clock)
    return RegionFactory(table, clock, beyond_loopback=protected)


@pytest.mark.parametrize("peer, protected, served", [
    (FAR, True, False), (NEAR, True, True), (FAR, False, True)])
def test_a_region_without_requirepass_beyond_loopback_serves_only_loopback(
        tmp_path, peer, protected, served):
    factory = region_factory(tmp_path, protected)
    transport = StringTransport(peerAddress=peer)
    protocol = factory.buildProtocol(peer)
    protocol.makeConnection(transport)
    protocol.dataReceived(b"PING\r\n")
    if served:
        assert transport.value() == b"+PONG\r\n"
    else:
        assert transport.value().startswith(b"-DENIED this geolru region is in protected mode")
        assert b"Set requirepass in [security]" in transport.value()
        assert transport.disconnecting
    protocol.connectionLost(None)  # (a refused connection ends cleanly too)
    assert factory.connections.connected == 0


def test_config_set_requirepass_lifts_protected_mode(tmp_path):
    """As in Redis: once a password is set at run time, other machines may connect
    (and must AUTH); the connection that set it stays in."""
    factory = region_factory(tmp_path, True)
    near = StringTransport(peerAddress=NEAR)
    admin = factory.buildProtocol(NEAR)
    admin.makeConnection(near)
    admin.dataReceived(b"CONFIG SET requirepass sesame\r\nPING\r\n")
    assert near.value() == b"+OK\r\n+PONG\r\n"
    far = StringTransport(peerAddress=FAR)
    client = factory.buildProtocol(FAR)
    client.makeConnection(far)
    client.dataReceived(b"PING\r\nAUTH sesame\r\nPING\r\n")
    assert far.value() == b"-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n"
    admin.dataReceived(b"CONFIG SET maxclients 2\r\n")
    third = factory.buildProtocol(NEAR)
    late = StringTransport(peerAddress=NEAR)
    third.makeConnection(late)
    assert late.value() == b"-ERR max number of clients reached\r\n"


def test_a_master_without_cluster_secret_takes_no_registration_from_elsewhere(tmp_path):
    from geolru.master.protocol import MasterFactory
    from geolru.master.registry import Registry
    factory = MasterFactory(Registry(Clock()), protected=True)
    for peer, accepted in ((FAR, False), (NEAR, True)):
        transport = StringTransport(peerAddress=peer)
        protocol = factory.buildProtocol(peer)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"REGISTER r 10.1.2.3 7001 7101 45 -73\r\nPING\r\n")
        reply = transport.value().decode()
        assert reply.startswith("OK") is accepted, reply
        if not accepted:
            assert "protected mode" in reply and "cluster_secret" in reply
        assert reply.endswith("PONG\r\n")  # LOCATE, REGIONS, PING stay open to all
