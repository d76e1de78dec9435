"""Logging in with user and password against a real server, and logging in again when the
login token expires (the server's clock is moved past the token's expiry)."""

from __future__ import annotations

import httpx

from cloudomation_kit import AsyncClient, Client
from mock_server import run_server

USERS = {"ann": "pw-for-ann"}


def _expire_logins(server) -> None:
    httpx.post(
        f"{server.url}/_testing/clock",
        headers={"Authorization": server.token},
        json={"advance": server.config.login_ttl + 1},
    ).raise_for_status()


def test_an_expired_login_is_renewed_without_the_caller_noticing():
    with (
        run_server(users=USERS) as server,
        Client(server.url, user="ann", password="pw-for-ann") as c,
    ):
        c.settings.create("s", 1)
        first = c._token
        _expire_logins(server)
        assert c.settings.get("s").value == 1  # 401 "expired", a new login, the same call again
        assert c._token is not None and c._token != first


async def test_an_expired_login_is_renewed_async():
    with run_server(users=USERS) as server:
        async with AsyncClient(server.url, user="ann", password="pw-for-ann") as c:
            await c.settings.create("s", 1)
            first = c._token
            _expire_logins(server)
            assert (await c.settings.get("s")).value == 1
            assert c._token is not None and c._token != first
