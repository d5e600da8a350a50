"""A region in cluster mode: which shard this process is, and which shard serves
each of the 16,384 hash slots (what CLUSTER SLOTS answers and -MOVED points to).

A shard's layout comes from its ini (``cluster_enabled``, ``shards``, ``shard``,
``slots``, ``siblings``: ``ShardLayout.from_config``); the master's membership adds
the shards the ini does not name, and says which are down (``Topology.update``).
The supervisor (``geolru.region.supervisor``) derives each child's ini overrides
from the region's (``child_overrides``).
"""

from __future__ import annotations

import hashlib
import os
import re

import attrs
from twisted.logger import Logger

from geolru.common.config import ConfigError, RegionConfig
from geolru.model.slots import ALL, SLOTS, SlotsError, SlotSet, split


def shard_name(region: str, index: int) -> str:
    """A shard's replication name: the region's own for shard 0 (so a region that
    turns cluster mode on keeps its name, store and peers' positions), ``region/k``
    after it."""
    return region if index == 0 else f"{region}/{index}"


def shard_dir(data_dir: str, index: int) -> str:
    """Where shard ``index`` keeps its data: shard 0 in the region's own data_dir (so
    a region that turns cluster mode on keeps its store), the others under it."""
    return data_dir if index == 0 else os.path.join(data_dir, f"shard-{index}")


def node_id(name: str) -> str:
    """A shard's CLUSTER node id: 40 hex digits, the same every start."""
    return hashlib.sha1(b"geolru shard " + name.encode()).hexdigest()


@attrs.define(eq=False)
class Shard:
    """One shard of the region (a ``geolru.commands.ports.ShardView``)."""

    name: str
    host: str
    port: int
    peer_port: int
    slots: SlotSet
    myself: bool = False
    up: bool = True

    @property
    def node_id(self) -> str:
        return node_id(self.name)


@attrs.frozen
class Sibling:
    """Another shard of this region, as the ini's ``siblings`` names it."""

    index: int
    host: str
    port: int
    peer_port: int
    slots: SlotSet

    def line(self) -> str:
        return f"{self.index}={self.host}:{self.port}@{self.peer_port}/{self.slots}"


_SIBLING = re.compile(r"^(\d+)=(.+):(\d+)@(\d+)/(.+)$")


def parse_siblings(text: str) -> list[Sibling]:
    siblings = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = _SIBLING.match(part)
        if match is None:
            raise ValueError(f"{part!r}: expected k=host:port@peer_port/slots")
        index, host, port, peer_port, slots = match.groups()
        siblings.append(Sibling(int(index), host.strip("[]"), int(port), int(peer_port),
                                SlotSet.parse(slots.replace(";", ","))))
    return siblings


@attrs.frozen
class ShardLayout:
    """This process's place in its region: shard ``index`` of ``count``, serving
    ``slots``; ``siblings`` are the other shards the ini names."""

    region: str
    index: int
    count: int
    slots: SlotSet
    siblings: tuple[Sibling, ...] = ()

    @property
    def name(self) -> str:
        return shard_name(self.region, self.index)

    @classmethod
    def from_config(cls, config: RegionConfig) -> ShardLayout | None:
        """The layout of a shard process (None: a region without cluster mode);
        ``ConfigError`` when the ini's shard, slots or siblings are wrong."""
        if config.cluster_enabled != "yes":
            return None
        path = config.config_file or "<command line>"
        index = config.shard or 0
        if index >= config.shards:
            raise ConfigError(path, "[region] shard",
                              f"{index} is not a shard of {config.shards} (0-{config.shards - 1})")
        try:
            slots = SlotSet.parse(config.slots) if config.slots else split(config.shards)[index]
        except SlotsError as e:
            raise ConfigError(path, "[region] slots", str(e))
        if not slots.ranges:
            raise ConfigError(path, "[region] slots", "a shard serves at least one slot")
        try:
            siblings = tuple(parse_siblings(config.siblings))
        except ValueError as e:
            raise ConfigError(path, "[region] siblings", str(e))
        for sibling in siblings:
            if sibling.index == index:
                raise ConfigError(path, "[region] siblings",
                                  f"names shard {index}, which is this one")
            if sibling.slots.intersects(slots):
                raise ConfigError(path, "[region] siblings",
                                  f"shard {sibling.index} serves {sibling.slots}, and this "
                                  f"shard ({index}) serves {slots}: a slot has one shard")
        if siblings:  # the ini names every shard: together they serve every slot
            covered = slots
            for sibling in siblings:
                covered = covered.union(sibling.slots)
            if not covered.complete:
                missing = ALL.without(covered)
                raise ConfigError(path, "[region] siblings",
                                  f"no shard serves slots {missing}: this shard serves "
                                  f"{slots}, its siblings the rest of what is named")
        return cls(config.name, index, config.shards, slots, siblings)


