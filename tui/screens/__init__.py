"""One file per screen: the three main views and the modal dialogs."""

from __future__ import annotations

from .confirm import ConfirmScreen
from .edit_value import EditValueScreen
from .executions import ExecutionsScreen
from .help import HelpScreen
from .locks import LocksScreen
from .new_setting import NewSettingScreen
from .settings import SettingsScreen

__all__ = [
    "ConfirmScreen",
    "EditValueScreen",
    "ExecutionsScreen",
    "HelpScreen",
    "LocksScreen",
    "NewSettingScreen",
    "SettingsScreen",
]
