"""``SettingsTable``: a virtual table of settings, drawn a line at a time.

Textual's ``DataTable`` measures every cell of every row, which takes more than a second for
10,000 settings and again for every filter keystroke. This widget uses the line API (like
toolong's log view): it keeps the settings in a sorted list, filters by name into a list of
indices, and renders only the rows on screen, so filtering 10,000 names is a list comprehension.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cloudomation_kit import Setting

from .._format import age, preview

__all__ = ["SettingsTable"]

_FIXED = {"version": 4, "modified": 8, "lock": 9}


@dataclass
class _Row:
    setting: Setting
    folded: str
    preview: str | None = None


class SettingsTable(ScrollView, can_focus=True):
    """Settings by name: name, value preview, version, modified, lock state."""

    COMPONENT_CLASSES = {
        "settings-table--header",
        "settings-table--cursor",
        "settings-table--locked",
        "settings-table--contended",
        "settings-table--empty",
    }

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Index into the filtered view."""

    class Highlighted(Message):
        """The setting under the cursor changed (``None``: the view is empty)."""

        def __init__(self, table: SettingsTable, setting: Setting | None) -> None:
            super().__init__()
            self.table = table
            self.setting = setting

        @property
        def control(self) -> SettingsTable:
            return self.table

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._now = now or (lambda: datetime.now(UTC))
        self._rows: list[_Row] = []
        self._keys: list[str] = []  # sorted names, parallel to _rows, for bisect
        self._by_id: dict[str, _Row] = {}
        self._view: list[_Row] = []
        self._filter = ""
        self._lock_states: dict[str, str] = {}
        self._last_highlighted: tuple[str, int] | None = None
        self._pass: tuple[Style, int, list[int]] | None = None
        """Base style, width and column widths while ``render_lines`` runs (the same per line)."""
        self.loading_text = "loading…"

    # -- data ----------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def shown(self) -> int:
        return len(self._view)

    @property
    def filter_text(self) -> str:
        return self._filter

    def names(self) -> list[str]:
        return list(self._keys)

    def get(self, setting_id: str) -> Setting | None:
        row = self._by_id.get(setting_id)
        return None if row is None else row.setting

    def find_name(self, name: str) -> Setting | None:
        i = bisect.bisect_left(self._keys, name)
        if i < len(self._keys) and self._keys[i] == name:
            return self._rows[i].setting
        return None

    def visible_names(self) -> list[str]:
        """Names in the filtered view, in order (for tests and the palette)."""
        return [row.setting.name for row in self._view]

    @property
    def current(self) -> Setting | None:
        if 0 <= self.cursor < len(self._view):
            return self._view[self.cursor].setting
        return None

    def set_settings(self, settings: Iterable[Setting]) -> None:
        """Replace every row (keeps the cursor on the same setting when it is still there)."""
        keep = self.current
        rows = sorted((_Row(s, s.name.casefold()) for s in settings), key=lambda r: r.setting.name)
        self._rows = rows
        self._keys = [r.setting.name for r in rows]
        self._by_id = {r.setting.id: r for r in rows}
        self._refilter(keep.id if keep else None)

    def add_settings(self, settings: Iterable[Setting]) -> None:
        """Add a batch (a page while loading); names already present are replaced."""
        batch = list(settings)
        if not self._rows:
            self.set_settings(batch)
            return
        for setting in batch:
            self._insert(setting)
        self._refilter(self.current.id if self.current else None)

    def upsert(self, setting: Setting) -> None:
        """Add or replace one setting in place."""
        keep = self.current
        self._insert(setting)
        self._refilter(keep.id if keep else setting.id)

    def remove_setting(self, setting_id: str) -> None:
        row = self._by_id.pop(setting_id, None)
        if row is None:
            return
        keep = self.current
        i = self._rows.index(row)
        del self._rows[i]
        del self._keys[i]
        if keep is not None and keep.id == setting_id:
            self._refilter(None, min(self.cursor, max(0, len(self._view) - 2)))
        else:
            self._refilter(keep.id if keep else None)

    def _insert(self, setting: Setting) -> None:
        old = self._by_id.get(setting.id)
        if old is not None:
            i = self._rows.index(old)
            del self._rows[i]
            del self._keys[i]
        i = bisect.bisect_left(self._keys, setting.name)
        if i < len(self._keys) and self._keys[i] == setting.name:
            stale = self._rows[i]
            self._by_id.pop(stale.setting.id, None)
            del self._rows[i]
            del self._keys[i]
        row = _Row(setting, setting.name.casefold())
        self._rows.insert(i, row)
        self._keys.insert(i, setting.name)
        self._by_id[setting.id] = row

    def set_lock_states(self, states: dict[str, str]) -> None:
        """Lock state per setting name (``held``, ``held +2``); missing names are free."""
        if states != self._lock_states:
            self._lock_states = dict(states)
            self.refresh()

    def lock_state_of(self, name: str) -> str:
        return self._lock_states.get(name, "")

    def set_filter(self, text: str) -> None:
        """Show only names containing ``text`` (case-insensitive)."""
        text = text.casefold()
        if text == self._filter:
            return
        self._filter = text
        keep = self.current
        self._refilter(keep.id if keep else None, 0)

    def _refilter(self, keep_id: str | None, fallback: int | None = None) -> None:
        q = self._filter
        self._view = [r for r in self._rows if q in r.folded] if q else list(self._rows)
        index = None
        if keep_id is not None:
            row = self._by_id.get(keep_id)
            if row is not None and (not q or q in row.folded):
                index = self._view.index(row) if len(self._view) < 50_000 else None
        if index is None:
            index = self.cursor if fallback is None else fallback
        self.virtual_size = Size(self.size.width, len(self._view) + 1)
        self.cursor = max(0, min(index, len(self._view) - 1))
        self.refresh()

    def move_to(self, setting_id: str) -> bool:
        row = self._by_id.get(setting_id)
        if row is None:
            return False
        if row not in self._view:
            self.set_filter("")
        self.cursor = self._view.index(row)
        return True

    # -- cursor --------------------------------------------------------------------------------

    def watch_cursor(self, cursor: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        current = self.current
        marker = None if current is None else (current.id, current.version)
        if marker != self._last_highlighted:
            self._last_highlighted = marker
            self.post_message(self.Highlighted(self, current))

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_up(self) -> None:
        self.cursor = max(0, self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.cursor = max(0, min(len(self._view) - 1, self.cursor + 1))

    def action_page_up(self) -> None:
        self.cursor = max(0, self.cursor - self._page())

    def action_page_down(self) -> None:
        self.cursor = max(0, min(len(self._view) - 1, self.cursor + self._page()))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self._view) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._view):
            self.focus()
            self.cursor = index

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self._view) + 1)

    # -- drawing -------------------------------------------------------------------------------

    def _widths(self, width: int) -> tuple[int, int]:
        """Widths of the name and value columns; the others are fixed."""
        rest = max(20, width - sum(_FIXED.values()) - 5)
        name = max(12, min(40, rest // 2))
        return name, max(8, rest - name)

    def _cells(self, row: _Row, name_w: int, value_w: int, now: datetime) -> list[str]:
        s = row.setting
        if row.preview is None or len(row.preview) > value_w + 1:
            row.preview = preview(s.value, value_w)
        state = self._lock_states.get(s.name, "")
        return [
            s.name,
            row.preview[:value_w] if len(row.preview) > value_w else row.preview,
            str(s.version),
            age(s.modified_at, now).removesuffix(" ago"),
            state,
        ]

    @staticmethod
    def _fit(text: str, width: int) -> str:
        if len(text) > width:
            return text[: max(0, width - 1)] + "…"
        return text.ljust(width)

    def _line_setup(self) -> tuple[Style, int, list[int]]:
        """Base style, content width and column widths: the same for every line of a pass."""
        width = self.scrollable_content_region.width
        name_w, value_w = self._widths(width)
        return self.rich_style, width, [name_w, value_w, *_FIXED.values()]

    def render_lines(self, crop: Region) -> list[Strip]:
        # ``rich_style`` walks every ancestor to blend backgrounds: over half the cost of a
        # line when asked per line, and every filter keystroke redraws all lines on screen.
        self._pass = self._line_setup()
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        base, width, widths = self._pass or self._line_setup()
        name_w, value_w = widths[0], widths[1]
        if y == 0:
            labels = ["Name", "Value", "Ver", "Modified", "Lock"]
            style = base + self.get_component_rich_style("settings-table--header")
            return self._strip(labels, widths, width, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._view):
            if index == 0:
                text = self.loading_text if not self._rows else "no setting matches the filter"
                style = base + self.get_component_rich_style("settings-table--empty")
                return Strip([Segment(self._fit(" " + text, width), style)], width)
            return Strip.blank(width, base)
        row = self._view[index]
        cells = self._cells(row, name_w, value_w, self._now())
        style = base
        if cells[4].startswith("held"):
            extra = "settings-table--contended" if "+" in cells[4] else "settings-table--locked"
            style = style + self.get_component_rich_style(extra)
        if index == self.cursor:
            style = style + self.get_component_rich_style("settings-table--cursor")
        return self._strip(cells, widths, width, style)

    def _strip(self, cells: list[str], widths: list[int], width: int, style: Style) -> Strip:
        text = " ".join(self._fit(c, w) for c, w in zip(cells, widths, strict=True))
        return Strip([Segment(self._fit(" " + text, width), style)], width)

    def cursor_region(self) -> Region:
        return Region(0, self.cursor + 1, self.size.width, 1)
