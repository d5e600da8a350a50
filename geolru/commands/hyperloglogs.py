"""HyperLogLog commands: PFADD PFCOUNT PFMERGE, with redis-server 7's replies and errors.

A HyperLogLog is a string in Redis' format (``geolru.model.hyperloglog``); across
regions it merges register by register (``geolru.model.merge``): ``PFADD``s made
concurrently in several regions all count.  ``PFCOUNT`` leaves the value as it is
(Redis writes its cached cardinality into the string; a region renders the cache as
stale, as ``PFADD`` leaves it).
"""

from __future__ import annotations

from geolru.model import hyperloglog
from geolru.model.hyperloglog import NotHyperLogLog
from geolru.resp import codec as p


class HyperLogLogCommands:

    def _registers(self, key: bytes, read: bool = True):
        """The registers of the HyperLogLog at ``key`` (None: no key); raises
        ``NotHyperLogLog`` for a string that is none, ``WrongType`` for a hash."""
        keyspace = self.keyspace
        entry = keyspace.lookup(key) if read else keyspace.peek(key)
        return None if entry is None else hyperloglog.parse(entry.value)

    def cmd_pfadd(self, session, args):
        key = args[1]
        try:
            current = self._registers(key, read=False)
        except NotHyperLogLog as e:
            return p.error(str(e))
        raised = [hyperloglog.pattern(element) for element in args[2:]]
        changed = current is None or any(count > current[i] for i, count in raised)
        if changed:
            mine = hyperloglog.empty()
            for i, count in raised:
                mine[i] = max(mine[i], count)
            self.keyspace.raise_registers(key, mine)
        return p.ONE if changed else p.ZERO

    def _union(self, keys) -> bytearray:
        """The register-wise maximum of the HyperLogLogs at ``keys`` (missing: empty)."""
        union = hyperloglog.empty()
        for key in keys:
            registers = self._registers(key)
            if registers is not None:
                hyperloglog.join(union, registers)
        return union

    def cmd_pfcount(self, session, args):
        try:
            union = self._union(args[1:])
        except NotHyperLogLog as e:
            return p.error(str(e))
        return p.integer(hyperloglog.count(union))

    def cmd_pfmerge(self, session, args):
        """The sources' registers join this region's contribution to the destination's
        (whose own registers stay as they are, in their contributions)."""
        try:
            self._registers(args[1], read=False)  # (Redis checks it first)
            union = self._union(args[2:])
        except NotHyperLogLog as e:
            return p.error(str(e))
        self.keyspace.raise_registers(args[1], union)
        return p.OK
