"""A region that cannot start says why in one line and opens no port: a bad config
value, an unusable data_dir, a data_dir another region holds."""

import subprocess

from support import TWISTD, free_port, region_daemon


def write(tmp_path, text):
    path = tmp_path / "region.ini"
    path.write_text(text)
    return str(path)


def test_twistd_refuses_bad_config_with_one_line_and_opens_no_port(tmp_path):
    port = free_port()
    path = write(tmp_path, f"[region]\nlisten = tcp:{port}:interface=127.0.0.1\n"
                           "latitude = 91\n")
    result = subprocess.run([str(TWISTD), "-n", "--pidfile=", "geolru-region", "-c", path],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"geolru-region: {path}: [region] latitude: 91 is outside [-90, 90]"]
    assert "Traceback" not in result.stdout + result.stderr


def test_twistd_reports_an_unusable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [str(TWISTD), "-n", "--pidfile=", "geolru-region", f"--data_dir={blocker}/sub",
         f"--listen=tcp:{free_port()}:interface=127.0.0.1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("geolru-region: data_dir: cannot open store")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_second_region_on_the_same_data_dir_is_refused(tmp_path):
    first = region_daemon(tmp_path / "first").start()
    try:
        result = subprocess.run(
            [str(TWISTD), "-n", "--pidfile=", "geolru-region",
             f"--data_dir={tmp_path / 'first' / 'data'}",
             f"--listen=tcp:{free_port()}:interface=127.0.0.1"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert result.returncode != 0
        assert result.stderr.startswith("geolru-region: data_dir: store ")
        assert "in use by another process" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert first.client().ping()  # the first one is untouched
    finally:
        first.stop()
