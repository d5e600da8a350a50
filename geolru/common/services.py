"""Services shared by the daemons: a listening port that remembers itself (so
tests can listen on tcp:0), and periodic work that survives its own errors."""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.logger import Logger


class PeriodicService(Service):
    """Call ``work()`` every ``interval`` seconds on ``clock`` while running.

    An exception is logged and the next tick runs anyway (a bare
    ``LoopingCall`` would stop for good).
    """

    log = Logger()

    def __init__(self, work, clock, interval: float, description: str):
        self.work = work
        self.interval = interval
        self.description = description
        self._loop = task.LoopingCall(self.tick)
        self._loop.clock = clock

    def tick(self):
        try:
            self.work()
        except Exception:
            self.log.failure("{what} failed; the next tick retries", what=self.description)

    def startService(self):
        super().startService()
        self._loop.start(self.interval, now=False)

    def stopService(self):
        super().stopService()
        if self._loop.running:
            self._loop.stop()


class ListeningService(Service):
    """Listen on a server endpoint while running.

    ``ready`` fires with the listening port once listening, or fails; a
    daemon whose port cannot be opened logs one line and stops its reactor.
    """

    log = Logger()

    def __init__(self, reactor, endpoint, factory, description: str,
                 stop_reactor_on_failure: bool = False):
        self._reactor = reactor
        self._endpoint = endpoint
        self._factory = factory
        self.description = description
        self._stop_reactor_on_failure = stop_reactor_on_failure
        self.port = None
        self.ready: Deferred | None = None

    @property
    def address(self):
        return None if self.port is None else self.port.getHost()

    def startService(self):
        super().startService()
        self.ready = self._endpoint.listen(self._factory)
        self.ready.addCallback(self._listening)
        self.ready.addErrback(self._failed)

    def _listening(self, port):
        self.port = port
        host = port.getHost()
        self.log.info("{what} listening on {host}:{port}", what=self.description,
                      host=getattr(host, "host", host), port=getattr(host, "port", ""))
        return port

    def _failed(self, failure):
        self.log.error("cannot listen for {what}: {reason}", what=self.description,
                       reason=failure.getErrorMessage())
        if self._stop_reactor_on_failure:
            self._reactor.callWhenRunning(self._reactor.stop)
            return None
        return failure

    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None


def quiet_site(resource):
    """A ``twisted.web`` Site that neither logs each request nor "Starting factory"."""
    from twisted.web.server import Site

    site = Site(resource)
    site.noisy = False
    site.log = lambda request: None
    return site
