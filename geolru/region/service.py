"""A region's services: what wires the store, keyspace, command table, client port
(``geolru.region.protocol``), replication and membership together.

``RegionService`` owns the keyspace, the store, the client port and the
housekeeping loop.
"""

from __future__ import annotations

import os

from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from geolru.cluster.membership import MasterLinks, Membership, Registration
from geolru.commands.events import parse_classes
from geolru.commands.stats import RATE_INTERVAL
from geolru.commands.table import CommandTable
from geolru.common.config import RegionConfig
from geolru.common.endpoints import listen_address
from geolru.common.protected import listens_beyond_loopback
from geolru.common.services import ListeningService, PeriodicService, quiet_site
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.region.protocol import RegionFactory
from geolru.region.topology import Shard, ShardLayout, Topology, shard_name
from geolru.replication.transport import Replication
from geolru.store.store import Store

HOUSEKEEPING_INTERVAL = 0.1  # seconds
EXPIRE_BATCH = 1000  # keys removed per tick at most
IDLE_BATCH = 5000  # cache entries dropped per tick at most
EVICTION_LOG_INTERVAL = 10.0  # seconds between log lines summing up evictions
housekeeping_log = Logger(namespace="geolru.housekeeping")


def housekeeping(keyspace: Keyspace, clock, tombstone_horizon=lambda: None) -> PeriodicService:
    """The reactor-scheduled task that removes expired keys, idle entries and the
    tombstones replication says no older write can reach (``tombstone_horizon``).

    Each tick does bounded work (``EXPIRE_BATCH`` keys from the store's
    deadline index, ``IDLE_BATCH`` entries of the LRU's idle sweep), so it
    never scans the keyspace and never holds the reactor for long.
    """
    cache = keyspace.cache
    reported = {"at": clock.seconds(), "evictions": 0, "expired": 0}

    def tick():
        keyspace.expire_due(EXPIRE_BATCH)
        cache.evict_idle(IDLE_BATCH)
        keyspace.collect_tombstones(tombstone_horizon())
        now = clock.seconds()
        if now - reported["at"] >= EVICTION_LOG_INTERVAL:  # a summary, not a line per key
            evicted = cache.evictions - reported["evictions"]
            expired = keyspace.expired_keys + cache.expirations - reported["expired"]
            if evicted or expired:
                housekeeping_log.info(
                    "cache: {evicted} LRU evictions, {expired} expirations in {seconds:.0f}s; "
                    "{entries} entries, {bytes} bytes", evicted=evicted, expired=expired,
                    seconds=now - reported["at"], entries=len(cache), bytes=cache.bytes)
            reported.update(at=now, evictions=cache.evictions,
                            expired=keyspace.expired_keys + cache.expirations)
    return PeriodicService(tick, clock, HOUSEKEEPING_INTERVAL, "housekeeping")


class StoreService(Service):
    """Closes (and so commits) the store when the region stops."""

    def __init__(self, store: Store):
        self.store = store

    def stopService(self):
        super().stopService()
        self.store.close()


