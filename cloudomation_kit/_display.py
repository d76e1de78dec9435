"""How models look in a terminal, in IPython and in Jupyter.

Every wire model gets a short ``__repr__`` (one line, long values cut), ``_repr_pretty_`` for
IPython and ``_repr_html_`` for notebooks: a self-contained table (inline styles only, no scripts
and no external CSS) in which every piece of server data is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

__all__ = ["DisplayMixin", "html_rows", "html_table", "short"]

_TABLE = 'style="border-collapse:collapse;font-family:monospace;font-size:12px;text-align:left"'
_CELL = 'style="border:1px solid #bbb;padding:2px 6px;vertical-align:top;text-align:left"'
_HEAD = 'style="border:1px solid #bbb;padding:2px 6px;background:#eee;text-align:left"'
_CAPTION = 'style="caption-side:top;text-align:left;font-weight:bold;padding:2px 0"'
MAX_CELL = 2000


def short(value: Any, width: int = 40) -> str:
    """A one-line rendering of a value, cut to ``width`` characters."""
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds")
    elif isinstance(value, BaseModel):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(value: Any) -> str:
    if isinstance(value, BaseModel):
        return _record_table(value)
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        return html_rows(value)
    if value is None:
        return '<span style="color:#999">null</span>'
    if isinstance(value, datetime):
        return html.escape(value.isoformat())
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, indent=1, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL] + "…"
    return f'<pre style="margin:0;white-space:pre-wrap">{html.escape(text)}</pre>'


def html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """An escaped HTML table with the given column headings."""
    head = "".join(f"<th {_HEAD}>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption {_CAPTION}>{html.escape(caption)}</caption>" if caption else ""
    return f"<table {_TABLE}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fields(model: BaseModel) -> list[str]:
    names = list(type(model).model_fields)
    extra = model.model_extra or {}
    return names + [k for k in extra if k not in names]


def html_rows(models: Sequence[BaseModel], caption: str = "") -> str:
    """Several models as one table, one row each (columns from the first model's fields)."""
    if not models:
        return html_table(["(none)"], [], caption)
    columns = _fields(models[0])
    rows = [[_shown(m, c) for c in columns] for m in models]
    return html_table(columns, rows, caption)


def _shown(model: BaseModel, name: str) -> Any:
    secret: tuple[str, ...] = getattr(model, "_secret_fields", ())
    return "***" if name in secret else getattr(model, name, None)


def _record_table(model: BaseModel) -> str:
    rows = [(name, _shown(model, name)) for name in _fields(model)]
    return html_table(["field", "value"], rows, type(model).__name__)


class DisplayMixin:
    """Display methods for pydantic models.

    ``_repr_fields`` names the fields ``repr`` shows; ``_secret_fields`` are shown as ``***``.
    """

    _repr_fields: ClassVar[tuple[str, ...]] = ()
    _secret_fields: ClassVar[tuple[str, ...]] = ()

    def _repr_items(self) -> list[tuple[str, Any]]:
        assert isinstance(self, BaseModel)
        names = self._repr_fields or tuple(_fields(self))[:4]
        return [(n, _shown(self, n)) for n in names]

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={short(v)}" for k, v in self._repr_items())
        return f"{type(self).__name__}({parts})"

    def __str__(self) -> str:
        return repr(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        assert isinstance(self, BaseModel)
        return _record_table(self)
