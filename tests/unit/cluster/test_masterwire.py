"""The master's line protocol and endpoint strings: what is written parses back."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geolru.cluster import masterwire
from geolru.common.endpoints import host_port, listen_address

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
coordinates = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(names, st.integers(1, 65535), st.floats(0, 20040, allow_nan=False))
def test_a_locate_answer_round_trips(name, port, km):
    line = masterwire.located_line(name, "10.0.0.1", port, km)
    assert masterwire.parse_located(line.decode()) == masterwire.Located(
        name, "10.0.0.1", port, round(km, 1))


@given(names, st.integers(1, 65535), coordinates, st.booleans())
def test_a_regions_line_round_trips(name, port, position, up):
    line = masterwire.listed_line(name, "h", port, *position, up)
    assert masterwire.parse_listed(line.decode()) == masterwire.Listed(
        name, "h", port, *position, up)


@given(names, st.integers(1, 65535), st.integers(0, 65535), coordinates, st.booleans())
def test_a_peer_line_round_trips(name, port, peer_port, position, up):
    line = masterwire.peer_line(name, "h", port, peer_port, *position, up)
    words = line.split()
    assert words[0] == b"PEER"
    assert masterwire.parse_peer(words[1:]) == (name, "h", port, peer_port, *position, up,
                                                "", "")
    # a region without cluster mode writes the line a release before it reads
    assert len(words) == 8


@given(names, st.integers(1, 1023), st.booleans())
def test_a_shard_s_lines_carry_its_region_and_slots(region, k, up):
    name = f"{region}/{k}"
    line = masterwire.peer_line(name, "h", 7002, 7102, 1.0, 2.0, up, region, "0-99,200")
    assert masterwire.parse_peer(line.split()[1:]) == (
        name, "h", 7002, 7102, 1.0, 2.0, up, region, "0-99,200")
    register = masterwire.register_line(name, "h", 7002, 7102, 1.0, 2.0, region, "5")
    assert register.split()[7:] == [f"region={region}".encode(), b"slots=5"]


def test_a_located_line_names_a_sharded_region_s_seeds():
    line = masterwire.located_line("montreal", "h", 7001, 0.25, [("h", 7001), ("::1", 7002)])
    assert masterwire.parse_located(line.decode()) == masterwire.Located(
        "montreal", "h", 7001, 0.2, (("h", 7001), ("::1", 7002)))
    assert masterwire.parse_located("REGION a h 1 2.0").seeds == ()


def test_a_reply_is_complete_at_end_and_an_error_raises():
    assert masterwire.reply_lines(["REGION a h 1 2.0"]) is None
    assert masterwire.reply_lines(["REGION a h 1 2.0", "END", ""]) == ["REGION a h 1 2.0"]
    with pytest.raises(LookupError, match="no region available"):
        masterwire.reply_lines(["ERR no region available"])


@pytest.mark.parametrize("description, address", [
    ("tcp:7001:interface=127.0.0.1", ("127.0.0.1", 7001)),
    ("tcp:port=7001", ("127.0.0.1", 7001)),
    ("tcp:interface=10.1.2.3:port=7001", ("10.1.2.3", 7001)),
    ("ssl:7443:privateKey=k.pem:certKey=c.pem:interface=0.0.0.0", ("0.0.0.0", 7443)),
    ("tcp6:7001:interface=\\:\\:1", ("::1", 7001)),
    ("tcp:0", ("127.0.0.1", 0)),
    ("unix:/tmp/sock", ("127.0.0.1", 0)),
])
def test_listen_addresses(description, address):
    assert listen_address(description) == address


@pytest.mark.parametrize("text, address", [
    ("127.0.0.1:7000", ("127.0.0.1", 7000)), ("example.org", ("example.org", 7001)),
    ("[::1]:7000", ("::1", 7000)), ("::1", ("::1", 7001)),
])
def test_host_ports(text, address):
    assert host_port(text, 7001) == address
