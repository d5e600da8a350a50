"""The master's line protocol, for clients and regions.

Clients send ``LOCATE lat lon [n]``, ``REGIONS``, ``HELP``, ``QUIT``.
Regions send ``REGISTER name host port peer_port lat lon`` then
``HEARTBEAT name`` every second; the master pushes the membership to every
registered region on each change::

    PEERS <count>
    PEER <name> <host> <port> <peer_port> <lat> <lon> <up|down>   (count lines)
"""

from __future__ import annotations

import hmac
import math
import os

from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver

from geolru.cluster import masterwire
from geolru.common.auth import registration_mac
from geolru.common.endpoints import no_delay
from geolru.common.protected import from_loopback, refusal
from geolru.master.geo import check_coordinates
from geolru.master.registry import RegionEntry, Registry

MAX_LOCATE = 1000


HELP = [
    "LOCATE <lat> <lon> [n]  the n (default 1) nearest live regions:",
    "                        REGION <name> <host> <port> <distance_km>, then END",
    "REGIONS                 every known region:",
    "                        REGION <name> <host> <port> <lat> <lon> <up|down>, then END",
    "FORGET <name>           remove a region that is down, for good (decommissioned):",
    "                        peers stop keeping deletes for it. With a cluster secret:",
    "                        CHALLENGE first, then FORGET <name> <hmac>",
    "RETIRE <shard>          remove a shard that a reshard emptied (region/k, stopped):",
    "                        peers stop waiting for it; the name may be used again",
    "PING                    PONG: a health check",
    "HELP                    this text",
    "QUIT                    close the connection",
]


# what a Redis client gets, as a RESP error it can show, before the master hangs up
RESP_CLIENT_ERROR = (b"-ERR this is a geolru master: it speaks lines (PING, LOCATE <lat> "
                     b"<lon>, REGIONS, HELP), not RESP; point Redis clients at a region\r\n")


class MasterError(Exception):
    """A request the master refuses: answered ``ERR <reason>``."""


