"""What the twistd plugins share: options from an ini schema, and a clean exit."""

from __future__ import annotations

import gc
import sys

from twisted.python import usage

# the cyclic collector's thresholds for a daemon: the default (700, 10, 10) made a
# region under 10k writes/s collect its older generations often enough that one
# request in a few thousand waited 17-33 ms; these keep the worst under 5 ms
# (bench/replication.py, docs/replication.md).  Our objects rarely form cycles.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """For a daemon process: collect cycles less often (``GC_THRESHOLDS``)."""
    gc.set_threshold(*GC_THRESHOLDS)


def ini_options(keys: dict, example: str, sections: str, what: str) -> type[usage.Options]:
    """``usage.Options`` with ``-c FILE`` and one ``--key`` per ini key."""

    class Options(usage.Options):
        synopsis = f"[-c {example}] [--key value ...]"
        longdesc = (f"Run {what}. Every ini key can be given as an option of the same name; "
                    "options win over the file.")
        optParameters = [["config", "c", None, f"ini file ({sections})"]] + [
            [name, None, None, f"[{key.section}] {key.help}"] for name, key in keys.items()]

        def overrides(self) -> dict[str, str]:
            return {name: self[name] for name in keys if self[name] is not None}

    return Options


def build_or_exit(program: str, build, errors: tuple):
    """``build()``; on one of ``errors``, one line on stderr and exit status 1."""
    try:
        return build()
    except errors as e:
        sys.stderr.write(f"{program}: {e}\n")
        raise SystemExit(1)
