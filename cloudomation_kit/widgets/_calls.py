"""Running a widget's SDK calls with either client.

With a ``Client`` a call runs inline, in the widget's event handler (a short blocking request,
like any other cell). With an ``AsyncClient`` the call becomes a task on the running loop (the
kernel's, in Jupyter) and its result is applied when it completes; that code runs on the loop, so
it may assign widget traits. Errors never escape into a handler's traceback: they are shown in the
widget's error row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._exceptions import CloudomationError
from ._logic import error_message

__all__ = ["Calls", "close_tree"]

T = TypeVar("T")
Explain = Callable[[CloudomationError], str]


class Calls:
    """Runs calls for one widget and reports their errors through ``on_error``."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self._on_error = on_error
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """How many async calls have not finished yet."""
        return len(self._tasks)

    def run(
        self,
        doing: str,
        call: Callable[[], T | Awaitable[T]],
        done: Callable[[T], None],
        explain: Explain | None = None,
    ) -> None:
        """Run ``call``; hand its result to ``done``, or show why it failed."""
        try:
            result = call()
        except CloudomationError as exc:
            self._failed(doing, exc, explain)
            return
        if not isinstance(result, Awaitable):
            done(result)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if asyncio.iscoroutine(result):
                result.close()
            self._on_error(
                f"{doing} failed: an AsyncClient needs a running event loop "
                "(Jupyter has one; elsewhere use a Client)"
            )
            return
        task = loop.create_task(self._finish(doing, result, done, explain))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(
        self,
        doing: str,
        pending: Awaitable[T],
        done: Callable[[T], None],
        explain: Explain | None,
    ) -> None:
        try:
            result = await pending
        except CloudomationError as exc:
            self._failed(doing, exc, explain)
            return
        done(result)

    def _failed(self, doing: str, exc: CloudomationError, explain: Explain | None) -> None:
        self._on_error(explain(exc) if explain is not None else error_message(exc, doing))

    async def wait_idle(self) -> None:
        """Wait until every async call has finished (each is bounded by the client's timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def cancel(self) -> None:
        """Cancel the async calls still running."""
        for task in list(self._tasks):
            task.cancel()


def close_tree(widget: Any) -> None:
    """Close a widget and, first, every widget inside it (``Widget.close_all`` closes them all)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()