def parse_float(text: bytes, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MasterError(f"{what} is not a number: {text.decode(errors='replace')!r}")
    if not math.isfinite(value):
        raise MasterError(f"{what} must be a finite number")
    return value


def parse_int_in_range(text: bytes, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise MasterError(f"{what} must be an integer in [{low}, {high}]")
    if not low <= value <= high:
        raise MasterError(f"{what} must be an integer in [{low}, {high}]")
    return value


def parse_position(lat: bytes, lon: bytes) -> tuple[float, float]:
    latitude, longitude = parse_float(lat, "latitude"), parse_float(lon, "longitude")
    problem = check_coordinates(latitude, longitude)
    if problem:
        raise MasterError(problem)
    return latitude, longitude


def peer_lines(registry: Registry) -> list[bytes]:
    """The membership pushed to regions: the regions, then those forgotten (which
    regions refuse from then on; a region from before FORGET ignores the line)."""
    regions = registry.sorted_regions()
    lines = [b"PEERS %d" % len(regions)]
    lines += [masterwire.peer_line(e.name, e.host, e.port, e.peer_port, e.latitude,
                                   e.longitude, e.up, e.region, e.slots) for e in regions]
    lines += [b"FORGOTTEN " + name.encode() for name in sorted(registry.forgotten)]
    lines += [b"RETIRED " + name.encode() for name in sorted(registry.retired)]
    return lines


class MasterProtocol(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1024
    log = Logger()

    def connectionMade(self):
        no_delay(self.transport)
        self.region_name: str | None = None
        self._discarding = False

    def dataReceived(self, data):
        if self._discarding:  # the rest of a too-long line
            newline = data.find(b"\n")
            if newline < 0:
                return
            self._discarding = False
            data = data[newline + 1:]
        super().dataReceived(data)

    def lineLengthExceeded(self, line):
        self.send(b"ERR line too long (max %d bytes)" % self.MAX_LENGTH)
        newline = line.find(b"\n")
        if newline < 0:
            self._discarding = True
        else:
            self.dataReceived(line[newline + 1:])

    def send(self, *lines: bytes):
        self.transport.write(b"".join(line + b"\r\n" for line in lines))

    def lineReceived(self, line: bytes):
        if line[:1] == b"*":  # a RESP array: a Redis client (redis-cli) at the wrong port
            self.transport.write(RESP_CLIENT_ERROR)
            self.transport.loseConnection()
            return
        words = line.rstrip(b"\r").split()
        if not words:
            return
        command = words[0].upper()
        handler = getattr(self, "do_" + command.decode("ascii", "replace"), None)
        try:
            if handler is None:
                raise MasterError(f"unknown command {words[0].decode(errors='replace')!r}"
                                  " (try HELP)")
            handler(words[1:])
        except MasterError as e:
            self.send(b"ERR " + str(e).encode())
        self.factory.requests += 1

    # ------------------------------------------------------------ clients

    def do_PING(self, args):
        if args:
            raise MasterError("usage: PING")
        self.send(b"PONG")

    def do_LOCATE(self, args):
        if len(args) not in (2, 3):
            raise MasterError("usage: LOCATE <lat> <lon> [n]")
        latitude, longitude = parse_position(args[0], args[1])
        n = parse_int_in_range(args[2], "n", 1, MAX_LOCATE) if len(args) == 3 else 1
        found = self.factory.registry.nearest(latitude, longitude, n)
        self.factory.locates += 1
        if not found:
            raise MasterError("no region available")
        registry = self.factory.registry
        self.send(*[masterwire.located_line(e.region_name, e.host, e.port, km,
                                            registry.seeds(e.region_name))
                    for e, km in found], masterwire.END)

    def do_REGIONS(self, args):
        if args:
            raise MasterError("usage: REGIONS")
        self.send(*[masterwire.listed_line(e.name, e.host, e.port, e.latitude, e.longitude,
                                           e.up, e.syncing)
                    for e in self.factory.registry.sorted_regions()], masterwire.END)

    def do_HELP(self, args):
        self.send(*[line.encode() for line in HELP], b"END")

    def do_QUIT(self, args):
        self.send(b"BYE")
        self.transport.loseConnection()

    # ------------------------------------------------------------ regions

    def do_CHALLENGE(self, args):
        self.nonce = os.urandom(16).hex()
        self.send(b"CHALLENGE " + self.nonce.encode())

    def _authenticate(self, args, fields: int, usage: str, what: str = "a registration",
                      signed=lambda args: args):
        """With a cluster secret, the request carries an HMAC of its fields (as
        ``signed`` gives them) and our nonce, as one more argument."""
        secret = self.factory.secret
        if not secret:
            if len(args) != fields:
                raise MasterError(f"usage: {usage}")
            return
        nonce = getattr(self, "nonce", None)
        if len(args) != fields + 1 or nonce is None or not hmac.compare_digest(
                args[fields], registration_mac(secret, nonce, signed(args[:fields])).encode()):
            peer = self.transport.getPeer()
            self.log.warn("refused {what} from {host}: bad or missing cluster secret",
                          what=what, host=getattr(peer, "host", peer))
            raise MasterError("authentication failed")

    def _guard(self) -> None:
        """Registrations from beyond loopback need the cluster secret (protected mode)."""
        if self.factory.protected and not from_loopback(self.transport.getPeer()):
            raise MasterError(refusal("this geolru master", "cluster_secret")
                              + " on the master and every region")

    def do_REGISTER(self, args):
        self._guard()
        shard, _ = masterwire.extras(args[6:])  # a shard's region= and slots=
        self._authenticate(args, 6 + len(shard),
                           "REGISTER <name> <host> <port> <peer_port> <lat> <lon> "
                           "[region=<region> slots=<ranges>]")
        name, host = args[0].decode(errors="replace"), args[1].decode(errors="replace")
        port = parse_int_in_range(args[2], "port", 1, 65535)
        peer_port = parse_int_in_range(args[3], "peer_port", 0, 65535)
        latitude, longitude = parse_position(args[4], args[5])
        refused = self.factory.registry.register(
            RegionEntry(name, host, port, peer_port, latitude, longitude,
                        region=shard.get("region", ""), slots=shard.get("slots", "")))
        if refused:
            self.log.warn("refused a registration: {why}", why=refused)
            raise MasterError(refused)
        self.region_name = name
        self.factory.region_connections.add(self)
        self.send(b"OK registered", *peer_lines(self.factory.registry))

    def do_FORGET(self, args):
        self._remove(args, b"FORGET", "<name>", self.factory.registry.forget, b"forgotten")

    def do_RETIRE(self, args):
        self._remove(args, b"RETIRE", "<shard>", self.factory.registry.retire, b"retired")

    def _remove(self, args, verb: bytes, what: str, remove, done: bytes) -> None:
        """FORGET or RETIRE: one name, signed with the cluster secret if there is one."""
        self._guard()
        self._authenticate(args, 1, f"{verb.decode()} {what}", f"a {verb.decode()}",
                           signed=lambda fields: [verb, *fields])
        name = args[0].decode(errors="replace")
        refused = remove(name)
        if refused:
            raise MasterError(refused)
        self.send(b"OK " + done + b" " + name.encode())

    def do_HEARTBEAT(self, args):
        """``HEARTBEAT <name> [SYNCING] [<peer>=<lag_ms> ...]``"""
        if not args or self.region_name != args[0].decode(errors="replace"):
            raise MasterError("HEARTBEAT <name> comes after REGISTER on the same connection")
        lags = {}
        syncing = False
        for word in args[1:64]:
            if word == b"SYNCING":
                syncing = True
                continue
            peer, _, value = word.decode(errors="replace").partition("=")
            try:
                lags[peer] = float(value)
            except ValueError:
                raise MasterError(f"bad peer lag {word.decode(errors='replace')!r}")
        self.factory.registry.heartbeat(self.region_name, lags, syncing)

    def connectionLost(self, reason=None):
        self.factory.region_connections.discard(self)


class MasterFactory(Factory):
    noisy = False
    protocol = MasterProtocol

    def __init__(self, registry: Registry, secret: str = "", protected: bool = False):
        self.registry = registry
        self.protected = protected  # registrations only from loopback: no cluster_secret
        self.secret = secret
        self.region_connections: set[MasterProtocol] = set()
        self.requests = 0
        self.locates = 0
        registry.listeners.append(self.push_membership)

    def push_membership(self, registry: Registry):
        lines = peer_lines(registry)
        for connection in list(self.region_connections):
            connection.send(*lines)
