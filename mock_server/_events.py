"""The event log: every change gets a growing sequence number, kept in a bounded ring.

Subscribers are plain callables run synchronously by ``publish``; the HTTP layer turns them into
asyncio queues for the server-sent-events stream. A reader that reconnects asks for the events
after the last sequence number it saw (``since``) and misses nothing the ring still holds.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ._clock import Clock
from ._store import iso

__all__ = ["EventLog"]

Subscriber = Callable[[dict[str, Any]], None]


class EventLog:
    def __init__(self, clock: Clock, *, keep: int = 10_000) -> None:
        self.clock = clock
        self._ring: deque[dict[str, Any]] = deque(maxlen=keep)
        self._seq = 0
        self._subscribers: list[Subscriber] = []
        self._mutex = threading.Lock()

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, type_: str, **data: Any) -> dict[str, Any]:
        """Record an event and hand it to every subscriber."""
        with self._mutex:
            self._seq += 1
            event = {"seq": self._seq, "type": type_, "at": iso(self.clock.now()), "data": data}
            self._ring.append(event)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)
        return event

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Events with a sequence number above ``seq`` that the ring still holds."""
        with self._mutex:
            if not self._ring or seq >= self._seq:
                return []
            first = self._ring[0]["seq"]
            start = max(0, seq + 1 - first)
            return list(self._ring)[start:]

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it."""
        with self._mutex:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._mutex:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def reset(self) -> None:
        """Forget the ring (the sequence keeps growing, so readers never see a number twice)."""
        with self._mutex:
            self._ring.clear()
