"""The master's registry and line protocol, with task.Clock and StringTransport."""

import json

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from geolru.master.geo import GEOD
from geolru.master.protocol import MasterFactory
from geolru.master.registry import RegionEntry, Registry


def entry(name, lat=45.5, lon=-73.6, host="127.0.0.1", port=7001):
    return RegionEntry(name, host, port, port + 100, lat, lon)


@pytest.fixture
def clock():
    return Clock()


def test_heartbeats_keep_a_region_up_and_silence_takes_it_down(clock):
    registry = Registry(clock, heartbeat_timeout=5)
    registry.register(entry("montreal"))
    for _ in range(10):
        clock.advance(1)
        registry.heartbeat("montreal")
        assert registry.check_health() == []
    clock.advance(5.1)
    assert registry.check_health() == ["montreal"]
    assert registry.nearest(40.7, -74.0) == []
    registry.heartbeat("montreal")
    assert registry.nearest(40.7, -74.0)[0][0].name == "montreal"


def test_a_live_name_cannot_be_taken_from_another_address(clock):
    registry = Registry(clock)
    assert registry.register(entry("montreal")) is None
    refused = registry.register(entry("montreal", port=9999))
    assert refused and "taken" in refused
    assert registry.register(entry("montreal")) is None  # the same region, restarted
    clock.advance(10)
    registry.check_health()
    assert registry.register(entry("montreal", port=9999)) is None  # the old one is down


def test_registry_survives_a_restart_with_regions_down(tmp_path, clock):
    path = str(tmp_path / "state" / "regions.json")
    registry = Registry(clock, state_file=path)
    registry.register(entry("montreal"))
    registry.register(entry("frankfurt", 50.1, 8.7, port=7002))
    assert [r["name"] for r in json.load(open(path))["regions"]] == ["frankfurt", "montreal"]
    again = Registry(clock, state_file=path)
    again.load()
    assert sorted(again.regions) == ["frankfurt", "montreal"]
    assert not any(e.up for e in again.regions.values())
    assert again.heartbeat("montreal") and again.regions["montreal"].up


def test_unreadable_state_file_is_ignored(tmp_path, clock):
    path = tmp_path / "regions.json"
    path.write_text("{not json")
    registry = Registry(clock, state_file=str(path))
    registry.load()
    assert registry.regions == {}


def connect(factory):
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def ask(protocol, transport, line: bytes) -> list[bytes]:
    transport.clear()
    protocol.dataReceived(line)
    return transport.value().split(b"\r\n")[:-1]


def test_locate_and_errors_over_string_transport(clock):
    registry = Registry(clock)
    registry.register(entry("montreal", 45.5019, -73.5674))
    registry.register(entry("frankfurt", 50.1109, 8.6821, port=7002))
    protocol, transport = connect(MasterFactory(registry))
    assert ask(protocol, transport, b"LOCATE 40.71 -74.01\r\n") == [
        b"REGION montreal 127.0.0.1 7001 533.6", b"END"]
    to_frankfurt = GEOD.inv(2.35, 48.85, 8.6821, 50.1109)[2] / 1000
    to_montreal = GEOD.inv(2.35, 48.85, -73.5674, 45.5019)[2] / 1000
    assert ask(protocol, transport, b"locate 48.85 2.35 5\n") == [
        b"REGION frankfurt 127.0.0.1 7002 %.1f" % to_frankfurt,
        b"REGION montreal 127.0.0.1 7001 %.1f" % to_montreal, b"END"]
    for line, error in [
        (b"LOCATE 91 0", b"ERR latitude 91 is outside [-90, 90]"),
        (b"LOCATE 0 -181", b"ERR longitude -181 is outside [-180, 180]"),
        (b"LOCATE nan 0", b"ERR latitude must be a finite number"),
        (b"LOCATE 0 inf", b"ERR longitude must be a finite number"),
        (b"LOCATE x 0", b"ERR latitude is not a number: 'x'"),
        (b"LOCATE 0 0 0", b"ERR n must be an integer in [1, 1000]"),
        (b"LOCATE 0 0 two", b"ERR n must be an integer in [1, 1000]"),
        (b"LOCATE 0", b"ERR usage: LOCATE <lat> <lon> [n]"),
        (b"WHAT", b"ERR unknown command 'WHAT' (try HELP)"),
        (b"HEARTBEAT montreal", b"ERR HEARTBEAT <name> comes after REGISTER on the same "
                                b"connection"),
    ]:
        assert ask(protocol, transport, line + b"\r\n") == [error], line
    assert not transport.disconnecting


def test_too_long_line_is_an_error_and_the_connection_stays_usable(clock):
    registry = Registry(clock)
    registry.register(entry("montreal"))
    protocol, transport = connect(MasterFactory(registry))
    protocol.dataReceived(b"LOCATE " + b"1" * 5000)
    protocol.dataReceived(b"1" * 5000 + b"\r\n")
    assert transport.value().startswith(b"ERR line too long")
    assert ask(protocol, transport, b"LOCATE 45 -73\n")[-1] == b"END"
    assert not transport.disconnecting


def test_no_region_available(clock):
    protocol, transport = connect(MasterFactory(Registry(clock)))
    assert ask(protocol, transport, b"LOCATE 0 0\n") == [b"ERR no region available"]


