"""Protected mode, as Redis has it: a daemon that listens beyond loopback without a
password refuses connections from beyond loopback, with one line saying what to set.

A region's client port needs ``requirepass``; its peer port and the master's
registrations need ``cluster_secret``.  Listening on 127.0.0.1 only, or setting
the secret, turns the protection off.  Sans-IO.
"""

from __future__ import annotations

import ipaddress

from geolru.common.endpoints import listen_interface


def listens_beyond_loopback(description: str) -> bool:
    """Whether a ``tcp:``/``ssl:`` server endpoint accepts connections from other
    machines (no ``interface``, a wildcard, or a non-loopback address)."""
    interface = listen_interface(description)
    if interface in ("", "0.0.0.0", "::"):
        return True
    if interface == "localhost":
        return False
    try:
        return not ipaddress.ip_address(interface.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: whatever it resolves to, assume the network


def from_loopback(address) -> bool:
    """Whether a peer address (an ``IAddress``) is this machine's loopback."""
    host = getattr(address, "host", None)
    if host is None:
        return True  # a UNIX socket
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(what: str, setting: str) -> str:
    return (f"{what} is in protected mode: it listens beyond loopback with no {setting}, "
            f"so it answers only 127.0.0.1. Set {setting} in [security] (or listen on "
            f"127.0.0.1 only)")
