"""Twisted endpoint strings (``tcp:7001:interface=127.0.0.1``, ``ssl:port=7443:…``)
and ``host:port`` addresses: the one place that reads them (sans-IO); and the TCP
options a connection made from them gets (``no_delay``, ``keep_alive``)."""

from __future__ import annotations

import re
import socket

_UNESCAPED_COLON = re.compile(r"(?<!\\):")


def _split(description: str, least: int) -> tuple[list[str], dict[str, str]] | None:
    """(positional, keyword) arguments of a ``tcp:``/``ssl:``/``tcp6:`` endpoint with
    at least ``least`` parts (its kind included); ``None`` for another one."""
    parts = [p.replace("\\:", ":") for p in _UNESCAPED_COLON.split(description.strip())]
    if len(parts) < least or parts[0] not in ("tcp", "ssl", "tcp6"):
        return None
    return ([p for p in parts[1:] if "=" not in p],
            dict(p.split("=", 1) for p in parts[1:] if "=" in p))


def listen_interface(description: str) -> str:
    """The ``interface`` a server endpoint binds; ``""`` when it names none (every
    interface, for ``tcp:`` and ``ssl:``)."""
    split = _split(description, 2)
    return split[1].get("interface", "") if split else ""


def listen_address(description: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """(host, port) a ``tcp:``/``ssl:``/``tcp6:`` server endpoint listens on; port 0
    when it names none (``tcp:0``, or another kind of endpoint)."""
    split = _split(description, 2)
    if split is None:
        return default_host, 0
    port, host = "0", default_host
    positional, keywords = split
    if positional:
        port = positional[0]
    port = keywords.get("port", port)
    host = keywords.get("interface") or host
    return host, int(port) if port.isdigit() else 0


def client_address(description: str) -> str:
    """``host:port`` of a ``tcp:``/``ssl:`` client endpoint (``tcp:HOST:PORT``, or
    with ``host=``/``port=``), for logs; the description itself otherwise."""
    split = _split(description, 3)
    if split is None:
        return description
    positional, keywords = split
    host = keywords.get("host", positional[0] if positional else "?")
    port = keywords.get("port", positional[1] if len(positional) > 1 else "?")
    return f"{host}:{port}"


def no_delay(transport) -> None:
    """Send small writes at once (``TCP_NODELAY``): a reply, an acknowledgement or a
    heartbeat must not wait on Nagle's algorithm for the peer's delayed ACK (up to
    40 ms on Linux, a round trip over a WAN).  Transports without it are left be."""
    set_no_delay = getattr(transport, "setTcpNoDelay", None)
    if set_no_delay is not None:
        try:
            set_no_delay(True)
        except OSError:
            pass


def host_port(text: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (or ``host``, or ``[v6]:port``) as (host, port)."""
    text = text.strip()
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or (host.count(":") and not host.endswith("]")):
        return text.strip("[]"), default_port
    return host.strip("[]"), int(port)


# A peer whose host went away without closing its connections (a power cut, a kernel
# panic, a network or NAT box that forgot the connection) leaves them half-open: TCP
# notices only when it has something to send, after up to 15 minutes of retries, and
# an idle connection never.  Keepalive probes and a bound on unacknowledged data make
# it notice within KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT seconds idle,
# or USER_TIMEOUT seconds with data unacknowledged; the link then reconnects.
KEEPALIVE_IDLE = 10  # seconds without a packet before the first probe
KEEPALIVE_INTERVAL = 5  # seconds between probes
KEEPALIVE_COUNT = 3  # probes unanswered: the connection is dead
USER_TIMEOUT = 30  # seconds sent data may stay unacknowledged


def _socket(transport) -> socket.socket | None:
    """The TCP socket under ``transport`` (or under the TLS layer it is), if any."""
    for layer in (transport, getattr(transport, "transport", None)):
        get_handle = getattr(layer, "getHandle", None)
        handle = get_handle() if get_handle is not None else None
        if isinstance(handle, socket.socket):
            return handle
    return None


def keep_alive(transport) -> None:
    """Notice a half-open connection (the module's constants say when); transports
    without a TCP socket are left be."""
    sock = _socket(transport)
    if sock is None:
        return
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE),
                        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
                        ("TCP_USER_TIMEOUT", USER_TIMEOUT * 1000)):
        option = getattr(socket, name, None)  # (Linux has them all)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    for level, option, value in options:
        try:
            sock.setsockopt(level, option, value)
        except OSError:
            pass
