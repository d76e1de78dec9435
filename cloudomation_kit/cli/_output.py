"""How ``ckit`` writes: JSON for pipes, plain tables for people, a live line for terminals."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "LiveLine",
    "age",
    "dump_json",
    "is_terminal",
    "local_time",
    "parse_json",
    "print_json",
    "table",
    "value_preview",
]


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def dump_json(value: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=2)


def print_json(value: Any, *, compact: bool = False) -> None:
    """Print one JSON document on stdout (what ``| jq`` reads)."""
    sys.stdout.write(dump_json(value, compact=compact) + "\n")
    sys.stdout.flush()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, source: str) -> Any:
    """Parse ``text`` as strict JSON (no NaN or Infinity), or raise ``ValueError`` saying where.

    The message names ``source``, the line and the column, and quotes the text around the error.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.strip() else ""
        start = max(0, exc.colno - 16)
        near = line[start : exc.colno + 15].strip()
        where = f"line {exc.lineno}, column {exc.colno}"
        detail = f"{exc.msg} (near {near!r})" if near else exc.msg
        hint = ""
        if exc.lineno == 1 and exc.colno == 1 and text.strip() and "\n" not in text.strip():
            hint = f"; to store a string, quote it: '{json.dumps(text.strip())}'"
        raise ValueError(f"{source} is not valid JSON: {where}: {detail}{hint}") from exc
    except ValueError as exc:  # NaN / Infinity
        raise ValueError(f"{source} is not valid JSON: {exc}") from exc


def value_preview(value: Any, width: int) -> str:
    from .._display import short  # pydantic: only when a table is printed

    return short(value, max(8, width))


def local_time(moment: datetime) -> str:
    """A timestamp in the local zone, to the second: ``2024-05-01 14:03:07``."""
    return _aware(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def duration(seconds: float) -> str:
    """``7s``, ``3m04s``, ``2h05m``, ``1d03h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def age(moment: datetime, now: datetime | None = None) -> str:
    """How long ago ``moment`` was (``12s``)."""
    now = now or datetime.now(UTC)
    return duration((now - _aware(moment)).total_seconds())


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """How long until ``moment`` (``48s``; ``expired``; ``never`` for ``None``)."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    left = (_aware(moment) - now).total_seconds()
    return "expired" if left <= 0 else duration(left)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, stretch: int = -1) -> str:
    """Left-aligned columns; column ``stretch`` is cut so that lines fit the terminal."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    if rows and stretch is not None:
        col = stretch % len(headers)
        columns = shutil.get_terminal_size((100, 24)).columns
        others = sum(w for i, w in enumerate(widths) if i != col) + 2 * (len(headers) - 1)
        widths[col] = max(len(headers[col]), min(widths[col], columns - others - 1))
    lines = []
    for cells in [list(headers), *map(list, rows)]:
        parts = []
        for i, cell in enumerate(cells):
            text = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            parts.append(text if i == len(cells) - 1 else text.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _columns(stream: TextIO) -> int:
    """The width of the terminal behind ``stream`` (not necessarily stdout's)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    return columns or shutil.get_terminal_size((100, 24)).columns


class LiveLine:
    """One status line on a terminal, redrawn in place every ``interval`` seconds until stopped.

    ``render`` runs on a background thread; when it raises, the last line stays. Nothing is
    written unless ``stream`` is a terminal, so logs and pipes stay clean.
    """

    def __init__(
        self, render: Callable[[], str], stream: TextIO, interval: float = 1.0, delay: float = 0.3
    ) -> None:
        self._render, self._stream = render, stream
        self._interval, self._delay = interval, delay
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._shown = False
        self._thread: threading.Thread | None = None

    def start(self) -> LiveLine:
        if is_terminal(self._stream):
            self._thread = threading.Thread(target=self._run, name="ckit-live-line", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        if self._stop.wait(self._delay):
            return
        while True:
            try:
                text = self._render()
            except Exception as exc:  # a status line must never kill the command
                text = f"(status unavailable: {exc})"
            width = _columns(self._stream) - 1
            if len(text) > width:
                text = text[: max(1, width - 1)] + "…"
            with self._mutex:
                if self._stop.is_set():
                    return
                self._stream.write("\r\x1b[K" + text)
                self._stream.flush()
                self._shown = True
            if self._stop.wait(self._interval):
                return

    def stop(self) -> None:
        """Stop redrawing and clear the line."""
        with self._mutex:
            self._stop.set()
            if self._shown:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
                self._shown = False
