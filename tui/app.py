"""``CkitApp``: the operator TUI. Three modes (settings, locks, executions), one event stream.

The app owns the ``AsyncClient`` and a worker that reads the server's event stream; it hands
each event to every screen that has been shown (``ServerEvent``), and tells them when the
connection drops or comes back (``ConnectionChanged``). Each screen loads its own data in workers.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from cloudomation_kit import APIConnectionError, AsyncClient, CloudomationError

from .messages import ConnectionChanged, ServerEvent
from .screens import ExecutionsScreen, HelpScreen, LocksScreen, SettingsScreen

__all__ = ["CkitApp", "CkitCommands"]


@dataclass(frozen=True)
class PaletteAction:
    """One command palette entry that runs an action on a mode's screen."""

    title: str
    help: str
    mode: str
    action: str | None = None
    writes: bool = False


PALETTE_ACTIONS: tuple[PaletteAction, ...] = (
    PaletteAction("Settings: show", "The table of all settings (1)", "settings"),
    PaletteAction("Settings: filter by name", "Type to narrow the table (/)", "settings", "filter"),
    PaletteAction("Settings: edit value", "Edit the JSON value (e)", "settings", "edit", True),
    PaletteAction("Settings: new setting", "Create a setting (n)", "settings", "new", True),
    PaletteAction("Settings: delete setting", "Delete after a confirmation (d)", "settings",
                  "delete", True),
    PaletteAction("Settings: reload", "Load every setting again (r)", "settings", "reload"),
    PaletteAction("Locks: show", "Held and contended locks with their queues (2)", "locks"),
    PaletteAction("Locks: force-release lock", "Release the selected lock, whoever holds it (f)",
                  "locks", "force_release", True),
    PaletteAction("Locks: pause or resume live updates", "Freeze the table (p)", "locks",
                  "pause"),
    PaletteAction("Locks: refresh now", "Load the locks again (space)", "locks", "refresh"),
    PaletteAction("Executions: show", "Running and waiting executions (3)", "executions"),
    PaletteAction("Executions: refresh now", "Load the executions again (space)", "executions",
                  "refresh"),
)  # fmt: skip


