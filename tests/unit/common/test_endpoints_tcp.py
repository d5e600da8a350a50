"""TCP options of peer connections, read back from real sockets."""

import socket

from geolru.common.endpoints import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL,
    USER_TIMEOUT,
    keep_alive,
)
from geolru.replication.transport import SenderFactory


class Transport:
    """What a protocol sees of a TCP connection: its socket, and writes."""

    def __init__(self, sock):
        self.sock = sock
        self.written = []

    def getHandle(self):
        return self.sock

    def setTcpNoDelay(self, enabled):
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(enabled))

    def write(self, data):
        self.written.append(data)


class Layer:
    """A TLS layer over a transport: its handle is no socket."""

    def __init__(self, transport):
        self.transport = transport

    def getHandle(self):
        return object()


def options(sock):
    return (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))


EXPECTED = (1, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT, USER_TIMEOUT * 1000)


def test_keep_alive_bounds_how_long_a_half_open_connection_lasts():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as under_tls:
        keep_alive(Transport(plain))
        keep_alive(Layer(Transport(under_tls)))
        assert options(plain) == options(under_tls) == EXPECTED
    keep_alive(object())  # no socket at all: left be


def test_a_replication_connection_gets_them():
    class Sender:
        def connected(self, send):
            self.send = send
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        protocol = SenderFactory(Sender()).buildProtocol(None)
        protocol.makeConnection(Transport(sock))
        assert options(sock) == EXPECTED
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
