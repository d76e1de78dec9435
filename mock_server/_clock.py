"""Clocks for the store and the lock manager.

Deadlines and timestamps come from one ``Clock.now()`` in epoch seconds. The system clock is
anchored once to wall time and then advances with ``time.monotonic()``, so a wall-clock jump
never shortens a lease or a lock wait. Tests inject ``ManualClock`` (moves only when told) or use
``OffsetClock`` (real time plus a jump that the ``--testing`` server can make on request).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch; never goes backwards."""
        ...


class SystemClock:
    """Wall time at start, monotonic afterwards."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


class OffsetClock(SystemClock):
    """The system clock plus an offset that only grows: ``advance()`` jumps into the future."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def now(self) -> float:
        return super().now() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self.offset += seconds


class ManualClock:
    """A clock that stands still until ``advance()``; for unit tests."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self._now += seconds
