"""``LocksScreen``: held and contended locks, their holders and WAITING_LOCK queues, live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Footer, Header, Static

from cloudomation_kit import CloudomationError, Lock

from .._base import LiveScreen
from .._format import age, countdown
from ..messages import ServerEvent
from ..widgets import ConnectionBanner, LiveTable
from .confirm import ConfirmScreen

__all__ = ["LocksScreen", "lock_rows"]

COLUMNS = [
    ("lock", "Lock"),
    ("role", "Role"),
    ("execution", "Execution"),
    ("since", "Since"),
    ("left", "Lease left / deadline"),
    ("token", "Token"),
]


def _order(values: Any) -> tuple[str, int]:
    lock, role = str(values[0]), str(values[1])
    return lock, int(role[1:]) if role.startswith("#") else 0


def lock_rows(locks: Sequence[Lock], now: Any) -> list[tuple[str, list[str]]]:
    """Rows for the table: the holder of each lock, then its queue by position."""
    rows: list[tuple[str, list[str]]] = []
    for lock in sorted(locks, key=lambda lk: lk.name):
        holder = lock.holder
        if holder is not None:
            rows.append(
                (
                    f"h:{lock.name}",
                    [
                        lock.name,
                        "holder",
                        holder.execution_name,
                        age(holder.acquired_at, now),
                        countdown(holder.lease_expires_at, now),
                        str(holder.token),
                    ],
                )
            )
        else:
            rows.append((f"h:{lock.name}", [lock.name, "free", "-", "", "", ""]))
        for waiter in sorted(lock.waiters, key=lambda w: w.position):
            rows.append(
                (
                    f"w:{waiter.waiter_id}",
                    [
                        lock.name,
                        f"#{waiter.position}",
                        waiter.execution_name,
                        age(waiter.waiting_since, now),
                        countdown(waiter.deadline, now, never="waits forever"),
                        "",
                    ],
                )
            )
    return rows


class LocksScreen(LiveScreen):
    """Rows change in place as events arrive; ``p`` pauses, ``space`` refreshes, ``f`` forces."""

    WRITE_ACTIONS = frozenset({"force_release"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "force_release", "Force release"),
        Binding("p", "pause", "Pause"),
        Binding("space", "refresh", "Refresh"),
    ]

    paused: reactive[bool] = reactive(False)
    """Live updates are frozen (events are still counted, and applied on resume)."""

    def __init__(self) -> None:
        super().__init__()
        self.locks: list[Lock] = []
        self.loaded = False
        self._pending = False
        self._missed = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield LiveTable(COLUMNS, sort_columns=("lock", "role"), sort_key=_order, id="locks-table")
        yield Static("", id="locks-status")
        yield Footer()

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.reload()
        self.set_interval(1.0, self._tick)
        if self.ckit.refresh_interval > 0:
            self.set_interval(self.ckit.refresh_interval, self._poll)

    def reload(self) -> None:
        self.load_locks()

    def watch_paused(self, paused: bool) -> None:
        """Show the state in the status line; catch up when resumed."""
        if not paused and self.is_mounted:
            self.load_locks()
        self._status()

    def _status(self, error: str = "") -> None:
        if not self.is_mounted:
            return
        status = self.query_one("#locks-status", Static)
        if error:
            status.update(error)
            status.add_class("-error")
            return
        status.remove_class("-error")
        held = sum(1 for lock in self.locks if lock.holder is not None)
        waiting = sum(len(lock.waiters) for lock in self.locks)
        state = f"PAUSED ({self._missed} changes waiting)" if self.paused else "live"
        status.update(f"{held} held, {waiting} waiting · {state}")

    def _render_rows(self) -> None:
        self.table.sync(lock_rows(self.locks, self.ckit.now()))
        self._status()

    def _tick(self) -> None:
        if not self.paused and self.locks:
            self._render_rows()

    def _poll(self) -> None:
        if not self.paused:
            self.load_locks()

    @work(exclusive=True, group="locks-load")
    async def load_locks(self) -> None:
        try:
            locks = await self.ckit.client.locks.list()
        except CloudomationError as exc:
            self._status(f"Could not load locks: {self.failed(exc)}")
            return
        if self.torn_down(LiveTable):
            return
        self.locks = locks
        self.loaded = True
        self._missed = 0
        self._render_rows()

    def _kick(self) -> None:
        self._pending = False
        if not self.paused:
            self.load_locks()

    def on_server_event(self, message: ServerEvent) -> None:
        kind = message.event.type
        if not kind.startswith(("lock.", "waiter.", "setting.deleted")):
            return
        if self.paused:
            self._missed += 1
            self._status()
        elif not self._pending:
            self._pending = True  # a burst of events costs one reload
            self.set_timer(0.05, self._kick)

    def action_pause(self) -> None:
        self.paused = not self.paused

    def action_refresh(self) -> None:
        self.load_locks()

    def _selected_lock(self) -> str | None:
        key = self.table.cursor_key
        if key is None:
            return None
        return self.table.row_cells(key)[0]

    def action_force_release(self) -> None:
        if self.ckit.read_only:
            return
        name = self._selected_lock()
        lock = next((lk for lk in self.locks if lk.name == name), None)
        if name is None or lock is None or lock.holder is None:
            self._status("Nothing to release: select a held lock")
            return
        holder = lock.holder

        def answered(yes: bool | None) -> None:
            if yes:
                self.force_release(name)

        self.app.push_screen(
            ConfirmScreen(
                f"Force-release {name!r}?",
                f"Held by {holder.execution_name} (token {holder.token}). The holder loses the "
                "lock and the next waiter gets it.",
                confirm_label="Force release",
            ),
            answered,
        )

    @work(exclusive=True, group="locks-force")
    async def force_release(self, name: str) -> None:
        try:
            await self.ckit.client.locks.force_release(name, reason="force-released in ckit tui")
        except CloudomationError as exc:
            self._status(f"Not released: {self.failed(exc)}")
            return
        self.notify(f"Released {name}")
        self.load_locks()
