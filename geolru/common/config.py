"""Configuration: ini files (plus command-line overrides) into attrs classes.

Every problem is a ``ConfigError`` whose text is one line naming the file,
the key and what is wrong, so a daemon can refuse to start with just that.
"""

from __future__ import annotations

import configparser
import math
import os
import re
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.endpoints import clientFromString, serverFromString


class ConfigError(Exception):
    def __init__(self, path: str, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


# ---------------------------------------------------------------- value parsers

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "kib": 1024, "m": 1000**2, "mb": 1024**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1024**3, "gib": 1024**3, "t": 1000**4,
          "tb": 1024**4, "tib": 1024**4}


def parse_size(text: str) -> int:
    """``64MB`` → 67108864 (Redis' convention: ``mb`` is 1024², ``m`` is 10⁶)."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a size: {text!r} (try 64MB, 512kb, 1000000)")
    return int(float(match.group(1)) * _UNITS[unit])


def _number(kind, low=None, high=None):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"not a{'n integer' if kind is int else ' number'}: {text!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a finite number: {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{text} is outside [{low}, {high}]")
        return value
    return parse


def _keyspace_classes(text: str) -> str:
    """notify-keyspace-events' classes (``geolru.commands.events`` reads them)."""
    if set(text) - set("Ag$lshzxeKEtmdn"):
        raise ValueError(f"{text!r}: invalid event class character; use 'Ag$lshzxeKEtmdn'")
    return text


def _name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", text):
        raise ValueError(f"{text!r} is not a region name (letters, digits, _ . -; 1-64)")
    return text


def _peer_name(text: str) -> str:
    """A region's name, or a shard's: ``region/k`` (cluster mode)."""
    region, slash, shard = text.partition("/")
    if slash and not shard.isdigit():
        raise ValueError(f"{text!r} is not a region or a shard name (region/k)")
    return _name(region) and text


def _text(text: str) -> str:
    return text


def _optional(parse):
    def optional(text: str):
        return None if text == "" else parse(text)
    return optional


def _choice(*choices: str):
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError("not one of " + ", ".join(choices))
        return text
    return parse


def _server_endpoint(text: str) -> str:
    if not text:
        return text
    from twisted.internet import reactor
    try:
        serverFromString(reactor, text)
    except Exception as e:  # Twisted raises ValueError, KeyError, TypeError …
        raise ValueError(f"not a server endpoint: {text!r} ({e})")
    return text


def _client_endpoints(text: str) -> tuple[str, ...]:
    from twisted.internet import reactor
    endpoints = tuple(part.strip() for part in text.split(",") if part.strip())
    for endpoint in endpoints:
        try:
            clientFromString(reactor, endpoint)
        except Exception as e:
            raise ValueError(f"not a client endpoint: {endpoint!r} ({e})")
    return endpoints


def _readable_file(text: str) -> str:
    if text and not os.access(text, os.R_OK):
        raise ValueError(f"cannot read {text!r}")
    return text


def _routes(text: str) -> dict[str, tuple[str, int]]:
    """``frankfurt=10.0.0.2:7101, singapore=127.0.0.1:9000`` → {name: (host, port)}."""
    routes = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, address = part.partition("=")
        host, _, port = address.strip().rpartition(":")
        try:
            routes[_peer_name(name.strip())] = (host.strip("[]"), _number(int, 1, 65535)(port))
        except ValueError as e:
            raise ValueError(f"{part!r}: expected name=host:port ({e})")
        if not host:
            raise ValueError(f"{part!r}: expected name=host:port")
    return routes


def _required_server_endpoint(text: str) -> str:
    if not text:
        raise ValueError("an endpoint is required, e.g. tcp:7001:interface=127.0.0.1")
    return _server_endpoint(text)


# ---------------------------------------------------------------- loading

@attrs.frozen
class Key:
    section: str
    parse: Callable[[str], Any]  # the ini's text to the value
    default: str
    help: str


