"""The bundled Cloudomation-style server: settings store, lock manager and REST API.

Run it with ``python -m mock_server``; in tests use ``run_server()`` or the ``mock_server``
pytest fixture (this package registers itself as a pytest plugin).
"""

from __future__ import annotations

from ._app import API_PREFIX, create_app
from ._backend import Backend
from ._clock import Clock, ManualClock, OffsetClock, SystemClock
from ._events import EventLog
from ._http import ServerConfig
from ._locks import LockManager
from ._server import RunningServer, build_backend, run_server, serve
from ._sqlite import SqliteStore
from ._store import MemoryStore, SettingStore

__all__ = [
    "API_PREFIX",
    "Backend",
    "Clock",
    "EventLog",
    "LockManager",
    "ManualClock",
    "MemoryStore",
    "OffsetClock",
    "RunningServer",
    "ServerConfig",
    "SettingStore",
    "SqliteStore",
    "SystemClock",
    "build_backend",
    "create_app",
    "run_server",
    "serve",
]
