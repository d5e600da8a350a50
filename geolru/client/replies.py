"""Replies as the server typed them, for ``geolru shell``: redis-py hands a status
reply (``+PONG``, ``+QUEUED``) back as the same bytes as a bulk string, and turns
replies into Python values (``PING`` into ``True``, ``HGETALL`` into a dict, ``INFO``
into a dict of dicts).  A shell shows what redis-cli shows, so it reads replies
with ``TypedParser`` (status replies as ``Status``) and no response callbacks."""

from __future__ import annotations

from redis._parsers.resp2 import _RESP2Parser
from redis.exceptions import ConnectionError, InvalidResponse
from redis.utils import SENTINEL


class Status(bytes):
    """A status reply (``+OK``): redis-cli prints it without quotes."""


class TypedParser(_RESP2Parser):
    """redis-py's RESP2 parser, but a status reply comes back as ``Status``."""

    def _read_response(self, disable_decoding=False, timeout=SENTINEL):
        raw = self._buffer.readline(timeout=timeout)
        if not raw:
            raise ConnectionError("Connection closed by server.")
        if raw[:1] == b"+":
            return Status(raw[1:])
        if raw[:1] == b"*" and raw[1:] != b"-1":
            try:
                count = int(raw[1:])
            except ValueError:
                raise InvalidResponse(f"Protocol Error: {raw!r}")
            return [self._read_response(disable_decoding, timeout) for _ in range(count)]
        self._buffer.rewind(self._buffer.get_pos() - len(raw) - 2)
        return super()._read_response(disable_decoding=disable_decoding, timeout=timeout)


def raw_replies(client) -> None:
    """Make ``client`` (a ``redis.Redis`` or ``RedisCluster``) return replies as sent:
    no response callbacks, status replies typed (its connections made anew, with
    ``TypedParser``)."""
    for name in ("response_callbacks", "cluster_response_callbacks", "result_callbacks"):
        callbacks = getattr(client, name, None)
        if callbacks is not None:
            callbacks.clear()
    pool = getattr(client, "connection_pool", None)
    if pool is not None and pool.connection_kwargs.get("parser_class") is not TypedParser:
        pool.connection_kwargs["parser_class"] = TypedParser
        pool.reset()
