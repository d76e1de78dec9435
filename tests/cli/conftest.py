"""Fixtures for the ``ckit`` tests: run ``python -m cloudomation_kit`` against the loopback server.

Every child gets ``HOME`` (and the config dir) under ``tmp_path``, so no real config file counts,
and ``stdin`` from ``/dev/null`` unless a test gives one, so no child touches the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import RunningServer

CKIT = [sys.executable, "-m", "cloudomation_kit"]


@pytest.fixture
def env(mock_server: RunningServer, tmp_path: Path) -> dict[str, str]:
    """The environment of a ckit child: the test server, and a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLOUDOMATION_", "CKIT_")) and k not in ("EDITOR", "VISUAL")
    }
    base.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        CLOUDOMATION_URL=mock_server.url,
        CLOUDOMATION_TOKEN=mock_server.token,
        PYTHONUNBUFFERED="1",
    )
    return base


@pytest.fixture
def api(mock_server: RunningServer) -> Iterator[httpx.Client]:
    """A raw httpx client on the server, to set things up and to check behind ckit's back."""
    with httpx.Client(
        base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def ckit(env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ckit to the end (bounded): ``ckit("settings", "ls", input=..., extra_env=...)``."""

    def run(
        *args: str,
        input: str | None = None,
        extra_env: dict[str, str] | None = None,
        timeout: float = 30,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CKIT, *args],
            cwd=cwd,
            env={**env, **(extra_env or {})},
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@dataclass
class Running:
    """A ckit child still running; its output goes to files (no pipe can fill up)."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()


@pytest.fixture
def start(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start ckit in the background: ``start("lock", "job", "--", ...)``; killed at teardown."""
    made: list[Running] = []

    def spawn(*args: str, stderr: Any = None) -> Running:
        n = len(made)
        out, err = tmp_path / f"ckit{n}.out", tmp_path / f"ckit{n}.err"
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(
                [*CKIT, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe if stderr is None else stderr,
            )
        running = Running(proc, out, err)
        made.append(running)
        return running

    yield spawn
    for running in made:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def hold(api: httpx.Client, name: str) -> dict[str, Any]:
    """Take lock ``name`` through the API (long lease, no heartbeat needed in a test)."""
    response = api.post("/lock/acquire", json={"name": name, "timeout": 0, "lease_ttl": 300})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def lock_state(api: httpx.Client, name: str) -> dict[str, Any]:
    response = api.get(f"/lock/{name}")
    response.raise_for_status()
    state: dict[str, Any] = response.json()["lock"]
    return state


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def inproc(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    """Run ``main(argv)`` in this process (fast; for parsing and validation, not for signals)."""
    for name in list(os.environ):
        if name.startswith("CLOUDOMATION_"):
            monkeypatch.delenv(name)
    for name in ("HOME", "XDG_CONFIG_HOME", "CLOUDOMATION_URL", "CLOUDOMATION_TOKEN"):
        monkeypatch.setenv(name, env[name])

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Outcome:
        from cloudomation_kit.cli import main

        with monkeypatch.context() as patch:
            for name, value in (extra_env or {}).items():
                patch.setenv(name, value)
            capsys.readouterr()
            code = main(list(args))
            captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
