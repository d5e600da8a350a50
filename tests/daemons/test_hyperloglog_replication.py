"""HyperLogLogs between two real regions whose links are cut while both add: every
element counts everywhere once healed (register by register), a delete wins over the
adds it saw, and redis-server reads a region's HyperLogLog back."""

from geolru.model import hyperloglog
from support import redis_server


def count(*elements: str) -> int:
    """redis-server's count of ``elements`` (tests/unit/model/test_hyperloglog.py)."""
    registers = hyperloglog.empty()
    hyperloglog.add(registers, [e.encode() for e in elements])
    return hyperloglog.count(registers)


def test_concurrent_pfadds_in_two_regions_all_count(split):
    split.m.pfadd("visitors", "ann")
    split.both(lambda c: c.pfcount("visitors") == 1, "the first visitor everywhere")
    split.cut()
    mine, theirs = [f"m{i}" for i in range(100)], [f"f{i}" for i in range(100)]
    split.m.pfadd("visitors", *mine)
    split.f.pfadd("visitors", *theirs)
    assert split.f.pfcount("visitors") == count("ann", *theirs)  # (really apart)
    split.heal()
    want = count("ann", *mine, *theirs)
    split.both(lambda c: c.pfcount("visitors") == want, "every visitor everywhere")
    assert split.m.get("visitors") == split.f.get("visitors")


def test_a_delete_wins_over_the_adds_it_saw_and_a_later_add_starts_again(split):
    split.m.pfadd("seen", "a", "b", "c")
    split.both(lambda c: c.pfcount("seen") == 3, "three elements everywhere")
    split.f.delete("seen")
    split.both(lambda c: c.exists("seen") == 0, "the delete everywhere")
    split.m.pfadd("seen", "d")
    split.both(lambda c: c.pfcount("seen") == 1, "only the new element everywhere")


def test_redis_server_counts_a_regions_hyperloglog_as_the_region_does(split, tmp_path):
    split.m.pfadd("copied", *(f"e{i}" for i in range(5000)))
    server = redis_server(tmp_path / "redis").start()
    try:
        other = server.client()
        other.set("copied", split.m.get("copied"))
        assert other.pfcount("copied") == split.m.pfcount("copied")
        other.pfadd("copied", "one more")
        split.m.set("back", other.get("copied"))  # and back: a region reads redis' bytes
        split.m.pfadd("back", "and another")
        other.pfadd("copied", "and another")
        assert split.m.pfcount("back") == other.pfcount("copied")
    finally:
        server.stop()
