"""``twistd geolru-master``: options and ``makeService``."""

from __future__ import annotations

import sys

from twisted.python import usage

from geolru.config import MASTER_KEYS, ConfigError, load_master


class Options(usage.Options):
    synopsis = "[-c etc/master.ini] [--key value ...]"
    longdesc = ("Run the geolru master. Every ini key can be given as an option of the "
                "same name; options win over the file.")
    optParameters = [["config", "c", None, "ini file ([master], [security])"]]
    optParameters += [[name, None, None, f"[{key.section}] {key.help}"]
                      for name, key in MASTER_KEYS.items()]

    def overrides(self) -> dict[str, str]:
        return {name: self[name] for name in MASTER_KEYS if self[name] is not None}


def makeService(options, reactor=None, daemon=True):
    if reactor is None:
        from twisted.internet import reactor
    from geolru.master import MasterService
    try:
        config = load_master(options["config"], options.overrides())
    except ConfigError as e:
        sys.stderr.write(f"geolru-master: {e}\n")
        raise SystemExit(1)
    return MasterService(config, reactor, daemon=daemon)
