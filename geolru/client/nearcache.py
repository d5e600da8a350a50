"""A near cache: values kept in the application's memory, dropped when the region
says their key changed (``CLIENT TRACKING`` over RESP3, Redis' client-side caching).

One connection to one region reads the keys (so the region tracks them for it) and
receives the region's ``invalidate`` pushes on the same connection; before each
read the pushes that arrived are applied, so a value is never served after its
invalidation arrived.  A write anywhere (this region, another region, an expiry)
invalidates.  redis-py's own ``cache_config`` would do this too, but it refuses
servers that do not say Redis 7.4 (a region says 7.0.15).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class NearCache:
    def __init__(self, host: str, port: int, max_entries: int = 10_000, **options):
        self.max_entries = max_entries
        self.values: OrderedDict = OrderedDict()
        self.hits = self.misses = self.invalidations = 0
        self._lock = threading.Lock()
        # no retry: a connection made again without CLIENT TRACKING would hear of no
        # change, so an error goes to the caller (GeoCache drops this near cache)
        self._client = redis.Redis(host=host, port=port, protocol=3,
                                   single_connection_client=True,
                                   retry=Retry(NoBackoff(), 0), **options)
        connection = self._client.connection
        connection.send_command("CLIENT", "TRACKING", "ON")
        if connection.read_response() not in (b"OK", "OK", True):
            raise redis.ConnectionError("the region refused CLIENT TRACKING")
        connection._parser.set_invalidation_push_handler(self._invalidated)
        self._connection = connection

    def get(self, key):
        """The value of ``key``: from memory if nothing said it changed, else read
        (and remembered) through the tracked connection."""
        with self._lock:
            self._drain()
            name = key.encode() if isinstance(key, str) else key
            if name in self.values:
                self.values.move_to_end(name)
                self.hits += 1
                return self.values[name]
            self.misses += 1
            value = self._client.execute_command("GET", name)
            self._drain()  # (a change since the read: its push came after the reply)
            if value is not None:  # (a missing key is read again: nothing to keep)
                self.values[name] = value
                if len(self.values) > self.max_entries:
                    self.values.popitem(last=False)
            return value

    def _drain(self) -> None:
        connection = self._connection
        while connection.can_read():
            connection.read_response(push_request=True)

    def _invalidated(self, push) -> None:
        """``invalidate [keys]``, or ``invalidate null`` (everything: a FLUSHALL)."""
        self.invalidations += 1
        keys = push[1]
        if keys is None:
            self.values.clear()
            return
        for key in keys:
            self.values.pop(key.encode() if isinstance(key, str) else key, None)

    def forget(self, key) -> None:
        """A write this process made: read the key again next time (its own
        region's invalidation may come after this process reads it)."""
        with self._lock:
            self.values.pop(key.encode() if isinstance(key, str) else key, None)

    def clear(self) -> None:
        with self._lock:
            self.values.clear()

    def close(self) -> None:
        with self._lock:
            self.values.clear()
            self._client.close()
