"""Notebook widgets (ipywidgets): ``SettingsExplorer`` and ``LockMonitor``.

    pip install 'cloudomation-kit[notebook]'

    from cloudomation_kit import AsyncClient
    from cloudomation_kit.widgets import LockMonitor, SettingsExplorer

    SettingsExplorer(client)                      # search, view, edit (JSON, If-Match)
    LockMonitor(AsyncClient(), names=["cloud-vm-lock"])   # holders and WAITING_LOCK queues

Importing ``cloudomation_kit`` never imports ipywidgets; only this package does. What the widgets
show is computed by the pure functions re-exported here (``filter_settings``, ``check_json``,
``locks_html``, ...), so it can be tested, and reused, without a browser.
"""

from __future__ import annotations

from importlib.util import find_spec

if find_spec("ipywidgets") is None:  # pragma: no cover (the notebook extra is not installed)
    raise ImportError(
        "cloudomation_kit.widgets needs ipywidgets: pip install 'cloudomation-kit[notebook]'"
    )

from ._explorer import SettingsExplorer
from ._logic import (
    JsonCheck,
    check_json,
    filter_settings,
    lock_rows,
    locks_html,
    locks_summary,
    setting_html,
    setting_options,
)
from ._monitor import LockMonitor

__all__ = [
    "JsonCheck",
    "LockMonitor",
    "SettingsExplorer",
    "check_json",
    "filter_settings",
    "lock_rows",
    "locks_html",
    "locks_summary",
    "setting_html",
    "setting_options",
]