class RegionService(MultiService):
    """Everything one region runs, built from a ``RegionConfig``."""

    log = Logger()

    def __init__(self, config: RegionConfig, reactor, daemon: bool = False):
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.layout = layout = ShardLayout.from_config(config)  # None: no cluster mode
        name = config.name if layout is None else layout.name  # what replication calls us
        self.store = Store(os.path.join(config.data_dir, "store"), reactor,
                           commit_interval=config.commit_interval, fsync=config.fsync)
        self.store.open()  # StoreError here stops a daemon before any port opens
        cache = LRUCache(reactor, max_entries=config.max_entries,
                         max_bytes=config.max_bytes, idle_ttl=config.ttl)
        self.keyspace = Keyspace(cache, self.store, name, reactor)
        self.membership = Membership(name, os.path.join(config.data_dir, "peers.json"),
                                     own_region=config.name)
        self.membership.load()
        self.replication = Replication(name, self.keyspace, self.membership, reactor,
                                       config.cluster_secret, config.peer_ca,
                                       config.peer_routes, config.peer_window,
                                       config.peer_buffer, config.sync_timeout,
                                       slots=None if layout is None else layout.slots,
                                       siblings=() if layout is None else [
                                           shard_name(config.name, sibling.index)
                                           for sibling in layout.siblings])
        self.topology = None
        if layout is not None:
            self.topology = Topology(layout, Shard(
                name, config.advertise_host, endpoint_port(config.listen),
                endpoint_port(config.peer_listen), layout.slots, myself=True))
            self.membership.listeners.append(
                lambda membership: self.topology.update(membership.siblings.values()))
            self.topology.update(self.membership.siblings.values())
        self.table = CommandTable(
            self.keyspace, reactor, name=config.name, latitude=config.latitude,
            longitude=config.longitude, requirepass=config.requirepass.encode(),
            max_bulk_len=config.proto_max_bulk_len, started=reactor.seconds(),
            replication=self.replication, tcp_port=endpoint_port(config.listen),
            maxclients=config.maxclients, serve_stale_data=config.serve_stale_data == "yes",
            config_file=config.config_file, cluster=self.topology,
            notify_flags=parse_classes(config.notify_keyspace_events))
        replicator = self.replication.replicator
        self.table.publish_to_peers = replicator.broadcast
        replicator.message_listeners.append(self.table.deliver)
        StoreService(self.store).setServiceParent(self)
        PeriodicService(self.table.sample_stats, reactor, RATE_INTERVAL,
                        "stats").setServiceParent(self)
        self.client_port = ListeningService(
            reactor, serverFromString(reactor, config.listen),
            RegionFactory(self.table, reactor, config.maxclients, config.client_output_limit,
                          beyond_loopback=listens_beyond_loopback(config.listen),
                          pubsub_output_limit=config.client_output_limit_pubsub),
            f"region {config.name} clients",
            stop_reactor_on_failure=daemon)
        self.client_port.setServiceParent(self)
        self.replication.setServiceParent(self)
        housekeeping(self.keyspace, reactor,
                     self.replication.tombstone_horizon).setServiceParent(self)
        if config.master:
            links = MasterLinks(config.master, self.registration, self.membership, reactor,
                                config.cluster_secret, self.peer_lags,
                                lambda: self.replication.replicator.syncing)
            links.setServiceParent(self)
            self.replication.replicator.sync_listeners.append(links.sync_changed)
        self.peer_port = None
        if config.peer_listen:
            self.replication.receiver_factory.protected = (
                listens_beyond_loopback(config.peer_listen) and not config.cluster_secret)
            self.peer_port = ListeningService(
                reactor, serverFromString(reactor, config.peer_listen),
                self.replication.receiver_factory, f"region {config.name} peers",
                stop_reactor_on_failure=daemon)
            self.peer_port.setServiceParent(self)
        if config.http:
            from geolru.region.http import region_root
            ListeningService(reactor, serverFromString(reactor, config.http),
                             quiet_site(region_root(self.table)),
                             f"region {config.name} http",
                             stop_reactor_on_failure=daemon).setServiceParent(self)

    def startService(self):
        super().startService()
        if self.topology is not None:  # the ports actually listening (0 in an ini: any)
            registration = self.registration()
            self.topology.listening(registration.port, registration.peer_port)

    def peer_lags(self) -> dict[str, float]:
        """Each peer's replication lag in ms, for the master's status page."""
        return {name: waited for name, _, _, _, waited in self.replication.peers()}

    def registration(self) -> Registration:
        """What the masters are told; the ports are the ones actually listening."""
        config = self.config
        address = self.client_port.address
        port = address.port if address is not None else endpoint_port(config.listen)
        peer_address = self.peer_port.address if self.peer_port is not None else None
        peer_port = (peer_address.port if peer_address is not None
                     else endpoint_port(config.peer_listen))
        layout = self.layout
        if layout is None:
            return Registration(config.name, config.advertise_host, port, peer_port,
                                config.latitude, config.longitude)
        return Registration(layout.name, config.advertise_host, port, peer_port,
                            config.latitude, config.longitude, config.name, str(layout.slots))


def endpoint_port(description: str) -> int:
    """The port a server endpoint string listens on (0 if it names none)."""
    return listen_address(description)[1]
