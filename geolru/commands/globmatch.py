"""Redis' glob patterns (``KEYS``, ``SCAN MATCH``, ``CONFIG GET``) as compiled regexes.

Same rules as Redis' ``stringmatchlen``: ``*``, ``?``, ``[abc]``, ``[^abc]``,
``[a-z]`` and ``\\`` escaping, on bytes.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: bytes) -> re.Pattern:
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i:i + 1]
        if c == b"*":
            out.append(b".*")
        elif c == b"?":
            out.append(b".")
        elif c == b"\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i:i + 1]))
        elif c == b"[":
            i += 1
            negate = i < n and pattern[i:i + 1] == b"^"
            if negate:
                i += 1
            items = []
            while i < n and pattern[i:i + 1] != b"]":
                ch = pattern[i:i + 1]
                if ch == b"\\" and i + 1 < n:
                    i += 1
                    items.append(re.escape(pattern[i:i + 1]))
                elif i + 2 < n and pattern[i + 1:i + 2] == b"-":
                    lo, hi = sorted((pattern[i], pattern[i + 2]))
                    items.append(re.escape(bytes((lo,))) + b"-" + re.escape(bytes((hi,))))
                    i += 2
                else:
                    items.append(re.escape(ch))
                i += 1
            if not items:
                out.append(b"(?!)" if not negate else b".")
            else:
                out.append(b"[" + (b"^" if negate else b"") + b"".join(items) + b"]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(b"".join(out) + b"\\Z", re.DOTALL)


def glob_match(pattern: bytes, value: bytes) -> bool:
    if pattern == b"*":
        return True
    return compile_glob(pattern).match(value) is not None
