"""Pub/sub channels: who listens to what, and the messages they are sent.

A session subscribes to channels and to patterns (Redis' glob, as ``KEYS``); a
message published to a channel goes to every session subscribed to it, then to
every session with a pattern that matches it, as Redis sends them
(``pubsubPublishMessage``): a session with two matching patterns gets it twice.
Messages go out through ``Session.push`` (the connection's output, under its
output limits), in RESP2 arrays or RESP3 push frames.  Sans-IO.
"""

from __future__ import annotations

import attrs

from geolru.commands.globmatch import glob_match
from geolru.resp import codec as p


def _frame(session, parts: list[bytes], count: int | None = None) -> bytes:
    """A pub/sub frame of ``count`` elements (``parts`` may hold several each): an
    array in RESP2, a push in RESP3."""
    count = len(parts) if count is None else count
    return (b">%d\r\n" if session.resp3 else b"*%d\r\n") % count + b"".join(parts)


def subscription_reply(session, kind: bytes, name: bytes | None) -> bytes:
    """``subscribe``, ``unsubscribe``, ``psubscribe`` or ``punsubscribe`` of ``name``
    (None: of nothing), with the session's count of subscriptions after it."""
    count = len(session.channels) + len(session.patterns)
    return _frame(session, [p.bulk(kind), p.bulk(name, session.nil), p.integer(count)])


@attrs.define(eq=False)
class Channels:
    """Every channel and pattern some session of this region listens to."""

    channels: dict = attrs.field(factory=dict)  # channel -> {session id: Session}
    patterns: dict = attrs.field(factory=dict)  # pattern -> {session id: Session}
    published: int = 0  # messages published here (and from peers) to someone or not

    def subscribe(self, session, channel: bytes) -> bool:
        """``True`` if ``session`` was not subscribed to ``channel`` yet."""
        if channel in session.channels:
            return False
        session.channels[channel] = None
        self.channels.setdefault(channel, {})[session.id] = session
        return True

    def unsubscribe(self, session, channel: bytes) -> bool:
        if channel not in session.channels:
            return False
        del session.channels[channel]
        _leave(self.channels, channel, session)
        return True

    def psubscribe(self, session, pattern: bytes) -> bool:
        if pattern in session.patterns:
            return False
        session.patterns[pattern] = None
        self.patterns.setdefault(pattern, {})[session.id] = session
        return True

    def punsubscribe(self, session, pattern: bytes) -> bool:
        if pattern not in session.patterns:
            return False
        del session.patterns[pattern]
        _leave(self.patterns, pattern, session)
        return True

    def drop(self, session) -> None:
        """A session that is gone: out of every channel and pattern."""
        for channel in list(session.channels):
            self.unsubscribe(session, channel)
        for pattern in list(session.patterns):
            self.punsubscribe(session, pattern)

    def publish(self, channel: bytes, message: bytes) -> int:
        """Send ``message`` to the sessions listening to ``channel``; how many got it
        (a session counts once per subscription that matched)."""
        self.published += 1
        receivers = 0
        body = p.bulk(channel) + p.bulk(message)
        for session in list(self.channels.get(channel, {}).values()):
            session.push(_frame(session, [b"$7\r\nmessage\r\n", body], 3))
            receivers += 1
        if self.patterns:
            for pattern, sessions in list(self.patterns.items()):
                if not glob_match(pattern, channel):
                    continue
                frame_body = p.bulk(pattern) + body
                for session in list(sessions.values()):
                    session.push(_frame(session, [b"$8\r\npmessage\r\n", frame_body], 4))
                    receivers += 1
        return receivers

    def matching(self, pattern: bytes | None) -> list[bytes]:
        """The channels someone listens to (matching ``pattern``), for PUBSUB
        CHANNELS."""
        return [c for c in self.channels if pattern is None or glob_match(pattern, c)]


def _leave(table: dict, name: bytes, session) -> None:
    sessions = table.get(name)
    if sessions is not None:
        sessions.pop(session.id, None)
        if not sessions:
            del table[name]
