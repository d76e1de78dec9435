"""Pure formatting helpers: value previews, ages and countdowns (``now`` always passed in)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

__all__ = ["age", "countdown", "json_error", "pretty_json", "preview"]


def preview(value: Any, width: int = 60) -> str:
    """One line of compact JSON, cut to ``width`` characters with an ellipsis."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def pretty_json(value: Any) -> str:
    """The value as indented JSON, for the detail pane and the editor."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def age(when: datetime | None, now: datetime) -> str:
    """How long ago: ``12s ago``, ``3m05s ago``; ``-`` when unknown."""
    if when is None:
        return "-"
    return f"{_span((now - when).total_seconds())} ago"


def countdown(when: datetime | None, now: datetime, *, never: str = "never") -> str:
    """Time left until ``when``: ``in 12s``, ``due`` once passed, ``never`` for ``None``."""
    if when is None:
        return never
    left = (when - now).total_seconds()
    return "due" if left <= 0 else f"in {_span(left)}"


def json_error(text: str) -> tuple[Any, str | None]:
    """Parse ``text`` as JSON: ``(value, None)``, or ``(None, "line L, column C: message")``."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
