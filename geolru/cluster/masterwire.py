"""The master's line protocol: each line a master or a region writes, and its parser.

Clients: ``LOCATE lat lon [n]`` → ``REGION name host port km [seeds=host:port,...]``
lines, then ``END``;
``REGIONS`` → ``REGION name host port lat lon up|down`` lines, then ``END``; any
error is one ``ERR <reason>`` line.  Regions: ``REGISTER name host port peer_port lat
lon [mac]``, then ``HEARTBEAT name [peer=lag_ms ...]``; the master pushes
``PEERS n``, n ``PEER name host port peer_port lat lon up|down`` lines and
``FORGOTTEN name`` lines.  A shard of a region in cluster mode registers under its own
name (``region/k``) and adds ``region=<region> slots=<ranges>`` after the six fields
(before the HMAC), and its ``PEER`` lines carry the same two words; a region without
cluster mode writes neither, so its lines are what a release before cluster mode
reads.  Sans-IO: values in, bytes out, and back.
"""

from __future__ import annotations

import attrs

END = b"END"


@attrs.frozen
class Located:
    """A ``LOCATE`` answer line: a region, and for one in cluster mode the address of
    each live shard (``seeds``: a cluster client starts from any)."""

    name: str
    host: str
    port: int
    distance_km: float
    seeds: tuple[tuple[str, int], ...] = ()


def extras(words) -> tuple[dict[str, str], list]:
    """The ``key=value`` words at the start of ``words``, and the words after them."""
    found = {}
    for i, word in enumerate(words):
        text = word.decode(errors="replace") if isinstance(word, bytes) else word
        key, equals, value = text.partition("=")
        if not equals:
            return found, list(words[i:])
        found[key] = value
    return found, []


def _shard_words(region: str, slots: str) -> str:
    """`` region=<region> slots=<ranges>`` for a shard, nothing for a plain region."""
    return f" region={region} slots={slots}" if region or slots else ""


@attrs.frozen
class Listed:
    """A ``REGIONS`` answer line."""

    name: str
    host: str
    port: int
    latitude: float
    longitude: float
    up: bool


def located_line(name: str, host: str, port: int, km: float, seeds=()) -> bytes:
    line = b"REGION %s %s %d %.1f" % (name.encode(), host.encode(), port, km)
    if seeds:
        line += b" seeds=" + ",".join(f"{h}:{p}" for h, p in seeds).encode()
    return line


def parse_located(line: str) -> Located:
    _, name, host, port, km, *rest = line.split()
    found, _ = extras(rest)
    seeds = tuple((h, int(p)) for h, _, p in (
        seed.rpartition(":") for seed in found.get("seeds", "").split(",") if seed))
    return Located(name, host, int(port), float(km), seeds)


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
              up: bool, region: str = "", slots: str = "") -> bytes:
    return ("PEER %s %s %d %d %r %r %s" % (name, host, port, peer_port, lat, lon,
                                          "up" if up else "down")
            + _shard_words(region, slots)).encode()


def parse_peer(words: list[bytes]) -> tuple[str, str, int, int, float, float, bool, str, str]:
    """The fields of a ``PEER`` line, split, without the ``PEER``: those of a region,
    then its region and slots ("" for a region without cluster mode)."""
    name, host, port, peer_port, lat, lon, state = (w.decode() for w in words[:7])
    found, _ = extras(words[7:])
    return (name, host, int(port), int(peer_port), float(lat), float(lon), state == "up",
            found.get("region", ""), found.get("slots", ""))


def register_line(name: str, host: str, port: int, peer_port: int, lat: float,
                  lon: float, region: str = "", slots: str = "") -> bytes:
    return ("REGISTER %s %s %d %d %r %r" % (name, host, port, peer_port, lat, lon)
            + _shard_words(region, slots)).encode()


def reply_lines(lines: list[str]) -> list[str] | None:
    """The answer lines before ``END`` once it arrived (None before); ``LookupError``
    for an ``ERR`` line."""
    for i, line in enumerate(lines):
        if line.startswith("ERR"):
            raise LookupError(line[4:])
        if line == "END":
            return lines[:i]
    return None
