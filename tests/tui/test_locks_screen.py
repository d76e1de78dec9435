"""The locks and executions screens: a live WAITING_LOCK queue, force-release, pause."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from tui_helpers import Waiter, wait_for

from mock_server import RunningServer
from tui.app import CkitApp
from tui.screens import ConfirmScreen, ExecutionsScreen, LocksScreen

LOCK = "cloud-vm-lock"


async def execution(api: httpx.AsyncClient, name: str) -> str:
    r = await api.post("/execution", json={"name": name, "lease_ttl": 600})
    r.raise_for_status()
    return str(r.json()["execution"]["id"])


@pytest.fixture
def waiters(mock_server: RunningServer) -> Iterator[Callable[..., Waiter]]:
    """Start long-polling waiters on ``LOCK``; all are stopped at the end."""
    made: list[Waiter] = []

    def start(name: str, patience: float = 60) -> Waiter:
        made.append(Waiter(mock_server.url, mock_server.token, LOCK, name, patience).start())
        return made[-1]

    yield start
    for waiter in made:
        waiter.close()


async def locks_screen(pilot: Pilot[Any]) -> LocksScreen:
    await pilot.press("2")
    screen = await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, LocksScreen)
            and pilot.app.screen.loaded
            and pilot.app.screen
        ),
        "the locks screen",
    )
    assert isinstance(screen, LocksScreen)
    return screen


def queue(screen: LocksScreen) -> list[tuple[str, str]]:
    """(role, execution) per row, in display order."""
    table = screen.table
    return [tuple(table.row_cells(k)[1:3]) for k in table.row_keys()]  # type: ignore[misc]


async def test_the_queue_changes_on_screen_as_waiters_join_leave_time_out_and_acquire(
    aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp], waiters: Callable[..., Waiter]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await locks_screen(pilot)
        holder = await execution(aapi, "holder.py")
        r = await aapi.post("/lock/acquire", json={"name": LOCK, "execution_id": holder})
        assert r.status_code == 200
        await wait_for(pilot, lambda: queue(screen) == [("holder", "holder.py")], "the holder")
        token = screen.table.row_cells(f"h:{LOCK}")[5]

        first = waiters("first.py")
        expected = [("holder", "holder.py"), ("#1", "first.py")]
        await wait_for(pilot, lambda: queue(screen) == expected, "a waiter joining")
        impatient = waiters("impatient.py", patience=5)
        expected = [("holder", "holder.py"), ("#1", "first.py"), ("#2", "impatient.py")]
        await wait_for(pilot, lambda: queue(screen) == expected, "a second waiter joining")
        screen.table.move_cursor(row=0)  # on the holder row
        updates = screen.table.updates

        await wait_for(pilot, lambda: first.waiter_id, "first.py's waiter id")
        r = await aapi.post("/lock/cancel", json={"waiter_id": first.waiter_id})
        assert r.status_code == 200, r.text
        expected = [("holder", "holder.py"), ("#1", "impatient.py")]
        await wait_for(pilot, lambda: queue(screen) == expected, "first.py leaving")
        assert screen.table.updates > updates  # the waiter's row changed in place (#2 -> #1)
        assert screen.table.cursor_key == f"h:{LOCK}"  # the cursor stayed

        await aapi.post("/_testing/clock", json={"advance": 10})
        await wait_for(
            pilot, lambda: queue(screen) == [("holder", "holder.py")], "impatient.py timing out"
        )
        await wait_for(pilot, lambda: impatient.outcome == "423", "LockTimeoutError (423)")

        following = waiters("next.py")
        expected = [("holder", "holder.py"), ("#1", "next.py")]
        await wait_for(pilot, lambda: queue(screen) == expected, "next.py joining")
        await aapi.post("/lock/release", json={"name": LOCK, "execution_id": holder})
        await wait_for(pilot, lambda: queue(screen) == [("holder", "next.py")], "the handoff")
        await wait_for(pilot, lambda: following.outcome == "acquired", "next.py's long-poll")
        assert int(screen.table.row_cells(f"h:{LOCK}")[5]) > int(token)  # a new fencing token
        assert screen.table.cursor_key == f"h:{LOCK}"

        # The executions screen shows who runs and who waits.
        waiters("late.py")
        await pilot.press("3")
        executions = await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, ExecutionsScreen)
                and any(ex.name == "late.py" for ex in pilot.app.screen.executions)
                and pilot.app.screen
            ),
            "the executions",
        )
        status = {ex.name: ex.status for ex in executions.executions}
        assert status["late.py"] == "WAITING_LOCK"
        assert status["next.py"] == "RUNNING"


async def test_force_release_after_confirmation(
    aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp], waiters: Callable[..., Waiter]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await locks_screen(pilot)
        holder = await execution(aapi, "stuck.py")
        await aapi.post("/lock/acquire", json={"name": LOCK, "execution_id": holder})
        waiters("waiting.py")
        await wait_for(pilot, lambda: len(queue(screen)) == 2, "holder and waiter")
        screen.table.move_cursor(row=1)  # a waiter's row names the same lock
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")
        await pilot.press("n")
        assert (await aapi.get(f"/lock/{LOCK}")).json()["lock"]["holder"]["execution_name"] == (
            "stuck.py"
        )
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: queue(screen) == [("holder", "waiting.py")], "handoff")
        lock = (await aapi.get(f"/lock/{LOCK}")).json()["lock"]
        assert lock["holder"]["execution_name"] == "waiting.py"


async def test_pause_freezes_the_table_and_space_refreshes(
    aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp], waiters: Callable[..., Waiter]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await locks_screen(pilot)
        holder = await execution(aapi, "holder.py")
        await aapi.post("/lock/acquire", json={"name": LOCK, "execution_id": holder})
        await wait_for(pilot, lambda: len(queue(screen)) == 1, "the holder")
        await pilot.press("p")
        assert screen.paused
        waiters("w.py")
        await wait_for(pilot, lambda: screen._missed > 0, "the event to arrive")
        assert len(queue(screen)) == 1  # frozen
        await pilot.press("space")
        await wait_for(pilot, lambda: len(queue(screen)) == 2, "the manual refresh")
        await pilot.press("p")
        assert not screen.paused
