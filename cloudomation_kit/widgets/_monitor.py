"""``LockMonitor``: who holds which lock, and who waits in ``WAITING_LOCK``, refreshed live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from .._client import AsyncClient, Client
from .._exceptions import CloudomationError
from .._models import Lock
from ._calls import close_tree
from ._logic import error_html, error_message, locks_html, locks_summary, message_html

__all__ = ["LockMonitor"]


class LockMonitor:
    """Holders and FIFO queues of locks, refreshed every ``interval`` seconds.

        from cloudomation_kit.widgets import LockMonitor
        monitor = LockMonitor(aclient, names=["cloud-vm-lock"])
        monitor                          # displays it; it refreshes itself
        ...
        monitor.stop()                   # ends the refresh task

    ``names`` picks the locks to show, in that order, free ones included; without it the monitor
    shows every lock that is held or waited for. The queue column lists the executions in status
    ``WAITING_LOCK``, next in line first, with how long each has waited and when it times out.

    **How it refreshes.** One asyncio task on the running event loop (the kernel's, in Jupyter)
    polls the server and applies the answer by assigning widget traits; it never displays from a
    thread (ipykernel 7 drops output sent from threads). With an ``AsyncClient`` the task awaits
    it directly; with a ``Client`` each blocking request runs in a worker thread
    (``asyncio.to_thread``) so the loop, and with it the notebook, never waits on the network;
    only the results come back to the loop. Prefer a separate client for the monitor, so its
    polling never queues behind your own requests.

    ``Pause`` stops polling (the task keeps sleeping), ``Refresh`` polls at once, ``stop()`` cancels
    the task (``start()`` starts a new one) and ``close()`` also removes the widget. Without a
    running loop (a plain script) nothing starts; ``await monitor.refresh()`` polls once. Errors
    (server down, bad token) are shown in the widget's red row, and polling goes on.
    """

    def __init__(
        self,
        client: Client | AsyncClient,
        names: Sequence[str] | str | None = None,
        *,
        interval: float = 1.0,
        autostart: bool = True,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be seconds > 0, got {interval!r}")
        self.client = client
        self.names: list[str] | None = [names] if isinstance(names, str) else _names(names)
        self.interval = interval
        self.locks: list[Lock] = []
        """The locks of the last successful refresh (only those shown, when ``names`` is set)."""
        self.refreshes = 0
        """How many refreshes have succeeded."""
        self.last_error: str | None = None
        """The error of the last refresh, or ``None`` if it succeeded."""
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._force = False
        self._oneoff: set[asyncio.Task[bool]] = set()

        self.pause = widgets.ToggleButton(
            value=False, description="Pause", icon="pause", tooltip="stop polling the server"
        )
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.status = widgets.HTML(message_html("not refreshed yet"))
        self.table = widgets.HTML()
        self.error = widgets.HTML()
        self.widget = widgets.VBox(
            [widgets.HBox([self.pause, self.refresh_button, self.status]), self.table, self.error]
        )
        self.pause.observe(self._on_pause, names="value")
        self.refresh_button.on_click(lambda _: self.refresh_soon())
        if autostart:
            self.start()

    # -- the refresh task ------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The auto-refresh task, while there is one."""
        return self._task

    @property
    def running(self) -> bool:
        """Whether the auto-refresh task is running."""
        return self._task is not None and not self._task.done()

    @property
    def paused(self) -> bool:
        return bool(self.pause.value)

    def start(self) -> bool:
        """Start auto-refresh on the running loop; ``False`` if there is no running loop."""
        if self.running:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.status.value = message_html(
                "no running event loop: not refreshing by itself (await monitor.refresh())"
            )
            return False
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(self._wake), name="cloudomation-lock-monitor")
        self._task.add_done_callback(self._ended)
        return True

    def stop(self) -> None:
        """End the auto-refresh task (the widget keeps showing the last state)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        for oneoff in list(self._oneoff):
            oneoff.cancel()
        self.status.value = message_html(f"stopped · {locks_summary(self.locks, self.names)}")

    def close(self) -> None:
        """Stop, and close the widget's views."""
        self.stop()
        close_tree(self.widget)

    def refresh_soon(self) -> None:
        """Refresh now, even when paused: wake the task, or poll once if there is none."""
        if self.running and self._wake is not None:
            self._force = True
            self._wake.set()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._show_error("Refresh needs a running event loop (await monitor.refresh()).")
            return
        task = loop.create_task(self.refresh())
        self._oneoff.add(task)
        task.add_done_callback(self._oneoff.discard)

    async def refresh(self) -> bool:
        """Poll the server once and show the answer; ``False`` (error shown) if that failed."""
        try:
            locks = await self._fetch()
        except CloudomationError as exc:
            self._show_error(error_message(exc, "Reading the locks"))
            return False
        now = datetime.now(UTC)
        if self.names is not None:
            locks = [lock for lock in locks if lock.name in self.names]
        self.locks = locks
        self.refreshes += 1
        self.table.value = locks_html(locks, self.names, now)
        state = "paused" if self.paused else ("live" if self.running else "not live")
        summary = locks_summary(locks, self.names)
        self.status.value = message_html(f"{state} · {summary} · at {now:%H:%M:%S} UTC")
        self._show_error("")
        return True

    async def _fetch(self) -> list[Lock]:
        if isinstance(self.client, AsyncClient):
            return await self.client.locks.list()
        return await asyncio.to_thread(self.client.locks.list)

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            if not self.paused or self._force:
                self._force = False
                await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.interval)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug, not a server error: say so rather than die silently
            self._show_error(f"Auto-refresh stopped: {type(exc).__name__}: {exc}")

    def _on_pause(self, change: Any = None) -> None:
        self.pause.icon = "play" if self.paused else "pause"
        self.pause.description = "Resume" if self.paused else "Pause"
        if not self.paused and self._wake is not None:
            self._wake.set()
        summary = locks_summary(self.locks, self.names)
        self.status.value = message_html(f"{'paused' if self.paused else 'live'} · {summary}")

    def _show_error(self, message: str) -> None:
        self.last_error = message or None
        self.error.value = error_html(message)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _names(names: Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    cleaned = [name.strip() for name in names]
    if any(not name for name in cleaned):
        raise ValueError(f"lock names must be non-empty strings, got {list(names)!r}")
    return cleaned
