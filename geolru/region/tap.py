"""``twistd geolru-region``: options and ``makeService``."""

from __future__ import annotations

from geolru.common.config import REGION_KEYS, ConfigError, load_region
from geolru.common.taps import build_or_exit, ini_options, tune_gc
from geolru.region.reshard import ensure_layout
from geolru.store.store import StoreError


class DataDirError(Exception):
    """The store under data_dir cannot be opened."""


Options = ini_options(REGION_KEYS, "etc/region1.ini",
                      "[region], [cache], [store], [security], [replication]",
                      "one geolru region")


def makeService(options, reactor=None, daemon=True):
    if reactor is None:
        from twisted.internet import reactor
    from geolru.region.service import RegionService

    if daemon:
        tune_gc()
    def build():
        config = load_region(options["config"], options.overrides())
        if config.shard is None:  # the whole region: its data in this shard count
            try:
                ensure_layout(config)
            except StoreError as e:
                raise DataDirError(f"data_dir: {e}") from e
        if config.cluster_enabled == "yes" and config.shards > 1 and config.shard is None:
            from geolru.region.supervisor import ShardSupervisor
            return ShardSupervisor(config, reactor, options["config"], options.overrides())
        if daemon:
            from geolru.region.supervisor import die_with_supervisor
            die_with_supervisor()
        try:
            return RegionService(config, reactor, daemon=daemon)
        except StoreError as e:
            raise DataDirError(f"data_dir: {e}") from e
    return build_or_exit("geolru-region", build, (ConfigError, DataDirError))
