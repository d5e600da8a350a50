"""The RESP/inline request parser and reply encoders, bytes in and out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geolru.resp import codec as p
from geolru.resp.codec import ProtocolError, RequestParser, parse_int, split_inline
from support import encode_command


def test_parses_pipelined_resp_commands():
    parser = RequestParser()
    data = encode_command("SET", "k", "v") + encode_command("GET", "k")
    assert parser.feed(data) == [[b"SET", b"k", b"v"], [b"GET", b"k"]]
    assert parser.error is None


@given(st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=5), max_size=8),
       st.integers(min_value=1, max_value=17))
def test_resp_split_anywhere_gives_the_same_commands(commands, chunk):
    data = b"".join(encode_command(*c) for c in commands)
    parser = RequestParser()
    parsed = []
    for i in range(0, len(data), chunk):
        parsed += parser.feed(data[i:i + chunk])
    assert parsed == commands
    assert parser.error is None and parser.buffered == 0


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data):
    parser = RequestParser(max_bulk_len=1000)
    parser.feed(data)  # either commands, a pending partial frame, or parser.error
    if parser.error is not None:
        assert parser.error.reply().startswith(b"-ERR Protocol error: ")


def test_inline_commands_with_redis_quoting():
    parser = RequestParser()
    assert parser.feed(b'SET greeting "hello world"\r\nGET greeting\n') == [
        [b"SET", b"greeting", b"hello world"], [b"GET", b"greeting"]]


def test_inline_empty_lines_are_ignored():
    assert RequestParser().feed(b"\r\n\n  \r\nPING\n") == [[b"PING"]]


@pytest.mark.parametrize("line, args", [
    (b"a b  c", [b"a", b"b", b"c"]),
    (b'"a\\x41\\n" \'it\\\'s\'', [b"aA\n", b"it's"]),
    (b'x"y z"', [b"xy z"]),
    (b'""', [b""]),
    (b"'\\n'", [b"\\n"]),
])
def test_split_inline_like_sdssplitargs(line, args):
    assert split_inline(line) == args


@pytest.mark.parametrize("line", [b'"abc', b"'abc", b'"a"b', b"'a'b"])
def test_unbalanced_quotes(line):
    with pytest.raises(ProtocolError, match="unbalanced quotes"):
        split_inline(line)


@pytest.mark.parametrize("data, message", [
    (b"*1\r\n$1000000000\r\n", "invalid bulk length"),
    (b"*1\r\n$-5\r\n", "invalid bulk length"),
    (b"*x\r\n", "invalid multibulk length"),
    (b"*1\r\n:5\r\n", "expected '$', got ':'"),
    (b"*" + b"1" * 70000, "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "too big bulk count string"),
    (b"GET " + b"x" * 70000, "too big inline request"),
])
def test_protocol_errors(data, message):
    parser = RequestParser(max_bulk_len=512 * 1024 * 1024)
    assert parser.feed(data) == []
    assert parser.error is not None and str(parser.error) == message
    assert parser.error.reply() == b"-ERR Protocol error: " + message.encode() + b"\r\n"


def test_commands_before_a_protocol_error_are_kept():
    parser = RequestParser()
    assert parser.feed(encode_command("PING") + b"*1\r\n$-2\r\n") == [[b"PING"]]
    assert str(parser.error) == "invalid bulk length"


def test_large_bulk_arrives_in_many_chunks_without_reparsing():
    parser = RequestParser()
    value = b"v" * 1_000_000
    data = encode_command("SET", "k", value)
    out = []
    for i in range(0, len(data), 4096):
        out += parser.feed(data[i:i + 4096])
    assert out == [[b"SET", b"k", value]]


def test_empty_multibulk_is_skipped():
    assert RequestParser().feed(b"*0\r\n*-1\r\n" + encode_command("PING")) == [[b"PING"]]


@pytest.mark.parametrize("text, value", [
    (b"0", 0), (b"-1", -1), (b"9223372036854775807", 2**63 - 1),
    (b"-9223372036854775808", -2**63), (b"9223372036854775808", None), (b"01", None),
    (b"+1", None), (b" 1", None), (b"", None), (b"-", None), (b"-0", None), (b"1.5", None),
])
def test_parse_int_is_string2ll(text, value):
    assert parse_int(text) == value


def test_reply_encoders():
    assert p.bulk(b"ab") == b"$2\r\nab\r\n"
    assert p.bulk(None) == b"$-1\r\n"
    assert p.integer(5) == b":5\r\n" and p.integer(10**12) == b":1000000000000\r\n"
    assert p.bulk_array([b"a", None]) == b"*2\r\n$1\r\na\r\n$-1\r\n"
    assert p.error("ERR bad\r\nthing") == b"-ERR bad  thing\r\n"
    assert p.mapping([(p.bulk(b"a"), p.integer(1))], resp3=True) == b"%1\r\n$1\r\na\r\n:1\r\n"


PIECES = [
    encode_command("GET", "k"), encode_command("SET", "k", "v\r\n+x"), b"*1\r\n$4\r\nPING\r\n",
    b"+PING\r\n", b":5\r\n", b"*0\r\n", b"*-1\r\n", b"$-1\r\n", b"*1\r\n$-1\r\n",
    b">1\r\n$4\r\nPING\r\n", b"~1\r\n$4\r\nPING\r\n", b"|1\r\n+a\r\n+b\r\n", b"*1\r\n+PING\r\n",
    b"*2\r\n$4\r\nECHO\r\n=8\r\ntxt:abcd\r\n", b"*1\r\n$04\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n",
    b"*1\r\n*1\r\n$1\r\na\r\n", b"*1\r\n:1\r\n", b"*1\r\n_\r\n", b"*1\r\n,1.5\r\n",
    b"*1\r\n#t\r\n", b"*1\r\n(12\r\n", b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"*1\r\n!3\r\nerr\r\n", b"*1\r\n-ERR x\r\n", b"PING\r\n", b"*1\r\n$1\r\n\x00\r\n",
    b"*2\r\n$3\r\nGET\r\n", b"\r\n", b"*", b"$", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20\r\nabc",
    b":1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n",  # the fast path's own sentinel, in the data
]


def parse_all(parser: RequestParser, data: bytes, cuts: list[int]):
    commands, start = [], 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        commands += parser.feed(data[start:cut])
        start = cut
    return commands, parser.error.reply() if parser.error else None


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=12)), max_size=12),
       st.lists(st.integers(min_value=0), max_size=4))
def test_the_c_reader_fast_path_parses_exactly_as_the_python_parser(pieces, cuts):
    """Whatever the bytes and however they are cut, hiredis' fast path gives the
    same commands and the same protocol error as the Python parser alone."""
    data = b"".join(pieces)
    fast = parse_all(RequestParser(max_bulk_len=64), data, cuts)
    assert fast == parse_all(RequestParser(max_bulk_len=64, fast=False), data, cuts)


def test_a_huge_array_count_never_reaches_the_c_reader():
    """hiredis would make the list as soon as it reads the count."""
    parser = RequestParser()
    assert parser._fast(b"*1073741824\r\n$3\r\nGET\r\n") is None
    assert parser.feed(b"*1073741824\r\n$3\r\nGET\r\n") == []  # waits, as Redis does
    assert parser.buffered > 0 and parser.error is None
