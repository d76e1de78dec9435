"""``python -m benchmarks [--quick] [NAME...]``: run the named benchmarks (all by default).

Each benchmark prints one JSON line on stdout and a readable line on stderr; at the end comes one
summary table (ours, python-redis-lock, ratio) and the machine it ran on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable

from . import imports, locks, settings
from ._common import QUICK, SUMMARY, Scale, machine, set_scale

BENCHMARKS: dict[str, Callable[[], None]] = {
    "import": imports.imports,
    "uncontended": locks.uncontended,
    "handoff": locks.handoff,
    "contention": locks.contention,
    "timeout": locks.timeout,
    "queue": locks.queue,
    "settings": settings.settings,
    "listing": settings.listing,
}

if importlib.util.find_spec(f"{__package__}.tui") is not None:  # written by the TUI's authors
    from . import tui

    BENCHMARKS["tui"] = tui.tui_listing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="a tiny run that only shows it works")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    set_scale(QUICK if args.quick else Scale())
    SUMMARY.clear()
    box = machine()
    print(
        f"# {box['cpus']} x {box['cpu_model']}, python {box['python']}, {box['platform']}",
        file=sys.stderr,
    )
    started = time.monotonic()
    failed = []
    for name in args.names or list(BENCHMARKS):
        print(f"[{name}]", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            BENCHMARKS[name]()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"  {name} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        print(f"  ({time.monotonic() - began:.1f} s)", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    print(json.dumps({"benchmark": "machine", **box, "elapsed_s": round(elapsed, 1)}))
    print(
        f"\nSummary ({elapsed:.0f} s; {box['cpus']} CPUs, {box['cpu_model']}, "
        f"python {box['python']}; scale: {'quick' if args.quick else 'full'})",
        file=sys.stderr,
    )
    print(SUMMARY.table(), file=sys.stderr, flush=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
