"""What is under data_dir goes wrong: the disk fills up (clear errors, no crash,
recovery when space returns), or holds a store this geolru cannot read."""

import contextlib
import subprocess

import pytest
import redis
from twisted.internet.task import Clock

from geolru.model.record import Record
from geolru.store.layout import FORMAT, FORMAT_NAME
from geolru.store.store import Store
from geolru.store.tables import Tables
from support import free_port, region_daemon, wait_until, write_peers


@contextlib.contextmanager
def tmpfs(mount, megabytes: int):
    """A small filesystem of its own (the tests run as root, as CI does)."""
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", 4) as mount:
        yield mount


def fill(disk, size: int, leave: int = 64 * 1024):
    """Fill ``disk`` (of ``size`` bytes) with a ballast file, leaving ``leave`` free."""
    used = sum(f.stat().st_blocks * 512 for f in disk.rglob("*") if f.is_file())
    ballast = disk / "ballast"
    ballast.write_bytes(b"\0" * max(0, size - used - leave))
    return ballast


def test_disk_full_refuses_writes_keeps_reads_and_recovers(tmp_path, small_disk):
    daemon = region_daemon(tmp_path / "region")
    daemon.argv = [a if not a.startswith("--data_dir=") else f"--data_dir={small_disk}/data"
                   for a in daemon.argv]
    daemon.start()
    try:
        r = daemon.client()
        r.set("early", "kept")
        wait_until(lambda: r.info("persistence")["store_pending"] == 0, 5, what="a commit")
        ballast = fill(small_disk, 4 * 1024 * 1024)
        acknowledged = []
        for i in range(2000):  # write until the store says it cannot commit
            try:
                r.set(f"k{i}", b"x" * 20_000)
            except redis.ResponseError as e:
                assert "MISCONF" in str(e)
                break
            acknowledged.append(f"k{i}")
            if r.info("persistence")["store_writable"] == 0:
                break
        assert acknowledged
        wait_until(lambda: r.info("persistence")["store_writable"] == 0, 10,
                   what="the store to report the full disk")
        with pytest.raises(redis.ResponseError, match="MISCONF"):
            r.set("refused", "1")
        assert r.get("early") == b"kept" and r.ping()  # reads still work, no crash
        ballast.unlink()  # space returns
        wait_until(lambda: r.info("persistence")["store_writable"] == 1, 10,
                   what="the store to recover")
        assert r.set("after", "1")
        wait_until(lambda: r.info("persistence")["store_pending"] == 0, 10, what="commits")
    finally:
        daemon.stop()
    daemon.start()  # nothing acknowledged was lost, even what waited for space
    try:
        r = daemon.client()
        assert r.get("early") == b"kept" and r.get("after") == b"1"
        assert all(r.exists(k) for k in acknowledged)
    finally:
        daemon.stop()



def test_a_peer_with_a_full_disk_holds_back_its_acknowledgements_then_catches_up(tmp_path):
    """A region that cannot commit acknowledges nothing more, so its sender stops at
    its window and keeps the rest on its own disk: the full region's memory stays
    bounded, and nothing is lost when space returns."""
    a_peer, b_peer = free_port(), free_port()
    with tmpfs(tmp_path / "disk", 48) as disk:
        write_peers(tmp_path / "a", "b", b_peer)
        write_peers(disk, "a", a_peer)
        a = region_daemon(tmp_path / "a", name="a",
                          peer_listen=f"tcp:{a_peer}:interface=127.0.0.1").start()
        b = region_daemon(tmp_path / "b", name="b",
                          peer_listen=f"tcp:{b_peer}:interface=127.0.0.1")
        b.argv = [x if not x.startswith("--data_dir=") else f"--data_dir={disk}/data"
                  for x in b.argv]
        b.start()
        try:
            ra, rb = a.client(), b.client()
            ra.set("early", "kept")
            wait_until(lambda: rb.get("early") == b"kept", 10, what="the stream to work")
            wait_until(lambda: rb.info("persistence")["store_pending"] == 0, 5, what="a commit")
            ballast = fill(disk, 48 * 1024 * 1024)

            def write(first: int, count: int):
                with ra.pipeline(transaction=False) as pipe:
                    for i in range(first, first + count):
                        pipe.set(f"k{i}", b"x" * 1000)
                    pipe.execute()

            def lag():
                return ra.info("replication")["peer0"]["lag_ops"]

            write(0, 2_000)
            wait_until(lambda: rb.info("persistence")["store_writable"] == 0, 10,
                       what="b to find its disk full")
            before = rb.info("persistence")["store_pending"]
            write(2_000, 8_000)
            wait_until(lambda: lag() >= 8_000 - 8 * 500, 10,
                       what="a to hold back what b cannot take")
            # b took at most the sender's window (8 batches of 500) more into memory
            assert rb.info("persistence")["store_pending"] <= before + 8 * 500
            assert rb.ping() and rb.get("early") == b"kept"
            ballast.unlink()
            wait_until(lambda: rb.exists("k9999") and lag() == 0, 30,
                       what="b to catch up once space returns")
            assert rb.info("persistence")["store_writable"] == 1
            assert all(rb.mget([f"k{i}" for i in range(j, j + 1000)]) == [b"x" * 1000] * 1000
                       for j in range(0, 10_000, 1000))
        finally:
            a.stop()
            b.stop()


def test_a_region_refuses_a_data_dir_of_a_newer_store_format(tmp_path):
    """A store written by a newer geolru stops the region before any port opens,
    with one line naming both formats, and is left as it was."""
    path = tmp_path / "region" / "data" / "store"
    store = Store(str(path), Clock(), threaded=False)
    store.open()
    store.put(b"k", Record(b"v", None, 1, "newer"))
    store.close()
    tables = Tables(str(path))
    with tables.env.begin(write=True, db=tables.meta) as txn:
        txn.put(FORMAT_NAME, b"%d" % (FORMAT + 1))
    tables.close()
    before = (path / "data.mdb").read_bytes()
    daemon = region_daemon(tmp_path / "region")
    try:
        daemon.start(wait=False)
        assert daemon.process.wait(60) != 0
    finally:
        daemon.stop()
    assert daemon.log().strip().splitlines() == [
        f"geolru-region: data_dir: cannot open store {path}: this data folder is store "
        f"format {FORMAT + 1}; this geolru reads format {FORMAT} and older: upgrade geolru"]
    assert (path / "data.mdb").read_bytes() == before
