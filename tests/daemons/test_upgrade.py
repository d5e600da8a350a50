"""Upgrading one region at a time: a region of the previous release and one of this
release, side by side, replicate both ways; and this release opens the previous
release's data folder.

The previous release is installed from its commit (``PREVIOUS_RELEASE``) into a venv
of its own (``git archive``, then ``pip install --no-deps``: its dependencies are the
suite's, through a ``.pth`` line).
"""

import subprocess

import lmdb
import pytest

from geolru.store.layout import FORMAT, FORMAT_NAME
from support import (
    ROOT,
    master_daemon,
    placed_region,
    scratch_venv,
    stop_all,
    wait_until,
)

# the last commit before the peer protocol negotiated and the store had a format version
PREVIOUS_RELEASE = "6b60108d9de2767a6e8a7da83cbf03330145f37d"


@pytest.fixture(scope="module")
def previous(tmp_path_factory):
    """The previous release's ``geolru-region`` command."""
    where = tmp_path_factory.mktemp("previous")
    source = where / "source"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE],
                             capture_output=True, check=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True, timeout=60)
    python = scratch_venv(where / "venv")
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "--quiet", "install",
                    "--no-deps", str(source)], check=True, capture_output=True, timeout=300,
                   cwd=where)
    found = subprocess.run([python, "-c", "import geolru.peerwire; print(geolru.__file__)"],
                           capture_output=True, text=True, check=True, cwd=where).stdout
    assert found.startswith(str(where / "venv"))  # the previous release's flat layout
    return [str(where / "venv" / "bin" / "geolru-region")]


def test_a_previous_release_region_and_this_one_replicate_both_ways(previous, tmp_path):
    master = master_daemon(tmp_path / "master").start()
    masters = f"tcp:127.0.0.1:{master.port}"
    old = placed_region(tmp_path, "montreal", masters, program=previous).start()
    new = placed_region(tmp_path, "frankfurt", masters).start()
    try:
        at_old, at_new = old.client(), new.client()
        at_old.set("from-old", "1")
        at_old.hset("h", mapping={"a": "old"})
        at_old.incrby("n", 5)
        at_new.set("from-new", "2")
        at_new.hset("h", mapping={"b": "new"})
        at_new.incrby("n", 7)
        for client in (at_old, at_new):
            wait_until(lambda c=client: c.get("from-old") == b"1" and c.get("from-new") == b"2"
                       and c.hgetall("h") == {b"a": b"old", b"b": b"new"}
                       and c.get("n") == b"12", what="both writes at both regions")
        at_new.delete("from-old")
        wait_until(lambda: at_old.exists("from-old") == 0, what="a delete, new to old")
        for client in (at_old, at_new):
            info = client.info("replication")
            assert info["connected_peers"] == 1, info
    finally:
        stop_all(new, old, master)


def test_this_release_opens_the_previous_releases_data_folder(previous, tmp_path):
    old = placed_region(tmp_path, "montreal", "", program=previous).start()
    try:
        client = old.client()
        client.set("kept", "yes")
        client.hset("h", mapping={"f": "v"})
        client.incrby("n", 3)
        client.execute_command("WAIT", 0, 0)
    finally:
        old.stop()
    new = placed_region(tmp_path, "montreal", "").start()  # the same data folder
    try:
        client = new.client()
        assert client.get("kept") == b"yes"
        assert client.hgetall("h") == {b"f": b"v"}
        assert client.get("n") == b"3"
        client.set("after", "upgrade")
        assert client.get("after") == b"upgrade"
    finally:
        new.stop()
    env = lmdb.open(str(tmp_path / "montreal" / "data" / "store"), max_dbs=16, readonly=True,
                    lock=False)
    try:
        with env.begin() as txn:  # upgraded: marked with this release's format
            assert txn.get(FORMAT_NAME, db=env.open_db(b"meta", txn=txn)) == b"%d" % FORMAT
    finally:
        env.close()
