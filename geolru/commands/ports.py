"""What the command table needs of the rest of a region, as ``typing.Protocol`` types.

``geolru.replication.transport.Replication`` (in a daemon) and
``geolru.replication.replicator.Replicator`` (in tests and the simulator) satisfy
``ReplicationView``; a region alone has none.  A region in cluster mode gives its
shards as a ``ClusterView``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from geolru.model.slots import SlotSet


class ReplicationView(Protocol):
    """Replication, as ``WAIT``, ``PEERS`` and ``INFO`` see it."""

    def wait(self, position: int, count: int, timeout_ms: int,
             answer: Callable[[int], object]) -> None: ...

    def acknowledged_count(self, position: int) -> int: ...

    def peers(self) -> list[tuple[str, str, str, int, float]]: ...

    def info_lines(self) -> list[str]: ...

    def sync_counts(self) -> tuple[int, int]: ...


class ShardView(Protocol):
    """One shard of the region, as CLUSTER SLOTS, SHARDS and NODES describe it."""

    name: str  # its replication name: the region's for shard 0, ``region/k`` after
    node_id: str  # 40 hex digits, stable for the shard
    host: str
    port: int
    peer_port: int
    slots: SlotSet
    myself: bool
    up: bool


class ClusterView(Protocol):
    """The region's shards, for a region in cluster mode (``geolru.region.topology``)."""

    @property
    def myself(self) -> ShardView: ...

    def owner(self, slot: int) -> ShardView | None: ...

    def shards(self) -> list[ShardView]: ...
