"""What every benchmark shares: a server process on loopback and the printing of results."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx


@dataclass
class Server:
    url: str
    token: str
    proc: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(*extra: str) -> Iterator[Server]:
    """``python -m mock_server`` in its own process, as users run it (in memory by default)."""
    port, token = free_port(), "bench-token"
    args = [sys.executable, "-m", "mock_server", "--port", str(port), "--token", token]
    args += list(extra) or ["--memory"]
    proc = subprocess.Popen(
        [*args, "--log-level", "warning"], stderr=subprocess.DEVNULL, env=dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}/api/latest"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/alive", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Server(url, token, proc)
    finally:
        proc.terminate()
        proc.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, figures: dict[str, float | int | str]) -> None:
    """One JSON line (for machines) and one readable line (for people)."""
    print(json.dumps({"benchmark": name, **figures}))
    readable = ", ".join(
        f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
    )
    print(f"  {name}: {readable}", file=sys.stderr)


def median(values: list[float]) -> float:
    return statistics.median(values)
