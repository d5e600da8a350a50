"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, as redis-server 7 answers them.

Between MULTI and EXEC a connection's commands are checked (unknown command,
arity, AUTH, a store that cannot commit, a stale region) and queued (``+QUEUED``);
a rejected one marks the transaction, and EXEC then answers ``-EXECABORT``.  EXEC
runs the queue in one reactor turn, so no other client of this region sees part
of it, and replicates its writes as one unit: a live peer gets them in one frame
and applies them in one step (``Sender`` never splits a unit).

WATCH remembers each key's record as it is; EXEC answers a null array if any of
them changed meanwhile — written here or by another region's replicated write,
deleted, or expired (a key live at WATCH and past its deadline at EXEC).
"""

from __future__ import annotations

from geolru.resp import codec as p

NULL_ARRAY = b"*-1\r\n"
NULL_ARRAY_RESP3 = b"_\r\n"
QUEUED = b"+QUEUED\r\n"
# what runs at once inside MULTI instead of being queued (as in Redis)
NOT_QUEUED = frozenset((b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"))


class TransactionCommands:
    def cmd_multi(self, session, args):
        if session.multi is not None:
            return p.error("ERR MULTI calls can not be nested")
        session.multi = []
        session.multi_failed = False
        return p.OK

    def cmd_discard(self, session, args):
        if session.multi is None:
            return p.error("ERR DISCARD without MULTI")
        self._end_transaction(session)
        return p.OK

    def cmd_watch(self, session, args):
        if session.multi is not None:
            return p.error("ERR WATCH inside MULTI is not allowed")
        for key in args[1:]:
            if key not in session.watched:
                session.watched[key] = self._watch_state(key)
        return p.OK

    def cmd_unwatch(self, session, args):
        session.watched = {}
        return p.OK

    def cmd_exec(self, session, args):
        if session.multi is None:
            return p.error("ERR EXEC without MULTI")
        queued, failed = session.multi, session.multi_failed
        dirty = self._watched_changed(session)
        self._end_transaction(session)
        if failed:
            return p.error("EXECABORT Transaction discarded because of previous errors.")
        if dirty:
            return NULL_ARRAY_RESP3 if session.resp3 else NULL_ARRAY
        replies = []
        session.in_exec = True
        try:
            with self.keyspace.transaction():
                for command in queued:
                    replies.append(self.execute(session, command))
        finally:
            session.in_exec = False
        return b"*%d\r\n" % len(replies) + b"".join(replies)

    # ------------------------------------------------------------ helpers

    def _end_transaction(self, session) -> None:
        session.multi = None
        session.multi_failed = False
        session.watched = {}

    def _watch_state(self, key: bytes):
        """What WATCH compares: the key's record, and whether it was live."""
        return self.keyspace.record(key), self.keyspace.exists(key)

    def _watched_changed(self, session) -> bool:
        if not session.watched:
            return False
        for key, (record, was_live) in session.watched.items():
            if self.keyspace.record(key) != record:
                return True
            if was_live and not self.keyspace.exists(key):
                return True  # expired since WATCH
        return False
