"""PackedList against a plain Python list of (name, value) pairs: random pushes, pops,
inserts, removes and value writes, with chunks small enough that every one splits,
empties and is packed again."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.keyspace import packedlist
from geolru.keyspace.packedlist import NO_INDEX, PackedList, split
from geolru.model import listpos

OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["rpush", "lpush", "insert", "lpop", "rpop", "remove", "set"]),
    st.integers(0, 1000), st.integers(1, 9), st.binary(max_size=12)), max_size=60)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(packedlist, "CHUNK_COUNT", 4)
    monkeypatch.setattr(packedlist, "CHUNK_BYTES", 24)
    monkeypatch.setattr(packedlist, "_MAX_STEMS", 6)


def _same(packed: PackedList, model: list) -> None:
    assert list(packed.items()) == model
    assert len(packed) == len(model)
    assert packed.size == sum(len(n) + len(v) for n, v in model)
    assert packed.names() == [n for n, _ in model]
    assert packed.values(1, len(model) - 1) == [v for _, v in model[1:-1]]
    assert list(packed.iter_values()) == [v for _, v in model]
    assert list(packed.iter_values(reverse=True)) == [v for _, v in reversed(model)]
    for at, (name, value) in enumerate(model):
        assert (packed.name(at), packed.value(at)) == (name, value)
        assert packed.locate(name) == (at, True)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_it_holds_what_a_list_of_pairs_holds(operations):
    packed, model = PackedList(), []
    for version, (operation, at, count, value) in enumerate(operations, 1):
        values = [value + b"%d" % n for n in range(count)]
        where = at % (len(model) + 1)
        if operation == "rpush":
            names = listpos.between(model[-1][0] if model else None, None, version,
                                    "mtl", count)
            packed.push_back(names, values)
            model.extend(zip(names, values, strict=True))
        elif operation == "lpush":
            names = listpos.between(None, model[0][0] if model else None, version,
                                    "fra", count)
            packed.push_front(names, values)
            model[0:0] = zip(names, values, strict=True)
        elif operation == "insert":
            name = listpos.between(model[where - 1][0] if where else None,
                                   model[where][0] if where < len(model) else None,
                                   version, "sgp")[0]
            assert packed.locate(name) == (where, False)
            packed.insert(where, name, value)
            model.insert(where, (name, value))
        elif operation in ("lpop", "rpop") and model:
            count = min(count, len(model))
            if operation == "lpop":
                packed.pop_front(count)
                del model[:count]
            else:
                packed.pop_back(count)
                del model[-count:]
        elif operation == "remove" and model:
            gone = sorted({(at * n) % len(model) for n in range(1, count + 1)})
            packed.remove(gone)
            model = [pair for i, pair in enumerate(model) if i not in set(gone)]
        elif operation == "set" and model:
            packed.set_value(where % len(model), value)
            model[where % len(model)] = (model[where % len(model)][0], value)
        _same(packed, model)
    _same(PackedList(model), model)


def test_a_name_is_its_stem_and_its_last_number():
    assert split(b"3,17,mtl,12") == (b"3,17,mtl,", 12)
    assert split(b"3,17,mtl,0") == (b"3,17,mtl,", 0)
    for odd in (b"3,17,mtl,012", b"nocomma", b"3,17,mtl,", b"3,1,m,99999999999"):
        assert split(odd) == (odd, NO_INDEX)
    packed = PackedList([(b"nocomma", b"v"), (b"3,17,mtl,012", b"w")])
    assert packed.names() == [b"nocomma", b"3,17,mtl,012"]


def test_one_push_shares_one_stem(monkeypatch):
    monkeypatch.setattr(packedlist, "CHUNK_COUNT", 128)
    monkeypatch.setattr(packedlist, "CHUNK_BYTES", 4096)
    names = listpos.between(None, None, 1733600000000000123, "montreal", 100)
    packed = PackedList(zip(names, [b"v"] * 100, strict=True))
    [chunk] = packed._chunks
    assert chunk.stem_data == b"0,1733600000000000123,montreal," and len(chunk.stem_ends) == 1
