"""Render the master's status page to docs/status.png with headless Chromium.

    apt-get install chromium     # once
    .venv/bin/python scripts/screenshot-status.py

Starts a master and five regions on free loopback ports, stops one so the map
shows both colours, takes the screenshot, stops everything.
"""

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import ask_master, free_port, master_daemon, region_daemon, wait_until  # noqa: E402

REGIONS = {"montreal": (45.5019, -73.5674), "frankfurt": (50.1109, 8.6821),
           "singapore": (1.3521, 103.8198), "saopaulo": (-23.5505, -46.6333),
           "sydney": (-33.8688, 151.2093)}


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs chromium: apt-get install chromium", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="geolru-shot-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # (its servers' folders)
    http_port = free_port()
    master = master_daemon(work / "master", heartbeat_timeout=1.5,
                           http=f"tcp:{http_port}:interface=127.0.0.1").start()
    regions = [region_daemon(work / name, name=name, latitude=lat, longitude=lon,
                             master=f"tcp:127.0.0.1:{master.port}").start()
               for name, (lat, lon) in REGIONS.items()]
    try:
        wait_until(lambda: sum(x.endswith(" up") for x in ask_master(master.port, "REGIONS"))
                   == len(REGIONS), 15, what="every region up")
        regions[2].kill()  # singapore
        wait_until(lambda: any(x.startswith("REGION singapore") and x.endswith(" down")
                               for x in ask_master(master.port, "REGIONS")), 5,
                   what="singapore down")
        out = ROOT / "docs" / "status.png"
        out.parent.mkdir(exist_ok=True)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={work / 'chromium'}", "--window-size=1200,900",
                        f"--screenshot={out}", f"http://127.0.0.1:{http_port}/"],
                       check=True, timeout=120, capture_output=True)
        print(f"wrote {out}")
    finally:
        for daemon in [master, *regions]:
            daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
