"""The region's client port: bytes to commands and replies to bytes.

``RegionProtocol`` only moves bytes: the parser (``geolru.resp``) turns them into
commands, the command table (``geolru.commands.table``) turns commands into
replies, under the connection limits (``maxclients``, ``client_output_limit``).
"""

from __future__ import annotations

import itertools

from twisted.internet import tcp
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from geolru.commands.table import CommandTable, Session
from geolru.common.endpoints import no_delay
from geolru.common.protected import from_loopback, refusal
from geolru.resp.codec import RequestParser


class RegionProtocol(Protocol):
    """One client connection: RESP2 or inline commands in, replies out."""

    session: Session

    def connectionMade(self):
        factory = self.factory
        no_delay(self.transport)
        self._paused = False
        self._waiting = None  # the Deferred reply of a blocking command (WAIT)
        if factory.protected and not from_loopback(self.transport.getPeer()):
            self.session = None
            factory.connections.rejected += 1
            self.transport.write(b"-DENIED %s\r\n" % refusal(
                "this geolru region", "requirepass").encode())
            self.transport.loseConnection()
            return
        if factory.connections.connected >= factory.maxclients:
            self.session = None
            factory.connections.rejected += 1
            self.transport.write(b"-ERR max number of clients reached\r\n")
            self.transport.loseConnection()
            return
        # the transport pauses us when its send buffer fills: we stop reading, so a
        # client that does not read its replies stops being served (TCP backpressure)
        self.transport.registerProducer(self, True)
        peer = self.transport.getPeer()
        address = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '')}"
        host = self.transport.getHost()
        self.session = Session(id=next(factory.ids), address=address,
                               local_address=f"{getattr(host, 'host', '?')}:"
                                             f"{getattr(host, 'port', '')}",
                               created=factory.clock.seconds(),
                               disconnect=self.transport.loseConnection,
                               push=self._push,
                               # made while there was no requirepass: it stays in, as in
                               # Redis, when CONFIG SET requirepass sets one
                               authenticated=not factory.table.requirepass)
        factory.table.sessions[self.session.id] = self.session
        self._parser = RequestParser(factory.table.max_bulk_len)
        self._waiting = None  # the Deferred reply of a blocking command (WAIT)
        self._backlog: list = []  # commands that arrived while it blocks
        self._execute = factory.table.execute
        self._stats = factory.table.stats
        # plain TCP: replies go straight to the socket when nothing is queued (below)
        self._socket = self.transport.socket if isinstance(self.transport, tcp.Connection) \
            else None
        factory.connections.connected += 1
        factory.connections.received += 1

    def dataReceived(self, data: bytes):
        if self.session is None:  # refused (protected mode, maxclients): closing
            return
        self._stats.net_input_bytes += len(data)
        parser = self._parser
        commands = parser.feed(data)
        if self._waiting is not None:  # a WAIT is blocking this connection: queue
            self._backlog.extend(commands)
            return
        if len(commands) == 1 and parser.error is None:
            reply = self._execute(self.session, commands[0])
            if type(reply) is bytes:
                self._send(reply)
                if self.session.closing:
                    self.transport.loseConnection()
                elif self._paused:
                    self._check_output()
                return
        self._run(commands, [])

    def _run(self, commands, replies):
        session = self.session
        execute = self._execute
        for i, command in enumerate(commands):
            reply = execute(session, command) if type(command) is list else command
            if type(reply) is not bytes:  # a Deferred (WAIT): the rest waits for it
                if replies:
                    self._send(b"".join(replies))
                self._waiting = reply
                self.factory.connections.blocked += 1
                self._backlog = commands[i + 1:]
                reply.addCallback(self._resume)
                return
            replies.append(reply)
            if session.closing:
                break
        parser = self._parser
        if parser.error is not None and not session.closing:
            replies.append(self._stats.error(parser.error.reply()))
            session.closing = True
        if replies:
            self._send(b"".join(replies))
        if session.closing:
            self.transport.loseConnection()
        elif self._paused:
            self._check_output()

    def _send(self, data: bytes):
        """Write ``data``, straight to the socket when the transport has nothing queued.

        A plain ``transport.write`` makes the reactor register for writability and
        send on its next turn (two ``epoll_ctl`` calls and a loop iteration per
        reply): most of the cost of a request at pipeline depth 1.
        """
        self._stats.net_output_bytes += len(data)
        transport = self.transport
        sock = self._socket
        if sock is not None and not transport.dataBuffer and not transport._tempDataLen:
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:  # let the transport see and report the error
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    def _push(self, data: bytes) -> None:
        """Lines outside a reply (MONITOR): the same output bound as replies."""
        self._send(data)
        self._check_output()

    def _resume(self, reply: bytes):
        self._unblock()
        backlog, self._backlog = self._backlog, []
        if self.transport.connected:
            self._run(backlog, [reply])

    def _unblock(self) -> None:
        if self._waiting is not None:
            self._waiting = None
            self.factory.connections.blocked -= 1

    def connectionLost(self, reason=None):
        self._unblock()
        if self.session is not None:
            self.factory.connections.connected -= 1
            self.factory.table.closed(self.session)

    # ------------------------------------------------------------ IPushProducer

    def pauseProducing(self):
        self._paused = True
        self.transport.stopReading()
        self._check_output()

    def resumeProducing(self):
        self._paused = False
        self.transport.startReading()

    def stopProducing(self):
        pass

    def _check_output(self):
        """Close a connection whose unread replies passed ``client_output_limit`` (a
        subscriber's: ``client_output_limit_pubsub``)."""
        transport = self.transport
        pending = len(getattr(transport, "dataBuffer", b"")) + getattr(
            transport, "_tempDataLen", 0)
        session = self.session
        subscriber = bool(session.channels or session.patterns)
        limit = self.factory.pubsub_output_limit if subscriber else self.factory.output_limit
        if pending > limit:
            self.factory.log.warn(
                "closing client {address}: {n} bytes of replies unread ({setting})",
                address=session.address, n=pending,
                setting="client_output_limit_pubsub" if subscriber else "client_output_limit")
            transport.abortConnection()


class RegionFactory(Factory):
    noisy = False
    protocol = RegionProtocol
    log = Logger()

    def __init__(self, table: CommandTable, clock, maxclients: int = 10000,
                 output_limit: int = 256 * 1024 * 1024, beyond_loopback: bool = False,
                 pubsub_output_limit: int = 32 * 1024 * 1024):
        self.table = table
        # protected mode: a port beyond loopback serves only loopback clients while
        # there is no requirepass (CONFIG SET requirepass lifts it, as in Redis)
        self.beyond_loopback = beyond_loopback
        self.connections = table.connections  # the counters INFO shows: kept here
        self.clock = clock
        table.maxclients = maxclients  # (CONFIG SET maxclients changes it there)
        self.output_limit = output_limit
        self.pubsub_output_limit = pubsub_output_limit
        self.ids = itertools.count(1)

    @property
    def protected(self) -> bool:
        return self.beyond_loopback and not self.table.requirepass

    @property
    def maxclients(self) -> int:
        return self.table.maxclients
