"""Shrinking: a failing schedule reduced to the fewest actions that still fail.

A schedule's actions (commands, reads, faults) are removed in chunks, halving the
chunk each pass (as delta debugging does), while the schedule still fails; then its
knobs are made plain (no jitter, no clock skew or drift, no link delay) where it
still fails.
Removing any one action leaves a schedule the simulator can run: a heal of a link
not cut, a thaw of a region not frozen, a restart of one running do nothing.

    scripts/simulate --seed N --shrink
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from simulation.schedule import Schedule

MAX_RUNS = 600  # schedules run at most while shrinking one


@attrs.define
class Shrunk:
    schedule: Schedule
    runs: int  # schedules run to find it
    before: int  # actions the schedule had


def shrink(schedule: Schedule, fails: Callable[[Schedule], bool],
           max_runs: int = MAX_RUNS) -> Shrunk:
    """The smallest schedule found, within ``max_runs`` runs, for which ``fails`` holds
    (it must hold for ``schedule``)."""
    runs = 0

    def still_fails(candidate: Schedule) -> bool:
        nonlocal runs
        runs += 1
        return fails(candidate)

    actions = list(schedule.actions)
    chunk = max(1, len(actions) // 2)
    while runs < max_runs:
        i, removed = 0, False
        while i < len(actions) and runs < max_runs:
            candidate = actions[:i] + actions[i + chunk:]
            if still_fails(attrs.evolve(schedule, actions=tuple(candidate))):
                actions, removed = candidate, True
            else:
                i += chunk
        if chunk == 1 and not removed:
            break
        chunk = max(1, chunk // 2)
    smaller = attrs.evolve(schedule, actions=tuple(actions))
    for plain in (
            {"jitter": 0.0},
            {"skews": {name: 0.0 for name in schedule.skews}},
            {"drifts": {}},
            {"delays": {link: 0.0 for link in schedule.delays}}):
        if runs >= max_runs:
            break
        candidate = attrs.evolve(smaller, **plain)
        if candidate != smaller and still_fails(candidate):
            smaller = candidate
    return Shrunk(smaller, runs, len(schedule.actions))


def describe(schedule: Schedule) -> list[str]:
    """A shrunk schedule as lines: what it sets, then its actions by time."""
    lines = [f"regions {', '.join(schedule.names)}; jitter {schedule.jitter}"]
    delays = {tuple(sorted(link)): d for link, d in schedule.delays.items() if d}
    if delays:
        lines.append("delays: " + ", ".join(f"{a}-{b} {d * 1000:.0f} ms"
                                           for (a, b), d in sorted(delays.items())))
    drifts = {name: d for name, d in schedule.drifts.items() if d}
    if drifts:
        lines.append("clock drifts: " + ", ".join(f"{name} {d * 100:+.2f}%"
                                                  for name, d in sorted(drifts.items())))
    skews = {name: s for name, s in schedule.skews.items() if s}
    if skews:
        lines.append("clock skews: " + ", ".join(f"{name} {s * 1000:+.0f} ms"
                                                 for name, s in sorted(skews.items())))
    for time, kind, *args in schedule.actions:
        if kind == "command":
            region, command = args
            if command[0] == "transaction":
                shown = "MULTI; " + "; ".join(b" ".join(c).decode() for c in command[1]) \
                    + "; EXEC"
            else:
                shown = b" ".join(command).decode()
            lines.append(f"{time:8.3f}  {region}: {shown}")
        elif kind == "read":
            lines.append(f"{time:8.3f}  {args[0]}: GET {args[1].decode()}")
        else:
            lines.append(f"{time:8.3f}  {kind} {' '.join(map(str, args))}")
    return lines
