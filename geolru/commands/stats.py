"""The counters behind INFO commandstats, errorstats and the instantaneous rates.

Kept apart from the command table: these are plain numbers, updated on the hot
path with an increment or two, and turned into Redis' INFO lines here.
"""

from __future__ import annotations

from collections import Counter, deque

import attrs

RATE_SAMPLES = 16  # like Redis: the rates are averaged over the last 16 samples
RATE_INTERVAL = 0.1  # seconds between samples (Redis samples in its 100 ms cron)


@attrs.define(slots=True)
class CommandStat:
    """One command's line of INFO commandstats."""

    calls: int = 0
    ns: int = 0  # time spent in the command, in nanoseconds
    failed: int = 0  # ran and replied with an error
    rejected: int = 0  # refused before it ran (arity, NOAUTH, MISCONF)

    def line(self, name: str) -> str:
        usec = self.ns // 1000
        per_call = usec / self.calls if self.calls else 0.0
        return (f"cmdstat_{name}:calls={self.calls},usec={usec},usec_per_call={per_call:.2f},"
                f"rejected_calls={self.rejected},failed_calls={self.failed}")


def error_code(reply: bytes) -> str:
    """The code of an error reply, as errorstats names it: ``-ERR …`` → ``ERR``."""
    code = reply[1:].split(b" ", 1)[0].split(b"\r", 1)[0]
    return code.decode("ascii", "replace") or "ERR"


@attrs.define
class Rate:
    """An instantaneous rate of a growing total: the mean over the last samples."""

    samples: deque = attrs.field(factory=lambda: deque(maxlen=RATE_SAMPLES + 1))

    def sample(self, now: float, total: int) -> None:
        self.samples.append((now, total))

    def per_second(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self.samples[0], self.samples[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0


@attrs.define
class ServerStats:
    """Every command's stats, error replies by code, bytes in and out, rates."""

    commands: dict[str, CommandStat] = attrs.field(factory=dict)
    errors: Counter = attrs.field(factory=Counter)
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    ops: Rate = attrs.field(factory=Rate)
    input_bytes: Rate = attrs.field(factory=Rate)
    output_bytes: Rate = attrs.field(factory=Rate)

    def command(self, name: str) -> CommandStat:
        stat = self.commands.get(name)
        if stat is None:
            stat = self.commands[name] = CommandStat()
        return stat

    def error(self, reply: bytes) -> bytes:
        """Count an error reply (and hand it back)."""
        self.errors[error_code(reply)] += 1
        return reply

    def reset(self) -> None:
        """CONFIG RESETSTAT: every counter back to zero (the command table keeps
        its ``CommandStat`` objects, so they are zeroed in place)."""
        for stat in self.commands.values():
            stat.calls = stat.ns = stat.failed = stat.rejected = 0
        self.errors.clear()
        self.net_input_bytes = self.net_output_bytes = 0
        for rate in (self.ops, self.input_bytes, self.output_bytes):
            rate.samples.clear()

    def sample(self, now: float, commands_processed: int) -> None:
        self.ops.sample(now, commands_processed)
        self.input_bytes.sample(now, self.net_input_bytes)
        self.output_bytes.sample(now, self.net_output_bytes)

    def stats_lines(self) -> list[str]:
        return [f"total_net_input_bytes:{self.net_input_bytes}",
                f"total_net_output_bytes:{self.net_output_bytes}",
                f"instantaneous_ops_per_sec:{self.ops.per_second():.0f}",
                f"instantaneous_input_kbps:{self.input_bytes.per_second() / 1024:.2f}",
                f"instantaneous_output_kbps:{self.output_bytes.per_second() / 1024:.2f}",
                f"total_error_replies:{sum(self.errors.values())}"]

    def commandstats_lines(self) -> list[str]:
        return [stat.line(name) for name, stat in sorted(self.commands.items())
                if stat.calls or stat.rejected]

    def errorstats_lines(self) -> list[str]:
        return [f"errorstat_{code}:count={count}" for code, count in sorted(self.errors.items())]


@attrs.define
class ConnectionCounters:
    """Client connections, kept by the connection side (``RegionFactory``), shown by INFO."""

    received: int = 0  # accepted since the start (or CONFIG RESETSTAT)
    connected: int = 0  # open now
    rejected: int = 0  # refused at maxclients
    blocked: int = 0  # waiting in WAIT


SLOWLOG_ARGS = 32  # arguments kept of a slow command (Redis' SLOWLOG_ENTRY_MAX_ARGC)
SLOWLOG_ARG_BYTES = 128  # bytes kept of each (SLOWLOG_ENTRY_MAX_STRING)


def redacted(args: list[bytes]) -> list[bytes]:
    """A command as the slow log keeps it: a password never (AUTH, HELLO … AUTH)."""
    name = args[0].lower()
    if name == b"auth":
        return [args[0]] + [b"(redacted)"] * (len(args) - 1)
    if name == b"hello":
        out = list(args)
        for i, arg in enumerate(args[:-2]):
            if arg.upper() == b"AUTH":
                out[i + 1] = out[i + 2] = b"(redacted)"
        return out
    return args


def monitor_line(now: float, address: str, args: list[bytes]) -> bytes:
    """What MONITOR shows of a command, as Redis writes it (``sdscatrepr``)."""
    return b"+%.6f [0 %s] %s\r\n" % (now, address.encode(),
                                       b" ".join(map(_quoted, redacted(args))))


_ESCAPES = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
            ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b"}


def _quoted(arg: bytes) -> bytes:
    return b'"%s"' % b"".join(
        _ESCAPES.get(c) or (bytes((c,)) if 32 <= c <= 126 else b"\\x%02x" % c) for c in arg)


@attrs.define
class SlowLog:
    """SLOWLOG: the commands that ran longer than ``slower_than_us`` (negative: none;
    0: every one), the newest ``max_len`` of them, newest first."""

    slower_than_us: int = 10_000  # slowlog-log-slower-than
    max_len: int = 128  # slowlog-max-len
    entries: deque = attrs.field(factory=deque)
    next_id: int = 0

    def add(self, args: list[bytes], micros: int, when: float, address: str,
            name: bytes | None) -> None:
        args = redacted(args)
        kept = [arg if len(arg) <= SLOWLOG_ARG_BYTES else
                arg[:SLOWLOG_ARG_BYTES] + b"... (%d more bytes)" % (len(arg) - SLOWLOG_ARG_BYTES)
                for arg in args[:SLOWLOG_ARGS]]
        if len(args) > SLOWLOG_ARGS:
            kept[-1] = b"... (%d more arguments)" % (len(args) - SLOWLOG_ARGS + 1)
        self.entries.appendleft((self.next_id, int(when), micros, kept, address, name or b""))
        self.next_id += 1
        while len(self.entries) > max(self.max_len, 0):
            self.entries.pop()
