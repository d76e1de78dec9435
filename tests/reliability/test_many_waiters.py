"""Many waiters: 1,000 asyncio clients queue on one lock and are served strictly FIFO, with no
lost wakeup; the server's resident memory for the crowd is printed."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from pathlib import Path

import httpx
import pytest

from cloudomation_kit import AsyncClient
from cloudomation_kit._constants import LONG_POLL_WAIT

from ._scenarios import ServerProcess

pytestmark = pytest.mark.reliability

CROWD = 1000
LOCK = "crowd"


@pytest.fixture
def memory_server(tmp_path: Path):
    server = ServerProcess(db=None, log=tmp_path / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_thousand_waiters_are_served_in_queue_order(memory_server: ServerProcess):
    server = memory_server
    context = ssl.create_default_context()  # one TLS context for all, never used on http://

    def client(name: str) -> AsyncClient:
        transport = httpx.AsyncHTTPTransport(verify=context)
        return AsyncClient(
            server.url, server.token, execution_name=name, lease_ttl=60, transport=transport
        )

    granted: list[tuple[str, float]] = []

    async def waiter(c: AsyncClient) -> None:
        async with c.lock(LOCK, timeout=300) as held:
            assert held.token is not None
            granted.append((c.execution_id or "", time.monotonic()))

    holder = client("holder")
    crowd = [client(f"w{i:04d}") for i in range(CROWD)]
    api = httpx.AsyncClient(base_url=server.url, headers={"Authorization": server.token})
    try:
        held = holder.lock(LOCK, timeout=5)
        await held.acquire()
        rss_before = server.rss_kib()
        tasks = [asyncio.create_task(waiter(c)) for c in crowd]
        deadline = time.monotonic() + 90
        while True:
            lock = (await api.get(f"/lock/{LOCK}", timeout=30)).json()["lock"]
            if len(lock["waiters"]) == CROWD or time.monotonic() > deadline:
                break
            assert not any(t.done() for t in tasks), [t for t in tasks if t.done()][:1]
            await asyncio.sleep(0.5)
        rss_queued = server.rss_kib()
        queue = [w["execution_id"] for w in lock["waiters"]]
        assert len(queue) == CROWD, f"only {len(queue)} of {CROWD} waiters queued in 90 s"
        assert [w["position"] for w in lock["waiters"]] == list(range(1, CROWD + 1))
        since = [w["waiting_since"] for w in lock["waiters"]]
        assert since == sorted(since)

        released_at = time.monotonic()
        await held.release()
        done, pending = await asyncio.wait(tasks, timeout=120)
        assert not pending, f"{len(pending)} waiters were never served (lost wakeup?)"
        for task in done:
            task.result()
        served = time.monotonic() - released_at
    finally:
        await api.aclose()
        await asyncio.gather(holder.aclose(), *(c.aclose() for c in crowd))

    assert [execution for execution, _ in granted] == queue, "not served in queue order"
    times = [released_at] + [at for _, at in granted]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    print(
        f"\n{CROWD} waiters: server RSS {rss_before / 1024:.1f} MiB -> {rss_queued / 1024:.1f} MiB "
        f"queued (+{(rss_queued - rss_before) / 1024:.1f} MiB, "
        f"{(rss_queued - rss_before) / CROWD:.1f} KiB per waiter); all served in {served:.2f} s, "
        f"longest handoff {max(gaps) * 1000:.1f} ms"
    )
    # A lost wakeup would leave a waiter until its long-poll ends (up to 15 s); handoffs are
    # pushed, so every one must be far shorter than a long-poll period.
    assert max(gaps) < LONG_POLL_WAIT / 3
