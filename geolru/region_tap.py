"""``twistd geolru-region``: options and ``makeService``."""

from __future__ import annotations

import sys

from twisted.python import usage

from geolru.config import REGION_KEYS, ConfigError, load_region
from geolru.store import StoreError


class Options(usage.Options):
    synopsis = "[-c etc/region1.ini] [--key value ...]"
    longdesc = ("Run one geolru region. Every ini key can be given as an option of the "
                "same name; options win over the file.")
    optParameters = [["config", "c", None, "ini file ([region], [cache], [store], [security])"]]
    optParameters += [[name, None, None, f"[{key.section}] {key.help}"]
                      for name, key in REGION_KEYS.items()]

    def overrides(self) -> dict[str, str]:
        return {name: self[name] for name in REGION_KEYS if self[name] is not None}


def makeService(options, reactor=None, daemon=True):
    if reactor is None:
        from twisted.internet import reactor
    from geolru.region import RegionService
    try:
        config = load_region(options["config"], options.overrides())
        return RegionService(config, reactor, daemon=daemon)
    except (ConfigError, StoreError) as e:
        where = "data_dir: " if isinstance(e, StoreError) else ""
        sys.stderr.write(f"geolru-region: {where}{e}\n")
        raise SystemExit(1)
