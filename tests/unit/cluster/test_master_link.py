"""A region's link to the master: it registers, heartbeats, and says at once when its
syncing begins or ends (LOCATE must not send users to a region that answers LOADING)."""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from geolru.cluster.membership import (
    HEARTBEAT_INTERVAL,
    MasterLinkFactory,
    Membership,
    Registration,
)


def link(syncing):
    registration = Registration("paris", "127.0.0.1", 7001, 7101, 48.85, 2.35)
    factory = MasterLinkFactory(lambda: registration, Membership("paris"), Clock(),
                                syncing=lambda: syncing[0])
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return factory, protocol, transport


def sent(transport):
    lines = transport.value().splitlines()
    transport.clear()
    return lines


def test_a_change_of_syncing_is_heartbeaten_at_once_not_at_the_next_beat():
    syncing = [False]
    factory, protocol, transport = link(syncing)
    assert [line.split()[0] for line in sent(transport)] == [b"REGISTER", b"HEARTBEAT"]
    protocol.lineReceived(b"OK")

    syncing[0] = True
    factory.sync_changed(True)
    assert sent(transport) == [b"HEARTBEAT paris SYNCING"]
    syncing[0] = False
    factory.sync_changed(False)
    assert sent(transport) == [b"HEARTBEAT paris"]

    factory.clock.advance(HEARTBEAT_INTERVAL)  # and the beat goes on
    assert sent(transport) == [b"HEARTBEAT paris"]


def test_a_refused_or_closed_link_says_nothing():
    syncing = [True]
    factory, protocol, transport = link(syncing)
    sent(transport)
    factory.sync_changed(True)  # not registered (yet, or refused): nothing
    assert sent(transport) == []
    protocol.lineReceived(b"OK")
    protocol.connectionLost()
    factory.sync_changed(False)
    assert sent(transport) == []
