"""The master's registry of regions: registration, heartbeats, health, persistence.

Sans-IO except for the state file: time comes from an injected clock, and
membership changes are announced to listeners (the master's connections to
regions), which decide how to send them.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import attrs
from twisted.logger import Logger

from geolru.common.collaborators import Clock
from geolru.master.geo import NearestIndex, regions_frame
from geolru.model.slots import ALL, SlotsError, SlotSet

MAX_REGIONS = 10_000  # registrations the master accepts (a bound on its memory)


@attrs.define
class RegionEntry:
    name: str
    host: str
    port: int
    peer_port: int
    latitude: float
    longitude: float
    up: bool = False
    syncing: bool = False  # catching up after a start or a partition: not LOCATEd
    last_heartbeat: float | None = None  # clock seconds
    peer_lag_ms: dict = attrs.field(factory=dict)  # peer -> ms, from the last heartbeat
    region: str = ""  # cluster mode: the region this shard belongs to ("": name)
    slots: str = ""  # ... and the slots it serves ("": every slot)

    @property
    def region_name(self) -> str:
        return self.region or self.name

    @property
    def slot_set(self) -> SlotSet:
        return SlotSet.parse(self.slots) if self.slots else ALL

    @property
    def serving(self) -> bool:
        """Up and caught up: LOCATE may send users to it."""
        return self.up and not self.syncing

    def as_dict(self) -> dict:
        return attrs.asdict(self)


@attrs.define(eq=False)
class Registry:
    _clock: Clock
    heartbeat_timeout: float = 5.0
    state_file: str = ""
    log = Logger()
    regions: dict = attrs.field(factory=dict, init=False)  # name -> RegionEntry
    forgotten: set = attrs.field(factory=set, init=False)  # names FORGET removed, for good
    retired: set = attrs.field(factory=set, init=False)  # shards RETIRE removed (a reshard)
    listeners: list = attrs.field(factory=list, init=False)  # callables(registry)
    _index: NearestIndex | None = attrs.field(default=None, init=False)
    _frame: Any = attrs.field(default=None, init=False)  # a GeoDataFrame of the regions, cached

    # ------------------------------------------------------------ changes

    def register(self, entry: RegionEntry) -> str | None:
        """Add or refresh a region; the reason it is refused, or ``None``."""
        if entry.name in self.forgotten:
            return (f"region name {entry.name!r} was forgotten (decommissioned) and may not "
                    "rejoin: start the region under a new name, with an empty data_dir")
        current = self.regions.get(entry.name)
        try:
            slots = entry.slot_set
        except SlotsError as e:
            return f"{entry.name}: slots {entry.slots!r}: {e}"
        for other in self.regions.values():
            if (other.name != entry.name and other.region_name == entry.region_name
                    and other.up and other.slot_set.intersects(slots)):
                return (f"shard {entry.name} claims slots {entry.slots or '0-16383'} of "
                        f"region {entry.region_name}, but the live shard {other.name} at "
                        f"{other.host}:{other.port} serves {other.slots or '0-16383'}")
        if current is None and len(self.regions) >= MAX_REGIONS:
            return f"too many regions (at most {MAX_REGIONS})"
        if (current is not None and current.up
                and (current.host, current.port) != (entry.host, entry.port)):
            return (f"region name {entry.name!r} is taken by the live region at "
                    f"{current.host}:{current.port}")
        entry.up = True
        entry.last_heartbeat = self._clock.seconds()
        self.regions[entry.name] = entry
        self.retired.discard(entry.name)  # (a shard of that name again: a new one)
        self.log.info("region {name} registered at {host}:{port} ({lat}, {lon})",
                      name=entry.name, host=entry.host, port=entry.port,
                      lat=entry.latitude, lon=entry.longitude)
        self._changed(save=True)
        return None

    def heartbeat(self, name: str, peer_lag_ms: dict | None = None,
                  syncing: bool = False) -> bool:
        """Record a heartbeat; ``False`` if the region is unknown (re-register)."""
        entry = self.regions.get(name)
        if entry is None:
            return False
        entry.last_heartbeat = self._clock.seconds()
        if peer_lag_ms is not None:
            entry.peer_lag_ms = peer_lag_ms
        if syncing != entry.syncing:
            entry.syncing = syncing
            self.log.info("region {name} is {state}", name=name,
                          state="syncing: left out of LOCATE until it has caught up"
                          if syncing else "synced: LOCATE sends users to it again")
            self._changed()
        if not entry.up:
            entry.up = True
            self.log.info("region {name} is up again", name=name)
            self._changed()
        return True

    def forget(self, name: str) -> str | None:
        """Remove a region for good (decommissioned): its peers stop keeping
        deletes for it.  Refused for a live region; the reason, or ``None``."""
        entry = self.regions.get(name)
        if entry is None:
            return f"no region named {name!r}"
        if entry.up:
            return f"region {name!r} is up: stop it before forgetting it"
        del self.regions[name]
        self.forgotten.add(name)
        self.log.warn("region {name} forgotten: its peers no longer keep deletes for it, "
                      "and refuse it from now on", name=name)
        self._changed(save=True)
        return None

    def retire(self, name: str) -> str | None:
        """Remove a shard that a reshard emptied (its records live on in the region's
        other shards): its peers stop waiting for it before they collect deletes,
        and unlike ``forget`` the name may come back (a new shard, empty).  Refused for
        a live one or a region's only entry; the reason, or ``None``."""
        entry = self.regions.get(name)
        if entry is None:
            return f"no shard named {name!r}"
        if entry.up:
            return f"shard {name!r} is up: stop it before retiring it"
        if not entry.region or entry.region == entry.name:
            return (f"{name!r} is not a shard a reshard removed (shard 0 and a region "
                    "without cluster mode are FORGOTTEN, not retired)")
        del self.regions[name]
        self.retired.add(name)
        self.log.info("shard {name} retired: its records live on in the other shards of "
                      "{region}", name=name, region=entry.region)
        self._changed(save=True)
        return None

    def check_health(self) -> list[str]:
        """Mark regions without a recent heartbeat down; return their names."""
        now = self._clock.seconds()
        gone = [e.name for e in self.regions.values()
                if e.up and (e.last_heartbeat is None
                             or now - e.last_heartbeat > self.heartbeat_timeout)]
        for name in gone:
            self.regions[name].up = False
            self.log.warn("region {name} is down: no heartbeat for {t:g}s", name=name,
                          t=self.heartbeat_timeout)
        if gone:
            self._changed()
        return gone

    def _changed(self, save: bool = False) -> None:
        self._index = None
        self._frame = None
        if save:
            self.save()
        for listener in list(self.listeners):
            listener(self)

    # ------------------------------------------------------------ queries

    def frame(self):
        """Every region as a geopandas GeoDataFrame (cached until a change)."""
        if self._frame is None:
            self._frame = regions_frame([e.as_dict() for e in self.regions.values()])
        return self._frame

    def nearest(self, latitude: float, longitude: float,
                n: int = 1) -> list[tuple[RegionEntry, float]]:
        """The ``n`` nearest live regions with their geodesic distance in km (for a
        region of shards, its first shard's entry: ``seeds`` gives the others)."""
        if self._index is None:
            frame = self.frame()
            self._index = NearestIndex(frame[frame["name"].isin(self._serving_regions())])
        return [(self.regions[name], km)
                for name, km in self._index.nearest(latitude, longitude, n)]

    def shards_of(self, region: str) -> list[RegionEntry]:
        """A region's entries: itself, or its shards in the order of their slots."""
        return sorted((e for e in self.regions.values() if e.region_name == region),
                      key=lambda e: (e.slot_set.ranges[:1], e.name))

    def serves_every_slot(self, region: str) -> bool:
        """Whether the live, caught-up shards of ``region`` serve all 16,384 slots."""
        covered = 0
        for entry in self.shards_of(region):
            if entry.serving:
                covered |= entry.slot_set.bits
        return covered == ALL.bits

    def seeds(self, region: str) -> list[tuple[str, int]]:
        """The client addresses of a region in cluster mode's live shards ([] for a
        region without it)."""
        shards = self.shards_of(region)
        if len(shards) == 1 and not shards[0].region:
            return []
        return [(e.host, e.port) for e in shards if e.serving]

    def _serving_regions(self) -> list[str]:
        """One entry name per region that serves every slot: the one LOCATE answers."""
        names = []
        for region in sorted({e.region_name for e in self.regions.values()}):
            if self.serves_every_slot(region):
                names.append(next(e.name for e in self.shards_of(region) if e.serving))
        return names

    def sorted_regions(self) -> list[RegionEntry]:
        return [self.regions[name] for name in sorted(self.regions)]

    # ------------------------------------------------------------ persistence

    def save(self) -> None:
        """Atomically write the registry (positions and addresses, not health)."""
        if not self.state_file:
            return
        data = {"regions": [
            {k: v for k, v in e.as_dict().items()
             if k not in ("up", "syncing", "last_heartbeat", "peer_lag_ms")}
            for e in self.sorted_regions()], "forgotten": sorted(self.forgotten),
            "retired": sorted(self.retired)}
        directory = os.path.dirname(os.path.abspath(self.state_file))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".regions-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_file)
        except OSError as e:
            self.log.error("cannot save the registry to {path}: {e}", path=self.state_file, e=e)
            if os.path.exists(tmp):
                os.unlink(tmp)

    def load(self) -> None:
        """Restore saved regions, all down until they heartbeat."""
        if not self.state_file or not os.path.exists(self.state_file):
            return
        try:
            with open(self.state_file) as f:
                data = json.load(f)
            for row in data["regions"]:
                entry = RegionEntry(**row)
                self.regions[entry.name] = entry
            self.forgotten = {str(name) for name in data.get("forgotten", [])}
            self.retired = {str(name) for name in data.get("retired", [])}
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.error("ignoring unreadable registry {path}: {e}", path=self.state_file, e=e)
            self.regions.clear()
            self.forgotten.clear()
            self.retired.clear()
        self._changed()