def test_registered_regions_get_the_membership_on_every_change(clock):
    registry = Registry(clock, heartbeat_timeout=5)
    factory = MasterFactory(registry)
    region, transport = connect(factory)
    lines = ask(region, transport, b"REGISTER montreal 127.0.0.1 7001 7101 45.5 -73.6\n")
    assert lines == [b"OK registered", b"PEERS 1", b"PEER montreal 127.0.0.1 7001 7101 45.5 "
                                                   b"-73.6 up"]
    transport.clear()
    registry.register(entry("frankfurt", 50.1, 8.7, port=7002))
    assert transport.value().split(b"\r\n")[0] == b"PEERS 2"
    transport.clear()
    clock.advance(6)
    region.dataReceived(b"HEARTBEAT montreal\n")
    registry.check_health()
    assert b"PEER frankfurt 127.0.0.1 7002 7102 50.1 8.7 down" in transport.value()


def test_registrations_are_bounded(clock, monkeypatch):
    import geolru.master.registry
    monkeypatch.setattr(geolru.master.registry, "MAX_REGIONS", 2)
    registry = Registry(clock)
    assert registry.register(entry("a")) is None
    assert registry.register(entry("b", port=7002)) is None
    assert "too many regions" in registry.register(entry("c", port=7003))
    assert registry.register(entry("a")) is None  # a known region may come back


def test_forget_removes_a_down_region_for_good_and_survives_a_restart(tmp_path, clock):
    state = str(tmp_path / "regions.json")
    registry = Registry(clock, heartbeat_timeout=5, state_file=state)
    registry.register(entry("montreal"))
    registry.register(entry("singapore", 1.35, 103.8, port=7003))
    assert "is up" in registry.forget("singapore")
    clock.advance(6)
    registry.heartbeat("montreal")
    registry.check_health()
    assert registry.forget("nowhere") == "no region named 'nowhere'"
    assert registry.forget("singapore") is None
    assert set(registry.regions) == {"montreal"}
    restarted = Registry(clock, state_file=state)
    restarted.load()
    assert restarted.forgotten == {"singapore"}
    assert "may not rejoin" in restarted.register(entry("singapore", 1.35, 103.8, port=7003))


def test_forget_over_the_wire_needs_the_cluster_secret(clock):
    from geolru.common.auth import registration_mac
    factory = MasterFactory(Registry(clock, heartbeat_timeout=5), secret="s3cret")
    factory.registry.register(entry("singapore"))
    clock.advance(6)
    factory.registry.check_health()
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"FORGET singapore\r\n")
    assert transport.value() == b"ERR authentication failed\r\n"
    transport.clear()
    protocol.dataReceived(b"CHALLENGE\r\n")
    nonce = transport.value().split()[1].decode()
    mac = registration_mac("s3cret", nonce, [b"FORGET", b"singapore"])
    transport.clear()
    protocol.dataReceived(f"FORGET singapore {mac}\r\n".encode())
    assert transport.value() == b"OK forgotten singapore\r\n"
    assert factory.registry.forgotten == {"singapore"}


def test_a_region_keeps_a_peer_a_masters_list_leaves_out_until_it_is_forgotten(tmp_path):
    """A new master, or one that lost its state, lists only the regions registered so
    far: a peer left out stays (down), so it still holds back tombstone collection;
    only FORGOTTEN removes it, for good and across restarts."""
    from geolru.cluster.membership import Membership, Peer
    path = str(tmp_path / "peers.json")
    membership = Membership("montreal", path)
    changes = []
    membership.listeners.append(lambda m: changes.append(sorted(m.peers)))
    peer = {"host": "127.0.0.1", "port": 7002, "peer_port": 7102, "latitude": 0.0,
            "longitude": 0.0, "up": True}
    membership.update([Peer("frankfurt", **peer), Peer("singapore", **peer)])
    membership.update([Peer("frankfurt", **peer)])
    assert sorted(membership.peers) == ["frankfurt", "singapore"]
    assert membership.peers["singapore"].up is False
    membership.forget("singapore")
    assert changes[-1] == ["frankfurt"]
    membership.update([Peer("frankfurt", **peer), Peer("singapore", **peer)])
    assert sorted(membership.peers) == ["frankfurt"]  # a forgotten name stays out
    restarted = Membership("montreal", path)
    restarted.load()
    assert sorted(restarted.peers) == ["frankfurt"] and restarted.forgotten == {"singapore"}


def test_a_syncing_region_is_left_out_of_locate_and_shown_as_syncing(clock):
    from twisted.web.test.requesthelper import DummyRequest

    from geolru.master.status_page import StatusPage
    registry = Registry(clock, heartbeat_timeout=5)
    registry.register(entry("montreal"))
    registry.register(entry("frankfurt", 50.1, 8.7, port=7002))
    registry.heartbeat("montreal", {"frankfurt": 1500.0}, syncing=True)
    registry.heartbeat("frankfurt", {"montreal": 2.5})
    assert [e.name for e, _ in registry.nearest(45.5, -73.6, 2)] == ["frankfurt"]
    clock.advance(1_700_000_000)
    registry.heartbeat("montreal", {"frankfurt": 1500.0}, syncing=True)
    registry.heartbeat("frankfurt", {"montreal": 2.5})
    page = StatusPage(registry, clock).render_GET(DummyRequest([b""])).decode()
    assert ">syncing</td>" in page and "1 syncing" in page
    assert "Rendered 2023-11-14 22:13:20 UTC" in page and "refreshes itself" in page
    assert "1500 ms</text>" in page  # the link's lag, on the map
    registry.heartbeat("montreal", {}, syncing=False)
    assert [e.name for e, _ in registry.nearest(45.5, -73.6, 2)] == ["montreal", "frankfurt"]
