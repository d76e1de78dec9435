"""Two OS processes contend for one lock through the module-level ``with lock(...)``."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Child, wait_until

HOLDER = str(Path(__file__).with_name("_holder.py"))

pytestmark = pytest.mark.slow


def start(children: list[Child], env: dict[str, str], *args: object) -> Child:
    child = Child([HOLDER, *map(str, args)], env)
    children.append(child)
    return child


def queue_of(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    return list(api.get(f"/lock/{name}").json()["lock"]["waiters"])


def waiting_names(api: httpx.Client) -> list[str]:
    flt = '{"field": "status", "op": "eq", "value": "WAITING_LOCK"}'
    return [e["name"] for e in api.get("/execution", params={"filter": flt}).json()["execution"]]


def test_second_process_waits_then_times_out(
    children: list[Child], child_env: dict[str, str], api: httpx.Client
) -> None:
    first = start(children, child_env, "x", 10, 30)
    first.expect("ACQUIRED")
    second = start(children, child_env, "x", 2, 0)
    waiters = wait_until(lambda: queue_of(api, "x"), what="the second process in the queue")
    assert waiters[0]["position"] == 1
    assert waiting_names(api) == [waiters[0]["execution_name"]]
    assert "_holder.py" in waiters[0]["execution_name"]
    line = second.expect("TIMEOUT")
    assert 1.5 <= float(line.split()[1]) <= 5.0
    assert second.wait() == 3
    assert queue_of(api, "x") == []
    assert waiting_names(api) == []
    # the second process handled the timeout and exited, ending its execution on the way out
    statuses = sorted(e["status"] for e in api.get("/execution").json()["execution"])
    assert statuses == ["ENDED_SUCCESS", "RUNNING"]


def test_second_process_enters_when_the_first_releases(
    children: list[Child], child_env: dict[str, str], api: httpx.Client
) -> None:
    first = start(children, child_env, "x", 10, 1)
    first.expect("ACQUIRED")
    second = start(children, child_env, "x", 15, 0)
    wait_until(lambda: queue_of(api, "x"), what="the second process in the queue")
    first.expect("RELEASED")
    second.expect("ACQUIRED")
    assert second.wait() == 0
    assert first.wait() == 0
    ended = [e["status"] for e in api.get("/execution").json()["execution"]]
    assert ended == ["ENDED_SUCCESS", "ENDED_SUCCESS"]


def test_killed_holder_loses_the_lock_when_its_lease_runs_out(
    children: list[Child], child_env: dict[str, str], api: httpx.Client
) -> None:
    first = start(children, child_env, "x", 10, 60, 1.0)
    first.expect("ACQUIRED")
    holder = api.get("/lock/x").json()["lock"]["holder"]
    second = start(children, child_env, "x", 20, 0)
    wait_until(lambda: queue_of(api, "x"), what="the second process in the queue")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait()
    second.expect("ACQUIRED")
    assert second.wait() == 0
    dead = api.get(f"/execution/{holder['execution_id']}").json()["execution"]
    assert dead["status"] == "ENDED_ERROR"
    assert "lease" in dead["message"]


def test_killed_holder_and_an_advanced_clock(
    children: list[Child], child_env: dict[str, str], api: httpx.Client
) -> None:
    first = start(children, child_env, "x", 10, 60)  # default 15 s lease
    first.expect("ACQUIRED")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait()
    api.post("/_testing/clock", json={"advance": 20}).raise_for_status()
    second = start(children, child_env, "x", 5, 0)
    second.expect("ACQUIRED")
    assert second.wait() == 0
