"""A connection kept up, and logged the way an operator reads it.

``Link`` connects through an endpoint, and reconnects with backoff when the
connection fails or is lost.  It writes one line when the link goes down (with
the reason) and one when it is back (with how long it was down), and while it
stays down at most one reminder a minute — not Twisted's three lines per retry
(``Starting factory <… object at 0x…>``, ``Stopping factory``, ``Scheduling retry
7 to connect <TCP4ClientEndpoint object at 0x…>``), none of which named the peer.
"""

from __future__ import annotations

from twisted.application.internet import backoffPolicy
from twisted.application.service import Service
from twisted.internet import defer, error
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

REMIND_EVERY = 60.0  # seconds between two "still down" lines, at least
RETRY = backoffPolicy(initialDelay=0.1, maxDelay=2.0, factor=1.5)  # seconds, by attempt


def describe(failure) -> str:
    """A connection failure in a few words (no class paths, no object reprs)."""
    for kind, words in WORDS:
        if failure.check(kind):
            return words
    value = failure.value
    text = " ".join(str(value).split())
    return text.rstrip(".") or type(value).__name__


WORDS = [(error.ConnectionDone, "the connection was closed"),
         (error.ConnectionRefusedError, "connection refused"),
         (error.TimeoutError, "no answer (connect timeout)"),
         (error.ConnectionLost, "the connection was lost"),
         (error.DNSLookupError, "the host name does not resolve")]


class _Watched(ProtocolWrapper):
    def connectionMade(self):
        super().connectionMade()
        self.factory.link._made(self)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        self.factory.link._lost(self, reason)


class _Factory(WrappingFactory):
    protocol = _Watched
    noisy = False

    def __init__(self, link, wrapped):
        super().__init__(wrapped)
        self.link = link


class Link(Service):
    log = Logger()

    def __init__(self, endpoint, factory, clock, what: str, address: str,
                 retry=RETRY):
        self.endpoint = endpoint
        self.factory = _Factory(self, factory)
        factory.noisy = False
        self.clock = clock
        self.what = what  # "the link to frankfurt", "the master"
        self.address = address  # host:port
        self.retry = retry
        self.protocol = None  # the connected protocol, if any
        self.down_since: float | None = None  # clock seconds; None while up
        self.reason = ""
        self._failures = 0
        self._reminded = 0.0
        self._call = None
        self._attempt = None

    # ------------------------------------------------------------ service

    def startService(self):
        super().startService()
        self._connect()

    def stopService(self):
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        if self._attempt is not None:
            self._attempt.cancel()
        if self.protocol is not None:
            self.protocol.transport.loseConnection()
        return defer.succeed(None)

    # ------------------------------------------------------------ connecting

    def _connect(self):
        self._call = None
        if not self.running:
            return
        self._attempt = self.endpoint.connect(self.factory)
        self._attempt.addCallbacks(self._connected, self._failed)

    def _connected(self, protocol):
        self._attempt = None

    def _failed(self, failure):
        self._attempt = None
        if failure.check(defer.CancelledError) or not self.running:
            return
        self._went_down(describe(failure))
        self._retry()

    def _made(self, protocol):
        self.protocol = protocol
        self._failures = 0
        if self.down_since is not None:
            self.log.info("{what} ({address}) is back, after {seconds:.0f} s down",
                          what=self.what, address=self.address,
                          seconds=self.clock.seconds() - self.down_since)
            self.down_since = None

    def _lost(self, protocol, reason):
        if protocol is not self.protocol:
            return
        self.protocol = None
        if self.running:
            self._went_down(describe(reason))
            self._retry()

    def _went_down(self, why: str):
        now = self.clock.seconds()
        if self.down_since is None:
            self.down_since, self.reason, self._reminded = now, why, now
            self.log.warn("{what} ({address}) is down: {why}; reconnecting",
                          what=self.what, address=self.address, why=why)
        elif now - self._reminded >= REMIND_EVERY:
            self._reminded = now
            self.log.warn("{what} ({address}) is still down after {seconds:.0f} s: {why}",
                          what=self.what, address=self.address,
                          seconds=now - self.down_since, why=why)
        self.reason = why

    def reconnect_now(self) -> None:
        """Connect at once if waiting to retry: the other end is said to be back (the
        master heard from it), so its next try need not wait out the backoff."""
        if self._call is not None and self._call.active():
            self._call.cancel()
            self._failures = 0
            self._connect()

    def _retry(self):
        self._failures += 1
        self._call = self.clock.callLater(self.retry(self._failures), self._connect)
