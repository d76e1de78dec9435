"""Runs the lock manager on the server's event loop.

The manager has no timers of its own: this driver arms one ``call_later`` at the manager's next
deadline (a lease, a wait timeout, a silent waiter) and calls ``advance()`` when it fires, so a
deadline is honoured to the loop's precision with no polling. Long-polls wait on an
future that the manager's ``on_wake`` hook settles, so a release reaches the next waiter in
the same loop iteration; a long-poll whose client disconnects takes its waiter out of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from starlette.types import Receive

from ._errors import ResourceNotFoundError
from ._locks import LockManager, WaiterState

__all__ = ["LockDriver", "OnGrant"]

log = logging.getLogger("mock_server")

OnGrant = Callable[[WaiterState], None]
"""Called synchronously the moment a long-polling waiter is granted (see ``LockDriver.wait``)."""


async def _disconnected(receive: Receive) -> None:
    # The body has been read, so the next ASGI message is the client going away.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class LockDriver:
    def __init__(self, locks: LockManager) -> None:
        self.locks = locks
        self._wakers: dict[str, set[asyncio.Future[str]]] = {}
        self._granted: dict[str, OnGrant] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()
        self.locks.on_wake = self._wake
        self.locks.on_schedule = self._schedule
        self.poke()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._armed = None
        self.locks.on_wake = lambda waiter_id: None
        self.locks.on_schedule = lambda when: None

    def poke(self) -> None:
        """Run ``advance()`` now (after the test clock jumped) and re-arm the timer."""
        if self._loop is None:
            return
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self.poke)
            return
        if self._handle is not None:
            self._handle.cancel()
        self._fire()

    def _wake(self, waiter_id: str) -> None:
        on_grant = self._granted.pop(waiter_id, None)
        if on_grant is not None:
            # peek: outcome() would consume a timed-out or cancelled wait, which the long-poll
            # itself must still report, and waiter() raises for one a reset just forgot.
            waiter = self.locks.peek(waiter_id)
            if waiter is not None and waiter.status == "granted":
                try:
                    on_grant(waiter)
                except Exception:  # it runs inside a release: never let it undo that
                    log.exception("answering a granted waiter failed")
        for future in self._wakers.get(waiter_id, ()):
            if not future.done():
                future.set_result("wake")

    def _schedule(self, when: float) -> None:
        if self._loop is None or (self._armed is not None and self._armed <= when):
            return
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._schedule, when)
            return
        if self._handle is not None:
            self._handle.cancel()
        self._armed = when
        delay = max(0.0, when - self.locks.clock.now())
        self._handle = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = self._armed = None
        upcoming = self.locks.advance()
        if upcoming is not None:
            self._schedule(upcoming)

    async def wait(
        self, receive: Receive, waiter_id: str, seconds: float, on_grant: OnGrant | None = None
    ) -> WaiterState | None:
        """Block until the waiter is granted, its wait ends, or ``seconds`` pass.

        Returns the waiter (granted or still waiting), or ``None`` when the client went away, in
        which case the waiter has left the queue. A timed-out wait raises ``LockTimeoutError``.

        ``on_grant`` is called with the waiter inside the very call that grants it (a release,
        a lease running out), before this coroutine resumes: whoever answers the long-poll can
        answer there, ahead of the rest of that release's work and a loop iteration.
        """
        loop = asyncio.get_running_loop()
        self.locks.begin_poll(waiter_id)
        # One future per pass, settled by whichever comes first: the manager's wake-up, the
        # client going away, or the end of the long-poll. Awaiting it directly costs one loop
        # iteration from release to wake-up (an Event plus asyncio.wait cost three).
        current: list[asyncio.Future[str]] = []

        def settle(reason: str) -> None:
            if current and not current[0].done():
                current[0].set_result(reason)

        gone = loop.create_task(_disconnected(receive))
        gone.add_done_callback(lambda _: settle("gone"))
        if on_grant is not None:
            self._granted[waiter_id] = on_grant
        waiters = self._wakers.setdefault(waiter_id, set())
        end = loop.time() + seconds
        try:
            while True:
                waiter = self.locks.outcome(waiter_id)
                remaining = end - loop.time()
                if waiter.status == "granted" or remaining <= 0:
                    return waiter
                if gone.done():
                    reason = "gone"
                else:
                    # No await between outcome() and arming: a wake-up cannot slip in between.
                    future: asyncio.Future[str] = loop.create_future()
                    current[:] = [future]
                    waiters.add(future)
                    timer = loop.call_later(remaining, settle, "timeout")
                    try:
                        reason = await future
                    finally:
                        timer.cancel()
                        waiters.discard(future)
                if reason == "gone":
                    with contextlib.suppress(ResourceNotFoundError):
                        self.locks.cancel(waiter_id, "client went away")
                    return None
        finally:
            gone.cancel()
            self._granted.pop(waiter_id, None)
            if not waiters:
                self._wakers.pop(waiter_id, None)
            self.locks.end_poll(waiter_id)
