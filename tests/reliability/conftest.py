"""Fixtures of the reliability suite: real servers in child processes, which tests may kill.

Every test here is marked ``reliability`` (each module sets ``pytestmark``); the whole directory
runs in CI within a few minutes. ``scripts/chaos.py`` runs the same scenarios longer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._scenarios import ServerProcess

READ_TOKEN = "reliability-read-only-token"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One SQLite server process per module (``--testing``, a read-only token too)."""
    where = tmp_path_factory.mktemp("sqlite-server")
    server = ServerProcess(
        db=where / "server.sqlite3", log=where / "server.log", read_token=READ_TOKEN
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_sqlite_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A SQLite server process of this test's own (for tests that kill it)."""
    server = ServerProcess(db=tmp_path / "server.sqlite3", log=tmp_path / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
