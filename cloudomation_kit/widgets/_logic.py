"""What the widgets show, as pure functions: no ipywidgets, no I/O, no clock of their own.

The widgets only wire these to traits, so everything here is tested without a browser or a kernel.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._display import html_table, short
from .._exceptions import PreconditionFailedError
from .._models import Lock, Setting

__all__ = [
    "JsonCheck",
    "check_json",
    "conflict_message",
    "describe",
    "error_html",
    "error_message",
    "filter_settings",
    "lock_rows",
    "locks_html",
    "locks_summary",
    "message_html",
    "setting_html",
    "setting_options",
]

_PRE = 'style="margin:0;white-space:pre-wrap;font-family:monospace;font-size:12px"'
_ERROR = 'style="color:#b00020;font-family:monospace;white-space:pre-wrap"'
_NOTE = 'style="color:#555;font-family:monospace"'


# -- settings -----------------------------------------------------------------------------------


def filter_settings(settings: Iterable[Setting], query: str) -> list[Setting]:
    """The settings matching a search: every blank-separated term, ignoring case, must occur in
    the name or the description. An empty query matches everything."""
    terms = query.casefold().split()
    found = []
    for setting in settings:
        haystack = f"{setting.name}\n{setting.description or ''}".casefold()
        if all(term in haystack for term in terms):
            found.append(setting)
    return found


def setting_options(settings: Iterable[Setting], width: int = 40) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for a selection list: the name and a short preview of the value."""
    return [(f"{s.name}  =  {short(s.value, width)}", s.name) for s in settings]


def setting_html(setting: Setting) -> str:
    """The selected setting: a line of metadata and its value as indented JSON (escaped)."""
    meta = f"{setting.name} · version {setting.version} · modified {short(setting.modified_at)}"
    desc = f"<div {_NOTE}>{html.escape(setting.description)}</div>" if setting.description else ""
    value = json.dumps(setting.value, indent=2, ensure_ascii=False)
    head = f"<div {_NOTE}><b>{html.escape(meta)}</b></div>{desc}"
    return f"{head}<pre {_PRE}>{html.escape(value)}</pre>"


@dataclass(frozen=True)
class JsonCheck:
    """The outcome of checking editor text: the parsed value, or why it is not JSON."""

    ok: bool
    value: Any = None
    error: str | None = None


def check_json(text: str) -> JsonCheck:
    """Parse editor text as JSON; on failure say where (line and column), as a sentence."""
    if not text.strip():
        return JsonCheck(False, error="Invalid JSON: the editor is empty (write null for no value)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return JsonCheck(
            False, error=f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
    return JsonCheck(True, value=value)


def error_message(exc: BaseException, doing: str) -> str:
    """A one-line account of a failed call: what we tried, the exception class to catch, and
    its message (which for a server answer already starts with the status and wire name)."""
    return f"{doing} failed: {describe(exc)}"


def describe(exc: BaseException) -> str:
    """``ClassName: message``, without repeating the class when the message already names it."""
    name, text = type(exc).__name__, str(exc)
    return text if f" {name}:" in f" {text}" else f"{name}: {text}"


def conflict_message(name: str, version: int, exc: PreconditionFailedError) -> str:
    """What to say when a save lost a race with another writer."""
    return (
        f"Not saved: {name!r} changed on the server since version {version} "
        f"({describe(exc)}). Reload to see the current value; "
        "your text is still in the editor."
    )


def error_html(message: str) -> str:
    """A red row for an error shown inside a widget."""
    return f"<div {_ERROR}>{html.escape(message)}</div>" if message else ""


def message_html(message: str) -> str:
    """A grey row for a neutral status message."""
    return f"<div {_NOTE}>{html.escape(message)}</div>" if message else ""


# -- locks --------------------------------------------------------------------------------------

LOCK_COLUMNS = ("lock", "holder", "token", "held for", "queue (WAITING_LOCK)")


def _seconds(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    return f"{max(0.0, (now - since).total_seconds()):.1f} s"


def _waiter_line(lock: Lock, index: int, now: datetime) -> str:
    waiter = lock.waiters[index]
    waited = _seconds(waiter.waiting_since, now)
    if waiter.deadline is None:
        deadline = "waits forever"
    else:
        deadline = f"times out in {max(0.0, (waiter.deadline - now).total_seconds()):.1f} s"
    return f"{waiter.position}. {waiter.execution_name}  waiting {waited}, {deadline}"


def lock_rows(
    locks: Sequence[Lock], names: Sequence[str] | None, now: datetime
) -> list[tuple[str, str, str, str, str]]:
    """One row per lock: name, holder, token, how long held, and the queue in order.

    With ``names``, exactly those locks in that order (a name the server does not list is shown
    as free); without, every lock the server lists (those held or waited for), by name.
    """
    by_name = {lock.name: lock for lock in locks}
    wanted = list(names) if names is not None else sorted(by_name)
    rows = []
    for name in wanted:
        lock = by_name.get(name)
        if lock is None or (lock.holder is None and not lock.waiters):
            rows.append((name, "(free)", "", "", ""))
            continue
        holder = lock.holder
        queue = "\n".join(_waiter_line(lock, i, now) for i in range(len(lock.waiters)))
        rows.append(
            (
                name,
                holder.execution_name if holder else "(free)",
                str(holder.token) if holder else "",
                _seconds(holder.acquired_at, now) if holder else "",
                queue,
            )
        )
    return rows


def locks_html(locks: Sequence[Lock], names: Sequence[str] | None, now: datetime) -> str:
    """The monitor's table (escaped, self-contained HTML)."""
    rows = lock_rows(locks, names, now)
    if not rows:
        return message_html("No lock is held or waited for.")
    return html_table(LOCK_COLUMNS, rows)


def locks_summary(locks: Sequence[Lock], names: Sequence[str] | None) -> str:
    """``"2 held, 3 waiting"`` over the locks shown."""
    shown = [lock for lock in locks if names is None or lock.name in names]
    held = sum(1 for lock in shown if lock.holder is not None)
    waiting = sum(len(lock.waiters) for lock in shown)
    return f"{held} held, {waiting} waiting"
