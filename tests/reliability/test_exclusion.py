"""Mutual exclusion under contention: 16 processes, sync and async clients, one counter."""

from __future__ import annotations

import pytest

from ._scenarios import ServerProcess, contention

pytestmark = pytest.mark.reliability


def test_sixteen_mixed_processes_count_exactly_and_never_overlap(
    sqlite_server: ServerProcess, tmp_path
):
    tally = contention(sqlite_server, tmp_path, processes=16, cycles=25)
    assert tally.violations == []
    assert tally.measured["final"] == 16 * 25
