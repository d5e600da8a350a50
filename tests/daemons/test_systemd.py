"""The systemd units under etc/systemd: valid for systemd, and they run what exists."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

UNITS = ROOT / "etc" / "systemd"
BIN = Path(sys.executable).parent


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


def test_the_units_run_the_daemons_in_the_foreground_with_a_config():
    for name, command in (("geolru-master.service", "geolru-master"),
                          ("geolru-region@.service", "geolru-region")):
        service = unit(name)["Service"]
        argv = service["ExecStart"].split()
        assert Path(argv[0]).name == command and (BIN / command).exists()
        assert argv[1:3] == ["-c", argv[2]] and argv[2].startswith("/etc/geolru/")
        assert service["Type"] == "simple" and service["Restart"] == "on-failure"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    # (verify checks that ExecStart exists: point it at this venv's commands)
    names = []
    for path in UNITS.glob("*.service"):
        text = path.read_text().replace("/opt/geolru/bin/", f"{BIN}/")
        name = path.name.replace("@.", "@montreal.")
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    result = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
