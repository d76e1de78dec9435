"""Lock benchmarks, through the SDK (what users run), and python-redis-lock on the same workloads.

- ``uncontended``: acquire+release in a loop, one client (``Client`` and ``AsyncClient``).
- ``handoff``: from the holder's release call to the next waiter's return, with 1, 8 and 64
  waiters in other processes (p50, p99).
- ``contention``: 8 processes doing a lock-protected read-increment-write; ops/s, mutual exclusion
  checked, and how far apart the first and the last process finish.
- ``timeout``: how late ``acquire(timeout=...)`` gives up on a held lock.
- ``queue``: 1,000 asyncio waiters on one lock: served in the order they joined, none lost, and
  what the queue costs the server in resident memory.

python-redis-lock runs when ``redis-server`` and the ``redis``/``redis_lock`` packages are present
(``pip install 'cloudomation-kit[bench]'``); otherwise its column says why not.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cloudomation_kit import AsyncClient, Client, LockTimeoutError

from ._common import (
    SUMMARY,
    Server,
    bounded,
    median,
    percentile,
    redis_missing,
    redis_server,
    report,
    rss_kib,
    scale,
    server,
)
from ._pool import Pool

HANDOFF_HOLD = 0.003
"""Seconds a handoff contender holds the lock: long enough for the previous holder to queue
again, so each release finds a waiter (handoffs without one are not counted anyway)."""
JOIN_BATCH = 50
"""Waiters that join the 1,000-waiter queue at once."""
RUN_LIMIT = 60.0
"""Seconds a run may overrun its planned duration before the benchmark fails."""


def _client(srv: Server, name: str = "bench") -> Client:
    return Client(srv.url, srv.token, lease_ttl=60, execution_name=name)


def _redis_note() -> str | None:
    missing = redis_missing()
    if missing:
        SUMMARY.note(f"python-redis-lock skipped: {missing}")
    return missing


@contextlib.contextmanager
def _redis(port: int) -> Iterator[Any]:
    import redis

    conn = redis.Redis(host="127.0.0.1", port=port)
    try:
        yield conn
    finally:
        conn.close()


def _ratio(ours: float, theirs: float | None) -> float | None:
    return None if not theirs else ours / theirs


# -- uncontended ------------------------------------------------------------------------------


def uncontended() -> None:
    s = scale()
    figures: dict[str, Any] = {}
    with server() as srv:
        with _client(srv) as client:
            lock = client.lock("bench-uncontended")

            def sync_op() -> None:
                lock.acquire()
                lock.release()

            bounded(sync_op, 0.2, 20)  # warm up: execution started, connection open
            runs = [bounded(sync_op, s.op_seconds, s.max_ops) for _ in range(s.runs)]
            figures["sync_ops_per_s"] = median(runs)
        figures["async_ops_per_s"] = asyncio.run(_uncontended_async(srv))
    theirs = None
    if not _redis_note():
        with redis_server() as port, _redis(port) as conn:
            import redis_lock

            rlock = redis_lock.Lock(conn, "bench-uncontended")

            def redis_op() -> None:
                rlock.acquire()
                rlock.release()

            bounded(redis_op, 0.2, 20)
            theirs = median([bounded(redis_op, s.op_seconds, s.max_ops) for _ in range(s.runs)])
        figures["redis_lock_ops_per_s"] = theirs
        figures["ratio_sync"] = _ratio(figures["sync_ops_per_s"], theirs)
    report("uncontended", {**figures, "runs": s.runs})
    why = redis_missing() or "no async API"
    SUMMARY.add(
        "uncontended acquire+release, Client",
        figures["sync_ops_per_s"],
        theirs if theirs is not None else why,
        unit="/s",
        goal="ratio >= 0.6",
    )
    SUMMARY.add(
        "uncontended acquire+release, AsyncClient",
        figures["async_ops_per_s"],
        "no async API",
        unit="/s",
    )


async def _uncontended_async(srv: Server) -> float:
    s = scale()
    async with AsyncClient(
        srv.url, srv.token, lease_ttl=60, execution_name="bench-async"
    ) as client:
        lock = client.lock("bench-uncontended-async")

        async def loop(seconds: float, max_ops: int) -> float:
            done = 0
            started = time.perf_counter()
            while done < max_ops:
                await lock.acquire()
                await lock.release()
                done += 1
                if time.perf_counter() - started >= seconds:
                    break
            return done / (time.perf_counter() - started)

        await loop(0.2, 20)
        return median([await loop(s.op_seconds, s.max_ops) for _ in range(s.runs)])


# -- handoff ----------------------------------------------------------------------------------


@dataclass
class Handoffs:
    """What the records of one run say about handoffs (latencies in ms)."""

    to_waiter: list[float] = field(default_factory=list)
    """Each release with an acquirer already waiting (its acquire call began before the
    release): the time to the first such waiter's return, the issue's "release call -> next
    waiter returns". When the releaser takes the lock back first (barging), this includes that
    whole hold."""
    won: list[float] = field(default_factory=list)
    """The same, for the releases whose very next acquisition was by a waiter (the one figure
    the previous version of this benchmark kept: it leaves barged releases out)."""
    barged: int = 0
    """Releases with a waiter whose next acquisition went to someone who was not waiting."""
    exclusive: bool = True


def handoff_latencies(records: list[list[float]]) -> Handoffs:
    """Pair each release call (records are ``[called, acquired, released]``) with the waiters'
    acquisitions after it. A release with nobody waiting is no handoff and is not counted, nor
    one whose waiter had not returned when the run ended."""
    by_acquired = sorted(records, key=lambda r: r[1])
    acquired = [r[1] for r in by_acquired]
    out = Handoffs(exclusive=all(a[1] >= b[2] for b, a in itertools.pairwise(by_acquired)))
    for _called, _acq, released in records:
        i = bisect.bisect_right(acquired, released)
        waiter = next((r for r in itertools.islice(by_acquired, i, None) if r[0] < released), None)
        if waiter is None:
            continue
        latency = (waiter[1] - released) * 1000
        out.to_waiter.append(latency)
        if waiter is by_acquired[i]:
            out.won.append(latency)
        else:
            out.barged += 1
    return out


def _handoff_runs(cfg: dict[str, Any], waiters: int) -> dict[str, Any]:
    """p50/p99 of the release->return latencies (median over runs), for ``waiters`` + 1
    contenders: to the waiter, and only where the waiter won (barged releases left out)."""
    s = scale()
    p50s, p99s, won50s, samples, barged, exclusive = [], [], [], 0, 0, True
    with Pool(cfg, threads=waiters + 1, procs=8) as pool:
        for _ in range(s.runs):
            _start, outputs = pool.run(s.handoff_seconds, 100_000, HANDOFF_HOLD, RUN_LIMIT)
            records = [r for out in outputs for r in out.get("records", [])]
            run = handoff_latencies(records)
            exclusive = exclusive and run.exclusive
            if not run.to_waiter or not run.won:
                raise RuntimeError(f"no handoff measured with {waiters} waiter(s)")
            p50s.append(median(run.to_waiter))
            p99s.append(percentile(run.to_waiter, 0.99))
            won50s.append(median(run.won))
            samples += len(run.to_waiter)
            barged += run.barged
    return {
        "p50_ms": median(p50s),
        "p99_ms": median(p99s),
        "won_p50_ms": median(won50s),
        "samples": samples,
        "barged": barged,
        "exclusive": exclusive,
    }


def handoff() -> None:
    s = scale()
    missing = _redis_note()
    with server() as srv, contextlib.ExitStack() as stack:
        port = None if missing else stack.enter_context(redis_server())
        for n in s.handoff_waiters:
            lock = f"bench-handoff-{n}"
            ours = _handoff_runs(
                {
                    "backend": "kit",
                    "workload": "handoff",
                    "lock": lock,
                    "url": srv.url,
                    "token": srv.token,
                },
                n,
            )
            figures: dict[str, Any] = {"waiters": n, **ours}
            theirs = None
            if port is not None:
                theirs = _handoff_runs(
                    {"backend": "redis", "workload": "handoff", "lock": lock, "port": port}, n
                )
                figures.update({f"redis_lock_{k}": v for k, v in theirs.items()})
                figures["ratio_p50"] = _ratio(ours["p50_ms"], theirs["p50_ms"])
                figures["ratio_won_p50"] = _ratio(ours["won_p50_ms"], theirs["won_p50_ms"])
            report("handoff", {**figures, "runs": s.runs})
            label = f"{n} waiter{'s' if n > 1 else ''}"
            for q in ("p50", "p99"):
                SUMMARY.add(
                    f"handoff {q}, {label}",
                    ours[f"{q}_ms"],
                    theirs[f"{q}_ms"] if theirs else missing,
                    unit="ms",
                    goal="ratio <= 1.0" if q == "p50" else "",
                )
            SUMMARY.add(
                f"  p50 where the waiter won, {label}",
                ours["won_p50_ms"],
                theirs["won_p50_ms"] if theirs else missing,
                unit="ms",
                goal="ratio <= 1.0",
            )
            SUMMARY.add(
                f"  releases barged (taken back), {label}",
                f"{ours['barged']} of {ours['samples']}",
                f"{theirs['barged']} of {theirs['samples']}" if theirs else missing,
            )
            if not ours["exclusive"]:
                SUMMARY.note(f"handoff with {n} waiters: two holds overlapped (ours)!")


# -- contention -------------------------------------------------------------------------------


def _contention_runs(cfg: dict[str, Any], reset: Any, read: Any) -> dict[str, Any]:
    s = scale()
    rates, spreads, exact, exclusive = [], [], True, True
    with Pool(cfg, threads=s.contention_procs, procs=s.contention_procs) as pool:
        for _ in range(s.runs):
            reset()
            start, outputs = pool.run(RUN_LIMIT, s.contention_ops, limit=RUN_LIMIT)
            records = sorted((r for out in outputs for r in out["records"]), key=lambda r: r[0])
            finished = [max(out["finished"]) for out in outputs]
            exact = exact and read() == len(records) == s.contention_procs * s.contention_ops
            exclusive = exclusive and all(a[0] >= b[1] for b, a in itertools.pairwise(records))
            rates.append(len(records) / (max(finished) - start))
            spreads.append(max(finished) - min(finished))
    return {
        "ops_per_s": median(rates),
        "finish_spread_s": median(spreads),
        "count_exact": exact,
        "exclusive": exclusive,
    }


def contention() -> None:
    s = scale()
    lock = "bench-counter"
    with server() as srv, _client(srv, "bench-contention-main") as client:
        client.settings.create(lock, 0)
        ours = _contention_runs(
            {
                "backend": "kit",
                "workload": "contention",
                "lock": lock,
                "url": srv.url,
                "token": srv.token,
            },
            lambda: client.settings.update(lock, value=0),
            lambda: client.settings.get(lock).value,
        )
    figures: dict[str, Any] = {"processes": s.contention_procs, **ours}
    theirs = None
    missing = _redis_note()
    if not missing:
        with redis_server() as port, _redis(port) as conn:
            counter = f"counter:{lock}"
            theirs = _contention_runs(
                {"backend": "redis", "workload": "contention", "lock": lock, "port": port},
                lambda: conn.set(counter, 0),
                lambda: int(conn.get(counter)),
            )
        figures.update({f"redis_lock_{k}": v for k, v in theirs.items()})
        figures["ratio_ops"] = _ratio(ours["ops_per_s"], theirs["ops_per_s"])
    report("contention", {**figures, "ops_per_process": s.contention_ops, "runs": s.runs})
    n = s.contention_procs
    SUMMARY.add(
        f"{n} processes contending (locked increments)",
        ours["ops_per_s"],
        theirs["ops_per_s"] if theirs else missing,
        unit="/s",
    )
    SUMMARY.add(
        f"{n} processes: first to last finish",
        ours["finish_spread_s"],
        theirs["finish_spread_s"] if theirs else missing,
        unit="s",
        goal="ours < 0.1 s",
    )
    for who, fig in (("ours", ours), ("python-redis-lock", theirs)):
        if fig and not (fig["count_exact"] and fig["exclusive"]):
            SUMMARY.note(f"contention: mutual exclusion broken ({who}): {fig}")


# -- timeout ----------------------------------------------------------------------------------


def timeout() -> None:
    s = scale()
    ours: dict[float, float] = {}
    with server() as srv, _client(srv, "bench-holder") as holder, _client(srv, "bench-w") as waiter:
        holder.lock("bench-timeout").acquire()
        waiter.execution()  # started before the clock runs
        lock = waiter.lock("bench-timeout")
        for wait in s.timeouts:
            runs = []
            for _ in range(s.runs):
                started = time.monotonic()
                try:
                    lock.acquire(timeout=wait)
                except LockTimeoutError:
                    runs.append(time.monotonic() - started)
                else:
                    raise RuntimeError("acquired a held lock")
            ours[wait] = (median(runs) - wait) * 1000
    theirs: dict[float, float | str] = {}
    missing = _redis_note()
    if not missing:
        theirs = _redis_timeouts()
    for wait in s.timeouts:
        other = theirs.get(wait, missing)
        figures: dict[str, Any] = {"timeout_s": wait, "overshoot_ms": ours[wait]}
        if not missing:
            figures["redis_lock_overshoot_ms"] = other
        report("timeout", {**figures, "runs": s.runs})
        SUMMARY.add(
            f"acquire(timeout={wait:g}) overshoot",
            ours[wait],
            other,
            unit="ms",
            goal="ours < 10 ms",
        )


def _redis_timeouts() -> dict[float, float | str]:
    import redis_lock

    s = scale()
    out: dict[float, float | str] = {}
    with redis_server() as port, _redis(port) as c1, _redis(port) as c2:
        redis_lock.Lock(c1, "bench-timeout").acquire()
        lock = redis_lock.Lock(c2, "bench-timeout")
        for wait in s.timeouts:
            if int(wait) == 0:
                # It takes whole seconds: int(0.5) == 0, which means "wait forever".
                out[wait] = "unsupported (0 = forever)"
                continue
            runs = []
            for _ in range(s.runs):
                started = time.monotonic()
                if lock.acquire(timeout=wait):
                    raise RuntimeError("python-redis-lock acquired a held lock")
                runs.append(time.monotonic() - started)
            out[wait] = (median(runs) - wait) * 1000
    return out


# -- 1,000 waiters ----------------------------------------------------------------------------


def queue() -> None:
    n = scale().queue_waiters
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * n + 256
    if soft != resource.RLIM_INFINITY and soft < need:
        top = need if hard == resource.RLIM_INFINITY else min(hard, need)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    with server() as srv:
        figures = asyncio.run(_queue(srv, n))
    report("queue", figures)
    SUMMARY.add(
        f"{n:,} waiters: server memory increase",
        figures["server_rss_increase_mb"],
        "-",
        unit="MB",
        goal="< 100 MB",
    )
    SUMMARY.add(
        f"{n:,} waiters: served in join order / none lost",
        f"{_yes(figures['in_order'])} / {_yes(figures['all_served'])}",
        "-",
        goal="yes / yes",
    )
    SUMMARY.add(f"{n:,} waiters: handoffs per second", figures["handoffs_per_s"], "-", unit="/s")


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


async def _queue(srv: Server, n: int) -> dict[str, Any]:
    name = "bench-queue"

    def new(label: str) -> AsyncClient:
        return AsyncClient(srv.url, srv.token, lease_ttl=120, execution_name=label)

    holder = new("bench-queue-holder")
    clients = [new(f"bench-queue-{i}") for i in range(n)]
    gate = asyncio.Semaphore(50)
    served: list[str | None] = []
    deadline = time.monotonic() + 120

    async def start(c: AsyncClient) -> None:
        async with gate:
            await c.execution()

    async def wait_turn(c: AsyncClient) -> None:
        lock = c.lock(name, timeout=120)
        await lock.acquire()
        served.append(c.execution_id)
        await lock.release()

    try:
        hold = holder.lock(name)
        await hold.acquire()
        before = rss_kib(srv.pid)
        t0 = time.monotonic()
        await asyncio.gather(*(start(c) for c in clients))
        t1 = time.monotonic()
        # Join in batches, each queued before the next starts: a thousand connects at once
        # would measure the listen backlog, not the queue.
        tasks: list[asyncio.Task[None]] = []
        for first in range(0, n, JOIN_BATCH):
            tasks += [
                asyncio.create_task(wait_turn(c)) for c in clients[first : first + JOIN_BATCH]
            ]
            while True:
                seen = await holder.locks.get(name)
                failed = any(t.done() for t in tasks)
                if len(seen.waiters) >= len(tasks) or failed or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
            if failed:
                break
        joined = [w.execution_id for w in sorted(seen.waiters, key=lambda w: w.position)]
        full = rss_kib(srv.pid)
        released = time.monotonic()
        failed_early = [t.exception() for t in tasks if t.done() and t.exception()]
        await hold.release()
        done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        drained = time.monotonic() - released
        for task in pending:
            task.cancel()
        failures = [repr(t.exception()) for t in done if t.exception() is not None]
    finally:
        await asyncio.gather(*(_aclose(c, gate) for c in [*clients, holder]))
    return {
        "waiters": n,
        "queued": len(joined),
        "served": len(served),
        "all_served": len(served) == n and not pending and not failures,
        "in_order": served == joined and len(joined) == n,
        "server_rss_before_mb": before / 1024,
        "server_rss_full_mb": full / 1024,
        "server_rss_increase_mb": (full - before) / 1024,
        "executions_s": t1 - t0,
        "join_s": released - t1,
        "drain_s": drained,
        "handoffs_per_s": len(served) / drained,
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "failed_before_release": len(failed_early),
    }


async def _aclose(c: AsyncClient, gate: asyncio.Semaphore) -> None:
    async with gate:
        with contextlib.suppress(Exception):
            await c.aclose()
