"""The replication simulator (tests/simulation): thousands of unlucky schedules.

Each schedule runs three to five real regions (LMDB store on tmpfs, keyspace,
command table, replicator) over a simulated network and clock, with link delays
up to 150 ms and jitter, cuts, freezes, kill -9 and restarts, clock skew up to
±500 ms and FORGET, then heals and checks convergence, durability, that nothing
deleted or expired comes back, and that nothing is left waiting.
"""

import pytest

from simulation.run import Simulation, run_schedule, run_seeds
from simulation.schedule import at_distance, frozen_forwarder, generate

RANDOM_SCHEDULES = 2000

# seeds that found bugs, kept as they were found (docs/replication.md, "Found by the
# simulator"); each still runs in the random batch, and here by name
REGRESSIONS = {
    3: "an INCR on a key whose tombstone its region had collected lost to the "
       "tombstone at regions that still held it: the regions diverged",
    7: "the same, seen as a counter older than a certain DEL",
    9: "after a restart, a sender with nothing new never told the receiver's "
       "position: its publications never became usable and tombstones stayed",
    10: "forwarded records queued behind a full window were never sent",
    12: "the same, with several regions waiting on one",
    1: "one counter's base was an expiry tombstone in one region and the live "
       "record in another (one write, seen two ways): the live copy must win",
    17272: "two regions gave the same clock reading to different writes: an "
           "increment started on nothing was taken as built on the other's SET",
    21850: "a counter expired in one region into a tombstone named after its newest "
           "write, which voided increments another region still counted: regions "
           "showed -2 and 0",
    13763: "an increment made after its key expired counted the expired value "
           "(Redis: the key is gone, INCRBY -4 gives -4)",
    11828: "a copy of an expired record kept coming back to regions holding its "
           "tombstone and was forwarded on, forever",
    10288: "after a crash a region's clock restarted behind the versions in its own "
           "store (clock skew): its INCR was older than the record it built on, void "
           "at once, and the merge failed",
}


def test_random_schedules_converge_lose_nothing_and_bring_nothing_back(capsys):
    count, failed, seconds = run_seeds(range(RANDOM_SCHEDULES), jobs=2)
    with capsys.disabled():
        print(f"\n  simulated {count} schedules in {seconds:.1f}s "
              f"({count / seconds:.0f}/s)")
    assert count == RANDOM_SCHEDULES
    assert failed == [], f"failing seeds (replay: scripts/simulate --seed N): {failed}"


@pytest.mark.parametrize("delete", [False, True], ids=["expiry", "del"])
def test_a_frozen_forwarder_brings_nothing_back_in_the_simulator(delete):
    result = run_schedule(frozen_forwarder(delete), timeline=True)
    assert result.ok, result.report()


@pytest.mark.parametrize("seed", sorted(REGRESSIONS), ids=lambda s: f"seed-{s}")
def test_seeds_that_found_bugs(seed):
    result = run_schedule(generate(seed), timeline=True)
    assert result.ok, f"{REGRESSIONS[seed]}\n{result.report()}"


def test_a_seed_replays_exactly():
    first = run_schedule(generate(4242), timeline=True)
    again = run_schedule(generate(4242), timeline=True)
    assert first.timeline == again.timeline
    assert (first.events, first.frames) == (again.events, again.frames)
    assert first.events > 1000


@pytest.mark.parametrize("crash", [False, True], ids=["live", "catch-up"])
def test_at_real_distances_no_write_is_forwarded(crash):
    """Each region gets each write from its origin only: a record made elsewhere is
    held until the peer says it has it, however long the round trip (45–115 ms one
    way here), in live mode and in a catch-up after a crash."""
    simulation = Simulation(at_distance(crash))
    result = simulation.run()
    assert result.ok, result.report()
    senders = [s for node in simulation.world.nodes.values()
               for s in node.replicator.senders.values()]
    assert sum(s.status.forwarded for s in senders) == 0
    assert sum(s.status.not_forwarded for s in senders) > 0
