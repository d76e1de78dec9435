"""pytest plugin: a real server on a free loopback port, per test.

Registered through the ``pytest11`` entry point, so any project that installs cloudomation-kit
with the ``server`` extra gets the fixtures:

    def test_reads(mock_server):
        httpx.get(f"{mock_server.url}/setting", headers={"Authorization": mock_server.token})
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ._server import RunningServer, run_server

__all__ = ["mock_server", "mock_server_session"]


@pytest.fixture(scope="session")
def mock_server_session() -> Iterator[RunningServer]:
    """One server for the whole session (in memory, ``--testing``); reset it yourself."""
    with run_server() as server:
        yield server


@pytest.fixture
def mock_server(mock_server_session: RunningServer) -> Iterator[RunningServer]:
    """The session's server, reset to empty before each test."""
    server = mock_server_session
    # Through HTTP, so the reset runs on the server's own event loop.
    httpx.post(
        f"{server.url}/_testing/reset", headers={"Authorization": server.token}
    ).raise_for_status()
    yield server
