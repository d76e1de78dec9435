"""``ExecutionsScreen``: running and waiting executions, with the locks they hold and wait for."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static

from cloudomation_kit import CloudomationError, Execution

from .._base import LiveScreen
from .._format import age, countdown
from ..messages import ServerEvent
from ..widgets import ConnectionBanner, LiveTable

__all__ = ["ExecutionsScreen"]

COLUMNS = [
    ("name", "Execution"),
    ("status", "Status"),
    ("holds", "Holds"),
    ("waits", "Waits for"),
    ("started", "Started"),
    ("lease", "Lease left"),
]
ACTIVE = ("RUNNING", "WAITING_LOCK")


class ExecutionsScreen(LiveScreen):
    """Every execution that has not ended, updated from the event stream."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "refresh", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.executions: list[Execution] = []
        self.loaded = False
        self._pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield LiveTable(COLUMNS, sort_columns=("name", "started"), id="executions-table")
        yield Static("", id="executions-status")
        yield Footer()

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.reload()
        if self.ckit.refresh_interval > 0:
            self.set_interval(self.ckit.refresh_interval, self.load_executions)

    def reload(self) -> None:
        self.load_executions()

    @work(exclusive=True, group="executions-load")
    async def load_executions(self) -> None:
        try:
            executions = await self.ckit.client.executions.list()
        except CloudomationError as exc:
            self.query_one("#executions-status", Static).update(
                f"Could not load executions: {self.failed(exc)}"
            )
            return
        if self.torn_down(LiveTable):
            return
        self.executions = [ex for ex in executions if ex.status in ACTIVE]
        self.loaded = True
        now = self.ckit.now()
        self.table.sync(
            [
                (
                    ex.id,
                    [
                        ex.name,
                        ex.status,
                        ", ".join(ex.locks) or "-",
                        ", ".join(ex.waiting_for) or "-",
                        age(ex.created_at, now),
                        countdown(ex.lease_expires_at, now),
                    ],
                )
                for ex in self.executions
            ]
        )
        waiting = sum(1 for ex in self.executions if ex.status == "WAITING_LOCK")
        self.query_one("#executions-status", Static).update(
            f"{len(self.executions)} active, {waiting} in WAITING_LOCK"
        )

    def _kick(self) -> None:
        self._pending = False
        self.load_executions()

    def on_server_event(self, message: ServerEvent) -> None:
        if message.event.type.startswith(("execution.", "lock.", "waiter.")) and not self._pending:
            self._pending = True
            self.set_timer(0.1, self._kick)

    def action_refresh(self) -> None:
        self.load_executions()
