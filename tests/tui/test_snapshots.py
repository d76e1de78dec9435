"""SVG snapshots of the settings and locks screens at 80x24 and 120x40, with clocks frozen.

The server runs on a ``ManualClock`` (it moves only when the seeding says so) and the app's
``now`` is fixed, so every age, lease and deadline on screen is the same on every run.
Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tui_helpers import SETTINGS, seed, wait_for

from mock_server import ManualClock, RunningServer, build_backend, run_server
from tui.app import CkitApp
from tui.screens import LocksScreen, SettingsScreen

START = 1_800_000_000.0
NOW = datetime.fromtimestamp(START + 95, tz=UTC)


@pytest.fixture(scope="module")
def frozen_server() -> Iterator[RunningServer]:
    clock = ManualClock(START)
    backend = build_backend(memory=True, clock=clock)
    with (
        run_server(backend, token="snapshot-token", testing=False) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": server.token}, timeout=10
        ) as api,
    ):
        seed(api, dict(sorted(SETTINGS.items())))
        clock.advance(30)
        api.patch("/setting/feature_flags?by=name", json={"value": {"new_checkout": False}})

        def execution(name: str) -> str:
            r = api.post("/execution", json={"name": name, "lease_ttl": 120})
            return str(r.json()["execution"]["id"])

        def acquire(lock: str, ex: str, timeout: float | None = 60) -> None:
            body = {"name": lock, "execution_id": ex, "timeout": timeout, "wait": 0}
            api.post("/lock/acquire", json=body).raise_for_status()

        acquire("cloud-vm-lock", execution("provision-vm.py@build-01"))
        clock.advance(20)
        acquire("db.primary", execution("migrate-orders.py@deploy"))
        clock.advance(10)
        # Waiters without a long-poll in flight are dropped after the server's 5 s poll grace
        # (on its clock): keep the advances after the first waiter below that.
        acquire("cloud-vm-lock", execution("provision-vm.py@build-02"))
        clock.advance(2)
        acquire("cloud-vm-lock", execution("resize-disk.py@ops-07"), timeout=None)
        clock.advance(1.5)
        acquire("db.primary", execution("vacuum-analyze.py@cron"), timeout=300)
        yield server
        backend.store.close()


def make(server: RunningServer) -> CkitApp:
    return CkitApp(
        server.url,
        server.token,
        now=lambda: NOW,
        server_label="snapshot server",
        refresh_interval=0,
    )


async def settings_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, SettingsScreen)
            and app.screen.loaded
            and app.screen.table.lock_state_of("cloud-vm-lock")
        ),
        "the settings and their locks",
    )
    await pilot.press("down", "down")  # db.primary: held, with a queue
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    title = screen.query_one("#detail-title", Static)
    # The detail pane follows the cursor once it rests.
    await wait_for(pilot, lambda: str(title.render()) == "db.primary", "the detail pane")
    await pilot.pause()


async def locks_ready(pilot: Pilot[Any]) -> None:
    await pilot.press("2")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, LocksScreen) and app.screen.table.row_count == 5,
        "the locks",
    )
    await pilot.press("down")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_settings_screen(snap_compare: Any, frozen_server: RunningServer, size: Any) -> None:
    assert snap_compare(make(frozen_server), terminal_size=size, run_before=settings_ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_locks_screen(snap_compare: Any, frozen_server: RunningServer, size: Any) -> None:
    assert snap_compare(make(frozen_server), terminal_size=size, run_before=locks_ready)