class CkitCommands(Provider):
    """Palette entries for every action, and ``Jump to setting`` by name."""

    @property
    def _app(self) -> CkitApp:
        app = self.app
        assert isinstance(app, CkitApp)
        return app

    def _actions(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        app = self._app
        for entry in PALETTE_ACTIONS:
            if entry.writes and app.read_only:
                continue
            yield entry.title, entry.help, partial(app.run_in_mode, entry.mode, entry.action)
        yield "Help: show all keys", "Every binding of this screen (?)", app.action_help

    async def discover(self) -> Hits:
        for title, help_text, callback in self._actions():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
        folded = query.strip().casefold()
        if not folded:
            return
        shown = 0
        for name in self._app.setting_names():
            if folded not in name.casefold():
                continue
            text = f"Jump to setting: {name}"
            yield Hit(
                max(matcher.match(text), 0.3),
                matcher.highlight(text),
                partial(self._app.jump_to_setting, name),
                help="Show it in the settings table",
            )
            shown += 1
            if shown >= 25:
                return


class CkitApp(App[None]):
    """Browse and edit settings, watch locks and queues, see executions."""

    CSS_PATH = "tui.tcss"
    TITLE = "cloudomation-kit"
    COMMANDS = App.COMMANDS | {CkitCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "settings": SettingsScreen,
        "locks": LocksScreen,
        "executions": ExecutionsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('settings')", "Settings"),
        Binding("2", "show('locks')", "Locks"),
        Binding("3", "show('executions')", "Executions"),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        read_only: bool = False,
        now: Callable[[], datetime] | None = None,
        live: bool = True,
        server_label: str | None = None,
        refresh_interval: float = 2.0,
        detail_delay: float = 0.1,
    ) -> None:
        super().__init__()
        self.client = AsyncClient(url, token, execution_name="ckit-tui", max_retries=1)
        self.read_only = read_only
        """Every action that writes is gone: no bindings, no palette entries."""
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        """The app's notion of now (tests freeze it)."""
        self.live = live
        self.refresh_interval = refresh_interval
        """Seconds between polls of the locks and executions (leases move without events)."""
        self.detail_delay = detail_delay
        """Seconds the settings cursor rests before the detail pane loads its value (0: at once)."""
        self._heap_frozen = False
        self.connected = True
        self.live_screens: list[Screen[Any]] = []
        self.sub_title = (server_label or url) + ("  [read-only]" if read_only else "")

    def on_mount(self) -> None:
        self.switch_mode("settings")
        if self.live:
            self.listen()

    async def on_unmount(self) -> None:
        if self._heap_frozen:
            gc.unfreeze()
            self._heap_frozen = False
        await self.client.aclose()

    def freeze_heap(self) -> None:
        """Collect garbage, then hide every object alive now from later full collections.

        Called after every full load of the settings. With 10,000 settings the heap tracks some
        150,000 objects, and a full (generation 2) collection walks all of them: 50-100 ms, started
        whenever enough young objects have survived, so every few dozen filter keystrokes one of
        them paid for it. Frozen objects are still freed by reference counting as usual; only
        cycles among them wait for ``gc.unfreeze()`` when the app exits.
        """
        gc.collect()
        gc.freeze()
        self._heap_frozen = True

    # -- screens -------------------------------------------------------------------------------

    def register_screen(self, screen: Screen[Any]) -> None:
        """A mode screen asks for server events (called from its ``on_mount``)."""
        if screen not in self.live_screens:
            self.live_screens.append(screen)

    def broadcast(self, message_factory: Callable[[], Any]) -> None:
        for screen in self.live_screens:
            screen.post_message(message_factory())

    async def action_show(self, mode: str) -> None:
        if self.current_mode != mode:
            await self.switch_mode(mode)

    async def run_in_mode(self, mode: str, action: str | None = None) -> None:
        """Switch to ``mode`` and run one of its screen's actions (the palette's entries)."""
        await self.action_show(mode)
        if action is not None:
            await self.run_action(action, self.screen)

    async def jump_to_setting(self, name: str) -> None:
        await self.action_show("settings")
        screen = self.screen
        if isinstance(screen, SettingsScreen):
            screen.jump_to(name)

    def setting_names(self) -> list[str]:
        for screen in self.live_screens:
            if isinstance(screen, SettingsScreen):
                return screen.table.names()
        return []

    def action_help(self) -> None:
        """``?``: every binding that works here, filterable."""
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        rows: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description:
                continue
            where = "app" if active.node is self else type(active.node).__name__
            display = self.get_key_display(binding)
            if (display, binding.description) in seen:
                continue
            seen.add((display, binding.description))
            rows.append((display or key, binding.description, where))
        rows.append(("ctrl+p", "Command palette: every action, jump to a setting", "app"))
        self.push_screen(HelpScreen(rows))

    # -- connection ----------------------------------------------------------------------------

    def connection_lost(self, error: BaseException) -> None:
        """A worker could not reach the server: show the banner (the listener reconnects)."""
        if self.connected:
            self.connected = False
            detail = str(error).split(":")[0] if str(error) else type(error).__name__
            self.broadcast(lambda: ConnectionChanged(False, detail))

    def _connection_back(self) -> None:
        if not self.connected:
            self.connected = True
            self.broadcast(lambda: ConnectionChanged(True))

    @work(exclusive=True, group="events", name="event stream")
    async def listen(self) -> None:
        """Read the event stream forever, reconnecting after the last event seen."""
        since: int | None = None
        delay = 0.25
        while True:
            try:
                if not self.connected:
                    await self.client.alive()
                    self._connection_back()
                async for event in self.client.events.stream(since=since, reconnect=False):
                    since = event.seq
                    delay = 0.25
                    self.broadcast(partial(ServerEvent, event))
            except APIConnectionError as exc:
                self.connection_lost(exc)
            except CloudomationError as exc:
                self.notify(str(exc), title="Event stream", severity="error")
                delay = 5.0
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)
