"""``HelpScreen``: every binding of the screen it came from; type to filter (lazygit ``?``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

__all__ = ["HelpScreen"]


class HelpScreen(ModalScreen[None]):
    """A filterable list of (key, what it does, where it applies)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label("Keys (type to filter, Esc closes)", classes="dialog-title")
            yield Input(placeholder="filter", id="help-filter")
            yield DataTable(id="help-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_columns("Key", "Action", "Where")
        self._fill("")
        self.query_one("#help-filter", Input).focus()

    def _fill(self, text: str) -> None:
        table = self.query_one("#help-table", DataTable)
        table.clear()
        folded = text.casefold()
        for row in self.rows:
            if not folded or any(folded in cell.casefold() for cell in row):
                table.add_row(*row)

    @on(Input.Changed, "#help-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_close(self) -> None:
        self.dismiss(None)
