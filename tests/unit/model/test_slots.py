"""Hash slots: CRC16 and hash tags as redis-server computes them, and slot sets."""

import pytest

from geolru.model.hashkeys import field_id, identity_slot, key_id
from geolru.model.slots import ALL, SlotsError, SlotSet, key_slot, parse_slot, split

# CLUSTER KEYSLOT of redis-server 7.0.15 for each key
REDIS_KEYSLOTS = {
    b"foo": 12182, b"bar": 5061, b"hello": 866, b"{user1000}.following": 3443,
    b"a{}b": 13694, b"{}x": 10595, b"{{a}}": 10276, b"x{a": 6541,
}


@pytest.mark.parametrize("key,slot", sorted(REDIS_KEYSLOTS.items()))
def test_key_slot_is_redis_cluster_keyslot(key, slot):
    assert key_slot(key) == slot


def test_a_hash_tag_puts_keys_in_one_slot():
    assert key_slot(b"{user1000}.following") == key_slot(b"{user1000}.followers") \
        == key_slot(b"user1000")


def test_an_identity_is_in_its_key_s_slot():
    assert identity_slot(field_id(b"foo", b"f")) == identity_slot(key_id(b"foo")) == 12182
    escaped = b"\xff\x00weird"
    assert identity_slot(key_id(escaped)) == key_slot(escaped)


def test_split_covers_every_slot_once():
    for shards in (1, 2, 3, 4, 7):
        parts = split(shards)
        assert sum(len(p) for p in parts) == 16384
        union = parts[0]
        for part in parts[1:]:
            assert not part.intersects(union)
            union = union.union(part)
        assert union.complete
    assert [str(p) for p in split(2)] == ["0-8191", "8192-16383"]


def test_slot_sets_parse_format_and_compare():
    slots = SlotSet.parse("0-99, 100-199 5000")
    assert str(slots) == "0-199,5000" and len(slots) == 201
    assert 150 in slots and 200 not in slots and 5000 in slots and -1 not in slots
    assert ALL.covers(slots) and not slots.covers(ALL)
    assert slots.without(SlotSet.parse("0-9")).ranges == ((10, 199), (5000, 5000))


@pytest.mark.parametrize("text", ["0-16384", "x", "5-2", "1-a"])
def test_bad_slot_ranges_are_refused(text):
    with pytest.raises(SlotsError):
        SlotSet.parse(text)


def test_parse_slot():
    assert parse_slot("16383") == 16383
    for bad in ("16384", "-1", "x"):
        with pytest.raises(SlotsError):
            parse_slot(bad)
