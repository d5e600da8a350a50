"""Real daemons at real distances: every link, to peers and to the master, through
the delaying proxy (geolru.devtools.delayproxy)."""

import time

import pytest

from geolru.devtools.delayproxy import DelayProxy
from support import (
    PLACES,
    ask_master,
    free_port,
    master_daemon,
    nearest,
    region_daemon,
    stop_all,
    wait_until,
)

pytestmark = pytest.mark.serial  # timing: alone, after the others (scripts/test)

NAMES = ("montreal", "frankfurt", "singapore")
USERS = {"montreal": (40.71, -74.0), "frankfurt": (48.85, 2.35), "singapore": (13.75, 100.5)}


@pytest.fixture
def far_cluster(tmp_path):
    """A master and three regions 115 ms apart one way (230 ms round trips), the
    master as far from each region; yields (master, regions, proxy)."""
    proxy = DelayProxy()
    master = master_daemon(tmp_path / "master", heartbeat_timeout=1.5).start()
    to_master = proxy.add("master", master.port, delay_ms=115).listen_port
    peer_ports = {name: free_port() for name in NAMES}
    regions = {}
    for name in NAMES:
        routes = ",".join(
            f"{peer}=127.0.0.1:{proxy.add(f'{name}>{peer}', peer_ports[peer], 115).listen_port}"
            for peer in NAMES if peer != name)
        lat, lon = PLACES[name]
        regions[name] = region_daemon(
            tmp_path / name, name=name, latitude=lat, longitude=lon,
            master=f"tcp:127.0.0.1:{to_master}", peer_routes=routes,
            peer_listen=f"tcp:{peer_ports[name]}:interface=127.0.0.1")
    for region in regions.values():
        region.start()
    yield master, regions, proxy
    stop_all(master, *regions.values())
    proxy.close()


def streams(region) -> dict:
    info = region.client().info("replication")
    return {v["name"]: v for k, v in info.items() if k.startswith("peer")}


def test_a_230_ms_round_trip_neither_flaps_a_link_nor_trips_heartbeats(far_cluster):
    master, regions, proxy = far_cluster

    def all_live():
        return all(len(s := streams(r)) == 2 and all(p["state"] == "live" for p in s.values())
                   for r in regions.values())
    wait_until(all_live, 30, what="every stream live through the proxy")
    wait_until(lambda: all(nearest(master.port, *USERS[n]) == n for n in NAMES), 15,
               what="the master to know every region")
    syncs = {name: {peer: (p["full_syncs"], p["partial_syncs"])
                    for peer, p in streams(r).items()} for name, r in regions.items()}
    clients = {name: r.client() for name, r in regions.items()}
    # 8 s of writes, each second a WAIT for both peers; the links and the master's
    # view of the regions are checked all along
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < 8:
        n += 1
        for name, client in clients.items():
            client.set(f"{name}:{n}", n)
        if n % 10 == 0:
            assert clients["montreal"].execute_command("WAIT", 2, 2000) == 2
            assert all_live()
            listed = [line.split() for line in ask_master(master.port, "REGIONS")
                      if line.startswith("REGION ")]
            assert sorted((row[1], row[-1]) for row in listed) == \
                sorted((name, "up") for name in NAMES)
            for name in NAMES:
                assert nearest(master.port, *USERS[name]) == name
        time.sleep(0.05)
    for name, region in regions.items():
        assert {peer: (p["full_syncs"], p["partial_syncs"])
                for peer, p in streams(region).items()} == syncs[name], \
            f"{name} reconnected a stream"
    assert "is down" not in master.log()
    last = {f"{name}:{n}" for name in NAMES}
    wait_until(lambda: all(None not in c.mget(sorted(last)) for c in clients.values()), 10,
               what="every write everywhere")
    stats = proxy.stats()
    assert all(link["connections"] == 1 for name, link in stats.items() if ">" in name)
