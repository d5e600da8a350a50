"""HyperLogLog registers in Redis' string format (figures from redis-server 7.0)."""

import pytest

from geolru.model import hyperloglog


def registers(*elements: bytes) -> bytearray:
    out = hyperloglog.empty()
    hyperloglog.add(out, elements)
    return out


def test_one_element_is_the_sparse_string_redis_writes():
    assert hyperloglog.render(registers(b"hello")) == (
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80c\xff\x80[\xfe")
    assert hyperloglog.render(hyperloglog.empty()) == (
        b"HYLL\x01" + bytes(10) + b"\x80\x7f\xff")


@pytest.mark.parametrize("elements, expected", [
    ([b"e%d" % i for i in range(300)], 302),
    ([b"x%d" % i for i in range(100_000)], 100_903),
    ([], 0),
])
def test_counts_are_redis_servers(elements, expected):
    assert hyperloglog.count(registers(*elements)) == expected


def test_a_big_one_goes_dense_and_reads_back():
    big = registers(*(b"x%d" % i for i in range(100_000)))
    raw = hyperloglog.render(big)
    assert raw[4] == hyperloglog.DENSE and len(raw) == hyperloglog.DENSE_SIZE == 12304
    assert hyperloglog.parse(raw) == big
    small = registers(*(b"e%d" % i for i in range(300)))
    assert hyperloglog.parse(hyperloglog.render(small)) == small


@pytest.mark.parametrize("raw, error", [
    (b"abc", hyperloglog.WRONGTYPE),
    (b"HYLL\x02" + bytes(11) + b"\x7f\xff", hyperloglog.WRONGTYPE),  # no such encoding
    (b"HYLL\x00" + bytes(11), hyperloglog.WRONGTYPE),  # dense, of the wrong length
    (b"HYLL\x01" + bytes(11) + b"\x7f\xff\x00", hyperloglog.INVALID),  # a register too many
    (b"HYLL\x01" + bytes(11) + b"\x7f", hyperloglog.INVALID),  # an XZERO cut short
])
def test_strings_that_are_no_hyperloglog_are_refused_with_redis_errors(raw, error):
    with pytest.raises(hyperloglog.NotHyperLogLog, match=error.split()[0]):
        hyperloglog.parse(raw)