def load(path: str | None, schema: dict[str, Key], overrides: dict[str, str]) -> dict:
    """Read ``path`` (may be ``None``), apply ``overrides``; return parsed values."""
    raw = {name: key.default for name, key in schema.items()}
    label = path or "<command line>"
    if path:
        parser = configparser.ConfigParser(
            interpolation=None, inline_comment_prefixes=(";", "#"), strict=True)
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f)
        except OSError as e:
            raise ConfigError(path, "-", f"cannot read: {e.strerror}")
        except (configparser.Error, UnicodeDecodeError) as e:
            raise ConfigError(path, "-", str(e).splitlines()[0])
        sections = {key.section for key in schema.values()}
        for section in parser.sections():
            if section not in sections:
                raise ConfigError(path, f"[{section}]", "unknown section "
                                  f"(known: {', '.join(sorted(sections))})")
            for name, value in parser.items(section):
                key = schema.get(name)
                if key is None or key.section != section:
                    raise ConfigError(path, f"[{section}] {name}", "unknown key")
                raw[name] = value.strip()
    for name, value in overrides.items():
        if value is not None:
            raw[name] = value
    values = {}
    for name, key in schema.items():
        where = f"--{name}" if overrides.get(name) is not None else f"[{key.section}] {name}"
        try:
            values[name] = key.parse(raw[name])
        except ValueError as e:
            raise ConfigError(label, where, str(e))
    return values


# ---------------------------------------------------------------- region

REGION_KEYS = {
    "name": Key("region", _name, "region1", "region name, unique in the cluster"),
    "latitude": Key("region", _number(float, -90, 90), "0", "degrees, [-90, 90]"),
    "longitude": Key("region", _number(float, -180, 180), "0", "degrees, [-180, 180]"),
    "listen": Key("region", _required_server_endpoint, "tcp:7001:interface=127.0.0.1",
                  "client port (RESP2 + inline), a Twisted endpoint"),
    "peer_listen": Key("region", _server_endpoint, "",
                       "replication port for other regions (empty: none)"),
    "advertise_host": Key("region", _text, "127.0.0.1", "host handed to clients and peers"),
    "cluster_enabled": Key("region", _choice("no", "yes"), "no",
                           "yes: Redis Cluster mode, the region's keys spread over shards "
                           "by hash slot (docs/cluster.md)"),
    "shards": Key("region", _number(int, 1, 1024), "1",
                  "cluster mode: the region's shard processes; one command starts and "
                  "supervises them all, shard k on the ports + k"),
    "shard": Key("region", _optional(_number(int, 0, 1023)), "",
                 "cluster mode: run only this shard (0 to shards-1), as this ini says "
                 "(a shard on a host of its own); empty: start every shard"),
    "slots": Key("region", _text, "",
                 "cluster mode: the hash slots this shard serves, e.g. 0-8191 "
                 "(empty: its equal share of the 16,384)"),
    "siblings": Key("region", _text, "",
                    "cluster mode: the region's other shards, k=host:port@peer_port/slots, "
                    "comma-separated (the supervisor sets it; a master tells them too)"),
    "master": Key("region", _client_endpoints, "",
                  "master client endpoints, comma-separated (empty: none)"),
    "data_dir": Key("region", _text, "var/region1", "directory of the durable store"),
    "http": Key("region", _server_endpoint, "", "HTTP endpoint for /metrics (empty: off)"),
    "proto_max_bulk_len": Key("region", lambda t: _number(int, 1, 1 << 40)(str(parse_size(t))),
                              "512MB", "largest bulk string a client may send"),
    "maxclients": Key("region", _number(int, 1, 1_000_000), "10000",
                      "client connections at most; more are refused"),
    "client_output_limit": Key("region", parse_size, "256MB",
                               "unread reply bytes after which a client is disconnected"),
    "notify_keyspace_events": Key(
        "region", _keyspace_classes, "",
        "keyspace notifications: Redis' notify-keyspace-events classes (empty: none)"),
    "client_output_limit_pubsub": Key(
        "region", parse_size, "32MB",
        "... and after which a subscriber is (unread messages; Redis' pubsub hard limit)"),
    "max_entries": Key("cache", _number(int, 0), "100000", "LRU bound on entries (0: none)"),
    "max_bytes": Key("cache", parse_size, "64MB", "LRU bound on key+value bytes (0: none)"),
    "ttl": Key("cache", _number(float, 0), "300",
               "seconds an entry stays in the cache tier without a read or write"),
    "commit_interval": Key("store", _number(float, 0.0001, 10), "0.01",
                           "seconds between group commits (crash window)"),
    "fsync": Key("store", _choice("everysec", "commit"), "everysec",
                 "flush to the disk every second, or every commit (see docs/guarantees.md)"),
    "requirepass": Key("security", _text, "", "clients must AUTH with it when set"),
    "cluster_secret": Key("security", _text, "", "peers and master authenticate with it"),
    "peer_ca": Key("security", _readable_file, "",
                   "CA certificate (PEM): connect to peers over TLS and check theirs"),
    "peer_routes": Key("replication", _routes, "",
                       "name=host:port, ...: reach these peers there instead of the "
                       "address they registered (a tunnel, NAT, a test proxy)"),
    "peer_window": Key("replication", lambda t: _number(int, 1 << 16)(str(parse_size(t))), "32MB",
                  "most bytes sent to a peer and not yet applied (the window grows "
                  "to twice bandwidth x round trip, up to this)"),
    "sync_timeout": Key("replication", _number(float, 0, 3600), "10",
                        "seconds a starting (or returning) region waits to catch up with its "
                        "live peers before it serves key commands anyway"),
    "serve_stale_data": Key("replication", _choice("no", "yes"), "no",
                            "yes: answer key commands while syncing (stale); no: LOADING"),
    "peer_buffer": Key("replication", lambda t: _number(int, 1 << 16)(str(parse_size(t))), "64MB",
                  "most bytes of writes a peer's stream holds in memory; beyond, it "
                  "reads them from the store"),
}


