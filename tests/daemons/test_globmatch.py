"""The glob matcher (KEYS, SCAN MATCH) against redis-server's own, pattern for pattern."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.commands.globmatch import glob_match

KEYS = [b"", b"a", b"b", b"ab", b"ba", b"abc", b"a*c", b"a?c", b"a[c", b"a]c", b"a\\c",
        b"a-c", b"hello", b"hallo", b"hxllo", b"h\xffllo", b"^a", b"x" * 20]
PATTERN_PARTS = ["a", "b", "c", "h", "llo", "*", "?", "[", "]", "^", "-", "\\", "[a-c]",
                 "[^a]", "[!a]", "\\*", "[]", "[a-]", "x"]


@pytest.fixture(scope="module")
def reference_redis_keys(reference_redis):
    """The reference redis-server holding ``KEYS`` (in a db of its own)."""
    r = reference_redis.client(db=9)
    r.flushdb()
    for key in KEYS:
        if key:
            r.set(key, b"1")
    yield r
    r.flushdb()


def test_documented_examples():
    assert glob_match(b"h?llo", b"hello") and glob_match(b"h?llo", b"hxllo")
    assert glob_match(b"h*llo", b"heeeello")
    assert glob_match(b"h[ae]llo", b"hallo") and not glob_match(b"h[ae]llo", b"hillo")
    assert glob_match(b"h[^e]llo", b"hallo") and not glob_match(b"h[^e]llo", b"hello")
    assert glob_match(b"h[a-b]llo", b"hbllo")
    assert glob_match(b"h\\*llo", b"h*llo") and not glob_match(b"h\\*llo", b"hxllo")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PATTERN_PARTS), min_size=1, max_size=5))
def test_random_patterns_match_what_redis_server_matches(reference_redis_keys, parts):
    r = reference_redis_keys
    if r.dbsize() != len([k for k in KEYS if k]):  # another test flushed it
        r.mset({k: b"1" for k in KEYS if k})
    pattern = "".join(parts).encode()
    expected = sorted(r.keys(pattern))
    assert sorted(k for k in KEYS if k and glob_match(pattern, k)) == expected, pattern
