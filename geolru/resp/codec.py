"""Wire formats only: RESP2 requests and replies, Redis inline commands.

Nothing here touches a socket or the keyspace: bytes go in, parsed commands
(lists of ``bytes``) or encoded replies (``bytes``) come out.  The parser
follows redis-server 7's rules (``processMultibulkBuffer`` and
``processInlineBuffer``), including its limits and its error texts.  Whole
pipelines of well-formed requests go through hiredis' C reader instead
(``RequestParser._fast``), 2-4x quicker per request; a property test holds the
two to the same commands and errors for any bytes cut anywhere.
"""

from __future__ import annotations

import re

import hiredis

INLINE_MAX_SIZE = 64 * 1024
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024
MAX_MULTIBULK_LEN = 1024 * 1024 * 1024  # redis accepts up to INT_MAX; we cap at 1 G args

CRLF = b"\r\n"
OK = b"+OK\r\n"
PONG = b"+PONG\r\n"
NIL = b"$-1\r\n"
NIL_ARRAY = b"*-1\r\n"
EMPTY_ARRAY = b"*0\r\n"
ZERO = b":0\r\n"
EMPTY_BULK = b"$0\r\n\r\n"
ONE = b":1\r\n"


class ProtocolError(Exception):
    """The peer broke RESP; Redis answers ``-ERR Protocol error: …`` then closes."""

    def reply(self) -> bytes:
        return error("ERR Protocol error: " + str(self))


# ---------------------------------------------------------------- replies

_INTEGER_REPLIES = [b":%d\r\n" % i for i in range(-1, 1024)]  # integer(): made once


def integer(value: int) -> bytes:
    if -1 <= value < 1023:
        return _INTEGER_REPLIES[value + 1]
    return b":%d\r\n" % value


NULL3 = b"_\r\n"  # RESP3's null, for clients that said HELLO 3


def bulk(value: bytes | None, nil: bytes = NIL) -> bytes:
    if value is None:
        return nil
    return b"$%d\r\n%s\r\n" % (len(value), value)


def simple(text: str | bytes) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    return b"+" + text + CRLF


def error(text: str) -> bytes:
    """An error reply; ``text`` starts with its code (``ERR``, ``WRONGTYPE`` …)."""
    clean = text.replace("\r", " ").replace("\n", " ")
    return b"-" + clean.encode("utf-8", "replace") + CRLF


def array(items: list[bytes] | None) -> bytes:
    """An array of already-encoded replies."""
    if items is None:
        return NIL_ARRAY
    return b"*%d\r\n" % len(items) + b"".join(items)


def bulk_array(values, nil: bytes = NIL) -> bytes:
    """An array of bulk strings (``None`` becomes a nil bulk)."""
    parts = [b"*%d\r\n" % len(values)]
    for value in values:
        if value is None:
            parts.append(nil)
        else:
            parts.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(parts)


def verbatim_lines(text: str, resp3: bool = False) -> bytes:
    """CRLF-separated lines, as INFO replies: a bulk, or RESP3's verbatim string."""
    data = text.replace("\n", "\r\n").encode()
    if resp3:
        return b"=%d\r\ntxt:%s\r\n" % (len(data) + 4, data)
    return bulk(data)


def bulk_set(values, resp3: bool) -> bytes:
    """A set reply of bulk strings: RESP3's set type, RESP2's array."""
    values = list(values)
    if not resp3:
        return bulk_array(values)
    return b"~%d\r\n" % len(values) + b"".join(b"$%d\r\n%s\r\n" % (len(v), v) for v in values)


def mapping(pairs: list[tuple[bytes, bytes]], resp3: bool) -> bytes:
    """Encoded key/value replies: a RESP3 map, or a flat RESP2 array."""
    head = b"%%%d\r\n" % len(pairs) if resp3 else b"*%d\r\n" % (2 * len(pairs))
    return head + b"".join(k + v for k, v in pairs)


# ---------------------------------------------------------------- integers

def parse_int(value: bytes) -> int | None:
    """Redis' ``string2ll``: a canonical signed 64-bit decimal, else ``None``.

    No sign '+', no leading zeros, no spaces, at most 20 characters.
    """
    n = len(value)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = value[0]
        return c - 48 if 48 <= c <= 57 else None
    start = 1 if value[0] == 45 else 0
    if start == n or not 49 <= value[start] <= 57:  # first digit 1-9
        return None
    if not value[start:].isdigit():
        return None
    number = int(value)
    if number > 9223372036854775807 or number < -9223372036854775808:
        return None
    return number


# the lengths and counts almost every request carries, parsed by one dict lookup;
# only canonical spellings are keys, so anything else still goes through parse_int
_PARSED_INTS = {b"%d" % i: i for i in range(4096)}


# ---------------------------------------------------------------- inline

