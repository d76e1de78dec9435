"""The notebook widgets without a browser: traits are set and read directly, against a real server.

Outside a kernel, ipywidgets talks to a dummy comm (the ``comm`` package's default), so widgets
can be built, changed and clicked in plain pytest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

pytest.importorskip("ipywidgets")

from cloudomation_kit import AsyncClient, Client, Holder, Lock, Setting, Waiter
from cloudomation_kit.widgets import (
    LockMonitor,
    SettingsExplorer,
    check_json,
    filter_settings,
    lock_rows,
    locks_html,
    locks_summary,
)
from mock_server import RunningServer

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def _setting(name: str, value: Any = None, description: str | None = None) -> Setting:
    return Setting(
        id=f"id-{name}",
        name=name,
        value=value,
        description=description,
        created_at=NOW,
        modified_at=NOW,
        version=1,
    )


async def until(check: Callable[[], Any], what: str, within: float = 10.0) -> Any:
    """Await ``check()`` becoming truthy, polling every 20 ms; fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)
    return result


# -- pure logic -----------------------------------------------------------------------------------


def test_filter_needs_every_term_in_the_name_or_description() -> None:
    settings = [
        _setting("cloud-vm-lock"),
        _setting("Cloud-Backup", description="nightly"),
        _setting("emails", description="who gets the cloud alerts"),
    ]
    names = lambda q: [s.name for s in filter_settings(settings, q)]  # noqa: E731
    assert names("") == ["cloud-vm-lock", "Cloud-Backup", "emails"]
    assert names("CLOUD") == ["cloud-vm-lock", "Cloud-Backup", "emails"]
    assert names("cloud nightly") == ["Cloud-Backup"]
    assert names("vm") == ["cloud-vm-lock"]
    assert names("nothing") == []


def test_check_json_says_where_it_fails() -> None:
    assert check_json('{"a": [1, 2]}').value == {"a": [1, 2]}
    assert check_json("null").ok and check_json("null").value is None
    bad = check_json('{\n  "a": 1,\n}')
    assert not bad.ok and bad.error is not None
    assert "line 3, column 1" in bad.error
    assert not check_json("   ").ok


def test_lock_table_lists_holder_and_queue_in_order_escaped() -> None:
    holder = Holder(
        execution_id="e1",
        execution_name="<holder>",
        token=7,
        acquired_at=NOW - timedelta(seconds=3),
        lease_expires_at=None,
    )
    waiters = [
        Waiter(
            waiter_id=f"w{i}",
            execution_id=f"e{i}",
            execution_name=f"waiter-{i}",
            position=i,
            waiting_since=NOW - timedelta(seconds=2),
            deadline=None if i == 2 else NOW + timedelta(seconds=5),
        )
        for i in (1, 2)
    ]
    locks = [Lock(name="vm", setting_id="s1", holder=holder, waiters=waiters)]
    rows = lock_rows(locks, ["vm", "other"], NOW)
    assert rows[0][:4] == ("vm", "<holder>", "7", "3.0 s")
    assert rows[0][4].splitlines() == [
        "1. waiter-1  waiting 2.0 s, times out in 5.0 s",
        "2. waiter-2  waiting 2.0 s, waits forever",
    ]
    assert rows[1] == ("other", "(free)", "", "", "")
    page = locks_html(locks, None, NOW)
    assert "&lt;holder&gt;" in page and "<holder>" not in page
    assert locks_summary(locks, None) == "1 held, 2 waiting"
    assert "No lock" in locks_html([], None, NOW)


# -- SettingsExplorer -----------------------------------------------------------------------------


@pytest.fixture
def client(mock_server: RunningServer) -> Iterator[Client]:
    with Client(mock_server.url, mock_server.token, execution_name="explorer") as c:
        yield c


@pytest.fixture
def seeded(client: Client) -> Client:
    client.settings.create("cloud-vm-lock", {"vm": "a"}, description="which VM")
    client.settings.create("cloud-backup", [1, 2, 3])
    client.settings.create("notification_emails", ["ops@example.com"])
    return client


def shown_names(explorer: SettingsExplorer) -> list[str]:
    return [value for _, value in explorer.list.options]


def test_search_filters_the_list_as_you_type(seeded: Client) -> None:
    explorer = SettingsExplorer(seeded)
    assert shown_names(explorer) == ["cloud-backup", "cloud-vm-lock", "notification_emails"]
    assert "3 settings loaded" in explorer.status.value
    explorer.search.value = "cloud"
    assert shown_names(explorer) == ["cloud-backup", "cloud-vm-lock"]
    explorer.search.value = "cloud VM"
    assert shown_names(explorer) == ["cloud-vm-lock"]
    explorer.search.value = "which"  # the description counts too
    assert shown_names(explorer) == ["cloud-vm-lock"]
    explorer.search.value = ""
    assert len(shown_names(explorer)) == 3


