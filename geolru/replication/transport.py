"""Replication over Twisted: connections for ``geolru.replication.replicator``'s state machines.

Each region opens a connection to every peer's ``peer_listen`` port
(``ClientService``, reconnecting with backoff) and sends its change stream on it
(``geolru.replication.sender``); it receives the other regions' streams on its own port
(``geolru.replication.receiver``).  Frames are ``Int32StringReceiver`` strings
(``geolru.replication.peerwire``).  Everything a stream decides lives in the state machines;
this module only carries their frames and connection events, so a deterministic
simulator (``tests/simulation``) runs the same logic without sockets.
"""

from __future__ import annotations

from twisted.application.service import MultiService
from twisted.internet.endpoints import clientFromString, wrapClientTLS
from twisted.internet.protocol import Factory
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.logger import Logger
from twisted.protocols.basic import Int32StringReceiver

from geolru.cluster.links import Link
from geolru.cluster.membership import Membership, Peer
from geolru.common.endpoints import keep_alive, no_delay
from geolru.common.protected import from_loopback, refusal
from geolru.keyspace.keyspace import Keyspace
from geolru.model.slots import SlotsError, SlotSet
from geolru.replication.replicator import SYNC_TIMEOUT, Replicator
from geolru.replication.sender import BUFFER

MAX_FRAME = (1 << 30) + (1 << 20)


class FrameProtocol(Int32StringReceiver):
    """Frames to and from a state machine; ``None`` from it closes the connection."""

    MAX_LENGTH = MAX_FRAME
    log = Logger()

    def makeConnection(self, transport):
        no_delay(transport)
        keep_alive(transport)  # a peer gone without a word is noticed, and redialled
        super().makeConnection(transport)

    def send(self, frame: bytes | None) -> None:
        if frame is None:
            self.transport.loseConnection()
        else:
            self.sendString(frame)

    def lengthLimitExceeded(self, length):
        self.log.warn("closing a peer connection: frame of {n} bytes", n=length)
        self.transport.loseConnection()


class SenderProtocol(FrameProtocol):
    """Our change stream, to one peer."""

    def connectionMade(self):
        self.sender = self.factory.sender
        self.sender.connected(self.send)

    def stringReceived(self, frame: bytes):
        self.sender.received(frame)

    def connectionLost(self, reason=None):
        if self.sender.is_current(self.send):  # (not a connection that was replaced)
            self.sender.disconnected()


class SenderFactory(Factory):
    protocol = SenderProtocol
    noisy = False

    def __init__(self, sender):
        self.sender = sender


class ReceiverProtocol(FrameProtocol):
    """Another region's stream, applied here."""

    def connectionMade(self):
        if self.factory.protected and not from_loopback(self.transport.getPeer()):
            self.receiver = None
            self.sendString(b"E" + refusal("this geolru region's peer port",
                                           "cluster_secret").encode())
            self.transport.loseConnection()
            return
        self.receiver = self.factory.replicator.new_receiver(self.send)

    def stringReceived(self, frame: bytes):
        if self.receiver is not None:
            self.receiver.received(frame)

    def connectionLost(self, reason=None):
        if self.receiver is not None:
            self.receiver.disconnected()


class ReceiverFactory(Factory):
    protocol = ReceiverProtocol
    noisy = False

    def __init__(self, replicator, protected: bool = False):
        self.replicator = replicator
        self.protected = protected  # only loopback peers: beyond it, no cluster_secret


class PeerLink(MultiService):
    """The reconnecting connection that carries our stream to one peer."""

    def __init__(self, peer: Peer, sender, reactor, tls_trust=None, route=None):
        super().__init__()
        self.peer = peer
        host, port = route or (peer.host, peer.peer_port)
        sender.status.address = f"{host}:{port}"
        endpoint = clientFromString(reactor, f"tcp:{host}:{port}:timeout=5")
        if tls_trust is not None:  # peers listen on ssl: endpoints; check their certificate
            endpoint = wrapClientTLS(
                optionsForClientTLS(peer.host, trustRoot=tls_trust), endpoint)
        self.link = Link(endpoint, SenderFactory(sender), reactor, f"the link to {peer.name}",
                         f"{host}:{port}")
        self.link.setServiceParent(self)


def peer_slots(peer: Peer) -> SlotSet | None:
    """The slots a peer serves, as the membership says (None: all, or unreadable)."""
    try:
        return SlotSet.parse(peer.slots) if peer.slots else None
    except SlotsError:
        return None


