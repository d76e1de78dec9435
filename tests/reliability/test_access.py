"""Access: what tests/server/test_http_errors.py does not already show.

That file shows every endpoint refusing a missing or wrong token (401) and a read-only token on
every write and lock route (403, store unchanged), and that no token shows in an error body. Here:
the read-only token through the SDK (refused at once, nothing left behind, nothing retried), the
403 coming before the body is even read, a holder that another execution cannot release without
force (and that learns of a forced release), and no token or password in the server's logs (at
debug level, with the access log on) or in the SDK's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloudomation_kit import (
    AsyncClient,
    Client,
    CloudomationError,
    FencingTokenError,
    LockLostError,
    LockNotHeldError,
    PermissionDenied,
)

from ._scenarios import ServerProcess, wait_until
from .conftest import READ_TOKEN

pytestmark = pytest.mark.reliability


def state(server: ServerProcess) -> dict:
    with server.api() as api:
        found = api.get("/_testing/state").json()
    found.pop("now")
    return found


def test_read_only_token_is_refused_at_once_through_the_sdk(sqlite_server: ServerProcess):
    sqlite_server.reset()
    with Client(sqlite_server.url, sqlite_server.token) as rw:
        rw.settings.create("guarded", [1])
        with rw.lock("held", timeout=5):
            before = state(sqlite_server)
            started = time.monotonic()
            with Client(sqlite_server.url, READ_TOKEN, max_retries=2) as ro:
                assert ro.settings.get("guarded").value == [1]  # reading is allowed
                attempts = [
                    lambda: ro.settings.create("new", 1),
                    lambda: ro.settings.update("guarded", value=2),
                    lambda: ro.settings.delete("guarded"),
                    lambda: ro.lock("guarded", timeout=5).acquire(),
                    lambda: ro.lock("fresh", timeout=0).acquire(),
                    lambda: ro.locks.force_release("held"),
                    lambda: ro.execution(),
                ]
                for attempt in attempts:
                    with pytest.raises(PermissionDenied, match="read-only"):
                        attempt()
            assert time.monotonic() - started < 5, "a 403 was retried or waited on"
            assert state(sqlite_server) == before


async def test_read_only_token_is_refused_through_the_async_sdk(sqlite_server: ServerProcess):
    sqlite_server.reset()
    before = state(sqlite_server)
    async with AsyncClient(sqlite_server.url, READ_TOKEN) as ro:
        with pytest.raises(PermissionDenied):
            await ro.lock("guarded", timeout=5).acquire()
        with pytest.raises(PermissionDenied):
            await ro.settings.create("new", 1)
    assert state(sqlite_server) == before


WRITE_ROUTES = [
    ("POST", "/setting"),
    ("PATCH", "/setting/guarded?by=name"),
    ("DELETE", "/setting/guarded?by=name"),
    ("POST", "/execution"),
    ("POST", "/lock/acquire"),
    ("POST", "/lock/wait"),
    ("POST", "/lock/cancel"),
    ("POST", "/lock/release"),
]


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"[" * 10_000], ids=["broken", "empty", "deep"]
)
def test_read_only_token_gets_403_before_its_body_is_read(sqlite_server: ServerProcess, body):
    sqlite_server.reset()
    with sqlite_server.api() as api:
        api.post("/setting", json={"name": "guarded", "value": 1}).raise_for_status()
    before = state(sqlite_server)
    with httpx.Client(base_url=sqlite_server.url, headers={"Authorization": READ_TOKEN}) as ro:
        for method, path in WRITE_ROUTES:
            r = ro.request(method, path, content=body)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"] == "PermissionDenied"
            assert READ_TOKEN not in r.text
    assert state(sqlite_server) == before


def test_another_execution_cannot_release_a_holder_without_force(sqlite_server: ServerProcess):
    sqlite_server.reset()
    lost: list[str] = []
    with (
        Client(sqlite_server.url, sqlite_server.token, execution_name="a", lease_ttl=1.5) as a,
        Client(sqlite_server.url, sqlite_server.token, execution_name="b") as b,
    ):
        held = a.lock("job", timeout=5, on_lost=lambda lock: lost.append(lock.lost_reason))
        held.acquire()
        other = b.execution().id
        with sqlite_server.api() as api:
            for who in ({"execution_id": other}, {"token": held.token + 1}, {}):
                r = api.post("/lock/release", json={"name": "job", **who})
                assert r.status_code in (409, 422), r.text
        a.settings.update("job", value="still mine", fence=held.token)  # still the holder
        assert not held.lost

        c = Client(sqlite_server.url, sqlite_server.token, execution_name="operator")
        with c:
            c.locks.force_release("job", reason="stuck")
        # The holder hears it on its next heartbeat (every lease/3 = 0.5 s).
        wait_until(lambda: held.lost, 5, "the holder to learn of the forced release")
        assert lost and held.lost_reason
        with pytest.raises(FencingTokenError):
            a.settings.update("job", value="stale", fence=held.token)
        with pytest.raises(LockLostError):
            held.__exit__(None, None, None)
        with pytest.raises(LockNotHeldError):
            b.locks.force_release("job")  # nobody holds it now


@pytest.fixture
def logged_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        db=tmp_path / "s.sqlite3",
        log=tmp_path / "server.log",
        token="rw-token-never-logged-5b1f",
        read_token="ro-token-never-logged-77c2",
        log_level="debug",
        extra=["--access-log", "--user", "alice", "--password", "pw-never-logged-0d9e"],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_tokens_never_appear_in_server_or_client_logs(logged_server: ServerProcess, caplog):
    server = logged_server
    caplog.set_level(logging.DEBUG)
    secrets = [server.token, READ_TOKEN, "ro-token-never-logged-77c2", "pw-never-logged-0d9e"]
    with Client(server.url, user="alice", password="pw-never-logged-0d9e") as client:
        client.login()
        secrets.append(client._token or "")
        client.settings.create("x", 1)
        with client.lock("x", timeout=5) as held:
            token = held.token
            client.settings.update("x", value=2, fence=token)
        for failing in (
            lambda: client.settings.get("missing"),
            lambda: client.settings.update("x", value=3, fence=token),
        ):
            with pytest.raises(CloudomationError):
                failing()
    for token in (server.token, "ro-token-never-logged-77c2", "wrong-token-never-logged-aa01"):
        with httpx.Client(base_url=server.url, headers={"Authorization": token}) as raw:
            raw.get("/setting")
            raw.post("/setting", json={"name": "y"})
            raw.post("/lock/acquire", json={"name": "y", "timeout": 0})
            raw.post("/lock/release", content=b"{broken")
            raw.get(f"/setting/{token}", params={"by": "name"})  # a token in a path is data
    secrets.append("wrong-token-never-logged-aa01")
    server.stop()
    server_log = Path(server.log).read_text()
    assert "POST /api/latest/lock/acquire" in server_log  # the access log did run
    client_log = caplog.text
    assert "cloudomation_kit" in client_log or "httpx" in client_log
    for secret in secrets:
        assert secret and secret not in server_log.replace(f"/setting/{secret}", "/setting/<p>")
        assert secret not in client_log.replace(f"/setting/{secret}", "/setting/<p>")
