from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _http_helpers import fast_client, remember_secret

from mock_server import RunningServer


@pytest.fixture
def api(mock_server: RunningServer) -> Iterator[httpx.Client]:
    """An httpx client on the per-test server, with its token (remembered, so that
    ``assert_error`` can check no error body ever shows it)."""
    remember_secret(mock_server.token)
    with fast_client(mock_server.url, mock_server.token) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """``python -m mock_server`` in a child process (for tests that kill it)."""

    db: Path
    token: str = "process-token"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/latest"

    def start(self) -> ServerProcess:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mock_server",
                "--db",
                str(self.db),
                "--port",
                str(self.port),
                "--token",
                self.token,
                "--testing",
                "--log-level",
                "warning",
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/alive", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server process did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(db=tmp_path / "server.sqlite3")
    try:
        yield server
    finally:
        server.stop()
