"""Locks against the real server: acquire, wait, time out, lose, cancel (sync and async)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

import cloudomation_kit as ck
from cloudomation_kit import AsyncClient, Client, lock
from cloudomation_kit import _lock as lock_module
from mock_server import RunningServer

from .conftest import aw, wait_until

KitClient = Client | AsyncClient


@pytest.fixture
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long-polls of 0.2 s, so a wait runs through many /lock/wait calls."""
    monkeypatch.setattr(lock_module, "LONG_POLL_WAIT", 0.2)


@pytest.fixture
def other(mock_server: RunningServer) -> Any:
    client = Client(mock_server.url, mock_server.token, execution_name="other")
    yield client
    client.close()


def waiting_executions(api: httpx.Client) -> list[dict[str, Any]]:
    flt = '{"field": "status", "op": "eq", "value": "WAITING_LOCK"}'
    return list(api.get("/execution", params={"filter": flt}).json()["execution"])


def advance_clock(api: httpx.Client, seconds: float) -> None:
    api.post("/_testing/clock", json={"advance": seconds}).raise_for_status()


async def test_context_manager_holds_and_releases(kit_client: KitClient) -> None:
    lk = kit_client.lock("cloud-vm-lock")
    assert not lk.locked()
    if isinstance(lk, ck.AsyncSettingLock):
        async with lk as held:
            assert held is lk
            status, token = await lk.status(), lk.token
    else:
        with lk as held:
            assert held is lk
            status, token = lk.status(), lk.token
    assert status.holder is not None and status.holder.token == token
    assert status.holder.execution_name == kit_client.execution_name
    assert not lk.locked() and lk.token is None
    assert (await aw(kit_client.locks.get("cloud-vm-lock"))).holder is None


async def test_acquire_release_and_not_reentrant(kit_client: KitClient) -> None:
    lk = kit_client.lock("x")
    assert await aw(lk.acquire()) is True
    assert lk.locked() and isinstance(lk.token, int)
    with pytest.raises(ck.LockAlreadyHeldError):
        await aw(kit_client.lock("x").acquire())
    assert await aw(lk.release()) is True
    assert await aw(lk.release()) is False


async def test_busy_lock_non_blocking_and_timeout(kit_client: KitClient, other: Client) -> None:
    held = other.lock("x")
    held.acquire()
    lk = kit_client.lock("x", timeout=0.5)
    assert await aw(lk.acquire(blocking=False)) is False
    started = time.monotonic()
    with pytest.raises(ck.LockTimeoutError) as info:
        await aw(lk.acquire())
    assert 0.3 < time.monotonic() - started < 10
    assert isinstance(info.value, TimeoutError)
    assert not lk.locked()
    assert other.locks.get("x").waiters == []
    held.release()
    assert await aw(lk.acquire(timeout=0)) is True


@pytest.mark.usefixtures("short_polls")
def test_waiter_keeps_its_place_through_long_polls(
    mock_server: RunningServer, other: Client, api: httpx.Client
) -> None:
    held = other.lock("x")
    held.acquire()
    with Client(mock_server.url, mock_server.token, execution_name="waiter") as client:
        result: list[float] = []
        thread = threading.Thread(
            target=lambda: result.append(time.monotonic()) if client.lock("x").acquire() else None
        )
        thread.start()
        waiting = wait_until(lambda: waiting_executions(api), what="a WAITING_LOCK execution")
        assert [e["name"] for e in waiting] == ["waiter"]
        time.sleep(1.0)  # several 0.2 s polls: still first in line
        assert [w.execution_name for w in other.locks.get("x").waiters] == ["waiter"]
        released = time.monotonic()
        held.release()
        thread.join(10)
        assert result and result[0] >= released
        assert other.locks.get("x").holder.execution_name == "waiter"  # type: ignore[union-attr]


