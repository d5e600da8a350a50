"""The Python client: talk to the nearest region, fail over to the next.

    from geolru.client.geocache import GeoCache

    cache = GeoCache(master="127.0.0.1:7000", near=(45.50, -73.57))
    cache.set("user:1", "ada", ttl=60)
    cache.get("user:1")                      # b'ada'
    cache.set_json("profile:1", {"name": "ada", "langs": ["en", "fr"]})
    cache.get_json("profile:1")              # {'name': 'ada', 'langs': ['en', 'fr']}

``GeoCache`` asks a master (several may be given, comma-separated) for the
regions nearest ``near``, keeps that list fresh in a background thread, and
sends each command to the first region that answers through redis-py.  A
connection error moves on to the next region without the caller seeing it;
with no master reachable, the regions last located (or ``regions=`` given by
the caller) are used.

A region in cluster mode (the master names its shards' addresses) is reached
through redis-py's ``RedisCluster``, which sends each command to the shard of its
key.  Failover is per shard: while one shard of the nearest region does not
answer, the commands for its slots go to the next region, the others stay near.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import attrs
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.exceptions import ClusterError, MovedError, RedisClusterException
from redis.retry import Retry

from geolru.client.geo import GeoMethods
from geolru.client.hashes import HashMethods
from geolru.client.lists import ListMethods
from geolru.client.nearcache import NearCache
from geolru.client.replies import raw_replies
from geolru.client.sets import SetMethods, ZSetMethods
from geolru.client.tls import TLS
from geolru.cluster import masterwire
from geolru.common.endpoints import host_port

# commands whose second word names a subcommand (redis-py's cluster client looks the
# two up together, as text, to find the key)
CONTAINERS = frozenset(b"OBJECT MEMORY CLIENT CONFIG CLUSTER COMMAND SCRIPT FUNCTION "
                       b"XINFO XGROUP ACL PUBSUB LATENCY SLOWLOG MODULE".split())

DEFAULT_MASTER = "127.0.0.1:7000"
LOCATE_COUNT = 8
RETRY_DEAD_AFTER = 5.0  # seconds a region that failed is tried last


class NoRegionAvailable(redis.ConnectionError):
    """No region answered (every known region was tried)."""


@attrs.frozen
class RegionAddress:
    name: str
    host: str
    port: int
    distance_km: float | None = None
    seeds: tuple[tuple[str, int], ...] = ()  # cluster mode: its shards' addresses

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.port})"


def master_request(master: str, line: str, timeout: float = 3.0,
                   tls: TLS | None = None) -> list[str]:
    """Send one line to a master (``host:port``; over TLS with ``tls``); the reply
    lines, through ``END``.

    Raises ``OSError`` if the master cannot be reached, ``LookupError`` for an
    ``ERR`` reply.
    """
    host, port = host_port(master, 7000)
    with socket.create_connection((host, port), timeout=timeout) as plain:
        sock = plain if tls is None else tls.context().wrap_socket(plain, server_hostname=host)
        sock.sendall(line.encode() + b"\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError(f"master {master} closed the connection")
            data += chunk
            lines = masterwire.reply_lines(data.decode(errors="replace").split("\r\n")[:-1])
            if lines is not None:
                return lines


def locate(masters: str, latitude: float, longitude: float,
           count: int = LOCATE_COUNT, tls: TLS | None = None) -> list[RegionAddress]:
    """The live regions nearest a point, nearest first, from the first master that answers."""
    last_error: Exception | None = None
    for master in masters.split(","):
        try:
            lines = master_request(master, f"LOCATE {latitude} {longitude} {count}", tls=tls)
        except OSError as e:
            last_error = e
            continue
        return [RegionAddress(found.name, found.host, found.port, found.distance_km,
                              found.seeds)
                for found in map(masterwire.parse_located, lines)]
    raise OSError(f"no master reachable ({masters}): {last_error}")


class GeoCache(HashMethods, SetMethods, ZSetMethods, GeoMethods, ListMethods):
    """A geo-aware cache client with failover (thread-safe like ``redis.Redis``)."""

    def __init__(self, master: str | None = DEFAULT_MASTER, near: tuple[float, float] = (0, 0),
                 regions: list[str] | None = None, refresh_interval: float = 30.0,
                 socket_timeout: float = 2.0, serializer=json, password: str | None = None,
                 tls: TLS | None = None, typed_replies: bool = False,
                 near_cache: bool | object = False):
        """``near_cache``: keep what ``get`` reads in this process (True, or how many
        values at most), dropped when the region says the key changed in any region
        (``geolru.client.nearcache``; docs/clients.md)."""
        self.masters = master or ""
        self.near_cache = near_cache
        self._near: dict[RegionAddress, NearCache] = {}
        self.near = near
        self.serializer = serializer
        self.socket_timeout = socket_timeout
        self.password = password  # the regions' requirepass
        self.tls = tls  # how to reach TLS endpoints (the master's and the regions'), or None
        # replies as the server typed them (geolru shell): no redis-py conversions
        self.typed_replies = typed_replies
        self._lock = threading.Lock()
        self._clients: dict[RegionAddress, redis.Redis] = {}
        # (region, None) or, in cluster mode, (region, shard address) -> monotonic time
        # to try it again
        self._failed: dict[tuple, float] = {}
        self._last_key = None  # cluster mode: the key of the last command (WAIT's shard)
        self._regions = [RegionAddress(r, *host_port(r, 7001)) for r in regions or []]
        self.current: RegionAddress | None = None
        self.last_error: str | None = None  # why the last refresh failed
        self.refresh()
        if not self._regions:
            if not self.masters:
                raise NoRegionAvailable("no region given, and no master to ask")
            if self.last_error is not None:
                raise NoRegionAvailable(f"no region: {self.last_error}")
            raise NoRegionAvailable(f"no region: master {self.masters} knows no live region")
        self._stop = threading.Event()
        if self.masters and refresh_interval > 0:
            thread = threading.Thread(target=self._refresh_loop, args=(refresh_interval,),
                                      name="geolru-locate", daemon=True)
            thread.start()

    # ------------------------------------------------------------ regions

    @property
    def regions(self) -> list[RegionAddress]:
        return list(self._regions)

    def refresh(self) -> bool:
        """Ask the masters again; keep the last known regions if none answers."""
        if not self.masters:
            return False
        try:
            found = locate(self.masters, *self.near, tls=self.tls)
        except (OSError, LookupError) as e:
            self.last_error = str(e)
            return False
        self.last_error = None
        if found:
            with self._lock:
                self._regions = found
        return bool(found)

    def _refresh_loop(self, interval: float):
        while not self._stop.wait(interval):
            self.refresh()

    def abandon(self) -> None:
        """Drop the connection to the current region (a command was interrupted:
        its reply must not be read as the next one's)."""
        client = self._clients.pop(self.current, None) if self.current else None
        if client is not None:
            client.close()
            client.connection_pool.disconnect()

    def close(self):
        self._stop.set()
        for client in self._clients.values():
            client.close()
        for near in self._near.values():
            near.close()

    def _client(self, region: RegionAddress) -> redis.Redis | redis.RedisCluster:
        client = self._clients.get(region)
        if client is None:
            options = dict(password=self.password, socket_timeout=self.socket_timeout,
                           socket_connect_timeout=self.socket_timeout, protocol=2,
                           **({} if self.tls is None else self.tls.redis_options()))
            if region.seeds:  # cluster mode: a shard per slot range
                try:
                    client = redis.RedisCluster(
                        startup_nodes=[ClusterNode(h, p) for h, p in region.seeds],
                        retry=Retry(NoBackoff(), 0), require_full_coverage=False, **options)
                except RedisClusterException as e:  # no seed answered
                    raise redis.ConnectionError(str(e)) from e
            else:
                client = redis.Redis(host=region.host, port=region.port,
                                     retry=Retry(NoBackoff(), 0),  # failover is our retry
                                     **options)
            if self.typed_replies:
                raw_replies(client)
            self._clients[region] = client
        if self.typed_replies and region.seeds:  # (each shard's client, once made)
            for node in client.get_nodes():
                if node.redis_connection is not None:
                    raw_replies(node.redis_connection)
        return client

    def _part(self, region: RegionAddress, args) -> tuple:
        """What fails as one for ``args``: the region, or in cluster mode the shard
        serving its key (as far as the cluster client knows it)."""
        client = self._clients.get(region)
        if not region.seeds or len(args) < 2 or client is None:
            return (region, None)
        try:
            node = client.nodes_manager.get_node_from_slot(client.keyslot(args[1]))
        except Exception:  # (no key, or slots not known yet)
            return (region, None)
        return (region, node.name)

    def _in_order(self, args=()) -> list[RegionAddress]:
        """The regions, nearest first; those that failed lately (for ``args``' shard,
        in cluster mode) go last, so one dead region or shard costs one error."""
        now = time.monotonic()
        failed = self._failed
        return sorted(self.regions, key=lambda r: failed.get((r, None), 0) > now
                      or failed.get(self._part(r, args), 0) > now)

    def _failed_at(self, region: RegionAddress, error: Exception, errors: list,
                   args=()) -> None:
        errors.append(f"{region}: {error}")
        self._failed[self._part(region, args)] = time.monotonic() + RETRY_DEAD_AFTER

    def execute(self, *args, **options):
        """Run a command on the nearest region that answers; each region is tried
        once (a region the master names again after all failed is not tried again)."""
        if args and isinstance(args[0], bytes):  # (RedisCluster reads the name as text,
            # and a container's subcommand with it: OBJECT ENCODING, MEMORY USAGE)
            words = 2 if args[0].upper() in CONTAINERS and len(args) > 1 \
                and isinstance(args[1], bytes) else 1
            args = (*(a.decode(errors="replace") for a in args[:words]), *args[words:])
        self._forget_near(args)
        errors = []
        tried = set()
        for attempt in range(2):
            for region in self._in_order(args):
                if region in tried:
                    continue
                tried.add(region)
                try:
                    client = self._client(region)
                    if region.seeds and args and str(args[0]).upper() == "WAIT":
                        # the shard of this client's last write: WAIT counts its writes
                        options.setdefault("target_nodes", self._last_shard(client))
                    try:
                        if not region.seeds and args and str(args[0]).upper() == "WAIT":
                            result = self._wait(client, args)
                        else:
                            result = client.execute_command(*args, **options)
                    except MovedError:  # a region in cluster mode, given by its address
                        region = self._clustered(region)
                        client = self._client(region)
                        result = client.execute_command(*args, **options)
                except (redis.ConnectionError, redis.TimeoutError, ClusterError) as e:
                    self._failed_at(region, e, errors, args)
                    continue
                self._failed.pop(self._part(region, args), None)
                self._failed.pop((region, None), None)
                self._forget_near(args)  # (again: a read between may have kept the old)
                self.current = region
                if region.seeds and len(args) > 1:
                    self._last_key = args[1]
                return result
            if attempt == 0 and not self.refresh():  # all failed: ask where they went
                break
        raise NoRegionAvailable("no region answered: " + "; ".join(errors))

    def _forget_near(self, args) -> None:
        """This process may write what its near caches hold: each reads it again,
        rather than wait for its region's word (any argument may be a key)."""
        if self._near and len(args) > 1:
            for near in list(self._near.values()):
                for arg in args[1:]:
                    if isinstance(arg, (bytes, str)):
                        near.forget(arg)

    def _wait(self, client: redis.Redis, args) -> int:
        """``WAIT n ms``, read for as long as it may block (for ever with 0, as
        redis-cli waits), not for ``socket_timeout``: a WAIT that blocks is no dead
        region.  Interrupted, the caller drops the connection (``abandon``)."""
        raw = args[2] if len(args) > 2 else b"0"
        raw = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        milliseconds = int(raw) if raw.lstrip("-").isdigit() else 0
        deadline = None if milliseconds <= 0 else (
            time.monotonic() + milliseconds / 1000 + self.socket_timeout)
        pool = client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command(*args)
            # (waited for in slices: a Ctrl-C the kernel hands another thread is seen
            # by this one between two, as it is not inside one blocking read)
            while not connection.can_read(timeout=0.2):
                if deadline is not None and time.monotonic() > deadline:
                    raise redis.TimeoutError("WAIT: no reply past its timeout")
            reply = connection.read_response()
        except BaseException:
            connection.disconnect()  # (its reply, unread, must not answer another)
            raise
        finally:
            pool.release(connection)
        if isinstance(reply, redis.ResponseError):
            raise reply
        return reply

    def _clustered(self, region: RegionAddress) -> RegionAddress:
        """``region``, answering -MOVED: reach it as a cluster from now on."""
        clustered = attrs.evolve(region, seeds=((region.host, region.port),))
        with self._lock:
            self._regions = [clustered if r == region else r for r in self._regions]
        old = self._clients.pop(region, None)
        if old is not None:
            old.close()
        return clustered

    def _last_shard(self, client):
        key = self._last_key
        if key is None:
            return client.get_default_node()
        return client.nodes_manager.get_node_from_slot(client.keyslot(key))

    # ------------------------------------------------------------ commands

    def _then(self, reply, function):
        return function(reply)

    def get(self, key):
        if self.near_cache:
            return self._near_get(key)
        return self.execute("GET", key)

    def _near_get(self, key):
        """``get`` through the near cache of the nearest region that answers."""
        errors = []
        for region in self._in_order(("GET", key)):
            try:
                with self._lock:
                    near = self._near.get(region)
                if near is None:
                    size = 10_000 if self.near_cache is True else int(self.near_cache)
                    near = NearCache(
                        region.host, region.port, size, password=self.password,
                        socket_timeout=self.socket_timeout,
                        socket_connect_timeout=self.socket_timeout,
                        **({} if self.tls is None else self.tls.redis_options()))
                    with self._lock:
                        made, near = near, self._near.setdefault(region, near)
                    if made is not near:
                        made.close()  # (another thread made one first)
                value = near.get(key)
            except (redis.ConnectionError, redis.TimeoutError) as e:
                with self._lock:
                    dead = self._near.pop(region, None)
                if dead is not None:
                    dead.close()  # (what it held may have changed unseen)
                self._failed_at(region, e, errors, ("GET", key))
                continue
            self.current = region
            return value
        raise NoRegionAvailable("no region answered: " + "; ".join(errors))

    def set(self, key, value, ttl: float | None = None, nx: bool = False, xx: bool = False):
        args = ["SET", key, value]
        if ttl is not None:
            args += ["PX", int(ttl * 1000)]
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        return bool(self.execute(*args))

    def delete(self, *keys) -> int:
        return self.execute("DEL", *keys)

    def expire(self, key, ttl: float) -> bool:
        return self.execute("PEXPIRE", key, int(ttl * 1000)) == 1

    def ttl(self, key) -> float | None:
        """Seconds left; ``None`` if the key has no deadline; -2 if it does not exist."""
        ms = self.execute("PTTL", key)
        return None if ms == -1 else (-2 if ms == -2 else ms / 1000)

    def mget(self, *keys) -> list:
        return self.execute("MGET", *keys)

    def mset(self, mapping: dict) -> bool:
        args = [x for pair in mapping.items() for x in pair]
        return bool(self.execute("MSET", *args))

    def incr(self, key, amount: int = 1) -> int:
        return self.execute("INCRBY", key, amount)

    def wait(self, peers: int, timeout: float) -> int:
        """How many peers have every earlier write (on the current region's connection).

        Only meaningful right after a write through the same region.
        """
        return self.execute("WAIT", peers, int(timeout * 1000))

    def transaction(self, func, *watches, value_from_callable: bool = False):
        """Optimistic transaction on the nearest region that answers: ``func(pipe)``
        reads the ``watches`` keys through ``pipe``, calls ``pipe.multi()`` and queues
        its writes; EXEC applies them all or none, and a watched key written meanwhile
        (here or replicated from another region) runs ``func`` again — redis-py's
        ``Redis.transaction``.

        Failover happens only before the transaction starts: once it has, a lost
        connection raises (EXEC may or may not have run; running it again elsewhere
        could apply it twice).
        """
        errors = []
        for region in self._in_order():
            client = self._client(region)
            try:
                client.ping()
            except (redis.ConnectionError, redis.TimeoutError) as e:
                self._failed_at(region, e, errors)
                continue
            self.current = region
            try:
                return client.transaction(func, *watches,
                                          value_from_callable=value_from_callable)
            except redis.BusyLoadingError as e:  # syncing: nothing ran, the next one may
                self._failed_at(region, e, errors)
            finally:
                for near in list(self._near.values()):
                    near.clear()  # (what it wrote is func's to say: read all again)
        raise NoRegionAvailable("no region answered: " + "; ".join(errors))

    def set_json(self, key, value, ttl: float | None = None) -> bool:
        return self.set(key, self.serializer.dumps(value), ttl=ttl)

    def get_json(self, key):
        raw = self.get(key)
        return None if raw is None else self.serializer.loads(raw)

