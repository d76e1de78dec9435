"""Timeouts honoured: under load, an acquire that cannot succeed ends within 100 ms of its
deadline, for timeouts from 0 to 5 s, on sync and async clients."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from cloudomation_kit import AsyncClient, Client, LockTimeoutError

from ._scenarios import Child, ServerProcess, children

pytestmark = pytest.mark.reliability

SYNC_TIMEOUTS = [0.0, 0.25, 1.0, 2.5, 5.0]
ASYNC_TIMEOUTS = [0.0, 0.5, 3.0]
SLACK = 0.1


def timed_sync(server: ServerProcess, timeout: float, out: dict) -> None:
    with Client(server.url, server.token, execution_name=f"sync-{timeout}") as client:
        client.execution()  # the execution exists before the clock starts
        lock = client.lock("busy", timeout=timeout)
        started = time.monotonic()
        try:
            lock.acquire()
            out[("sync", timeout)] = "acquired a held lock"
        except LockTimeoutError:
            out[("sync", timeout)] = time.monotonic() - started


async def timed_async(server: ServerProcess, seconds: float, out: dict) -> None:
    async with AsyncClient(server.url, server.token, execution_name=f"async-{seconds}") as client:
        await client.execution()
        lock = client.lock("busy", timeout=seconds)
        started = time.monotonic()
        try:
            await lock.acquire()
            out[("async", seconds)] = "acquired a held lock"
        except LockTimeoutError:
            out[("async", seconds)] = time.monotonic() - started


async def all_async(server: ServerProcess, out: dict) -> None:
    await asyncio.gather(*(timed_async(server, t, out) for t in ASYNC_TIMEOUTS))


def test_acquire_timeouts_end_within_100_ms_of_the_deadline_under_load(
    sqlite_server: ServerProcess, tmp_path
):
    results: dict = {}
    with (
        Client(sqlite_server.url, sqlite_server.token, execution_name="holder") as holder,
        holder.lock("busy", timeout=5),
        children() as load,
    ):
        # Load: four processes in a lock-protected write loop on another lock.
        for i in range(4):
            mode = "sync" if i % 2 else "async"
            log = tmp_path / f"load{i}.log"
            load.append(
                Child(
                    "contend",
                    *(sqlite_server.url, sqlite_server.token, f"load{i}", mode, 10_000, log),
                    "load",
                )
            )
        time.sleep(1.0)  # the load processes are up and contending
        threads = [
            threading.Thread(target=timed_sync, args=(sqlite_server, t, results))
            for t in SYNC_TIMEOUTS
        ]
        threads.append(
            threading.Thread(target=lambda: asyncio.run(all_async(sqlite_server, results)))
        )
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads), "an acquire did not end"
        assert all(c.proc.poll() is None for c in load), "the load processes stopped early"
    print("timeout -> elapsed:", {f"{k[0]} {k[1]}": round(v, 3) for k, v in results.items()})
    assert len(results) == len(SYNC_TIMEOUTS) + len(ASYNC_TIMEOUTS)
    for (kind, timeout), elapsed in results.items():
        assert isinstance(elapsed, float), (kind, timeout, elapsed)
        assert abs(elapsed - timeout) <= SLACK, (kind, timeout, elapsed)
