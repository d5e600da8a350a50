"""A region's side of the master: register, heartbeat, learn the peers.

Each configured master gets a persistent connection (``geolru.cluster.links.Link``,
reconnecting with backoff), so a restarted master is rejoined without touching
the region, and any of several masters can answer ``LOCATE``.  The peers the
masters push are kept in ``Membership`` and on disk (``peers.json``), so a
region restarted while every master is down still knows its peers.
"""

from __future__ import annotations

import json
import os
import tempfile

import attrs
from twisted.application.internet import backoffPolicy
from twisted.application.service import MultiService
from twisted.internet import task
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver

from geolru.cluster import masterwire
from geolru.cluster.links import Link
from geolru.common.auth import registration_mac
from geolru.common.endpoints import client_address, no_delay

HEARTBEAT_INTERVAL = 1.0  # seconds; the master's heartbeat_timeout defaults to 5


@attrs.frozen
class Registration:
    """What a region tells the master about itself."""

    name: str
    host: str
    port: int
    peer_port: int
    latitude: float
    longitude: float
    region: str = ""  # cluster mode: the region this shard belongs to ("" : name)
    slots: str = ""  # ... and the slots it serves ("": every slot)

    def line(self) -> bytes:
        return masterwire.register_line(self.name, self.host, self.port, self.peer_port,
                                        self.latitude, self.longitude, self.region,
                                        self.slots)

    @property
    def region_name(self) -> str:
        return self.region or self.name


@attrs.frozen
class Peer(Registration):
    """Another region (or shard), as the master describes it."""

    up: bool = False


def parse_peer(words: list[bytes]) -> Peer:
    """``PEER name host port peer_port lat lon up|down [region=… slots=…]`` (without
    the PEER)."""
    name, host, port, peer_port, lat, lon, up, region, slots = masterwire.parse_peer(words)
    return Peer(name, host, port, peer_port, lat, lon, region, slots, up)


@attrs.define(eq=False)
class Membership:
    """The other regions, as last told by a master (and remembered on disk).

    In cluster mode a peer is a shard of another region, and the shards of this
    region are ``siblings``: they serve other slots, and nothing streams between them.
    """

    own_name: str
    path: str = ""
    own_region: str = ""  # cluster mode: this shard's region ("": own_name)
    log = Logger()
    peers: dict = attrs.field(factory=dict, init=False)  # name -> Peer
    siblings: dict = attrs.field(factory=dict, init=False)  # name -> Peer, same region
    listeners: list = attrs.field(factory=list, init=False)  # callables(membership)
    forgotten: set = attrs.field(factory=set, init=False)  # regions refused for good
    retired: set = attrs.field(factory=set, init=False)  # shards a reshard emptied

    def forget(self, name: str) -> None:
        """A master FORGOT ``name``: it leaves the membership, and its streams are
        refused from now on (remembered next to peers.json, in forgotten.json)."""
        if name in self.forgotten or name == self.own_name:
            return
        self.forgotten.add(name)
        self.log.warn("region {name} was forgotten: its streams are refused", name=name)
        if self.path:
            _write_json(self._forgotten_path(), sorted(self.forgotten))
        if (self.peers.pop(name, None) or self.siblings.pop(name, None)) is not None:
            self.save()
            for listener in list(self.listeners):
                listener(self)

    def retire(self, name: str) -> None:
        """A master RETIREd the shard ``name`` (a reshard emptied it): it leaves the
        membership; unlike a forgotten region it may return (a new shard, empty)."""
        if name in self.retired or name == self.own_name:
            return
        self.retired.add(name)
        self.log.info("shard {name} was retired (resharded): no longer waited for", name=name)
        if (self.peers.pop(name, None) or self.siblings.pop(name, None)) is not None:
            self.save()
        for listener in list(self.listeners):
            listener(self)

    def _forgotten_path(self) -> str:
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), "forgotten.json")

    def update(self, peers: list[Peer]) -> None:
        """A master's list.  A peer it leaves out stays, as down, until a master
        FORGETs it: a new master, or one that lost its state, lists only the regions
        registered so far, and a peer dropped here would stop holding back the
        collection of the deletes it has not received."""
        new = {p.name: p for p in peers if p.name != self.own_name and p.name not in self.forgotten}
        self.retired.difference_update(new)  # registered again: a new shard of that name
        for name, known in {**self.peers, **self.siblings}.items():
            if name not in new:
                new[name] = attrs.evolve(known, up=False)
        own_region = self.own_region or self.own_name
        siblings = {n: p for n, p in new.items() if p.region_name == own_region}
        new = {n: p for n, p in new.items() if p.region_name != own_region}
        if new == self.peers and siblings == self.siblings:
            return
        self.peers, self.siblings = new, siblings
        self.log.info("peers: {peers}", peers=", ".join(
            f"{p.name}({'up' if p.up else 'down'})" for p in new.values()) or "none")
        self.save()
        for listener in list(self.listeners):
            listener(self)

    def save(self) -> None:
        if self.path:
            _write_json(self.path, [attrs.asdict(p) for p in
                                    (*self.peers.values(), *self.siblings.values())])

    def load(self) -> None:
        if not self.path:
            return
        try:
            if os.path.exists(self.path):
                with open(self.path) as f:
                    known = [Peer(**row) for row in json.load(f)]
                own_region = self.own_region or self.own_name
                self.peers = {p.name: p for p in known if p.region_name != own_region}
                self.siblings = {p.name: p for p in known if p.region_name == own_region}
            if os.path.exists(self._forgotten_path()):
                with open(self._forgotten_path()) as f:
                    self.forgotten = {str(name) for name in json.load(f)}
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.error("ignoring unreadable {path}: {e}", path=self.path, e=e)


