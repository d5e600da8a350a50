"""A kept-up link's log: one line down, one reminder a minute at most, one line back."""

from twisted.internet import defer, error
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher

from geolru.cluster.links import Link


class Endpoint:
    """Refuses while ``up`` is False; else connects to a StringTransport."""

    def __init__(self):
        self.up = False

    def connect(self, factory):
        if not self.up:
            return defer.fail(error.ConnectionRefusedError())
        protocol = factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        return defer.succeed(protocol)


def test_down_reminded_once_a_minute_then_back():
    lines = []

    def observe(event):
        if event.get("log_namespace") == "geolru.cluster.links.Link" and \
                event["log_level"] >= LogLevel.info:
            lines.append(event["log_format"].split(") ")[1].split(":")[0].split(",")[0])
    globalLogPublisher.addObserver(observe)
    clock, endpoint = Clock(), Endpoint()
    link = Link(endpoint, Factory.forProtocol(Protocol), clock, "the link to x", "h:1")
    try:
        link.startService()
        for _ in range(150):  # 150 s of retries, at most every 2 s
            clock.advance(1)
        assert link.down_since == 0 and link.reason == "connection refused"
        endpoint.up = True
        clock.advance(3)
        assert link.protocol is not None and link.down_since is None
        link.stopService()
    finally:
        globalLogPublisher.removeObserver(observe)
    assert lines == ["is down", "is still down after {seconds",
                     "is still down after {seconds", "is back"]


def test_reconnects_at_once_when_told_the_other_end_is_back():
    clock, endpoint = Clock(), Endpoint()
    link = Link(endpoint, Factory.forProtocol(Protocol), clock, "the link to x", "h:1")
    link.startService()
    for _ in range(30):  # a long outage: the backoff has grown to 2 s
        clock.advance(1)
    endpoint.up = True
    link.reconnect_now()
    assert link.protocol is not None and link.down_since is None  # no clock advanced
    link.reconnect_now()  # connected: nothing to do
    assert link.protocol is not None
    link.stopService()
