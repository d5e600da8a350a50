"""The disk under data_dir fills up: clear errors, no crash, recovery when space returns."""

import subprocess

import pytest
import redis

from support import region_daemon, wait_until


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs (the tests run as root, as CI does)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_refuses_writes_keeps_reads_and_recovers(tmp_path, small_disk):
    daemon = region_daemon(tmp_path / "region")
    daemon.argv = [a if not a.startswith("--data_dir=") else f"--data_dir={small_disk}/data"
                   for a in daemon.argv]
    daemon.start()
    try:
        r = daemon.client()
        r.set("early", "kept")
        wait_until(lambda: r.info("persistence")["store_pending"] == 0, 5, what="a commit")
        ballast = small_disk / "ballast"
        free = 4 * 1024 * 1024 - sum(f.stat().st_size for f in small_disk.rglob("*")
                                     if f.is_file())
        ballast.write_bytes(b"\0" * max(0, free - 64 * 1024))
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

