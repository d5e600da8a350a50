"""Shrinking a failing schedule to the fewest actions that still fail."""

from unittest import mock

from geolru.model.counters import Counter
from simulation.run import run_schedule
from simulation.schedule import generate
from simulation.shrink import describe, shrink


def test_shrinks_to_the_actions_the_failure_needs_and_plain_knobs():
    schedule = generate(4242)
    command = next(a for a in schedule.actions if a[1] == "command")
    fault = next(a for a in schedule.actions if a[1] in ("cut", "freeze", "crash"))

    def fails(candidate):  # "fails" while both are in it
        return command in candidate.actions and fault in candidate.actions

    shrunk = shrink(schedule, fails)
    assert shrunk.schedule.actions == tuple(sorted((command, fault), key=lambda a: a[0]))
    assert shrunk.schedule.jitter == 0.0 and not any(shrunk.schedule.skews.values())
    assert shrunk.before == len(schedule.actions) > 20


def sums_as_max(self, now_ms=None):
    """A planted bug: a counter's total the largest contribution, not their sum."""
    counts = self.counts if now_ms is None else [c for c in self.counts
                                                 if c[5] is None or c[5] > now_ms]
    return max((c[2] - c[3] for c in counts), default=0)


def test_a_planted_bug_shrinks_to_a_short_timeline_that_still_shows_it():
    def fails(candidate):
        return any("reference model" in problem
                   for problem in run_schedule(candidate).problems)

    with mock.patch.object(Counter, "total", sums_as_max):
        schedule = generate(1)  # fails with this bug (docs/replication.md)
        assert fails(schedule)
        shrunk = shrink(schedule, fails)
        assert fails(shrunk.schedule)
    assert len(shrunk.schedule.actions) <= 6 < shrunk.before
    lines = describe(shrunk.schedule)
    assert sum("INCRBY" in line for line in lines) >= 2  # two regions' increments
