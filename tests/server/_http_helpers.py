"""Helpers for the HTTP error tests: error-body checks and a read-back of the whole state."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mock_server import RunningServer, ServerConfig, build_backend, create_app

__all__ = [
    "ROUTES",
    "assert_error",
    "create_execution",
    "create_setting",
    "fast_client",
    "fill_path",
    "route_id",
    "snapshot",
]

_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@contextmanager
def fast_client(base_url: str = "", token: str | None = None) -> Iterator[httpx.Client]:
    """An httpx client with TCP_NODELAY and no TLS setup.

    A plain ``httpx.Client`` spends ~35 ms building a TLS context it never uses here, and
    without TCP_NODELAY a request could wait ~40 ms for a delayed ACK (Nagle); with hundreds
    of short tests either would make them slow.
    """
    transport = httpx.HTTPTransport(verify=False, socket_options=_NODELAY)
    headers = {"Authorization": token} if token else {}
    with httpx.Client(base_url=base_url, headers=headers, transport=transport, timeout=30) as c:
        yield c


_SECRETS: set[str] = set()
"""Every token the tests have used; none may ever appear in an error body."""


def remember_secret(token: str) -> None:
    _SECRETS.add(token)


def assert_error(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    """The answer has ``status`` and the body ``{"error": name, "message": <non-empty>}``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] == name, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    for secret in _SECRETS:
        assert secret not in response.text, "a token leaked into an error body"
    return body


def snapshot(api: httpx.Client) -> dict[str, Any]:
    """Settings, locks, executions and the last event number, read back through the API."""
    r = api.get("/_testing/state")
    assert r.status_code == 200, r.text
    state = r.json()
    state.pop("now")
    return state


def create_setting(
    api: httpx.Client, name: str, value: Any = None, **fields: Any
) -> dict[str, Any]:
    r = api.post("/setting", json={"name": name, "value": value, **fields})
    assert r.status_code == 200, r.text
    setting: dict[str, Any] = r.json()["setting"]
    return setting


def create_execution(api: httpx.Client, name: str, lease_ttl: float = 3600) -> str:
    r = api.post("/execution", json={"name": name, "lease_ttl": lease_ttl})
    assert r.status_code == 200, r.text
    execution_id: str = r.json()["execution"]["id"]
    return execution_id


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) of the API, from the app's own OpenAPI document (``--testing`` on)."""
    app = create_app(build_backend(memory=True, testing=True), ServerConfig(testing=True))
    out = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            out.append((method.upper(), path.removeprefix("/api/latest")))
    return sorted(out)


ROUTES = _routes()
PUBLIC = {("GET", "/alive"), ("POST", "/auth/login")}


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def fill_path(path: str, values: dict[str, str] | None = None) -> str:
    """Put values (default: placeholders) into ``{key}``, ``{name}`` and ``{execution_id}``."""
    values = values or {}
    defaults = {"key": str(uuid.uuid4()), "name": "some-lock", "execution_id": str(uuid.uuid4())}
    for param, default in defaults.items():
        path = path.replace("{" + param + "}", values.get(param, default))
    assert "{" not in path, f"unfilled path parameter in {path}"
    return path


def server_secrets(server: RunningServer) -> None:
    remember_secret(server.token)