_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_SPACE = frozenset(b" \t\n\r\v\f")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command like Redis' ``sdssplitargs``.

    Raises ``ProtocolError`` for unbalanced quotes.
    """
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if (c == 92 and i + 3 < n and line[i + 1] == 120
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    current.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    current += _ESCAPES.get(line[i], bytes((line[i],)))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        raise ProtocolError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    current.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        raise ProtocolError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _SPACE:
                    break
                if c == 34:
                    in_double = True
                elif c == 39:
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


# ---------------------------------------------------------------- requests

FAST_MAX = 1 << 20  # larger chunks go to the Python parser (they are mostly cut requests)
# hiredis reads replies, so it takes element types Redis refuses in a request; these
# would come back as bytes or lists (the others as floats, None, errors: type-checked),
# and ':' is the sentinel's; one regular expression pass finds them all (seven
# substring searches cost 6x more: "\r\n" is everywhere in a request).  Nor may an
# array count reach a million: hiredis makes the list as soon as it reads the count
LENIENT = re.compile(rb"\r\n[+=(>~|:]")
HUGE_ARRAY = re.compile(rb"\*[0-9]{7}")


# fed after each chunk: an integer, which no request may hold (``LENIENT``
# keeps "\r\n:" out), so it comes back whole, and last, only if the chunk ended
# on a request boundary; a request cut in two swallows some of its bytes
SENTINEL = b":1\r\n"


class _NotFast(Exception):
    """The chunk is not only whole, well-formed multibulk requests."""


class RequestParser:
    """Incremental parser of client requests: RESP multibulk or inline lines.

    ``feed(data)`` returns the complete commands found so far (each a list of
    ``bytes``).  After a protocol violation, ``error`` holds the
    ``ProtocolError``; the commands before it are still returned, and the
    connection must be answered with ``error.reply()`` and closed.
    """

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK_LEN, fast: bool = True):
        self.max_bulk_len = max_bulk_len
        self.fast = fast  # False: the Python parser only (the tests' reference)
        self.error: ProtocolError | None = None
        self._buf = b""
        self._pending: list[bytes] = []  # chunks not yet joined into _buf
        self._have = 0  # len(_buf) + sum of pending chunk lengths
        self._need = 0  # bytes of buffer needed before parsing can progress
        self._reader = hiredis.Reader()

    @property
    def buffered(self) -> int:
        return self._have

    def feed(self, data: bytes) -> list[list[bytes]]:
        if self.error is not None:
            return []
        if not self._have and data[:1] == b"*" and self.fast:
            commands = self._fast(data)
            if commands is not None:
                return commands
        self._have += len(data)
        if self._have < self._need:
            self._pending.append(data)
            return []
        if self._pending:
            self._pending.append(data)
            self._buf += b"".join(self._pending)
            self._pending = []
        elif self._buf:
            self._buf += data
        else:
            self._buf = data
        commands: list[list[bytes]] = []
        try:
            pos = self._parse(self._buf, commands)
        except ProtocolError as e:
            self.error = e
            self._buf = b""
            self._have = 0
            return commands
        if pos:
            self._buf = self._buf[pos:]
            self._have = len(self._buf)
        return commands

    def _fast(self, data: bytes) -> list[list[bytes]] | None:
        """The commands of a chunk of whole, well-formed multibulk requests, parsed
        by hiredis' C reader; ``None`` for anything else (an inline command, a
        request cut in two (``SENTINEL``), an empty or null array, a type Redis
        refuses, an error), which ``_parse`` then handles exactly as redis-server
        does.

        hiredis applies Redis' own number rules (no sign, no leading zeros); the
        checks here cover the rest: every request an array of bulk strings, no
        element type but ``$`` and ``*`` (``LENIENT``), and no bulk longer
        than ``max_bulk_len`` (a chunk no longer than it cannot hold one).
        """
        if len(data) > FAST_MAX or len(data) > self.max_bulk_len:
            return None
        if LENIENT.search(data) is not None or HUGE_ARRAY.search(data) is not None:
            return None
        reader = self._reader
        commands = []
        try:
            reader.feed(data)
            reader.feed(SENTINEL)
            while True:
                command = reader.gets()
                if type(command) is not list or not command:
                    break
                for arg in command:
                    if type(arg) is not bytes:
                        raise _NotFast
                commands.append(command)
            if type(command) is not int or command != 1 or reader.gets() is not False \
                    or reader.has_data():
                raise _NotFast
        except Exception:  # _NotFast, hiredis.ProtocolError, a reply it cannot build…
            self._reader = hiredis.Reader()  # …: the Python parser decides
            return None
        return commands

    def _parse(self, buf: bytes, commands: list) -> int:
        """Parse whole commands from ``buf``; return the offset consumed."""
        pos = 0
        end = len(buf)
        find = buf.find
        small = _PARSED_INTS.get
        self._need = 0
        while pos < end:
            if buf[pos] != 42:  # not '*': inline command
                nl = find(b"\n", pos)
                if nl < 0:
                    if end - pos > INLINE_MAX_SIZE:
                        raise ProtocolError("too big inline request")
                    return pos
                line = buf[pos:nl]
                pos = nl + 1
                if line.endswith(b"\r"):
                    line = line[:-1]
                args = split_inline(line)
                if args:
                    commands.append(args)
                continue
            nl = find(b"\r\n", pos)
            if nl < 0:
                if end - pos > INLINE_MAX_SIZE:
                    raise ProtocolError("too big mbulk count string")
                return pos
            digits = buf[pos + 1:nl]
            count = small(digits)
            if count is None:
                count = parse_int(digits) if nl - pos < 22 else None
            if count is None or count > MAX_MULTIBULK_LEN:
                raise ProtocolError("invalid multibulk length")
            start = pos
            pos = nl + 2
            if count <= 0:
                continue
            args = []
            append = args.append
            for _ in range(count):
                if pos >= end:
                    return start
                if buf[pos] != 36:  # '$'
                    raise ProtocolError("expected '$', got '%s'" % chr(buf[pos]))
                nl = find(b"\r\n", pos)
                if nl < 0:
                    if end - pos > INLINE_MAX_SIZE:
                        raise ProtocolError("too big bulk count string")
                    return start
                digits = buf[pos + 1:nl]
                size = small(digits)
                if size is None:
                    size = parse_int(digits) if nl - pos < 22 else None
                if size is None or size < 0 or size > self.max_bulk_len:
                    raise ProtocolError("invalid bulk length")
                pos = nl + 2
                stop = pos + size
                if stop + 2 > end:
                    self._need = stop + 2 - start
                    return start
                append(buf[pos:stop])
                pos = stop + 2
            commands.append(args)
        return pos
