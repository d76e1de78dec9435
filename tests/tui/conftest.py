"""Fixtures of the TUI tests: the per-test real server (``mock_server``), seeded, and the app.

``tests/tui`` has no ``__init__.py`` on purpose: as a package it would be imported as ``tui``
(``tests/`` is no package) and shadow the real ``tui`` package; shared helpers live in
``tui_helpers.py`` instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tui_helpers import seed

from mock_server import RunningServer
from tui.app import CkitApp


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CLOUDOMATION_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def api(mock_server: RunningServer) -> Iterator[httpx.Client]:
    """Raw HTTP on the per-test server, to change things behind the app's back."""
    with httpx.Client(
        base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=10
    ) as client:
        yield client


@pytest.fixture
async def aapi(mock_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """The same, for use inside the app's event loop (a test body)."""
    async with httpx.AsyncClient(
        base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def seeded(api: httpx.Client) -> httpx.Client:
    seed(api)
    return api


@pytest.fixture
def make_app(mock_server: RunningServer) -> Callable[..., CkitApp]:
    def make(**kwargs: Any) -> CkitApp:
        kwargs.setdefault("refresh_interval", 0)  # live updates come from events only
        return CkitApp(mock_server.url, mock_server.token, **kwargs)

    return make