def child_overrides(config: RegionConfig, index: int) -> dict[str, str]:
    """What the supervisor tells shard ``index`` on its command line: the region's
    ports + ``index``, a data_dir of its own (shard 0 keeps the region's), its share
    of the slots and where its siblings are."""
    shares = split(config.shards)
    siblings = []
    for k in range(config.shards):
        if k != index:
            siblings.append(Sibling(
                k, config.advertise_host, endpoint_port(config.listen) + k,
                endpoint_port(config.peer_listen) + k if config.peer_listen else 0,
                shares[k]).line())
    overrides = {
        "shard": str(index),
        "listen": offset_endpoint(config.listen, index),
        "peer_listen": offset_endpoint(config.peer_listen, index),
        "http": offset_endpoint(config.http, index),
        "data_dir": shard_dir(config.data_dir, index),
        "slots": str(shares[index]),
        "siblings": ",".join(siblings),
    }
    return overrides


_PORT = re.compile(r"^(tcp|ssl|tls|tcp6):(port=)?(\d+)")


def endpoint_port(description: str) -> int:
    match = _PORT.match(description)
    return int(match.group(3)) if match else 0


def offset_endpoint(description: str, offset: int) -> str:
    """``tcp:7001:interface=…`` with the port + ``offset`` (an empty or port-0
    endpoint as it is)."""
    match = _PORT.match(description)
    if not description or match is None or int(match.group(3)) == 0:
        return description
    port = int(match.group(3)) + offset
    if port > 65535:
        raise ValueError(f"{description}: port + {offset} is beyond 65535")
    return description[:match.start(3)] + str(port) + description[match.end(3):]


@attrs.define(eq=False)
class Topology:
    """The region's shards as this shard knows them (a ``ClusterView``)."""

    layout: ShardLayout
    me: Shard
    log = Logger()
    _known: dict = attrs.field(factory=dict, init=False)  # name -> Shard (the others)
    _owners: list = attrs.field(factory=list, init=False)  # slot -> Shard | None
    _serving: list = attrs.field(factory=list, init=False)  # [Shard], with what each serves

    def __attrs_post_init__(self):
        for sibling in self.layout.siblings:
            name = shard_name(self.layout.region, sibling.index)
            self._known[name] = Shard(name, sibling.host, sibling.port, sibling.peer_port,
                                      sibling.slots)
        self._rebuild()

    @property
    def myself(self) -> Shard:
        return self.me

    def owner(self, slot: int) -> Shard | None:
        return self._owners[slot]

    def listening(self, port: int, peer_port: int) -> None:
        """The ports this shard actually listens on (0 in an ini: any)."""
        self.me.port, self.me.peer_port = port, peer_port
        self._rebuild()

    def shards(self) -> list[Shard]:
        """The shards serving slots, each with the slots it serves (a shard the master
        still lists from an earlier layout, down, serves those no live one took)."""
        return sorted(self._serving, key=lambda shard: (shard.slots.ranges[:1], shard.name))

    def update(self, siblings) -> None:
        """The master's word on the other shards (``Peer`` records of this region).

        Under a supervisor the ini names every sibling and its slots (``siblings``):
        those stand, and the master only says which are up; a shard it lists beyond
        them is from an earlier layout, and is left out.  A shard on a host of its own
        learns its siblings from the master alone."""
        static = {shard_name(self.layout.region, s.index) for s in self.layout.siblings}
        for peer in siblings:
            known = self._known.get(peer.name)
            if static:
                if known is not None:
                    known.up = peer.up
                continue
            try:
                slots = SlotSet.parse(peer.slots) if peer.slots else ALL
            except SlotsError:
                continue
            self._known[peer.name] = Shard(peer.name, peer.host, peer.port, peer.peer_port,
                                           slots, up=peer.up)
        self._rebuild()

    def _rebuild(self) -> None:
        """Who serves each slot: this shard its own; of the others, a live one before
        one that is down (the master may still list a shard of an earlier layout)."""
        owners: list = [None] * SLOTS
        others = sorted(self._known.values(), key=lambda shard: shard.up)
        for shard in others:
            if shard.up and shard.slots.intersects(self.me.slots):
                self.log.error("shard {other} claims slots {slots}, some of which this "
                               "shard ({me}) serves: fix the slots in their inis",
                               other=shard.name, slots=str(shard.slots), me=self.me.name)
            for low, high in shard.slots.ranges:
                owners[low:high + 1] = [shard] * (high - low + 1)
        for low, high in self.me.slots.ranges:
            owners[low:high + 1] = [self.me] * (high - low + 1)
        self._owners = owners
        served: dict = {}
        start = 0
        for slot in range(1, SLOTS + 1):
            if slot == SLOTS or owners[slot] is not owners[start]:
                if owners[start] is not None:
                    served.setdefault(id(owners[start]), (owners[start], []))[1].append(
                        (start, slot - 1))
                start = slot
        self._serving = [attrs.evolve(shard, slots=SlotSet.of(ranges))
                         for shard, ranges in served.values()]
