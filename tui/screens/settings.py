"""``SettingsScreen``: every setting in a virtual table, a filter, a JSON detail pane, and edits."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static, TextArea

from cloudomation_kit import CloudomationError, Lock, ResourceNotFoundError, Setting

from .._base import LiveScreen
from .._format import age, pretty_json
from ..messages import ServerEvent
from ..widgets import ConnectionBanner, SettingsTable
from .confirm import ConfirmScreen
from .edit_value import EditValueScreen
from .new_setting import NewSettingScreen

__all__ = ["SettingsScreen", "lock_state"]

PAGE = 1000


def lock_state(lock: Lock) -> str:
    """``held``, ``held +2`` (two waiting) or ``free +1`` for the lock column."""
    waiting = f" +{len(lock.waiters)}" if lock.waiters else ""
    if lock.holder is not None:
        return f"held{waiting}"
    return f"free{waiting}" if waiting else ""


class SettingsScreen(LiveScreen):
    """The settings table (``/`` filters), the selected value as JSON, and the write actions."""

    WRITE_ACTIONS = frozenset({"edit", "new", "delete"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("e", "edit", "Edit"),
        Binding("n", "new", "New"),
        Binding("d", "delete", "Delete"),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded = False
        """The first full load has finished (tests wait for it)."""
        self._locks_pending = False
        self._detail_timer: Timer | None = None
        self._detail_shown: tuple[str, int] | None = None
        """The setting (id, version) whose value the detail pane holds."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Input(placeholder="filter by name (Esc clears)", id="filter")
        with Horizontal(id="settings-body"):
            yield SettingsTable(id="settings-table", now=self.ckit.now)
            with Vertical(id="detail"):
                yield Static("", id="detail-title")
                yield Static("", id="detail-meta")
                yield TextArea.code_editor(
                    "", language="json", read_only=True, id="detail-value", soft_wrap=True
                )
                yield Static("", id="detail-error")
        yield Static("", id="settings-status")
        yield Footer()

    @property
    def table(self) -> SettingsTable:
        return self.query_one(SettingsTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#detail-value", TextArea).show_line_numbers = False
        self.table.focus()
        self.reload()

    def reload(self) -> None:
        self.load_settings()
        self.load_locks()

    # -- loading -------------------------------------------------------------------------------

    @work(exclusive=True, group="settings-load")
    async def load_settings(self) -> None:
        """Every setting, a page at a time; the first page shows at once."""
        table = self.table
        batch: list[Setting] = []
        first = True
        try:
            async for setting in self.ckit.client.settings.list(page_size=PAGE):
                batch.append(setting)
                if len(batch) >= PAGE:
                    table.set_settings(batch) if first else table.add_settings(batch)
                    first = False
                    batch = []
                    self._update_status()
            if first:
                table.set_settings(batch)
            elif batch:
                table.add_settings(batch)
        except CloudomationError as exc:
            self._set_error(f"Could not load settings: {self.failed(exc)}")
            return
        self.loaded = True
        self._update_status()
        # The collection before the freeze takes ~50 ms: let the total reach the screen first.
        self.call_after_refresh(self.ckit.freeze_heap)

    @work(exclusive=True, group="settings-locks")
    async def load_locks(self) -> None:
        try:
            locks = await self.ckit.client.locks.list()
        except CloudomationError as exc:
            self.failed(exc)
            return
        if self.torn_down(SettingsTable):
            return
        self.table.set_lock_states({lock.name: lock_state(lock) for lock in locks})
        if self._detail_timer is None:  # else the pending refresh shows the new state
            self.refresh_detail()

    def _kick_locks(self) -> None:
        self._locks_pending = False
        self.load_locks()

    async def _fetch_setting(self, setting_id: str) -> None:
        setting: Setting | None
        try:
            setting = await self.ckit.client.settings.get(setting_id)
        except ResourceNotFoundError:
            setting = None
        except CloudomationError as exc:
            self.failed(exc)
            return
        if self.torn_down(SettingsTable):
            return
        if setting is None:
            self.table.remove_setting(setting_id)
        else:
            self.table.upsert(setting)
        self._update_status()

    def on_server_event(self, message: ServerEvent) -> None:
        event = message.event
        data = event.data
        if event.type in ("setting.created", "setting.updated"):
            setting_id = str(data.get("id"))
            self.run_worker(
                self._fetch_setting(setting_id), group=f"setting:{setting_id}", exclusive=True
            )
        elif event.type == "setting.deleted":
            self.table.remove_setting(str(data.get("id")))
            self._update_status()
        elif event.type.startswith(("lock.", "waiter.")) and not self._locks_pending:
            self._locks_pending = True  # a burst of lock events costs one reload
            self.set_timer(0.1, self._kick_locks)

    # -- display -------------------------------------------------------------------------------

    def _update_status(self) -> None:
        table = self.table
        text = f"{table.total:,} settings"
        if table.filter_text:
            text = f"{table.shown:,} of {text} match {table.filter_text!r}"
        if not self.loaded:
            text += " (loading…)"
        self.query_one("#settings-status", Static).update(text)

    def _set_error(self, text: str) -> None:
        error = self.query_one("#detail-error", Static)
        error.update(text)
        error.set_class(bool(text), "-shown")

    @on(SettingsTable.Highlighted)
    def _highlighted(self) -> None:
        self._set_error("")
        delay = self.ckit.detail_delay
        if delay <= 0:
            self.refresh_detail()
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
        # Loading a value re-highlights and re-wraps all of it (~40 ms for 10 KB of JSON): wait
        # until the cursor rests, so a filter typed or a key held down pays for one load.
        self._detail_timer = self.set_timer(delay, self._cursor_rested, name="settings-detail")

    def _cursor_rested(self) -> None:
        self._detail_timer = None
        self._show_detail(self.table.current)

    def refresh_detail(self) -> None:
        """Show the setting under the cursor in the detail pane now, not once the cursor rests."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        self._show_detail(self.table.current)

    def _show_detail(self, setting: Setting | None) -> None:
        title = self.query_one("#detail-title", Static)
        meta = self.query_one("#detail-meta", Static)
        value = self.query_one("#detail-value", TextArea)
        shown = None if setting is None else (setting.id, setting.version)
        if shown != self._detail_shown:
            # Only a new setting or version reloads the value: lock reloads refresh the meta
            # line often, and each load re-highlights the whole value.
            self._detail_shown = shown
            value.load_text("" if setting is None else pretty_json(setting.value))
        if setting is None:
            title.update("")
            meta.update("")
            return
        title.update(setting.name)
        state = self.table.lock_state_of(setting.name) or "free"
        lines = [
            f"version {setting.version} · modified {age(setting.modified_at, self.ckit.now())}",
            f"lock: {state}",
        ]
        if setting.description:
            lines.insert(0, setting.description)
        meta.update("\n".join(lines))

    # -- filter --------------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-active")
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.remove_class("-active")
        self.table.set_filter("")
        self.table.focus()
        self._update_status()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self._update_status()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def jump_to(self, name: str) -> None:
        """Put the cursor on a setting by name (clearing a filter that hides it)."""
        setting = self.table.find_name(name)
        if setting is None:
            self.notify(f"No setting named {name!r}", severity="warning")
            return
        if self.table.filter_text and self.table.filter_text not in name.casefold():
            self.action_clear_filter()
        self.table.move_to(setting.id)
        self.table.focus()

    # -- writes --------------------------------------------------------------------------------

    def action_edit(self) -> None:
        if self.ckit.read_only:
            return
        setting = self.table.current
        if setting is None:
            return
        self.app.push_screen(EditValueScreen(setting), self._saved)

    def action_new(self) -> None:
        if self.ckit.read_only:
            return
        self.app.push_screen(NewSettingScreen(), self._saved)

    def _saved(self, setting: Setting | None) -> None:
        if setting is not None:
            self.table.upsert(setting)
            self.table.move_to(setting.id)
            self._update_status()

    def action_delete(self) -> None:
        if self.ckit.read_only:
            return
        setting = self.table.current
        if setting is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_setting(setting)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete setting {setting.name!r}?",
                f"Version {setting.version}. This cannot be undone.",
                confirm_label="Delete",
            ),
            answered,
        )

    @work(exclusive=True, group="settings-delete")
    async def delete_setting(self, setting: Setting) -> None:
        try:
            await self.ckit.client.settings.delete(setting.id, if_version=setting.version)
        except CloudomationError as exc:
            self._set_error(f"Not deleted: {self.failed(exc)}")
            return
        if self.torn_down(SettingsTable):
            return
        self.table.remove_setting(setting.id)
        self._update_status()
        self.notify(f"Deleted {setting.name}")

    def action_reload(self) -> None:
        self.loaded = False
        self.reload()