@pytest.mark.usefixtures("short_polls")
def test_keyboard_interrupt_while_waiting_leaves_the_queue(
    mock_server: RunningServer, other: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    other.lock("x").acquire()
    with Client(mock_server.url, mock_server.token) as client:
        real_call = client._call

        def interrupting(opts: Any, model: Any) -> Any:
            if opts.path == "/lock/wait":
                assert other.locks.get("x").waiters  # we are in the queue now
                raise KeyboardInterrupt
            return real_call(opts, model)

        monkeypatch.setattr(client, "_call", interrupting)
        with pytest.raises(KeyboardInterrupt):
            client.lock("x").acquire()
        monkeypatch.undo()
        assert other.locks.get("x").waiters == []


@pytest.mark.usefixtures("short_polls")
async def test_cancelling_an_async_wait_leaves_the_queue(
    mock_server: RunningServer, other: Client
) -> None:
    other.lock("x").acquire()
    async with AsyncClient(mock_server.url, mock_server.token) as client:
        task = asyncio.create_task(client.lock("x").acquire())
        for _ in range(200):
            if (await client.locks.get("x")).waiters:
                break
            await asyncio.sleep(0.05)
        assert (await client.locks.get("x")).waiters
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Cancelled mid-poll, the waiter leaves by /lock/cancel or, if its id was not known yet,
        # by the server seeing the long-poll's connection close: both well before the 5 s grace.
        for _ in range(60):
            if not (await client.locks.get("x")).waiters:
                break
            await asyncio.sleep(0.05)
        assert (await client.locks.get("x")).waiters == []


async def test_lost_lease_is_reported(kit_client: KitClient, api: httpx.Client) -> None:
    seen: list[Any] = []
    lk = kit_client.lock("x", lease_ttl=1, on_lost=seen.append)
    await aw(lk.acquire())
    token = lk.token
    advance_clock(api, 5)  # the server's lease runs out at once
    for _ in range(200):
        if lk.lost:
            break
        await asyncio.sleep(0.05)
    assert lk.lost and not lk.locked()
    assert seen == [lk]
    with pytest.raises(ck.FencingTokenError):
        await aw(kit_client.settings.update("x", value=1, fence=token))
    flt = '{"field": "status", "op": "eq", "value": "ENDED_ERROR"}'
    ex = await asyncio.to_thread(api.get, "/execution", params={"filter": flt})
    assert len(ex.json()["execution"]) == 1
    assert await aw(lk.release()) is False
    # the next acquisition starts a new execution
    assert await aw(kit_client.lock("x").acquire())


def test_leaving_the_block_after_a_loss_raises(mock_server: RunningServer, other: Client) -> None:
    lost = pytest.raises(ck.LockLostError, match="was lost while the block ran")
    client = Client(mock_server.url, mock_server.token, lease_ttl=1)
    with client, lost, client.lock("x") as lk:
        other.locks.force_release("x", reason="operator")
        wait_until(lambda: lk.lost, what="the heartbeat to notice the forced release")


def test_exit_never_hides_the_users_exception(mock_server: RunningServer, other: Client) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        with pytest.raises(ZeroDivisionError) as info:  # noqa: SIM117
            with client.lock("x"):
                other.locks.force_release("x")  # release will now fail
                1 / 0  # noqa: B018
        assert any("releasing lock 'x' failed" in note for note in info.value.__notes__)


def test_close_ends_the_execution(mock_server: RunningServer, api: httpx.Client) -> None:
    with Client(mock_server.url, mock_server.token, execution_name="ok") as client:
        client.lock("x").acquire()
    with pytest.raises(RuntimeError), Client(mock_server.url, mock_server.token) as client:
        client.execution_name = "failing"
        client.lock("y").acquire()
        raise RuntimeError("boom")
    ended = {e["name"]: e for e in api.get("/execution").json()["execution"]}
    assert ended["ok"]["status"] == "ENDED_SUCCESS"
    assert ended["failing"]["status"] == "ENDED_ERROR"
    assert "boom" in ended["failing"]["message"]
    assert api.get("/lock").json()["lock"] == []


async def test_async_close_ends_the_execution(
    mock_server: RunningServer, api: httpx.Client
) -> None:
    client = AsyncClient(mock_server.url, mock_server.token, execution_name="a")
    async with client, client.lock("x"):
        assert (await client.execution()).locks == ["x"]
    answer = await asyncio.to_thread(api.get, "/execution")
    assert answer.json()["execution"][0]["status"] == "ENDED_SUCCESS"


def test_one_client_is_one_execution_with_one_lease(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        client.lock("a", lease_ttl=2).acquire()
        with pytest.raises(ValueError, match="lease_ttl"):
            client.lock("b", lease_ttl=3).acquire()
        client.lock("c", lease_ttl=2).acquire()
        assert sorted(client.execution().locks) == ["a", "c"]


def test_bad_arguments_fail_before_any_request(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        with pytest.raises(ValueError):
            client.lock("  ")
        with pytest.raises(ValueError):
            client.lock("x", timeout=-1)
        with pytest.raises(ValueError):
            client.lock("x").acquire(timeout=float("nan"))
        assert client.execution_id is None


def test_module_level_lock_uses_the_environment(
    mock_server: RunningServer, monkeypatch: pytest.MonkeyPatch, api: httpx.Client
) -> None:
    from cloudomation_kit import _default

    monkeypatch.setenv("CLOUDOMATION_URL", mock_server.root)
    monkeypatch.setenv("CLOUDOMATION_TOKEN", mock_server.token)
    monkeypatch.setattr(_default, "_client", None)
    monkeypatch.setattr(_default, "_registered", True)  # no atexit hook from inside the tests
    with lock("cloud-vm-lock") as lk:
        assert lk.locked()
        assert api.get("/lock/cloud-vm-lock").json()["lock"]["holder"] is not None
    client = _default.default_client()
    assert client is _default.default_client()
    client.close()


async def test_module_level_alock(
    mock_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudomation_kit import _default

    monkeypatch.setenv("CLOUDOMATION_URL", mock_server.url)
    monkeypatch.setenv("CLOUDOMATION_TOKEN", mock_server.token)
    monkeypatch.setattr(_default, "_registered", True)
    async with ck.alock("x") as lk:
        assert lk.locked()
    await _default.default_async_client().aclose()


def test_lock_repr(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        lk = client.lock("x")
        assert repr(lk) == "<SettingLock 'x' not held>"
        lk.acquire()
        assert repr(lk) == f"<SettingLock 'x' held, token {lk.token}>"
