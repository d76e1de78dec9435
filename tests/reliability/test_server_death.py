"""Server death: SIGKILL and restart of the SQLite server under a write-heavy load (SDK clients)."""

from __future__ import annotations

import pytest

from ._scenarios import ServerProcess, server_sigkill

pytestmark = pytest.mark.reliability


def test_killed_server_loses_no_acknowledged_write_and_tokens_keep_growing(
    fresh_sqlite_server: ServerProcess,
):
    tally = server_sigkill(fresh_sqlite_server, writers=6, kills=2, load_seconds=1.5)
    print(f"server death: {tally.operations} writes attempted, measured {tally.measured}")
    assert tally.violations == []
    assert tally.measured["acknowledged"] > 100
    assert tally.measured["client_errors"] > 0  # the kills were felt, and survived
