"""Where the store's jobs run: a thread of their own, or at once on the caller's.

A commit with an fsync runs on ``ThreadWriter`` so the reactor never waits for the
disk; ``InlineWriter`` runs jobs on the calling thread (commits without a flush,
and tests with ``task.Clock``).  Both give a Deferred for each job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool


class Writer(Protocol):
    """Where a store job runs: what ``ThreadWriter`` and ``InlineWriter`` offer."""

    def submit(self, job: Callable[..., Any], *args: Any) -> defer.Deferred: ...

    def barrier(self, timeout: float = 30.0) -> None: ...

    def stop(self) -> None: ...


class ThreadWriter:
    """Runs store jobs one at a time, in order, on a dedicated thread."""

    def __init__(self, reactor):
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="geolru-store-writer")
        self._pool.start()

    def submit(self, job, *args) -> defer.Deferred:
        return threads.deferToThreadPool(self._reactor, self._pool, job, *args)

    def barrier(self, timeout: float = 30.0) -> None:
        """Block until every job submitted so far has run (for rare, exact reads)."""
        done = threading.Event()
        self._pool.callInThread(done.set)
        if not done.wait(timeout):
            raise TimeoutError(f"store writer did not catch up within {timeout}s")

    def stop(self) -> None:
        self._pool.stop()


class InlineWriter:
    """Runs store jobs at once on the calling thread: commits without a flush
    (fsync="everysec"), and every job in tests with ``task.Clock``."""

    def submit(self, job, *args) -> defer.Deferred:
        try:
            return defer.succeed(job(*args))
        except Exception:
            return defer.fail()

    def barrier(self, timeout: float = 30.0) -> None:
        pass

    def stop(self) -> None:
        pass
