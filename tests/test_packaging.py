"""geolru installed the three ways people install it — ``pip install -e .`` (the
default editable mode), ``pip install .`` and a built wheel — gives a master and a
region that start and answer.

Each install goes into a scratch venv of its own; its dependencies come from the
suite's venv (a ``.pth`` line puts that venv's site-packages on the scratch venv's
path), so only geolru itself is installed, and it is that install that runs.
"""

import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from support import Daemon, answers_ping, ask_master, free_port

ROOT = Path(__file__).resolve().parent.parent


def scratch_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                         "['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "suite-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip(python: Path, *args):
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args, "--no-deps",
                    "--quiet"], check=True, capture_output=True, timeout=300)


@pytest.mark.parametrize("how", ["editable", "regular", "wheel"])
def test_an_installed_geolru_runs_a_master_and_a_region(tmp_path, how):
    source = tmp_path / "source"  # a copy: a build writes next to the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "var", "__pycache__", "*.egg-info", "build", "dist"))
    python = scratch_venv(tmp_path / "venv")
    if how == "editable":
        pip(python, "install", "-e", str(source))
    elif how == "regular":
        pip(python, "install", str(source))
    else:
        pip(python, "wheel", "-w", str(tmp_path / "dist"), str(source))
        wheel, = (tmp_path / "dist").glob("geolru-*.whl")
        pip(python, "install", str(wheel))
    installed = subprocess.run([python, "-c", "import geolru; print(geolru.__file__)"],
                               capture_output=True, text=True, check=True,
                               cwd=tmp_path).stdout.strip()
    assert installed.startswith(str(source if how == "editable" else tmp_path / "venv"))

    bin_dir = tmp_path / "venv" / "bin"
    master_port, region_port = free_port(), free_port()
    master = Daemon([str(bin_dir / "geolru-master"),
                     f"--listen=tcp:{master_port}:interface=127.0.0.1", "--http=",
                     f"--state_file={tmp_path / 'regions.json'}"],
                    master_port, tmp_path / "master", "master")
    master.ready_probe = lambda: bool(ask_master(master_port, "HELP"))
    region = Daemon([str(bin_dir / "geolru-region"), "--name=packaged",
                     f"--listen=tcp:{region_port}:interface=127.0.0.1",
                     f"--data_dir={tmp_path / 'data'}",
                     f"--master=tcp:127.0.0.1:{master_port}"],
                    region_port, tmp_path / "region", "region")
    try:
        master.start()
        region.start()
        assert answers_ping(region_port)
        r = region.client()
        assert r.set("k", "v") and r.get("k") == b"v"
    finally:
        region.stop()
        master.stop()
    if how != "editable":  # the classic form too: twistd finds the installed plugins
        twistd = Daemon([str(python), "-c", "from twisted.scripts.twistd import run; run()",
                         "-n", "--pidfile=", "geolru-region", "--name=classic",
                         f"--listen=tcp:{region_port}:interface=127.0.0.1",
                         f"--data_dir={tmp_path / 'data2'}", "--master="],
                        region_port, tmp_path / "classic", "classic")
        try:
            twistd.start()
            assert answers_ping(region_port)
        finally:
            twistd.stop()
