"""``twistd geolru-master``: options and ``makeService``."""

from __future__ import annotations

from geolru.common.config import MASTER_KEYS, ConfigError, load_master
from geolru.common.taps import build_or_exit, ini_options, tune_gc

Options = ini_options(MASTER_KEYS, "etc/master.ini", "[master], [security]", "the geolru master")


def makeService(options, reactor=None, daemon=True):
    if reactor is None:
        from twisted.internet import reactor
    from geolru.master.service import MasterService

    if daemon:
        tune_gc()
    config = build_or_exit("geolru-master", lambda: load_master(
        options["config"], options.overrides()), (ConfigError,))
    return MasterService(config, reactor, daemon=daemon)
