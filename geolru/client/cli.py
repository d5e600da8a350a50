"""The geolru command line: locate, look around, get/set, an interactive shell.

    geolru locate 45.50 -73.57 -n 3
    geolru regions
    geolru set greeting hello --ttl 60 --near 45.50,-73.57
    geolru get greeting
    geolru shell --near 45.50,-73.57
    geolru cluster up|down|status
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import redis

from geolru import __version__
from geolru.client.geocache import (
    DEFAULT_MASTER,
    GeoCache,
    NoRegionAvailable,
    locate,
    master_request,
)
from geolru.client.replies import Status
from geolru.client.tls import TLS
from geolru.resp.codec import ProtocolError, split_inline

HISTORY = os.path.expanduser("~/.geolru_history")
SHELL_HELP = """Type Redis commands, as in redis-cli: SET k v, GET k, INCR n, TTL k, KEYS *, ...
Special: help (this text), help <command> (its arguments), regions (the list,
nearest first, with addresses), quit / exit / Ctrl-D; REGION asks the region you are
on its name and place. If the region stops
answering, the next command goes to the next nearest one.  MULTI … EXEC runs
commands as one transaction (on one region: a failover in between discards it)."""


def shell_help() -> str:
    from geolru.commands.docs import groups
    lines = [SHELL_HELP, "", "Commands, by group:"]
    for group, names in groups().items():
        lines.append(f"  {group + ':':<14} {' '.join(names)}")
    return "\n".join(lines)


def parse_near(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LAT,LON (e.g. 45.50,-73.57), got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"{text!r} is not a position on Earth")
    return lat, lon


def format_reply(reply, indent: str = "") -> str:
    """Like redis-cli: quoted strings, (integer), (nil), numbered arrays, (error)."""
    if reply is None:
        return "(nil)"
    if isinstance(reply, Exception):
        return f"(error) {error_text(reply)}"
    if isinstance(reply, bool):
        return "OK" if reply else "(integer) 0"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, Status):
        return reply.decode("utf-8", "backslashreplace")
    if isinstance(reply, bytes):
        if reply == b"OK":
            return "OK"
        return '"' + reply.decode("utf-8", "backslashreplace").replace('"', '\\"') + '"'
    if isinstance(reply, (list, tuple)):
        if not reply:
            return "(empty array)"
        width = len(str(len(reply)))
        lines = []
        for i, item in enumerate(reply, 1):
            text = format_reply(item, indent + " " * (width + 2))
            lines.append(f"{indent if i > 1 else ''}{i:>{width}}) {text}")
        return "\n".join(lines)
    return str(reply)


# what redis-cli prints raw (no quotes, newlines as they are), as its cliSendCommand does
RAW_OUTPUT = {(b"info",), (b"client", b"list"), (b"client", b"info"), (b"cluster", b"nodes"),
              (b"cluster", b"info"), (b"cluster", b"replicas"), (b"cluster", b"slaves"),
              (b"memory", b"doctor"), (b"memory", b"stats"), (b"latency", b"doctor"),
              (b"lolwut",)}


def shown(words: list[bytes], reply) -> str:
    """``reply`` to ``words`` as redis-cli shows it in a terminal."""
    command = tuple(w.lower() for w in words[:2])
    if isinstance(reply, bytes) and (command[:1] in RAW_OUTPUT or command in RAW_OUTPUT):
        return reply.decode("utf-8", "backslashreplace").replace("\r\n", "\n").rstrip("\n")
    return format_reply(reply)


def peer_fields(entry) -> dict:
    """One entry of ``PEERS``: a map in RESP3, field-value pairs in RESP2."""
    return entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2],
                                                          strict=True))


def error_text(error: Exception) -> str:
    """An error reply as the server sent it: redis-py takes the code (``ERR``,
    ``NOAUTH``, ...) off the message and keeps it as ``status_code``."""
    code = getattr(error, "status_code", None)
    text = str(error)
    return f"{code} {text}" if code and not text.startswith(code) else text


def connect(args, typed_replies: bool = False) -> GeoCache:
    regions = args.region.split(",") if getattr(args, "region", None) else None
    near = args.near
    if near is None and os.environ.get("GEOLRU_NEAR"):
        near = parse_near(os.environ["GEOLRU_NEAR"])
    if near is None and not regions:
        raise UsageError("where are you? give --near LAT,LON (or set GEOLRU_NEAR): the "
                         "nearest region serves you")
    return GeoCache(master=args.master, near=near or (0.0, 0.0), regions=regions,
                    refresh_interval=10, password=args.password, tls=tls_of(args),
                    typed_replies=typed_replies)


def tls_of(args) -> TLS | None:
    """The TLS options, as redis-cli takes them (``--tls`` and the rest)."""
    if not (args.tls or args.cacert or args.tls_cert or args.insecure):
        return None
    return TLS(cacert=args.cacert, cert=args.tls_cert, key=args.tls_key,
               verify=not args.insecure)


def tls_options(args) -> dict:
    tls = tls_of(args)
    return {} if tls is None else tls.redis_options()


class UsageError(Exception):
    """A command line that cannot run: the message says what to give."""


def arg_bytes(text: str) -> bytes:
    """An argument as the bytes the user typed (any bytes, not only UTF-8)."""
    return os.fsencode(text)


def cmd_locate(args) -> int:
    for region in locate(args.master, args.lat, args.lon, args.n, tls=tls_of(args)):
        print(f"{region.name:<12} {region.host}:{region.port:<6} {region.distance_km:>9.1f} km")
    return 0


def cmd_regions(args) -> int:
    lines = None
    for master in args.master.split(","):
        try:
            lines = master_request(master, "REGIONS", tls=tls_of(args))
            break
        except OSError:
            continue
    if lines is None:
        print(f"no master reachable at {args.master}", file=sys.stderr)
        return 1
    print(f"{'region':<12} {'address':<21} {'latitude':>9} {'longitude':>10} {'state':<6} "
          f"peers' lag")
    for line in lines:
        _, name, host, port, lat, lon, state = line.split()
        lag = ""
        if state == "up":
            try:
                peers = redis.Redis(host=host, port=int(port), socket_timeout=2,
                                    password=args.password,
                                    **tls_options(args)).execute_command("PEERS")
                lag = ", ".join(
                    f"{f[b'name'].decode()} {int(f[b'lag_ops'])} ops/{float(f[b'lag_ms']):.0f} ms"
                    for f in map(peer_fields, peers))
            except redis.RedisError as e:
                lag = f"({e})"
        print(f"{name:<12} {host + ':' + port:<21} {float(lat):>9.4f} {float(lon):>10.4f} "
              f"{state:<6} {lag}")
    return 0


def cmd_get(args) -> int:
    print(format_reply(connect(args).get(arg_bytes(args.key))))
    return 0


def cmd_set(args) -> int:
    print(format_reply(connect(args).set(arg_bytes(args.key), arg_bytes(args.value),
                                         ttl=args.ttl)))
    return 0


def cmd_del(args) -> int:
    print(format_reply(connect(args).delete(*map(arg_bytes, args.keys))))
    return 0


def cmd_shell(args) -> int:
    # Ctrl-C interrupts a command (a WAIT) and gives the prompt back, even when the
    # shell was started with SIGINT ignored (from a background job, as a
    # non-interactive shell starts them): Python leaves an ignored signal ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        import readline
        try:
            readline.read_history_file(HISTORY)
        except OSError:
            pass
    except ImportError:  # pragma: no cover - no readline on this platform
        readline = None
    cache = connect(args, typed_replies=True)  # (a status reply unquoted, as redis-cli)
    first = cache.regions[0]
    print(f"geolru shell: nearest region {first.name} at {first.host}:{first.port}"
          + (f", {first.distance_km:.1f} km away" if first.distance_km is not None else "")
          + ". Type help.")
    where = first
    try:
        while True:
            try:
                line = input(f"{where.name}> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print()
                continue
            try:
                words = split_inline(line.encode())
            except ProtocolError as e:
                print(f"(error) {e}")
                continue
            if not words:
                continue
            command = words[0].lower()
            if command in (b"quit", b"exit"):
                break
            if command == b"help":
                if len(words) == 1:
                    print(shell_help())
                else:
                    from geolru.commands.docs import usage
                    print(usage(words[1].decode(errors="replace"))
                          or f"(error) no command {words[1].decode(errors='replace')!r}")
                continue
            if command == b"regions":
                cache.refresh()
                for r in cache.regions:
                    km = f"{r.distance_km:.1f} km" if r.distance_km is not None else ""
                    print(f"{r.name:<12} {r.host}:{r.port:<6} {km}")
                continue
            try:
                reply = cache.execute(*words)
            except NoRegionAvailable as e:
                print(f"(error) {e}")
                continue
            except redis.ResponseError as e:
                reply = e
            except redis.exceptions.RedisClusterException as e:  # (keys of two slots)
                print(f"(error) {e}")
                continue
            except KeyboardInterrupt:  # e.g. a WAIT: drop its connection, go on
                cache.abandon()
                print("(interrupted)")
                continue
            now = cache.current
            if now is not None and (now.host, now.port) != (where.host, where.port):
                if cache.regions and cache.regions[0] == now:
                    print(f"(back on {now.name}, the nearest, at {now.host}:{now.port})")
                else:
                    print(f"({where.name} did not answer; now on {now.name} at "
                          f"{now.host}:{now.port})")
                where = now
            print(shown(words, reply))
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY)
            except OSError:
                pass
        cache.close()
    return 0


def cmd_reshard(args) -> int:
    """Move a stopped region's records to their shards in ``--shards``: the region's
    own program does it (``python -m geolru.region.reshard``), as a start with another
    ``shards`` in the ini would (the client does not import the region's code)."""
    return subprocess.call([sys.executable, "-m", "geolru.region.reshard", "-c", args.config,
                            "--shards", str(args.shards)])


def cmd_cluster(args) -> int:
    from geolru.devtools import localcluster as cluster
    return cluster.main([args.action, "--root", args.root]
                        + ([] if args.shards is None else ["--shards", str(args.shards)]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="geolru", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"geolru {__version__}")
    parser.add_argument("--master", default=os.environ.get("GEOLRU_MASTER", DEFAULT_MASTER),
                        help="master host:port, several comma-separated (env GEOLRU_MASTER)")
    parser.add_argument("-a", "--password", default=os.environ.get("GEOLRU_PASSWORD"),
                        help="the regions' requirepass (env GEOLRU_PASSWORD; safer than -a, "
                             "which other users may see in the process list)")
    parser.add_argument("--tls", action="store_true",
                        help="reach the master and the regions over TLS")
    parser.add_argument("--cacert", help="CA certificate file to verify the servers' "
                                         "certificates with (implies --tls)")
    parser.add_argument("--cert", dest="tls_cert",
                        help="client certificate, for servers that ask for one")
    parser.add_argument("--key", dest="tls_key", help="the client certificate's private key")
    parser.add_argument("--insecure", action="store_true",
                        help="with TLS, do not verify the servers' certificates")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_near(p):
        p.add_argument("--near", type=parse_near, default=None,
                       help="your position LAT,LON (e.g. -33.87,151.21): the nearest region "
                            "serves you (env GEOLRU_NEAR)")
        p.add_argument("--region", help="host:port of regions to use, comma-separated "
                                        "(when no master is reachable)")
        return p

    p = sub.add_parser("locate", help="the nearest live regions")
    p.add_argument("lat", type=float)
    p.add_argument("lon", type=float)
    p.add_argument("-n", type=int, default=1, help="how many (default 1)")
    p.set_defaults(run=cmd_locate)
    sub.add_parser("regions", help="every region, its state and its peers' lag").set_defaults(
        run=cmd_regions)
    p = with_near(sub.add_parser("get", help="GET a key from the nearest region"))
    p.add_argument("key")
    p.set_defaults(run=cmd_get)
    p = with_near(sub.add_parser("set", help="SET a key at the nearest region"))
    p.add_argument("key")
    p.add_argument("value")
    p.add_argument("--ttl", type=float, help="seconds until the key expires")
    p.set_defaults(run=cmd_set)
    p = with_near(sub.add_parser("del", help="DEL keys at the nearest region"))
    p.add_argument("keys", nargs="+")
    p.set_defaults(run=cmd_del)
    p = with_near(sub.add_parser("shell", help="an interactive session with failover"))
    p.set_defaults(run=cmd_shell)
    p = sub.add_parser("reshard", help="move a stopped region's keys to N shards")
    p.add_argument("-c", "--config", required=True, help="the region's ini")
    p.add_argument("--shards", type=int, required=True, help="the new shard count")
    p.set_defaults(run=cmd_reshard)
    p = sub.add_parser("cluster", help="a local cluster from etc/*.ini")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--root", default=".", help="folder holding etc/ and var/")
    p.add_argument("--shards", type=int, default=None,
                   help="shards per region (cluster mode); default: one per core")
    p.set_defaults(run=cmd_cluster)
    args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        return args.run(args)
    except (OSError, LookupError, NoRegionAvailable, UsageError, redis.RedisError) as e:
        print(f"geolru: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def join_negative_values(argv: list[str]) -> list[str]:
    """``--near -33.87,151.21`` as ``--near=-33.87,151.21``: argparse takes a value
    that starts with ``-`` (a southern or western position) for an option."""
    out = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--near", "--region", "--master") and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
