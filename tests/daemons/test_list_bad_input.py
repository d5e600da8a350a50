"""Lists given what a careless or hostile client sends, at a real region: huge and
negative counts and indexes, a push of 100,000 elements, the wrong type, blocking
commands that would wait; Redis' errors, and the region serves on."""

import pytest
import redis

from support import region_daemon


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    region = region_daemon(tmp_path_factory.mktemp("listsbad")).start()
    yield redis.Redis(port=region.port, socket_timeout=60)
    region.stop()


def test_huge_and_negative_counts_and_indexes_get_redis_errors_or_clipped_ranges(client):
    client.rpush("l", 1, 2, 3)
    assert client.lrange("l", -(2**63), 2**63 - 1) == [b"1", b"2", b"3"]
    assert client.lindex("l", 2**63 - 1) is None and client.lindex("l", -(2**63)) is None
    assert client.ltrim("l", 0, 2**63 - 1) and client.llen("l") == 3
    for command, error in [(("LPOP", "l", "-1"), "must be positive"),
                           (("LRANGE", "l", "0", str(2**64)), "not an integer"),
                           (("LSET", "l", str(2**40), "x"), "index out of range"),
                           (("LPOS", "l", "1", "RANK", str(-(2**63))), None),
                           (("LMPOP", str(2**40), "l", "LEFT"), "syntax error"),
                           (("LMPOP", "-1", "l", "LEFT"), "numkeys should be greater"),
                           (("LINSERT", "l", "SIDEWAYS", "1", "x"), "syntax error")]:
        if error is None:
            client.execute_command(*command)  # (answers: Redis takes the full range)
            continue
        with pytest.raises(redis.ResponseError, match=error):
            client.execute_command(*command)
    assert client.lpop("l", 10**18) == [b"1", b"2", b"3"] and not client.exists("l")


def test_a_push_of_100000_elements_is_taken_whole_and_the_region_serves_on(client):
    elements = [b"element:%06d" % i for i in range(100_000)]
    assert client.rpush("big", *elements) == 100_000
    assert client.llen("big") == 100_000 and client.ping()
    assert client.lindex("big", 54_321) == elements[54_321]
    assert client.lpop("big", 50_000) == elements[:50_000]
    assert client.lrange("big", 0, 2) == elements[50_000:50_003]


def test_the_wrong_type_and_blocking_commands_that_would_wait(client):
    client.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.lpush("str", "a")
    client.rpush("q", "job")
    assert client.blpop(["empty", "q"], timeout=1) == (b"q", b"job")  # (one was there)
    for call in (lambda: client.blpop(["empty"], timeout=1),
                 lambda: client.brpop(["empty"], timeout=0),
                 lambda: client.blmove("empty", "q", 1, "LEFT", "RIGHT"),
                 lambda: client.execute_command("BLMPOP", "0", "1", "empty", "LEFT")):
        with pytest.raises(redis.ResponseError, match="geolru does not block"):
            call()
    assert client.get("str") == b"v" and client.ping()
