"""Hybrid logical clock: versions that order writes across regions.

A timestamp is one integer, ``milliseconds << 16 | counter``, so timestamps
compare as integers.  A version is ``(timestamp, origin)``: the origin's name
breaks ties deterministically.  Sans-IO: physical time comes from an injected
``IReactorTime``.
"""

from __future__ import annotations

import attrs

from geolru.common.collaborators import Clock

COUNTER_BITS = 16


def pack(ms: int, counter: int = 0) -> int:
    return (ms << COUNTER_BITS) | counter


def physical_ms(timestamp: int) -> int:
    return timestamp >> COUNTER_BITS


@attrs.define(eq=False)
class HybridClock:
    _clock: Clock
    last: int = 0

    def now(self) -> int:
        """A timestamp greater than every one this clock has issued or seen."""
        wall = pack(int(self._clock.seconds() * 1000))
        last = self.last
        self.last = wall if wall > last else last + 1
        return self.last

    def observe(self, remote: int) -> None:
        """Account for a timestamp received from another region."""
        if remote > self.last:
            self.last = remote
