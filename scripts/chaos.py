"""Run the reliability scenarios in a loop, with bigger numbers than CI, and print a summary.

    python scripts/chaos.py --minutes 5

Each round runs, against real server processes on SQLite: contention (many processes, sync and
async clients, fenced read-increment-write, the enter/leave log checked), holder death (SIGKILL,
SIGSTOP past the lease, a network that goes silent) and server death (SIGKILL and restart under a
write load). The scenarios are the ones ``tests/reliability`` runs (``_scenarios.py``). Exit
status 1 if any violation was found.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the same module name pytest gives it

from reliability._scenarios import (  # noqa: E402
    ServerProcess,
    Tally,
    contention,
    holder_partitioned,
    holder_sigkill,
    holder_sigstop,
    server_sigkill,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="how long to loop (default 5)")
    p.add_argument("--processes", type=int, default=16, help="contending processes (default 16)")
    p.add_argument("--cycles", type=int, default=100, help="cycles per process (default 100)")
    p.add_argument("--lease-ttl", type=float, default=1.0, help="holder lease, s (default 1)")
    p.add_argument("--writers", type=int, default=8, help="server-death writers (default 8)")
    p.add_argument("--kills", type=int, default=3, help="server kills per round (default 3)")
    args = p.parse_args(argv)
    # The SDK warns of every failed heartbeat and lost lock: faults this script injects itself.
    logging.getLogger("cloudomation_kit").setLevel(logging.ERROR)

    totals: dict[str, Tally] = {}
    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        work = Path(tmp)
        server = ServerProcess(db=work / "locks.sqlite3", log=work / "locks.log").start()
        victim = ServerProcess(db=work / "victim.sqlite3", log=work / "victim.log").start()
        scenarios: list[Callable[[], Tally]] = [
            lambda: contention(server, work, processes=args.processes, cycles=args.cycles),
            lambda: holder_sigkill(server, lease_ttl=args.lease_ttl),
            lambda: holder_sigstop(server, lease_ttl=args.lease_ttl),
            lambda: holder_partitioned(server, lease_ttl=args.lease_ttl),
            lambda: server_sigkill(victim, writers=args.writers, kills=args.kills),
        ]
        try:
            while rounds == 0 or time.monotonic() < deadline:
                rounds += 1
                for scenario in scenarios:
                    started = time.monotonic()
                    try:
                        tally = scenario()
                    except Exception as exc:  # a scenario that broke is a finding too
                        tally = Tally(getattr(scenario, "__name__", "scenario"))
                        tally.violation(f"the scenario itself failed: {exc!r}")
                    took = time.monotonic() - started
                    total = totals.setdefault(tally.name, Tally(tally.name))
                    total.operations += tally.operations
                    total.faults += tally.faults
                    total.violations += tally.violations
                    total.measured["seconds"] = total.measured.get("seconds", 0.0) + took
                    total.measured["runs"] = total.measured.get("runs", 0) + 1
                    for text in tally.violations:
                        print(f"VIOLATION [{tally.name}] {text}", flush=True)
                    if time.monotonic() >= deadline:
                        break
                print(f"round {rounds} done", file=sys.stderr, flush=True)
        finally:
            server.stop()
            victim.stop()
    print_table(totals.values(), rounds)
    return 1 if any(t.violations for t in totals.values()) else 0


def print_table(tallies: Iterable[Tally], rounds: int) -> None:
    rows = [
        (t.name, t.measured["runs"], t.operations, t.faults, len(t.violations), seconds)
        for t in tallies
        for seconds in [t.measured["seconds"]]
    ]
    header = ("scenario", "runs", "operations", "faults injected", "violations", "seconds")
    widths = [max(len(str(r[i])) if i != 5 else 7 for r in [*rows, header]) for i in range(6)]
    widths[5] = max(widths[5], len(header[5]))

    def line(cells: tuple[object, ...]) -> str:
        out = [str(cells[0]).ljust(widths[0])]
        for i, cell in enumerate(cells[1:], 1):
            text = f"{cell:.1f}" if isinstance(cell, float) else str(cell)
            out.append(text.rjust(widths[i]))
        return "  ".join(out)

    print(f"\nchaos: {rounds} round(s)")
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    totals = (
        "total",
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
        sum(r[3] for r in rows),
        sum(r[4] for r in rows),
        sum(r[5] for r in rows),
    )
    print("  ".join("-" * w for w in widths))
    print(line(totals))


if __name__ == "__main__":
    sys.exit(main())
