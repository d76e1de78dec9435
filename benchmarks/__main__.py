"""``python -m benchmarks [NAME...]``: run the named benchmarks (all by default)."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable

from . import locks

BENCHMARKS: dict[str, Callable[[], None]] = {
    "uncontended": locks.uncontended,
    "handoff": locks.handoff,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    print(
        f"# {platform.node()} {platform.machine()} python {platform.python_version()}",
        file=sys.stderr,
    )
    for name in names:
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
