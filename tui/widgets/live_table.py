"""``LiveTable``: a ``DataTable`` that takes the whole desired state and applies only the diff.

The dolphie way: rows are keyed (a lock's holder, a waiter, an execution), cells that changed are
updated in place with ``update_cell``, rows that went away are removed, new ones are added, and the
order is restored with ``sort`` on the sort columns. The cursor stays on the row it was on, and
nothing is cleared, so nothing flickers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowKey

__all__ = ["LiveTable"]

Cell = str | Text


class LiveTable(DataTable[Cell]):
    """A keyed table updated by ``sync(rows)``; ``sort_key`` orders rows by their cells."""

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        sort_columns: Sequence[str] = (),
        sort_key: Callable[[Any], Any] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._column_spec = list(columns)
        self._sort_columns = list(sort_columns)
        self._sort_key = sort_key
        self._order: list[str] = []
        self.updates = 0
        """How many cells ``sync`` changed in place (tests read it)."""

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    def row_cells(self, key: str) -> list[str]:
        """The plain text of one row's cells."""
        return [str(c.plain if isinstance(c, Text) else c) for c in self.get_row(key)]

    @property
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return None if key.value is None else str(key.value)

    def sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Make the table show exactly ``rows`` (key, cells), changing as little as possible."""
        keep = self.cursor_key
        keep_index = self.cursor_row
        wanted = {key: cells for key, cells in rows}
        columns = [key for key, _ in self._column_spec]
        for row_key in list(self.rows):
            if str(row_key.value) not in wanted:
                self.remove_row(row_key)
        structural = False
        for key, cells in rows:
            if RowKey(key) in self.rows:
                current = self.get_row(key)
                for column, old, new in zip(columns, current, cells, strict=True):
                    if old != new:
                        self.update_cell(key, column, new, update_width=True)
                        self.updates += 1
            else:
                self.add_row(*cells, key=key)
                structural = True
        order = [key for key, _ in rows]
        if (structural or self.row_keys() != order) and self._sort_columns:
            self.sort(*self._sort_columns, key=self._sort_key)
        if keep is not None and RowKey(keep) in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False, scroll=False)
        elif self.row_count:
            self.move_cursor(row=min(keep_index, self.row_count - 1), animate=False, scroll=False)
