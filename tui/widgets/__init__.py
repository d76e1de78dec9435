"""Widgets of the TUI: the virtual settings table, the live (diff-updated) table, the banner."""

from __future__ import annotations

from .banner import ConnectionBanner
from .live_table import LiveTable
from .settings_table import SettingsTable

__all__ = ["ConnectionBanner", "LiveTable", "SettingsTable"]
