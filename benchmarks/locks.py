"""Lock benchmarks over the REST API: uncontended cost and release-to-waiter handoff."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from ._common import Server, median, percentile, report, server

WAITER = r"""
import sys, time, httpx
url, token, name = sys.argv[1:4]
with httpx.Client(base_url=url, headers={"Authorization": token}, timeout=60) as api:
    r = api.post("/execution", json={"name": "bench-waiter", "lease_ttl": 60})
    ex = r.json()["execution"]["id"]
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        r = api.post("/lock/acquire", json={"name": name, "execution_id": ex, "timeout": None})
        while r.status_code == 202:
            r = api.post("/lock/wait", json={"waiter_id": r.json()["waiter_id"]})
        done = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
        api.post("/lock/release", json={"name": name, "execution_id": ex})
        print(done, flush=True)
"""


def _client(srv: Server) -> httpx.Client:
    return httpx.Client(base_url=srv.url, headers={"Authorization": srv.token}, timeout=60)


def uncontended(rounds: int = 500) -> None:
    with server() as srv, _client(srv) as api:
        ex = api.post("/execution", json={"name": "bench"}).json()["execution"]["id"]
        body = {"name": "bench-lock", "execution_id": ex}
        for _ in range(20):  # warm up
            api.post("/lock/acquire", json=body)
            api.post("/lock/release", json=body)
        started = time.perf_counter()
        for _ in range(rounds):
            api.post("/lock/acquire", json=body)
            api.post("/lock/release", json=body)
        elapsed = time.perf_counter() - started
    report("uncontended", {"client": "httpx", "ops_per_s": rounds / elapsed, "rounds": rounds})


def handoff(rounds: int = 60) -> None:
    """From the holder's release call to the blocked waiter's return, waiter in its own process."""
    with server() as srv, _client(srv) as api:
        ex = api.post("/execution", json={"name": "bench-holder", "lease_ttl": 60}).json()
        holder = {"name": "handoff", "execution_id": ex["execution"]["id"]}
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAITER, srv.url, srv.token, "handoff"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert waiter.stdin is not None and waiter.stdout is not None
        latencies = []
        try:
            for _ in range(rounds):
                api.post("/lock/acquire", json={**holder, "timeout": None}).raise_for_status()
                waiter.stdin.write("go\n")
                waiter.stdin.flush()
                while not api.get("/lock/handoff").json()["lock"]["waiters"]:
                    time.sleep(0.001)
                released = time.monotonic()
                api.post("/lock/release", json=holder).raise_for_status()
                woke = float(waiter.stdout.readline())
                latencies.append((woke - released) * 1000)
                # wait until the waiter has released again
                while api.get("/lock/handoff").json()["lock"]["holder"] is not None:
                    time.sleep(0.001)
        finally:
            waiter.stdin.write("quit\n")
            waiter.stdin.close()
            waiter.wait(10)
    report(
        "handoff",
        {
            "waiters": 1,
            "p50_ms": median(latencies),
            "p99_ms": percentile(latencies, 0.99),
            "rounds": rounds,
        },
    )