def _write_json(path: str, value) -> None:
    """Replace ``path`` with ``value`` as JSON, atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".geolru-")
    with os.fdopen(fd, "w") as f:
        json.dump(value, f, indent=1)
    os.replace(tmp, path)


class MasterLinkProtocol(LineReceiver):
    delimiter = b"\n"
    log = Logger()

    def connectionMade(self):
        factory = self.factory
        no_delay(self.transport)
        self._peers: list[Peer] = []
        self._expected = 0
        self.registered = False
        if factory.secret:
            self.sendLine(b"CHALLENGE")  # the master answers with a nonce to sign
        else:
            self.sendLine(factory.registration().line())
            self._heartbeat_line()  # at once: the master must know now if we are syncing
        factory.connected.add(self)
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.clock = factory.clock
        self._heartbeat.start(HEARTBEAT_INTERVAL, now=False)

    def _beat(self):
        if self.registered:  # a refused region does not flood the master
            self._heartbeat_line()

    def _heartbeat_line(self):
        factory = self.factory
        lags = "".join(f" {peer}={ms:.1f}" for peer, ms in factory.peer_lags().items())
        self.sendLine(b"HEARTBEAT " + factory.registration().name.encode()
                      + (b" SYNCING" if factory.syncing() else b"") + lags.encode())

    def lineReceived(self, line: bytes):
        words = line.rstrip(b"\r").split()
        if not words:
            return
        kind = words[0]
        try:
            if kind == b"PEERS":
                self._expected = int(words[1])
                self._peers = []
                if self._expected == 0:
                    self.factory.membership.update([])
            elif kind == b"PEER":
                self._peers.append(parse_peer(words[1:]))
                if len(self._peers) == self._expected:
                    self.factory.membership.update(self._peers)
            elif kind == b"FORGOTTEN":
                self.factory.membership.forget(words[1].decode())
            elif kind == b"RETIRED":
                self.factory.membership.retire(words[1].decode())
            elif kind == b"CHALLENGE":
                line = self.factory.registration().line()
                mac = registration_mac(self.factory.secret, words[1].decode(), line.split()[1:])
                self.sendLine(line + b" " + mac.encode())
                self._heartbeat_line()
            elif kind == b"OK":
                self.registered = True
                peer = self.transport.getPeer()
                self.log.info("registered with the master at {address}",
                              address=f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}")
            elif kind == b"ERR":
                self.log.error("the master refused: {why}", why=line.decode(errors="replace"))
        except (ValueError, IndexError) as e:
            self.log.warn("ignoring a bad line from the master {line!r}: {e}", line=line, e=e)

    def connectionLost(self, reason=None):
        self.factory.connected.discard(self)
        if self._heartbeat.running:
            self._heartbeat.stop()


class MasterLinkFactory(Factory):
    noisy = False
    protocol = MasterLinkProtocol

    def __init__(self, registration, membership: Membership, clock, secret: str = "",
                 peer_lags=dict, syncing=bool):
        self.registration = registration  # () -> Registration, read at each connect
        self.membership = membership
        self.clock = clock
        self.secret = secret
        self.peer_lags = peer_lags  # () -> {peer: ms}, sent with each heartbeat
        self.syncing = syncing  # () -> bool: catching up (LOCATE leaves it out)
        self.connected: set[MasterLinkProtocol] = set()

    def sync_changed(self, syncing: bool = False) -> None:
        """Syncing began or ended: every registered link heartbeats now, not at its
        next beat, so the master's LOCATE changes its answer at once."""
        for protocol in list(self.connected):
            protocol._beat()


class MasterLinks(MultiService):
    """One reconnecting connection per configured master."""

    def __init__(self, endpoints, registration, membership: Membership, reactor,
                 secret: str = "", peer_lags=dict, syncing=bool):
        super().__init__()
        factory = MasterLinkFactory(registration, membership, reactor, secret, peer_lags,
                                    syncing)
        self.sync_changed = factory.sync_changed
        for description in endpoints:
            address = client_address(description)
            Link(clientFromString(reactor, description), factory, reactor,
                 "the link to the master", address,
                 retry=backoffPolicy(initialDelay=0.2, maxDelay=3.0, factor=1.5)
                 ).setServiceParent(self)
