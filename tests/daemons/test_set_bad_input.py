"""Sets given what a careless or hostile client sends, at a real region: huge and
negative counts, a command of 100,000 members, the wrong type; Redis' errors, and
the region serves on."""

import pytest
import redis

from support import region_daemon


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    region = region_daemon(tmp_path_factory.mktemp("setsbad")).start()
    yield redis.Redis(port=region.port, socket_timeout=60)
    region.stop()


def test_huge_and_negative_counts_get_redis_errors_or_the_whole_set(client):
    client.sadd("s", 1, 2, 3)
    assert client.spop("s", 10**18) == [b"1", b"2", b"3"] and not client.exists("s")
    client.sadd("s", "a")
    for command, error in [(("SPOP", "s", "-1"), "must be positive"),
                           (("SRANDMEMBER", "s", str(-2**63)), "must between"),
                           (("SRANDMEMBER", "s", str(-10**12)), "out of range"),
                           (("SINTERCARD", str(2**40), "s"), "greater than number of args"),
                           (("SINTERCARD", "1", "s", "LIMIT", "-5"), "can't be negative")]:
        with pytest.raises(redis.ResponseError, match=error):
            client.execute_command(*command)
    assert client.srandmember("s", 10**18) == [b"a"]


def test_a_command_of_100000_members_is_taken_whole_and_the_region_serves_on(client):
    members = [b"member:%06d" % i for i in range(100_000)]
    assert client.sadd("big", *members) == 100_000
    assert client.scard("big") == 100_000 and client.ping()
    assert client.srem("big", *members[::2]) == 50_000
    assert client.scard("big") == 50_000 and client.sismember("big", members[1])
