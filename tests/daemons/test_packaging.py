"""geolru however people get it — ``pip install -e .`` (setuptools' default editable
mode), ``pip install .``, a built wheel, or a checkout on ``PYTHONPATH`` with nothing
installed — gives a master and a region that start and answer, both through the
``geolru-master``/``geolru-region`` commands (the installs have them) and through the
classic ``twistd -n geolru-master``, which must find the plugins in every case.

Each way gets a scratch venv of its own; its dependencies come from the suite's venv (a
``.pth`` line puts that venv's site-packages on the scratch venv's path), so only geolru
itself is installed, and it is that install (or that checkout) that runs.  The venv is
made once per way and shared by the tests of this module.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import PLACES, ROOT, Daemon, ask_master, free_port, nearest, scratch_venv, wait_until

INSTALLED = ["editable", "regular", "wheel"]
EVERY_WAY = [*INSTALLED, "pythonpath"]
# what the twistd script runs; a scratch venv has no twistd of its own (Twisted is not
# installed in it), so its python runs the same entry point
TWISTD = "from twisted.scripts.twistd import run; run()"


@dataclass
class Geolru:
    """geolru as one scratch venv has it."""

    source: Path  # the tree it was installed from, or the checkout on PYTHONPATH
    venv: Path
    # ``env ...`` before every command: this way's PYTHONPATH (none, or the checkout),
    # whatever the suite's own environment has
    env: list[str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *argv, **kwargs) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.env, *argv], capture_output=True, text=True, **kwargs)
        assert done.returncode == 0, done.stderr
        return done

    def script(self, name: str) -> list[str]:
        return [*self.env, str(self.venv / "bin" / name)]

    def twistd(self, tapname: str) -> list[str]:
        return [*self.env, str(self.python), "-c", TWISTD, "-n", "--pidfile=", tapname]


@pytest.fixture(scope="module")
def geolru(request, tmp_path_factory) -> Geolru:
    how = request.param
    tmp_path = tmp_path_factory.mktemp(how)
    source = tmp_path / "source"  # a copy: a build writes next to the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "var", "__pycache__", "*.egg-info", "build", "dist", "dropin.cache"))
    scratch_venv(tmp_path / "venv")
    if how == "pythonpath":
        found = Geolru(source, tmp_path / "venv", ["env", f"PYTHONPATH={source}"])
    else:
        found = Geolru(source, tmp_path / "venv", ["env", "-u", "PYTHONPATH"])
        pip = [found.python, "-m", "pip", "--disable-pip-version-check", "--quiet"]
        if how == "editable":  # setuptools' default mode: no --config-settings
            found.run(*pip, "install", "--no-deps", "-e", source, timeout=300)
        elif how == "regular":
            found.run(*pip, "install", "--no-deps", source, timeout=300)
        else:
            found.run(*pip, "wheel", "--no-deps", "-w", tmp_path / "dist", source, timeout=300)
            wheel, = (tmp_path / "dist").glob("geolru-*.whl")
            found.run(*pip, "install", "--no-deps", wheel, timeout=300)
    imported = found.run(found.python, "-c", "import geolru; print(geolru.__file__)",
                         cwd=tmp_path).stdout.strip()
    assert imported.startswith(str(source if how in ("editable", "pythonpath")
                                   else tmp_path / "venv"))
    return found


def run_master_and_region(geolru: Geolru, master_cmd: list[str], region_cmd: list[str],
                          workdir: Path):
    """Start a master and a region that registers with it, from the shipped ini files
    (as the README runs them) with free ports; the region stores and reads a key and
    the master locates it; the region, its ``INFO server`` kept as ``info``."""
    master_port, region_port = free_port(), free_port()
    master = Daemon([*master_cmd, "-c", str(geolru.source / "etc" / "master.ini"),
                     f"--listen=tcp:{master_port}:interface=127.0.0.1", "--http=",
                     f"--state_file={workdir / 'regions.json'}"],
                    master_port, workdir / "master", "master")
    master.ready_probe = lambda: bool(ask_master(master_port, "HELP"))
    region = Daemon([*region_cmd, "-c", str(geolru.source / "etc" / "region1.ini"),
                     "--name=packaged", f"--listen=tcp:{region_port}:interface=127.0.0.1",
                     f"--peer_listen=tcp:{free_port()}:interface=127.0.0.1", "--http=",
                     f"--data_dir={workdir / 'data'}",
                     f"--master=tcp:127.0.0.1:{master_port}"],
                    region_port, workdir / "region", "region")
    try:
        master.start()
        region.start()
        r = region.client()
        assert r.set("k", "v") and r.get("k") == b"v"
        region.info = r.info("server")
        # etc/region1.ini places the region in Montreal
        wait_until(lambda: nearest(master_port, *PLACES["montreal"]) == "packaged",
                   what="the master to locate the region")
    finally:
        region.stop()
        master.stop()
    return region


@pytest.mark.parametrize("geolru", INSTALLED, indirect=True)
def test_the_installed_commands_run_a_master_and_a_region(geolru, tmp_path):
    region = run_master_and_region(geolru, geolru.script("geolru-master"),
                                   geolru.script("geolru-region"), tmp_path)
    # INFO names the program that runs, as redis-server names its binary
    assert region.info["executable"] == str(geolru.venv / "bin" / "geolru-region")


@pytest.mark.parametrize("geolru", EVERY_WAY, indirect=True)
def test_twistd_finds_the_plugins_and_runs_a_master_and_a_region(geolru, tmp_path):
    run_master_and_region(geolru, geolru.twistd("geolru-master"),
                          geolru.twistd("geolru-region"), tmp_path)


@pytest.mark.parametrize("geolru", ["regular", "wheel"], indirect=True)
def test_an_install_puts_the_docs_where_the_systemd_units_point(geolru):
    units = [(ROOT / "etc" / "systemd" / name).read_text()
             for name in ("geolru-master.service", "geolru-region@.service")]
    for unit in units:  # file:///opt/geolru/share/doc/... in a venv at /opt/geolru
        documentation = next(line for line in unit.splitlines()
                             if line.startswith("Documentation=file:///opt/geolru/"))
        path = geolru.venv / documentation.removeprefix("Documentation=file:///opt/geolru/")
        assert path.is_file() and "# Running geolru on several machines" in path.read_text()
