"""respx: the retry policy, with sleeps patched so nothing waits."""

from __future__ import annotations

import httpx
import pytest
import respx

import cloudomation_kit as ck
from cloudomation_kit import AsyncClient, Client
from cloudomation_kit._base import RequestOptions

from .conftest import TOKEN, URL

SETTING = {
    "id": "5b0c0a6e-8d1f-4a43-9a50-2b7e0c7d2f11",
    "name": "thing",
    "value": 1,
    "description": None,
    "created_at": "2026-01-01T00:00:00Z",
    "modified_at": "2026-01-01T00:00:00Z",
    "version": 1,
}
OK = httpx.Response(200, json={"setting": SETTING})


def _client(sleeps: list[float], max_retries: int = 2) -> Client:
    client = Client(URL, TOKEN, max_retries=max_retries)
    client._sleep = sleeps.append
    return client


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.Response(503), id="503"),
        pytest.param(httpx.Response(500, json={"error": "InternalError"}), id="500"),
        pytest.param(httpx.Response(429), id="429"),
        pytest.param(httpx.ConnectError("refused"), id="connect"),
        pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
    ],
)
@respx.mock
def test_idempotent_get_is_retried(failure: object) -> None:
    sleeps: list[float] = []
    route = respx.get(f"{URL}/setting/thing").mock(side_effect=[failure, failure, OK])
    with _client(sleeps) as client:
        assert client.settings.get("thing").value == 1
    assert route.call_count == 3
    assert len(sleeps) == 2


@respx.mock
def test_gives_up_after_max_retries() -> None:
    sleeps: list[float] = []
    route = respx.get(f"{URL}/setting/thing").mock(return_value=httpx.Response(503))
    with _client(sleeps, max_retries=3) as client, pytest.raises(ck.InternalServerError):
        client.settings.get("thing")
    assert route.call_count == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("status", [400, 404, 409, 412, 422, 423])
@respx.mock
def test_client_errors_are_not_retried(status: int) -> None:
    sleeps: list[float] = []
    route = respx.get(f"{URL}/setting/thing").mock(return_value=httpx.Response(status))
    with _client(sleeps) as client, pytest.raises((ck.APIStatusError, ck.LockTimeoutError)):
        client.settings.get("thing")
    assert route.call_count == 1
    assert sleeps == []


@respx.mock
def test_post_is_not_retried_on_5xx() -> None:
    sleeps: list[float] = []
    route = respx.post(f"{URL}/setting").mock(side_effect=[httpx.Response(503), OK])
    with _client(sleeps) as client, pytest.raises(ck.InternalServerError):
        client.settings.create("thing", 1)
    assert route.call_count == 1
    assert sleeps == []


@respx.mock
def test_post_is_not_retried_after_a_read_error() -> None:
    sleeps: list[float] = []
    route = respx.post(f"{URL}/setting").mock(side_effect=[httpx.ReadError("reset"), OK])
    with _client(sleeps) as client, pytest.raises(ck.APIConnectionError):
        client.settings.create("thing", 1)
    assert route.call_count == 1
    assert sleeps == []


@respx.mock
def test_refused_connection_is_retried_even_for_post() -> None:
    sleeps: list[float] = []
    route = respx.post(f"{URL}/setting").mock(side_effect=[httpx.ConnectError("refused"), OK])
    with _client(sleeps) as client:
        client.settings.create("thing", 1)
    assert route.call_count == 2


@respx.mock
def test_lock_wait_is_retried_as_idempotent() -> None:
    sleeps: list[float] = []
    route = respx.post(f"{URL}/lock/cancel").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"status": "cancelled"})]
    )
    with _client(sleeps) as client:
        opts = RequestOptions("POST", "/lock/cancel", json={"waiter_id": "w"}, idempotent=True)
        client._send(opts)
    assert route.call_count == 2


@respx.mock
async def test_async_client_retries_with_its_own_sleep() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    route = respx.get(f"{URL}/setting/thing").mock(side_effect=[httpx.Response(503), OK])
    async with AsyncClient(URL, TOKEN) as client:
        client._sleep = fake_sleep
        assert (await client.settings.get("thing")).value == 1
    assert route.call_count == 2
    assert len(sleeps) == 1


@respx.mock
def test_retry_after_is_obeyed() -> None:
    sleeps: list[float] = []
    respx.get(f"{URL}/setting/thing").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), OK]
    )
    with _client(sleeps) as client:
        client.settings.get("thing")
    assert sleeps == [3.0]


def test_backoff_is_capped_exponential_with_jitter() -> None:
    client = Client(URL, TOKEN)
    for attempt in range(10):
        expected = min(0.5 * 2**attempt, 8.0)
        for _ in range(20):
            delay = client._retry_delay(attempt)
            assert 0.75 * expected <= delay <= expected
    huge = httpx.Response(503, headers={"Retry-After": "3600"})
    assert client._retry_delay(0, huge) <= 0.5
    ms = httpx.Response(503, headers={"retry-after-ms": "250"})
    assert client._retry_delay(0, ms) == 0.25
    client.close()


@respx.mock
def test_login_with_user_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", URL)
    monkeypatch.setenv("CLOUDOMATION_USER", "ann")
    monkeypatch.setenv("CLOUDOMATION_PASSWORD", "secret")
    login = respx.post(f"{URL}/auth/login").mock(
        return_value=httpx.Response(200, json={"token": "tok-1", "user_name": "ann"})
    )
    route = respx.get(f"{URL}/setting/thing").mock(return_value=OK)
    with Client() as client:
        client.settings.get("thing")
    assert login.calls.last.request.read() == b'{"user_name":"ann","password":"secret"}'
    assert route.calls.last.request.headers["Authorization"] == "tok-1"
