"""Write geolru/data/command_facts.json: redis-server 7's COMMAND INFO and COMMAND DOCS
for every command a region implements (scripts/command-facts runs this).

Facts only: arity, flags, key positions and specs, ACL categories, tips, since,
group, arguments.  Redis' summaries, complexity notes and history are dropped;
geolru writes its own summaries (geolru/commands/docs.py).  Subcommands a region
does not implement are left out.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from geolru.commands.docs import OWN_FACTS, parse_resp, strip_docs, strip_info  # noqa: E402
from geolru.commands.specs import SPECS  # noqa: E402
from support import RawConnection, redis_server  # noqa: E402


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="geolru-facts-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # (its servers' folders)
    server = redis_server(work).start()
    try:
        conn = RawConnection(server.port)
        info, docs = {}, {}
        for name in SPECS:
            if name in OWN_FACTS:
                continue
            reply = parse_resp(conn.call(b"COMMAND", b"INFO", name.encode()))[0]
            if reply is None:
                raise SystemExit(f"redis-server does not know {name}: add it to OWN_FACTS")
            info[name] = strip_info(name, reply)
            flat = parse_resp(conn.call(b"COMMAND", b"DOCS", name.encode()))
            docs[name] = strip_docs(name, flat[1])
        conn.close()
    finally:
        server.stop()
    path = ROOT / "geolru" / "data" / "command_facts.json"
    path.write_text(json.dumps({"info": info, "docs": docs}, separators=(",", ":"),
                               sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(ROOT)}: {len(info)} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