@attrs.frozen
class RegionConfig:
    name: str
    latitude: float
    longitude: float
    listen: str
    peer_listen: str
    advertise_host: str
    cluster_enabled: str
    shards: int
    shard: int | None
    slots: str
    siblings: str
    master: tuple
    data_dir: str
    http: str
    proto_max_bulk_len: int
    maxclients: int
    client_output_limit: int
    client_output_limit_pubsub: int
    notify_keyspace_events: str
    max_entries: int
    max_bytes: int
    ttl: float
    commit_interval: float
    fsync: str
    requirepass: str
    cluster_secret: str
    peer_ca: str
    peer_routes: dict
    peer_window: int
    sync_timeout: float
    serve_stale_data: str
    peer_buffer: int
    config_file: str | None = None  # the ini it was read from (CONFIG REWRITE), if any


def load_region(path: str | None, overrides: dict[str, str] | None = None) -> RegionConfig:
    return RegionConfig(**load(path, REGION_KEYS, overrides or {}), config_file=path)


def rewrite(path: str, values: dict[tuple[str, str], str]) -> None:
    """Set ``(section, key)`` in the ini file at ``path`` to each value, keeping every
    other line, comments included (``CONFIG REWRITE``).  A key the file lacks goes at
    the end of its section, a section it lacks at the end of the file.  The new file
    is written beside the old one and renamed over it."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    left = dict(values)
    out: list[str] = []
    section = None

    def close_section():
        for (where, key), value in list(left.items()):
            if where == section:
                out.append(f"{key} = {value}")
                del left[(where, key)]

    for line in lines:
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            close_section()
            section = header.group(1).strip()
        else:
            assignment = re.match(r"\s*([A-Za-z0-9_]+)\s*[=:]", line)
            if assignment and (section, assignment.group(1)) in left:
                key = assignment.group(1)
                line = f"{key} = {left.pop((section, key))}"
        out.append(line)
    close_section()
    for (where, key), value in left.items():
        out += ["", f"[{where}]", f"{key} = {value}"]
    temporary = f"{path}.rewrite"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(temporary, path)


# ---------------------------------------------------------------- master

MASTER_KEYS = {
    "listen": Key("master", _required_server_endpoint, "tcp:7000:interface=127.0.0.1",
                  "line protocol for clients and regions, a Twisted endpoint"),
    "http": Key("master", _server_endpoint, "tcp:7080:interface=127.0.0.1",
                "status page, /regions.json and /metrics (empty: off)"),
    "heartbeat_timeout": Key("master", _number(float, 0.1, 3600), "5",
                             "seconds without a heartbeat before a region is down"),
    "state_file": Key("master", _text, "var/master/regions.json",
                      "where the registry survives restarts (empty: nowhere)"),
    "cluster_secret": Key("security", _text, "", "regions authenticate with it"),
}


@attrs.frozen
class MasterConfig:
    listen: str
    http: str
    heartbeat_timeout: float
    state_file: str
    cluster_secret: str


def load_master(path: str | None, overrides: dict[str, str] | None = None) -> MasterConfig:
    return MasterConfig(**load(path, MASTER_KEYS, overrides or {}))