def test_selecting_shows_the_value(seeded: Client) -> None:
    explorer = SettingsExplorer(seeded)
    explorer.list.value = "cloud-vm-lock"  # what a click in the list does
    assert explorer.selected is not None and explorer.selected.name == "cloud-vm-lock"
    assert "&quot;vm&quot;: &quot;a&quot;" in explorer.view.value
    assert "version 1" in explorer.view.value
    assert explorer.editor.value == '{\n  "vm": "a"\n}'
    assert not explorer.editor.disabled and not explorer.save_button.disabled
    explorer.search.value = "cloud"  # the selection survives filtering that keeps it
    assert explorer.list.value == "cloud-vm-lock"
    explorer.search.value = "emails"  # hidden from the list, but still in the editor
    assert explorer.list.value is None and explorer.selected.name == "cloud-vm-lock"
    assert explorer.editor.value == '{\n  "vm": "a"\n}'
    explorer.search.value = ""
    assert explorer.list.value == "cloud-vm-lock"
    explorer.select(None)
    assert explorer.selected is None and explorer.editor.disabled


def test_save_writes_valid_json_with_the_version(seeded: Client) -> None:
    explorer = SettingsExplorer(seeded)
    explorer.select("cloud-backup")
    explorer.editor.value = '{"keep": 7}'
    explorer.save_button.click()
    assert explorer.error.value == ""
    saved = seeded.settings.get("cloud-backup")
    assert saved.value == {"keep": 7} and saved.version == 2
    assert explorer.selected is not None and explorer.selected.version == 2
    assert "as version 2" in explorer.status.value


def test_invalid_json_is_refused_without_a_write(seeded: Client, api: httpx.Client) -> None:
    explorer = SettingsExplorer(seeded)
    explorer.select("cloud-vm-lock")
    explorer.editor.value = '{"vm": "b",}'
    assert explorer.save_button.disabled  # validated as you type
    assert "Invalid JSON" in explorer.json_status.value
    explorer.save()  # and refused even when called directly
    assert "Invalid JSON" in explorer.error.value and "Nothing was saved" in explorer.error.value
    stored = api.get("/setting/cloud-vm-lock", params={"by": "name"}).json()["setting"]
    assert stored["version"] == 1 and stored["value"] == {"vm": "a"}
    assert explorer.editor.value == '{"vm": "b",}'  # the text stays for fixing


def test_a_save_conflict_is_shown_and_nothing_is_overwritten(
    seeded: Client, api: httpx.Client
) -> None:
    explorer = SettingsExplorer(seeded)
    explorer.select("cloud-vm-lock")
    # Someone else writes after we loaded version 1.
    api.patch(
        "/setting/cloud-vm-lock", params={"by": "name"}, json={"value": {"vm": "theirs"}}
    ).raise_for_status()
    explorer.editor.value = '{"vm": "mine"}'
    explorer.save_button.click()
    assert "PreconditionFailedError: 412" in explorer.error.value
    assert "since version 1" in explorer.error.value
    assert seeded.settings.get("cloud-vm-lock").value == {"vm": "theirs"}
    assert explorer.editor.value == '{"vm": "mine"}'
    # Reload shows the server's version and keeps the unsaved text; Revert takes theirs.
    explorer.reload()
    assert explorer.selected is not None and explorer.selected.version == 2
    assert "theirs" in explorer.view.value and explorer.editor.value == '{"vm": "mine"}'
    explorer.revert()
    assert explorer.editor.value == '{\n  "vm": "theirs"\n}'


def test_server_errors_are_shown_in_the_widget(mock_server: RunningServer) -> None:
    with Client(mock_server.url, "wrong-token", max_retries=0) as bad:
        explorer = SettingsExplorer(bad)
    assert explorer.last_error is not None
    assert explorer.last_error.startswith("Loading settings failed: 401 AuthenticationError:")
    assert "AuthenticationError" in explorer.error.value
    assert shown_names(explorer) == []


async def test_explorer_runs_an_async_clients_calls_on_the_loop(
    mock_server: RunningServer,
) -> None:
    async with AsyncClient(mock_server.url, mock_server.token) as aclient:
        await aclient.settings.create("a-setting", {"n": 1})
        explorer = SettingsExplorer(aclient)
        async with asyncio.timeout(10):
            await explorer.wait_idle()
        assert shown_names(explorer) == ["a-setting"]
        explorer.select("a-setting")
        async with asyncio.timeout(10):
            await explorer.wait_idle()
        assert explorer.editor.value == '{\n  "n": 1\n}'
        explorer.editor.value = "[true]"
        explorer.save()
        async with asyncio.timeout(10):
            await explorer.wait_idle()
        assert (await aclient.settings.get("a-setting")).value == [True]
        explorer.close()


