"""Client-side caching: which client read which key, and the invalidations it is sent
when the key changes (``CLIENT TRACKING``, as Redis 7's tracking.c).

- Default mode: a key a tracking client reads is remembered for it (in OPTIN mode
  only after ``CLIENT CACHING yes``, in OPTOUT mode unless ``CLIENT CACHING no``);
  when the key changes the client is sent ``invalidate [key]`` once and forgotten
  until it reads the key again.
- BCAST mode: no table; a client is sent every changed key under its prefixes.
- The message is a RESP3 push (``>2 invalidate [key]``) on the client's own connection,
  or, with ``REDIRECT id``, a message on ``__redis__:invalidate`` to that client (a
  RESP2 subscriber of it, or RESP3); a client redirecting to one that is gone is sent
  ``tracking-redir-broken`` (RESP3).  ``NOLOOP``: not for its own writes.  An
  invalidation for the client running the command goes after the command's reply.
- ``FLUSHALL`` invalidates everything (a null instead of keys).
- The table holds at most ``tracking-table-max-keys`` keys (0: no bound); a key
  dropped to make room is invalidated for its clients, as Redis does.

What changes a key is the region's to say (``CommandTable``): a command here, a
peer's record that changes what a client reads, an expiry.  Sans-IO.
"""

from __future__ import annotations

import attrs

from geolru.resp import codec as p

CHANNEL = b"__redis__:invalidate"
DEFAULT_MAX_KEYS = 1_000_000


@attrs.define(eq=False)
class TrackingState:
    """What ``CLIENT TRACKING on`` said for one client."""

    redirect: int = 0
    bcast: bool = False
    optin: bool = False
    optout: bool = False
    noloop: bool = False
    prefixes: tuple = ()  # BCAST: the prefixes (``""`` when none was given)
    caching: bool = False  # CLIENT CACHING yes (OPTIN) / no (OPTOUT), for one command
    broken: bool = False  # the client it redirects to was gone


@attrs.define(eq=False)
class Tracking:
    sessions: dict  # session id -> Session (the command table's)
    table: dict = attrs.field(factory=dict)  # key -> {session id: None}
    prefixes: dict = attrs.field(factory=dict)  # BCAST prefix -> {session id: Session}
    clients: int = 0  # sessions with tracking on
    max_keys: int = DEFAULT_MAX_KEYS
    items: int = 0  # (key, client) pairs in the table

    def enable(self, session, state: TrackingState) -> None:
        if session.tracking is None:
            self.clients += 1
        else:
            self._leave_prefixes(session)
        session.tracking = state
        if state.bcast:
            for prefix in state.prefixes:
                self.prefixes.setdefault(prefix, {})[session.id] = session

    def disable(self, session) -> None:
        if session.tracking is not None:
            self._leave_prefixes(session)
            session.tracking = None
            self.clients -= 1
            if not self.clients:  # (no one left to tell)
                self.table.clear()
                self.items = 0

    def _leave_prefixes(self, session) -> None:
        for prefix in session.tracking.prefixes:
            clients = self.prefixes.get(prefix)
            if clients is not None:
                clients.pop(session.id, None)
                if not clients:
                    del self.prefixes[prefix]

    def remember(self, session, keys: list[bytes], current) -> None:
        """``trackingRememberKeys``: ``session`` read ``keys``."""
        state = session.tracking
        if state is None or state.bcast or (state.optin and not state.caching) or (
                state.optout and state.caching):
            return
        table = self.table
        for key in keys:
            clients = table.get(key)
            if clients is None:
                clients = table[key] = {}
            if session.id not in clients:
                clients[session.id] = None
                self.items += 1
        if self.max_keys and len(table) > self.max_keys:
            self._make_room(current)

    def _make_room(self, current) -> None:
        """Drop keys (the oldest remembered first) until the table fits, each
        invalidated for its clients."""
        while len(self.table) > self.max_keys:
            self.invalidate(next(iter(self.table)), current, bcast=False)

    def invalidate(self, key: bytes, current, bcast: bool = True) -> None:
        """``trackingInvalidateKey``: ``key`` changed (``current``: the session whose
        command changed it, or None)."""
        if bcast and self.prefixes:
            for prefix, clients in list(self.prefixes.items()):
                if key.startswith(prefix):
                    for target in list(clients.values()):
                        if not (target.tracking.noloop and target is current):
                            self._send(target, _keys(key), current)
        clients = self.table.pop(key, None)
        if clients is None:
            return
        self.items -= len(clients)
        for client in clients:
            target = self.sessions.get(client)
            if target is None or target.tracking is None or target.tracking.bcast:
                continue
            if target.tracking.noloop and target is current:
                continue
            self._send(target, _keys(key), current)

    def flush(self, current) -> None:
        """``trackingInvalidateKeysOnFlush``: every key, to every tracking client."""
        for target in list(self.sessions.values()):
            if target.tracking is not None:
                self._send(target, None, current)
        self.table.clear()
        self.items = 0

    def _send(self, target, keys: bytes | None, current) -> None:
        """``sendTrackingMessage``: ``keys`` (an encoded array; None: a null, for
        a flush) to ``target``, or to the client it redirects to."""
        state = target.tracking
        redirected = False
        if state.redirect:
            other = self.sessions.get(state.redirect)
            if other is None:
                state.broken = True
                if target.resp3:
                    _deliver(target, b">2\r\n$21\r\ntracking-redir-broken\r\n"
                             + p.integer(state.redirect), current)
                return
            target, redirected = other, True
        payload = keys if keys is not None else target.nil
        if target.resp3:
            frame = b">2\r\n$10\r\ninvalidate\r\n" + payload
        elif redirected and (target.channels or target.patterns):
            frame = b"*3\r\n$7\r\nmessage\r\n$20\r\n" + CHANNEL + b"\r\n" + payload
        else:
            return  # (RESP2 without redirection: no way to say it, as in Redis)
        _deliver(target, frame, current)


