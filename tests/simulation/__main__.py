"""Run simulated schedules: ``python -m simulation --seeds 2000 --jobs 2`` (from tests/).

Prints each failing seed with its problems and timeline (``--seed N`` replays one
exactly; ``--shrink`` reduces it first), then one line: schedules run, failed, and
schedules per second.  Exits 1 if any failed.  ``--sharded`` runs the sharded
schedules instead (regions of shards in cluster mode): seeds ``SHARDED + first``
on; ``--wide`` those of the wide workload: seeds ``WIDE + first`` on; ``--seed``
takes such a seed as it is printed.
"""

from __future__ import annotations

import argparse
import sys

from simulation.run import run_schedule, run_seeds
from simulation.schedule import EXTRAS, SHARDED, WIDE, generate
from simulation.shrink import describe, shrink


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/simulate", description=__doc__)
    parser.add_argument("--seeds", type=int, default=1000, help="how many schedules")
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    parser.add_argument("--seed", type=int, help="replay this one seed, with its timeline")
    parser.add_argument("--sharded", action="store_true",
                        help=f"sharded schedules: the seeds from {SHARDED} + first")
    parser.add_argument("--shrink", action="store_true",
                        help="with --seed: reduce a failing schedule to the fewest actions "
                             "that still fail, and print it and its run")
    parser.add_argument("--wide", action="store_true",
                        help=f"schedules of the wide workload (hundreds of keys, every "
                             f"replicated string command, transactions): the seeds from "
                             f"{WIDE} + first")
    parser.add_argument("--extras", type=int, nargs="?", const=EXTRAS, default=0,
                        help=f"wide schedules also have what came after most regression "
                             f"seeds, up to this level (alone: {EXTRAS}, all, as the CI's "
                             f"have): 1, a region's data folder put back to an older copy "
                             f"(power cut, backup); 2, HyperLogLogs")
    parser.add_argument("--check-wait", action="store_true",
                        help="check each WAIT's answer against the stores it counts "
                             "(on anyway: run.py's CHECK_WAIT)")
    args = parser.parse_args(argv)
    if args.seed is not None:
        result = run_schedule(generate(args.seed, args.extras), timeline=True,
                              check_wait=args.check_wait or None)
        if args.shrink and not result.ok:
            shrunk = shrink(generate(args.seed, args.extras), lambda schedule: not run_schedule(
                schedule, check_wait=args.check_wait or None).ok)
            print(f"seed {args.seed}: shrunk from {shrunk.before} actions to "
                  f"{len(shrunk.schedule.actions)} in {shrunk.runs} runs:")
            print("\n".join("  " + line for line in describe(shrunk.schedule)))
            result = run_schedule(shrunk.schedule, timeline=True,
                                  check_wait=args.check_wait or None)
        print(result.report())
        if result.ok:
            print("\n".join(result.timeline))
        return 0 if result.ok else 1
    first = args.first + (WIDE if args.wide else SHARDED if args.sharded else 0)
    seeds = range(first, first + args.seeds)
    count, failed, seconds = run_seeds(seeds, args.jobs, check_wait=args.check_wait or None,
                                       extras=args.extras)
    print(f"simulated {count} schedules, {len(failed)} failed"
          + (f" (seeds {failed})" if failed else "")
          + f", in {seconds:.1f}s: {count / seconds:.1f} schedules/s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
