"""Mutual exclusion across OS processes, and durability across a killed server."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

CONTENDER = Path(__file__).with_name("_contender.py")


@pytest.mark.slow
def test_eight_processes_increment_exactly(mock_server, tmp_path):
    procs, cycles = 8, 200
    logs = [tmp_path / f"log{i}" for i in range(procs)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                str(CONTENDER),
                mock_server.url,
                mock_server.token,
                f"p{i}",
                str(cycles),
                str(logs[i]),
            ]
        )
        for i in range(procs)
    ]
    for child in children:
        assert child.wait(timeout=240) == 0
    with httpx.Client(
        base_url=mock_server.url, headers={"Authorization": mock_server.token}
    ) as api:
        value = api.get("/setting/counter", params={"by": "name"}).json()["setting"]["value"]
    assert value == procs * cycles

    # No two holders overlap: sorted by token, each enter follows the previous leave.
    spans: dict[int, list[float]] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            _kind, token, at = line.split()
            spans.setdefault(int(token), []).append(float(at))
    ordered = sorted(spans.items())
    assert len(ordered) == procs * cycles
    for (_, (enter_a, leave_a)), (_, (enter_b, _)) in itertools.pairwise(ordered):
        assert enter_a <= leave_a <= enter_b


@pytest.mark.slow
def test_killed_server_keeps_acknowledged_writes_and_grows_tokens(server_process):
    server = server_process.start()
    acked: list[int] = []
    tokens: list[int] = []
    stop = threading.Event()

    def write_load() -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": server.token}, timeout=5
        ) as api:
            ex = api.post("/execution", json={"name": "writer", "lease_ttl": 60}).json()[
                "execution"
            ]["id"]
            i = 0
            while not stop.is_set():
                try:
                    r = api.post(
                        "/setting", json={"name": f"k-{i}", "value": {"i": i, "pad": "x" * 200}}
                    )
                    if r.status_code == 200:
                        acked.append(i)
                    if i % 10 == 0:
                        a = api.post(
                            "/lock/acquire", json={"name": "l", "execution_id": ex, "timeout": 0}
                        )
                        if a.status_code == 200:
                            tokens.append(a.json()["token"])
                            api.post("/lock/release", json={"name": "l", "execution_id": ex})
                except httpx.TransportError:
                    return
                i += 1

    writer = threading.Thread(target=write_load)
    writer.start()
    deadline = threading.Event()
    while len(acked) < 300 and not deadline.wait(0.02):
        pass
    server.kill()  # SIGKILL in the middle of writes
    stop.set()
    writer.join(10)
    assert len(acked) >= 300 and tokens

    server.start()  # same SQLite file, new process
    with httpx.Client(
        base_url=server.url, headers={"Authorization": server.token}, timeout=10
    ) as api:
        r = api.get("/setting", params={"plain": True, "fields": "name,value", "limit": 10000})
        stored = {s["name"]: s["value"] for s in r.json()}
        for i in acked:
            assert stored[f"k-{i}"] == {"i": i, "pad": "x" * 200}
        after = api.post("/lock/acquire", json={"name": "l", "timeout": 0}).json()["token"]
    assert after > max(tokens)