def _overlap(a: bytes, b: bytes) -> bool:
    """``stringCheckPrefix``: one starts with the other (equal ones too)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def prefix_overlap(prefixes: list[bytes], held: tuple) -> bytes | None:
    """``checkPrefixCollisionsOrReply``: the error if a new prefix overlaps one the
    client holds (BCAST with none holds ``""``, which every prefix overlaps) or
    another new one, else None."""
    def error(prefix: bytes, what: str, other: bytes) -> bytes:
        return p.error("ERR Prefix '%s' overlaps with %s '%s'. Prefixes for a single "
                       "client must not overlap." % (prefix.decode(errors="replace"), what,
                                                     other.decode(errors="replace")))
    for i, prefix in enumerate(prefixes):
        for existing in sorted(held):
            if _overlap(existing, prefix):
                return error(prefix, "an existing prefix", existing)
        for other in prefixes[i + 1:]:
            if _overlap(prefix, other):
                return error(prefix, "another provided prefix", other)
    return None


def _keys(key: bytes) -> bytes:
    return b"*1\r\n" + p.bulk(key)


def _deliver(target, frame: bytes, current) -> None:
    """To the client running the command: after its reply (``Session.pending``)."""
    if target is current:
        target.pending.append(frame)
    elif target.push is not None:
        target.push(frame)


def tracking_info(session, resp3: bool) -> bytes:
    """CLIENT TRACKINGINFO's map."""
    state = session.tracking
    flags = [b"on" if state is not None else b"off"]
    if state is not None:
        flags += [b"bcast"] if state.bcast else []
        if state.optin:
            flags += [b"optin"] + ([b"caching-yes"] if state.caching else [])
        if state.optout:
            flags += [b"optout"] + ([b"caching-no"] if state.caching else [])
        flags += ([b"noloop"] if state.noloop else []) + (
            [b"broken_redirect"] if state.broken else [])
    redirect = state.redirect if state is not None else -1
    prefixes = sorted(state.prefixes) if state is not None and state.bcast else []
    flag_set = (b"~%d\r\n" if resp3 else b"*%d\r\n") % len(flags) + b"".join(
        p.bulk(f) for f in flags)
    return p.mapping([(p.bulk(b"flags"), flag_set),
                      (p.bulk(b"redirect"), p.integer(redirect)),
                      (p.bulk(b"prefixes"), p.bulk_array(prefixes))], resp3)
