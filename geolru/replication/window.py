"""How much a stream may have in flight: a window sized to the link (sans-IO).

A frame is *in flight* from when it is sent until the peer says it applied it
(``P``).  To keep a link busy the window must cover what the link carries in one
round trip (bandwidth × round trip): 8 frames did not, over 115 ms.  Too large a
window only queues: a live write then waits behind megabytes in socket buffers.

So the window is measured, as BBR measures a TCP path: each acknowledgement gives
a round-trip sample (send to ``P``) and a delivery-rate sample (bytes acknowledged
since that frame was sent, over the time since); the window is twice the best
recent rate times the least round trip of the connection, within
[``MIN_WINDOW``, ``maximum``].  (The least, not a recent one: a round trip
measured behind a queue the window itself built would grow the window, and so
the queue, without end.  A new connection measures afresh.)

While the sender fills the window and the round trip does not grow, each round
trip's rate sample is twice the last: the window doubles per round trip, like
TCP's slow start, until the link (or the peer applying the frames) is the
bottleneck; then the round trip grows instead and the window stops.  A records
bound keeps a window of tiny records from holding millions.
"""

from __future__ import annotations

from collections import deque

import attrs

MIN_WINDOW = 1 << 20  # bytes: several catch-up batches, whatever the link
MAX_RECORDS = 200_000  # records in flight at most
RATE_HALF_LIFE = 2.0  # seconds: how fast the best rate seen is forgotten


@attrs.define(eq=False)
class Window:
    maximum: int = 32 << 20  # bytes (config: peer_window)
    minimum: int = MIN_WINDOW
    size: int = 0  # bytes allowed in flight now
    bytes: int = 0  # in flight
    records: int = 0
    min_rtt: float | None = None  # seconds
    srtt: float | None = None  # smoothed round trip, seconds
    rate: float = 0.0  # bytes/s: the best recent delivery rate
    delivered: int = 0  # bytes acknowledged on this connection
    _rate_at: float = 0.0
    _last_delivery: float | None = None
    # (through, sent at, bytes, records, delivered when sent, last delivery when sent)
    _frames: deque = attrs.field(factory=deque)

    def __attrs_post_init__(self):
        self.minimum = min(self.minimum, self.maximum)
        self.size = self.minimum

    @property
    def open(self) -> bool:
        """Whether another frame may go (always, with nothing in flight)."""
        return not self._frames or (self.bytes < self.size and self.records < MAX_RECORDS)

    @property
    def frames(self) -> int:
        return len(self._frames)

    def sent(self, through: int, now: float, size: int, records: int) -> None:
        self._frames.append((through, now, size, records, self.delivered,
                             self._last_delivery if self._last_delivery is not None else now))
        self.bytes += size
        self.records += records

    def applied(self, through: int, now: float) -> float | None:
        """The peer applied every frame up to ``through``; the round trip of the
        newest of them (seconds), if any."""
        frames = self._frames
        rtt = None
        while frames and frames[0][0] <= through:
            _, sent_at, size, records, delivered_then, delivery_then = frames.popleft()
            self.bytes -= size
            self.records -= records
            self.delivered += size
            rtt = now - sent_at
            elapsed = now - min(sent_at, delivery_then)
            if elapsed > 0:
                self._rate_sample((self.delivered - delivered_then) / elapsed, now)
        if rtt is not None:
            self._last_delivery = now
            self._rtt_sample(rtt, now)
            if self.min_rtt is not None:
                self.size = int(max(self.minimum, min(self.maximum,
                                                      2 * self.rate * self.min_rtt)))
        return rtt

    def _rtt_sample(self, rtt: float, now: float) -> None:
        if self.min_rtt is None or rtt < self.min_rtt:
            self.min_rtt = rtt
        self.srtt = rtt if self.srtt is None else self.srtt + (rtt - self.srtt) / 8

    def _rate_sample(self, rate: float, now: float) -> None:
        decayed = self.rate * 0.5 ** ((now - self._rate_at) / RATE_HALF_LIFE)
        self.rate, self._rate_at = max(rate, decayed), now

    def reset(self) -> None:
        """A new connection (perhaps over another path): measured afresh."""
        self._frames.clear()
        self.bytes = self.records = self.delivered = 0
        self.size = self.minimum
        self.min_rtt = self.srtt = self._last_delivery = None
        self.rate = 0.0
