"""Value formats the command families share: Redis' long double arithmetic
(``INCRBYFLOAT``, ``HINCRBYFLOAT``) and the sizes that decide a compact encoding."""

from __future__ import annotations

import re

from geolru.commands.args import CommandError
from geolru.resp import codec as p

_MEMORY = re.compile(rb"([0-9]*)(b|k|kb|m|mb|g|gb)?", re.IGNORECASE)
_MEMORY_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2,
                 b"g": 1000**3, b"gb": 1024**3}


def parse_memory(raw: bytes) -> int | None:
    """A memory size as Redis' config reads one (``memtoull``: ``100mb``, ``1gb``,
    ``5000``; no digits, as ``""`` or ``mb``, is 0); None if it is not one."""
    match = _MEMORY.fullmatch(raw)
    if match is None:
        return None
    return int(match.group(1) or b"0") * _MEMORY_UNITS[(match.group(2) or b"").lower()]


# Redis' defaults for a hash kept compact (hash-max-listpack-entries and -value)
LISTPACK_ENTRIES, LISTPACK_VALUE = 128, 64

NOT_FLOAT = p.error("ERR value is not a valid float")
_FLOAT = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)",
                    re.IGNORECASE)


def float_sum(current: bytes | None, delta: bytes, not_float: bytes) -> bytes:
    """``current`` (None: 0) plus ``delta`` in long double, as Redis formats it;
    ``CommandError`` if ``delta`` is no float, or ``current`` (with ``not_float``),
    or the sum is not finite."""
    step = parse_long_double(delta)
    if step is None:
        raise CommandError(NOT_FLOAT)
    import numpy  # (only here: a region need not load numpy to start)
    start = numpy.longdouble(0) if current is None else parse_long_double(current)
    if start is None:
        raise CommandError(not_float)
    result = start + step
    if not numpy.isfinite(result):
        raise CommandError(p.error("ERR increment would produce NaN or Infinity"))
    return format_long_double(result)


def parse_long_double(raw: bytes):
    """A Redis float argument (``strtold`` over the whole string, no NaN, no spaces),
    as a long double (Redis computes INCRBYFLOAT in ``long double``)."""
    if not raw or len(raw) > 5000 or not _FLOAT.fullmatch(raw):
        return None
    import numpy
    value = numpy.longdouble(raw.decode())
    return None if numpy.isnan(value) else value


def format_long_double(value) -> bytes:
    """``%.17Lf`` without trailing zeros (Redis' ``LD_STR_HUMAN``)."""
    import numpy
    text = numpy.format_float_positional(value, precision=17, unique=False, trim="-")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return (text if text != "-0" else "0").encode()
