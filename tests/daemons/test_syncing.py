"""No stale answers after a restart: a region catching up answers key commands with
LOADING, the master leaves it out of LOCATE, and clients fail over meanwhile."""

import pytest
import redis

from geolru.client.geocache import GeoCache
from geolru.devtools.delayproxy import DelayProxy
from support import (
    ask_master,
    free_port,
    master_daemon,
    nearest,
    placed_region,
    stop_all,
    wait_until,
)

MONTREAL = (45.50, -73.57)


def montreal_behind_a_proxy(tmp_path, others):
    """A master, Montreal, and ``others`` whose streams to Montreal go through a proxy
    (one link each, named after the region): (master, regions, proxy)."""
    proxy = DelayProxy()
    master = master_daemon(tmp_path / "master").start()
    masters = f"tcp:127.0.0.1:{master.port}"
    montreal_peer_port = free_port()
    regions = {"montreal": placed_region(
        tmp_path, "montreal", masters,
        peer_listen=f"tcp:{montreal_peer_port}:interface=127.0.0.1").start()}
    for name in others:
        port = proxy.add(name, montreal_peer_port).listen_port
        regions[name] = placed_region(tmp_path, name, masters,
                                      peer_routes=f"montreal=127.0.0.1:{port}").start()
    return master, regions, proxy


def test_a_restarted_region_serves_nothing_stale_while_it_catches_up(tmp_path):
    """The issue's run: Montreal killed; Singapore deletes greeting and counts ctr on;
    Montreal restarts while its peers cannot reach it yet (their links to it go
    through a proxy, cut): it answers LOADING, the master lists it as syncing and
    LOCATE sends Montreal's users elsewhere; once the links heal and it has caught
    up, it serves the current values, never the old ones."""
    master, regions, proxy = montreal_behind_a_proxy(tmp_path, ("frankfurt", "singapore"))
    montreal, singapore = regions["montreal"], regions["singapore"]
    try:
        wait_until(lambda: nearest(master.port, *MONTREAL) == "montreal", 20,
                   what="montreal located")
        m, s = montreal.client(), singapore.client()
        m.set("greeting", "hello")
        m.incr("ctr", 2)
        assert m.execute_command("WAIT", 2, 5000) == 2
        montreal.kill()
        s.delete("greeting")
        s.incr("ctr")
        for name in ("frankfurt", "singapore"):
            proxy.cut(name)
        montreal.start()
        with pytest.raises(redis.BusyLoadingError, match="syncing"):
            m.get("greeting")
        wait_until(lambda: "syncing" in _state(master, "montreal"), 10,
                   what="the master to list montreal as syncing")
        assert nearest(master.port, *MONTREAL) == "frankfurt"
        assert m.info("replication")["sync_state"] == "syncing"
        for name in ("frankfurt", "singapore"):
            proxy.heal(name)
        wait_until(lambda: _answers_data(m), 15, what="montreal to catch up")
        assert m.get("greeting") is None and m.get("ctr") == b"3"  # never the old ones
        wait_until(lambda: nearest(master.port, *MONTREAL) == "montreal", 10,
                   what="montreal located again once synced")
    finally:
        stop_all(master, *regions.values())
        proxy.close()


def _state(master, name) -> str:
    rows = [line for line in ask_master(master.port, "REGIONS")
            if line.startswith(f"REGION {name} ")]
    return rows[0].split()[-1] if rows else ""


def _answers_data(client) -> bool:
    try:
        client.get("greeting")
        return True
    except redis.BusyLoadingError:
        return False


def _synced_with(daemon, peers: int) -> bool:
    info = daemon.client().info("replication")
    return info["sync_state"] == "synced" and int(info["connected_peers"]) == peers


def _answers(daemon) -> bool:
    try:
        return daemon.client().ping()
    except redis.RedisError:
        return False


def test_clients_fail_over_while_the_nearest_region_syncs(tmp_path):
    master, regions, proxy = montreal_behind_a_proxy(tmp_path, ("frankfurt",))
    montreal = regions["montreal"]
    try:
        # (montreal knows frankfurt and has synced with it: before frankfurt registered,
        # montreal was located already, and it syncs with frankfurt once it hears of it)
        wait_until(lambda: _synced_with(montreal, 1)
                   and nearest(master.port, *MONTREAL) == "montreal", 20,
                   what="montreal synced with frankfurt, and located")
        cache = GeoCache(master=f"127.0.0.1:{master.port}", near=MONTREAL,
                         refresh_interval=0)
        try:
            assert cache.set("k", "v") and cache.current.name == "montreal"
            montreal.kill()
            regions["frankfurt"].client().set("k", "new")
            proxy.cut("frankfurt")
            montreal.start()
            # montreal answers LOADING while it syncs: the client goes to frankfurt
            assert cache.get("k") == b"new" and cache.current.name == "frankfurt"
        finally:
            cache.close()
    finally:
        stop_all(master, *regions.values())
        proxy.close()
