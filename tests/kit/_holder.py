"""A child process for the multi-process tests: ``with lock(name, ...)`` from the environment.

Usage: python _holder.py NAME TIMEOUT HOLD [LEASE_TTL]
Prints ACQUIRED <elapsed> once inside, RELEASED on the way out, TIMEOUT <elapsed> (exit 3) when
the wait runs out.
"""

from __future__ import annotations

import sys
import time

from cloudomation_kit import LockTimeoutError, lock


def main() -> int:
    name, timeout, hold = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    lease_ttl = float(sys.argv[4]) if len(sys.argv) > 4 else None
    print("STARTED", flush=True)
    started = time.monotonic()
    try:
        with lock(name, timeout=timeout, lease_ttl=lease_ttl):
            print(f"ACQUIRED {time.monotonic() - started:.3f}", flush=True)
            time.sleep(hold)
    except LockTimeoutError:
        print(f"TIMEOUT {time.monotonic() - started:.3f}", flush=True)
        return 3
    print("RELEASED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
