"""Defaults of the SDK, in one place."""

from __future__ import annotations

__all__ = [
    "API_PREFIX",
    "CONFIG_PATH",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "LONG_POLL_MARGIN",
    "LONG_POLL_WAIT",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "VERSION",
]

VERSION = "0.1.0"
"""The package version; pyproject.toml reads it from here (importlib.metadata costs ~8 ms)."""

API_PREFIX = "/api/latest"
CONFIG_PATH = "~/.config/cloudomation-kit/config.toml"

DEFAULT_TIMEOUT = 30.0
"""Seconds one request may take (connect: 5 s), long-polls excepted."""
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
"""A ``Retry-After`` longer than this is not obeyed: the error is raised instead."""

DEFAULT_LOCK_TIMEOUT = 60.0
"""Cloudomation's documented lock wait: 60 seconds."""
DEFAULT_LEASE_TTL = 15.0
"""Seconds an execution's lease lasts after each heartbeat; heartbeats come every third of it."""
LONG_POLL_WAIT = 15.0
"""Longest one acquire/wait request blocks on the server (it caps this at 20 s)."""
LONG_POLL_MARGIN = 10.0
"""Extra read time allowed on a long-poll beyond its ``wait``."""
DEFAULT_PAGE_SIZE = 1000
