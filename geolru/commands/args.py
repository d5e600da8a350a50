"""What every command family shares: argument parsing, error replies, a session."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import attrs

from geolru.resp import codec as p
from geolru.resp.codec import parse_int

REDIS_VERSION = "7.0.15"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808

NOT_INTEGER = p.error("ERR value is not an integer or out of range")
# elements a negative count may ask HRANDFIELD or SRANDMEMBER for (with repeats): Redis
# answers any count, building the reply until memory runs out; a region refuses more
# than this, which is already a reply of megabytes (docs/commands.md)
MAX_REPEATED = 1 << 20
TOO_MANY_REPEATED = p.error("ERR value is out of range")
SYNTAX = p.error("ERR syntax error")
OVERFLOW = p.error("ERR increment or decrement would overflow")
NOAUTH = p.error("NOAUTH Authentication required.")
WRONGPASS = p.error("WRONGPASS invalid username-password pair or user is disabled.")


class CommandError(Exception):
    """Raised inside a command to answer with an encoded error reply."""

    def __init__(self, reply: bytes):
        self.reply = reply


def arity_error(name: str) -> bytes:
    return p.error(f"ERR wrong number of arguments for '{name}' command")


def text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def int_arg(value: bytes) -> int:
    number = parse_int(value)
    if number is None:
        raise CommandError(NOT_INTEGER)
    return number


@attrs.define(eq=False)
class Session:
    """Per-connection state."""

    id: int
    address: str = "?"
    local_address: str = "?"  # the region's end of the connection (CLIENT KILL LADDR)
    name: bytes | None = None
    authenticated: bool = False
    lib_name: bytes = b""
    lib_version: bytes = b""
    created: float = 0.0
    closing: bool = False  # set by QUIT: reply, then close
    resp3: bool = False  # HELLO 3 was said
    last_write: int = 0  # store position of this connection's last write, for WAIT
    nil: bytes = p.NIL  # the null reply in the session's protocol
    multi: list | None = None  # commands queued since MULTI (None: not in one)
    multi_failed: bool = False  # one was rejected: EXEC answers EXECABORT
    watched: dict = attrs.field(factory=dict)  # key -> (record, live) at WATCH
    in_exec: bool = False  # EXEC is running the queue
    last_command: bytes = b"NULL"  # (CLIENT LIST's cmd=)
    last_active: int = 0  # perf_counter_ns() when its last command ran (CLIENT LIST's idle=)
    no_evict: bool = False  # CLIENT NO-EVICT (a region never evicts clients: a flag only)
    # closes the connection at once (CLIENT KILL), given by the connection side
    disconnect: Callable[[], None] | None = None
    # writes to the connection outside a reply (MONITOR's lines), given by it too
    push: Callable[[bytes], None] | None = None
    monitoring: bool = False  # MONITOR was said: it sees every command, and no key
    # pub/sub: the channels and patterns it listens to (dicts: kept in order)
    channels: dict = attrs.field(factory=dict)
    patterns: dict = attrs.field(factory=dict)
    # CLIENT TRACKING (geolru.commands.tracking.TrackingState), or None: off
    tracking: object = None
    pending: list = attrs.field(factory=list)  # pushes to send after the reply


def null_array(session: Session) -> bytes:
    """Redis' null array reply: ``*-1`` in RESP2, the null ``_`` in RESP3."""
    return session.nil if session.resp3 else p.NIL_ARRAY


def keyword(value: bytes) -> bytes:
    """An option word as Redis compares it: case-insensitively."""
    return value.upper()


def scan_arguments(args: list, at: int, with_type: bool) -> tuple:
    """SCAN's (or HSCAN's) cursor at ``args[at]`` and its options after it, as Redis
    checks them: (cursor, COUNT, MATCH pattern or None, TYPE or None; only SCAN has
    TYPE); ``CommandError`` names what is wrong."""
    cursor = parse_int(args[at]) if args[at] != b"0" else 0
    if cursor is None or cursor < 0:
        raise CommandError(p.error("ERR invalid cursor"))
    count, pattern, kind = 10, None, None
    for j in range(at + 1, len(args), 2):
        option = keyword(args[j])
        if j + 1 >= len(args):
            raise CommandError(SYNTAX)
        if option == b"COUNT":
            count = int_arg(args[j + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"MATCH":
            pattern = args[j + 1]
        elif option == b"TYPE" and with_type:
            kind = args[j + 1].lower()
        else:
            raise CommandError(SYNTAX)
    return cursor, count, pattern, kind


_STRTOLD = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)",
                      re.IGNORECASE)


def strict_float(raw: bytes) -> float | None:
    """A float as Redis' ``string2ld`` reads one: the whole argument, no spaces, no
    NaN (``inf`` is one); None if it is not."""
    if not _STRTOLD.fullmatch(raw):
        return None
    return float(raw)


def blocking_timeout(raw: bytes) -> int:
    """A blocking command's timeout in ms, checked as ``getTimeoutFromObjectOrReply``
    checks it: a float Redis' ``strtold`` takes (no spaces, no ``_``, no NaN),
    rounded up to a millisecond (so ``-0.0001`` is 0) in a long long, where a value
    past its range becomes the lowest one (x86-64), so ``inf`` is "negative" too."""
    seconds = strict_float(raw)
    if seconds is None:
        raise CommandError(p.error("ERR timeout is not a float or out of range"))
    ms = seconds * 1000.0
    if not -LLONG_MAX <= ms < LLONG_MAX or math.ceil(ms) < 0:
        raise CommandError(p.error("ERR timeout is negative"))
    return math.ceil(ms)


def would_block(session, args, null: bytes) -> bytes:
    """What a blocking command says when it would have to wait: inside a transaction
    Redis does not wait either (``null``, its null reply); elsewhere a region refuses
    to."""
    if session.in_exec:
        return null
    return p.error(f"ERR geolru does not block: {text(args[0]).upper()} found no element "
                   "to take (poll with the non-blocking command)")


def mpop_arguments(args: list, at: int, sides: tuple) -> tuple[list, bytes, int | None]:
    """LMPOP's and ZMPOP's (and their blocking forms') arguments from ``args[at]``, the
    key count, as Redis checks them: (the keys, the side word of ``sides``, COUNT or
    None); ``CommandError`` names what is wrong."""
    count_of_keys = long_arg(args[at], "numkeys should be greater than 0", 1)
    side = at + count_of_keys + 1
    if side >= len(args) or keyword(args[side]) not in sides:
        raise CommandError(SYNTAX)
    count = None
    j = side + 1
    while j < len(args):
        if count is None and keyword(args[j]) == b"COUNT" and j + 1 < len(args):
            count = long_arg(args[j + 1], "count should be greater than 0", 1)
            j += 2
        else:
            raise CommandError(SYNTAX)
    return args[at + 1:side], keyword(args[side]), count


def long_arg(raw: bytes, message: str | None = None, low: int = LLONG_MIN,
             high: int = LLONG_MAX) -> int:
    """``getRangeLongFromObjectOrReply``: an integer within bounds, or the error
    (``message`` for both a non-integer and one out of bounds, as Redis)."""
    number = p.parse_int(raw)
    if number is None:
        raise CommandError(p.error("ERR " + (message or NOT_INTEGER[5:-2].decode())))
    if not low <= number <= high:
        raise CommandError(p.error("ERR " + (
            message or f"value is out of range, value must between {low} and {high}")))
    return number