class Replication(MultiService):
    """Streams to every peer the membership names; the port's factory for the others."""

    def __init__(self, own_name: str, keyspace: Keyspace, membership: Membership, reactor,
                 secret: str = "", peer_ca: str = "", routes: dict | None = None,
                 window: int = 32 << 20, buffer: int = BUFFER,
                 sync_timeout: float = SYNC_TIMEOUT, slots: SlotSet | None = None,
                 siblings=()):
        super().__init__()
        self.tls_trust = None
        if peer_ca:
            with open(peer_ca, "rb") as f:
                self.tls_trust = Certificate.loadPEM(f.read())
        self.reactor = reactor
        self.membership = membership
        self.routes = routes or {}  # peer name -> (host, port) to reach it at
        self.replicator = Replicator(own_name, keyspace, reactor, secret,
                                     set(membership.forgotten), window=window, buffer=buffer,
                                     sync_timeout=sync_timeout, slots=slots,
                                     log=Logger(namespace="geolru.replication"))
        self.siblings = set(siblings)  # this shard's region's other shards, as its ini says
        self.replicator.siblings = set(self.siblings)
        self.links: dict[str, PeerLink] = {}
        self._down: set[str] = set()  # peers the membership last said were down
        self._started_at = 0.0
        membership.listeners.append(self._membership_changed)
        self.receiver_factory = ReceiverFactory(self.replicator)

    @property
    def streams(self):
        """Peer name -> its ``Sender`` (status and lag)."""
        return self.replicator.senders

    def startService(self):
        self._started_at = self.reactor.seconds()
        super().startService()
        self._membership_changed(self.membership)
        # a region that starts may have missed writes: it catches up before it serves
        peers = [p for p in self.membership.peers.values() if p.peer_port]
        self.replicator.begin_sync([p.name for p in peers if p.up], "starting")
        # what its peers.json says of them may be as old as its data folder: it waits
        # for each until it takes its resume positions or the master says it is down
        self.replicator.hold_streams([p.name for p in peers])

    def stopService(self):
        self.replicator.stop()
        return super().stopService()

    def _membership_changed(self, membership: Membership):
        if not self.running:
            return
        replicator = self.replicator
        replicator.siblings = self.siblings | set(membership.siblings)
        replicator.peers_down([p.name for p in membership.peers.values() if not p.up])
        for name in sorted(set(membership.forgotten) - replicator.forgotten):
            self._drop_link(name)
            replicator.forget(name)
        for name in sorted(membership.retired & (set(self.links) | set(replicator.senders))):
            self._drop_link(name)
            replicator.retire(name)
        wanted = {p.name: p for p in membership.peers.values() if p.peer_port}
        for name, link in list(self.links.items()):
            peer = wanted.get(name)
            if peer is None or (peer.host, peer.peer_port) != (link.peer.host,
                                                               link.peer.peer_port):
                self._drop_link(name)
                replicator.remove_peer(name)
        down = {name for name, peer in wanted.items() if not peer.up}
        for name in sorted((self._down - down) & set(self.links)):
            # back, the master says: a link retrying with backoff (up to 2 s after a
            # long outage) tries now, and the peer's catch-up starts that much sooner
            self.links[name].link.reconnect_now()
        self._down = down
        joined = []
        for name, peer in wanted.items():
            slots = peer_slots(peer)
            if name in replicator.senders:
                replicator.senders[name].member_slots = slots
            if name not in self.links:
                sender = replicator.senders.get(name) or replicator.add_peer(
                    name, peer.region_name, slots)
                link = PeerLink(peer, sender, self.reactor, self.tls_trust,
                                self.routes.get(name))
                self.links[name] = link
                link.setServiceParent(self)
                if peer.up:
                    joined.append(name)
        if joined and self.reactor.seconds() - self._started_at < replicator.sync_timeout:
            # peers learnt while starting (a new region knows none before the master
            # tells it): it catches up with them too before it serves
            replicator.begin_sync(joined, "starting")
            replicator.hold_streams(joined)

    def _drop_link(self, name: str) -> None:
        link = self.links.pop(name, None)
        if link is not None:
            link.disownServiceParent()

    def tombstone_horizon(self) -> int:
        return self.replicator.tombstone_horizon()

    # what the command table asks for
    def wait(self, position: int, count: int, timeout_ms: int, answer) -> None:
        self.replicator.wait(position, count, timeout_ms, answer)

    def acknowledged_count(self, position: int) -> int:
        return self.replicator.acknowledged_count(position)

    def info_lines(self) -> list[str]:
        return self.replicator.info_lines()

    def sync_counts(self) -> tuple[int, int]:
        return self.replicator.sync_counts()

    def peers(self):
        return self.replicator.peers()
