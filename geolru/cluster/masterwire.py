"""The master's line protocol: each line a master or a region writes, and its parser.

Clients: ``LOCATE lat lon [n]`` → ``REGION name host port km`` lines, then ``END``;
``REGIONS`` → ``REGION name host port lat lon up|down`` lines, then ``END``; any
error is one ``ERR <reason>`` line.  Regions: ``REGISTER name host port peer_port lat
lon [mac]``, then ``HEARTBEAT name [peer=lag_ms ...]``; the master pushes
``PEERS n``, n ``PEER name host port peer_port lat lon up|down`` lines and
``FORGOTTEN name`` lines.  Sans-IO: values in, bytes out, and back.
"""

from __future__ import annotations

import attrs

END = b"END"


@attrs.frozen
class Located:
    """A ``LOCATE`` answer line."""

    name: str
    host: str
    port: int
    distance_km: float


@attrs.frozen
class Listed:
    """A ``REGIONS`` answer line."""

    name: str
    host: str
    port: int
    latitude: float
    longitude: float
    up: bool


def located_line(name: str, host: str, port: int, km: float) -> bytes:
    return b"REGION %s %s %d %.1f" % (name.encode(), host.encode(), port, km)


def parse_located(line: str) -> Located:
    _, name, host, port, km = line.split()
    return Located(name, host, int(port), float(km))


def region_state(up: bool, syncing: bool) -> str:
    """``up``, ``syncing`` (up, catching up: not LOCATEd) or ``down``: what REGIONS,
    the status page and the metrics call a region."""
    return ("syncing" if syncing else "up") if up else "down"


def listed_line(name: str, host: str, port: int, lat: float, lon: float, up: bool,
                syncing: bool = False) -> bytes:
    """A REGIONS line, with the region's state (``region_state``)."""
    return ("REGION %s %s %d %r %r %s" % (name, host, port, lat, lon,
                                         region_state(up, syncing))).encode()


def parse_listed(line: str) -> Listed:
    _, name, host, port, lat, lon, state = line.split()
    return Listed(name, host, int(port), float(lat), float(lon), state == "up")


def peer_line(name: str, host: str, port: int, peer_port: int, lat: float, lon: float,
              up: bool) -> bytes:
    return ("PEER %s %s %d %d %r %r %s" % (name, host, port, peer_port, lat, lon,
                                          "up" if up else "down")).encode()


def parse_peer(words: list[bytes]) -> tuple[str, str, int, int, float, float, bool]:
    """The fields of a ``PEER`` line, split, without the ``PEER``."""
    name, host, port, peer_port, lat, lon, state = (w.decode() for w in words)
    return name, host, int(port), int(peer_port), float(lat), float(lon), state == "up"


def register_line(name: str, host: str, port: int, peer_port: int, lat: float,
                  lon: float) -> bytes:
    return ("REGISTER %s %s %d %d %r %r" % (name, host, port, peer_port, lat, lon)).encode()


def reply_lines(lines: list[str]) -> list[str] | None:
    """The answer lines before ``END`` once it arrived (None before); ``LookupError``
    for an ``ERR`` line."""
    for i, line in enumerate(lines):
        if line.startswith("ERR"):
            raise LookupError(line[4:])
        if line == "END":
            return lines[:i]
    return None