def test_an_async_client_without_a_running_loop_is_an_error_in_the_widget(
    mock_server: RunningServer,
) -> None:
    aclient = AsyncClient(mock_server.url, mock_server.token)
    explorer = SettingsExplorer(aclient)
    assert "needs a running event loop" in explorer.error.value
    asyncio.run(aclient.aclose())


# -- LockMonitor ----------------------------------------------------------------------------------


@pytest.fixture
async def aclients(mock_server: RunningServer) -> AsyncIterator[dict[str, AsyncClient]]:
    made = {
        who: AsyncClient(mock_server.url, mock_server.token, execution_name=who)
        for who in ("holder", "waiter", "observer")
    }
    yield made
    for c in made.values():
        await c.aclose()


async def test_monitor_reflects_a_waiter_joining_and_leaving(
    aclients: dict[str, AsyncClient],
) -> None:
    monitor = LockMonitor(aclients["observer"], names=["vm"], autostart=False)
    assert monitor.task is None
    assert await monitor.refresh()
    assert "(free)" in monitor.table.value and monitor.locks == []

    holding = aclients["holder"].lock("vm")
    await holding.acquire()
    await monitor.refresh()
    assert monitor.locks[0].holder is not None
    assert "holder" in monitor.table.value and "0 waiting" in monitor.status.value

    waiting = asyncio.create_task(aclients["waiter"].lock("vm", timeout=30).acquire())

    for _ in range(500):  # bounded: at most ~10 s
        await monitor.refresh()
        if monitor.locks and monitor.locks[0].waiters:
            break
        await asyncio.sleep(0.02)
    assert "1. waiter" in monitor.table.value and "1 held, 1 waiting" in monitor.status.value

    await holding.release()  # the waiter gets the lock and leaves the queue
    async with asyncio.timeout(10):
        assert await waiting
    await monitor.refresh()
    lock = monitor.locks[0]
    assert lock.holder is not None and lock.holder.execution_name == "waiter"
    assert lock.waiters == [] and "1 held, 0 waiting" in monitor.status.value
    assert monitor.refreshes >= 5 and monitor.last_error is None


async def test_monitor_task_refreshes_pauses_and_stop_ends_it(
    aclients: dict[str, AsyncClient],
) -> None:
    monitor = LockMonitor(aclients["observer"], interval=0.05)
    task = monitor.task
    assert task is not None and monitor.running
    await until(lambda: monitor.refreshes >= 1, "the first refresh")
    assert "No lock" in monitor.table.value

    await aclients["holder"].lock("vm").acquire()
    await until(lambda: "holder" in monitor.table.value, "the holder to show")

    monitor.pause.value = True
    assert monitor.pause.description == "Resume"
    paused_at = monitor.refreshes
    await asyncio.sleep(0.3)  # six intervals; live, that would be about six refreshes
    assert monitor.refreshes <= paused_at + 1  # at most one that was already under way
    before = monitor.refreshes
    monitor.refresh_button.click()  # an explicit refresh still works while paused
    await until(lambda: monitor.refreshes > before, "the forced refresh")
    monitor.pause.value = False
    await until(lambda: monitor.refreshes > before + 2, "polling to resume")

    monitor.stop()
    assert monitor.task is None and not monitor.running
    async with asyncio.timeout(5):
        await asyncio.wait({task})
    assert task.done() and task.cancelled()
    assert "stopped" in monitor.status.value
    stopped_at = monitor.refreshes
    await asyncio.sleep(0.15)
    assert monitor.refreshes == stopped_at
    monitor.stop()  # twice is fine


async def test_monitor_runs_a_sync_clients_calls_off_the_loop(
    mock_server: RunningServer, aclients: dict[str, AsyncClient]
) -> None:
    await aclients["holder"].lock("vm").acquire()
    with Client(mock_server.url, mock_server.token) as sync_client:
        monitor = LockMonitor(sync_client, names="vm", interval=0.05)
        await until(lambda: "holder" in monitor.table.value, "the holder to show")
        monitor.close()
        assert monitor.task is None


async def test_monitor_shows_errors_and_keeps_polling(mock_server: RunningServer) -> None:
    async with AsyncClient(mock_server.url, "wrong-token", max_retries=0) as bad:
        monitor = LockMonitor(bad, interval=0.05)
        await until(lambda: monitor.last_error, "an error")
        assert "AuthenticationError" in monitor.error.value
        assert monitor.running
        monitor.stop()


def test_monitor_without_a_running_loop_does_not_start(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as c:
        monitor = LockMonitor(c)
        assert monitor.task is None and "no running event loop" in monitor.status.value
        assert asyncio.run(monitor.refresh())
        assert "No lock" in monitor.table.value
    with pytest.raises(ValueError, match="interval"):
        LockMonitor(c, interval=0)
