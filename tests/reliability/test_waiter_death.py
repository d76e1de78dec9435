"""Waiter death: a waiter SIGKILLed while it waits leaves the queue within one long-poll bound,
and the others keep their order (and are served in it)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudomation_kit import Client
from cloudomation_kit._constants import LONG_POLL_WAIT
from mock_server._locks import DEFAULT_POLL_GRACE

from ._scenarios import Child, ServerProcess, children, wait_until

pytestmark = pytest.mark.reliability


def queue_of(server: ServerProcess, lock: str) -> list[dict]:
    with server.api() as api:
        return list(api.get(f"/lock/{lock}").json()["lock"]["waiters"])


@pytest.mark.parametrize("victim", [0, 1, 2], ids=["first", "middle", "last"])
def test_killed_waiter_leaves_the_queue_and_the_order_holds(sqlite_server: ServerProcess, victim):
    lock = f"waiters-{victim}-{time.monotonic_ns()}"
    with Client(sqlite_server.url, sqlite_server.token, execution_name="holder") as client:
        held = client.lock(lock, timeout=5)
        held.acquire()
        with children() as made:
            for i in range(3):
                made.append(Child("wait", sqlite_server.url, sqlite_server.token, lock, f"w{i}"))
                made[-1].expect("STARTED")
                wait_until(lambda n=i + 1: len(queue_of(sqlite_server, lock)) == n, 20, "queue")
            before = queue_of(sqlite_server, lock)
            assert [w["execution_name"] for w in before] == ["w0", "w1", "w2"]

            killed_at = time.monotonic()
            made[victim].proc.kill()
            made[victim].wait()
            wait_until(
                lambda: len(queue_of(sqlite_server, lock)) == 2,
                LONG_POLL_WAIT,
                "the killed waiter to leave the queue",
            )
            left_after = time.monotonic() - killed_at
            print(f"the killed waiter left the queue after {left_after:.3f} s")
            assert left_after <= LONG_POLL_WAIT

            after = queue_of(sqlite_server, lock)
            survivors = [w for i, w in enumerate(before) if i != victim]
            assert [w["execution_id"] for w in after] == [w["execution_id"] for w in survivors]
            assert [w["position"] for w in after] == [1, 2]
            assert [w["waiting_since"] for w in after] == [w["waiting_since"] for w in survivors]

            held.release()
            alive = [c for i, c in enumerate(made) if i != victim]
            tokens = [int(c.expect("ACQUIRED").split()[1]) for c in alive]
            assert tokens == sorted(tokens) and tokens[0] > 0
            assert [c.wait() for c in alive] == [0, 0]
    assert queue_of(sqlite_server, lock) == []


@pytest.fixture
def short_poll_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose long-polls last 0.5 s, so a silent waiter shows within a second."""
    server = ServerProcess(db=None, log=tmp_path / "server.log", extra=["--max-wait", "0.5"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_stopped_waiter_leaves_the_queue_after_the_poll_grace(short_poll_server):
    """A SIGSTOPped waiter keeps its connection but stops polling: it leaves the queue once its
    last long-poll ended and the poll grace passed, the waiter behind it moves up and gets the
    lock, and the stopped one, resumed, is told its wait was cancelled."""
    server, lock = short_poll_server, "stopped-waiter"
    with (
        Client(server.url, server.token, execution_name="holder") as client,
        children() as made,
    ):
        held = client.lock(lock, timeout=5)
        held.acquire()
        for n, label in enumerate(("stopped", "next"), 1):
            made.append(Child("wait", server.url, server.token, lock, label))
            made[-1].expect("STARTED")
            wait_until(lambda n=n: len(queue_of(server, lock)) == n, 20, "queue")
        stopped, after = made
        stopped.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_until(
            lambda: [w["execution_name"] for w in queue_of(server, lock)] == ["next"],
            0.5 + DEFAULT_POLL_GRACE + 5,
            "the stopped waiter to leave the queue",
        )
        left_after = time.monotonic() - stopped_at
        print(f"the stopped waiter left the queue after {left_after:.2f} s")
        assert left_after >= DEFAULT_POLL_GRACE  # not before its grace ran out
        assert queue_of(server, lock)[0]["position"] == 1

        first = held.token
        held.release()
        assert first is not None and int(after.expect("ACQUIRED").split()[1]) > first
        assert after.wait() == 0
        stopped.signal(signal.SIGCONT)
        line = stopped.expect("ERROR")
        assert "ConflictError" in line and "cancelled" in line, line
