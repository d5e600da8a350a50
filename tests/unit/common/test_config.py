"""Config: ini + command line into attrs classes; a bad value names file, key and
problem (tests/daemons/test_startup.py: the daemon that refuses to start)."""

import pytest

from geolru.common.config import ConfigError, load_region, parse_size, rewrite
from support import ROOT


def write(tmp_path, text):
    path = tmp_path / "region.ini"
    path.write_text(text)
    return str(path)


def test_the_shipped_configs_load():
    names = [load_region(str(ROOT / "etc" / f"region{i}.ini")).name for i in (1, 2, 3)]
    assert names == ["montreal", "frankfurt", "singapore"]
    config = load_region(str(ROOT / "etc" / "region1.ini"))
    assert config.max_bytes == 64 * 1024 * 1024 and config.master == ("tcp:127.0.0.1:7000",)
    # /metrics on loopback in every shipped ini, as the master's status page
    https = [load_region(str(ROOT / "etc" / f"region{i}.ini")).http for i in (1, 2, 3)]
    assert https == [f"tcp:72{i}1:interface=127.0.0.1" for i in (0, 1, 2)]


def test_command_line_overrides_the_file(tmp_path):
    path = write(tmp_path, "[region]\nname = a\n[cache]\nmax_entries = 5\n")
    config = load_region(path, {"max_entries": "7", "master": "tcp:h:1, tcp:h:2"})
    assert config.name == "a" and config.max_entries == 7
    assert config.master == ("tcp:h:1", "tcp:h:2")


@pytest.mark.parametrize("text, key, problem", [
    ("[region]\nlatitude = 95\n", "[region] latitude", "outside [-90, 90]"),
    ("[region]\nlongitude = -180.5\n", "[region] longitude", "outside [-180, 180]"),
    ("[region]\nlatitude = nan\n", "[region] latitude", "not a finite number"),
    ("[region]\nlatitude = north\n", "[region] latitude", "not a number"),
    ("[region]\ncolour = red\n", "[region] colour", "unknown key"),
    ("[cache]\nttl = 300\n[regoin]\n", "[regoin]", "unknown section"),
    ("[cache]\nmax_bytes = lots\n", "[cache] max_bytes", "not a size"),
    ("[cache]\nmax_entries = -1\n", "[cache] max_entries", "outside"),
    ("[region]\nlisten = tcp:notaport\n", "[region] listen", "not a server endpoint"),
    ("[region]\nmaster = nope:x\n", "[region] master", "not a client endpoint"),
    ("[region]\nname = has space\n", "[region] name", "not a region name"),
    ("no section\n", "-", "no section headers"),
])
def test_bad_values_name_file_key_and_problem(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_region(path)
    assert caught.value.path == path and caught.value.key == key
    assert problem in caught.value.problem


def test_parse_size():
    assert parse_size("64MB") == 64 * 1024**2 and parse_size("1000") == 1000
    assert parse_size("1gb") == 1024**3 and parse_size("2k") == 2000
    with pytest.raises(ValueError):
        parse_size("12XB")


def test_rewrite_sets_keys_and_keeps_every_other_line(tmp_path):
    path = tmp_path / "region.ini"
    path.write_text("; a comment\n[region]\nname = a\n\n[cache]\n; the bound\nmax_bytes = 64MB\n"
                    "ttl = 300\n")
    rewrite(str(path), {("cache", "max_bytes"): "1000", ("cache", "max_entries"): "5",
                        ("store", "fsync"): "commit"})
    assert path.read_text() == ("; a comment\n[region]\nname = a\n\n[cache]\n; the bound\n"
                                "max_bytes = 1000\nttl = 300\nmax_entries = 5\n\n[store]\n"
                                "fsync = commit\n")
    assert load_region(str(path)).max_bytes == 1000
