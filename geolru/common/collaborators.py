"""What a collaborator must offer, as ``typing.Protocol`` types.

The layers take their clock, their log and their neighbours as arguments; these
types say what each of those must be able to do, so that a reader (and a type
checker) knows without finding the one class that happens to be passed today.  The
reactor satisfies ``Clock``; ``twisted.logger.Logger`` satisfies ``EventLog``; tests
pass ``task.Clock`` and the simulator a skewed clock of its own.  Nothing here imports
Twisted: the sans-IO layers may use these types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class DelayedCall(Protocol):
    def active(self) -> bool: ...

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time and timers: ``IReactorTime``'s two methods that geolru uses."""

    def seconds(self) -> float: ...

    def callLater(self, delay: float, f: Callable[..., Any], *args: Any,  # noqa: N802
                  **kwargs: Any) -> DelayedCall: ...


class EventLog(Protocol):
    """A log that takes ``twisted.logger``'s format strings and keyword fields."""

    def info(self, format: str, **kwargs: Any) -> None: ...

    def warn(self, format: str, **kwargs: Any) -> None: ...

    def error(self, format: str, **kwargs: Any) -> None: ...


class SilentLog:
    """An ``EventLog`` that drops every event: the default of the sans-IO objects
    that a daemon gives a real log (``twisted.logger.Logger``)."""

    def info(self, format: str, **kwargs: Any) -> None:
        pass

    warn = error = info
