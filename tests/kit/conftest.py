from __future__ import annotations

import inspect
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudomation_kit import AsyncClient, Client
from mock_server import RunningServer

URL = "http://cloudomation.test/api/latest"
TOKEN = "test-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CLOUDOMATION_* from the outside, and a config home of our own."""
    for name in list(os.environ):
        if name.startswith("CLOUDOMATION_"):
            monkeypatch.delenv(name)
    config_home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    return config_home


@pytest.fixture(autouse=True)
def httpx_transport_under_respx(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """respx intercepts httpx's own transports, so respx modules get them instead of the lean
    ones (which tests/kit/test_transport.py exercises against a real server)."""
    if "respx" in vars(request.module):
        monkeypatch.setattr("cloudomation_kit._client.LeanTransport", httpx.HTTPTransport)
        monkeypatch.setattr("cloudomation_kit._client.AsyncLeanTransport", httpx.AsyncHTTPTransport)


async def aw(value: Any) -> Any:
    """Await the result of an async client's call; pass a sync one through."""
    return await value if inspect.isawaitable(value) else value


async def collect(iterable: Any) -> list[Any]:
    if hasattr(iterable, "__aiter__"):
        return [item async for item in iterable]
    return list(iterable)


@pytest.fixture(params=["sync", "async"])
async def kit_client(
    request: pytest.FixtureRequest, mock_server: RunningServer
) -> AsyncIterator[Client | AsyncClient]:
    """A Client and an AsyncClient on the per-test server: one shared suite runs on both."""
    if request.param == "sync":
        client = Client(mock_server.url, mock_server.token)
        yield client
        client.close()
    else:
        aclient = AsyncClient(mock_server.url, mock_server.token)
        yield aclient
        await aclient.aclose()


@pytest.fixture
def api(mock_server: RunningServer) -> Iterator[httpx.Client]:
    """A raw httpx client on the server, for looking behind the SDK's back."""
    with httpx.Client(
        base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=10
    ) as client:
        yield client


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Child:
    """A Python child process whose stdout lines can be awaited with a bound."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=self._pump, args=(stdout,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line starting {prefix!r}; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    made: list[Child] = []
    yield made
    for child in made:
        child.kill()


@pytest.fixture
def child_env(mock_server: RunningServer, clean_env: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDOMATION_")}
    env.update(
        CLOUDOMATION_URL=mock_server.url,
        CLOUDOMATION_TOKEN=mock_server.token,
        XDG_CONFIG_HOME=str(clean_env),
    )
    return env
