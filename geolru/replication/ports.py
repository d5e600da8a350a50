"""What replication needs of the rest of a region, as ``typing.Protocol`` types.

The sans-IO core (sender, receiver, replicator) works on a keyspace and its store
through these: ``geolru.keyspace.keyspace.Keyspace`` and ``geolru.store.store.Store``
satisfy them, and so does whatever a test or the simulator passes.  Naming them here,
rather than importing those classes, keeps the core free of the store's Twisted
threads (the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from geolru.model.record import Record


class ReplicatedStore(Protocol):
    """The store, as the streams read and resume it."""

    store_id: str  # new for every new (or wiped) store
    seq: int  # the newest position
    collected_upto: int  # tombstones up to here may be gone
    failure: str | None  # why commits fail, or None
    unit: int | None  # the transaction the writes being made belong to
    listeners: list[Callable[[bytes, Record, int], None]]  # each write, as made
    bulk_listeners: list[Callable[[], None]]  # many writes at once (FLUSHALL)

    def changes_since(self, position: int, limit: int) -> list[tuple[int, bytes, Record]]: ...

    def run_element_records(self, identity: bytes) -> list[tuple[bytes, Record]]: ...

    def get_meta(self, name: str, default: Any = None) -> Any: ...

    def put_meta(self, name: str, value: Any) -> None: ...

    def commit(self, force: bool = False) -> None: ...

    def committed(self) -> Any: ...  # a Deferred that fires once what is buffered is


class ReplicatedKeyspace(Protocol):
    """The keyspace, as peers' records reach it."""

    store: ReplicatedStore
    syncing: bool  # catching up: key commands answer LOADING
    # identity -> the position of a write of ours a peer's record replaced
    replaced_own: dict

    def apply(self, key: bytes, incoming: Record) -> bool: ...

    def refuse(self, why: str) -> None: ...
