"""What the command table needs of the rest of a region, as ``typing.Protocol`` types.

``geolru.replication.transport.Replication`` (in a daemon) and
``geolru.replication.replicator.Replicator`` (in tests and the simulator) satisfy
``ReplicationView``; a region alone has none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ReplicationView(Protocol):
    """Replication, as ``WAIT``, ``PEERS`` and ``INFO`` see it."""

    def wait(self, position: int, count: int, timeout_ms: int,
             answer: Callable[[int], object]) -> None: ...

    def acknowledged_count(self, position: int) -> int: ...

    def peers(self) -> list[tuple[str, str, str, int, float]]: ...

    def info_lines(self) -> list[str]: ...

    def sync_counts(self) -> tuple[int, int]: ...
