"""What every benchmark shares: loopback servers, the scale of a run, and printing the results.

Each benchmark prints one JSON line on stdout (for machines) and a readable line on stderr (for
people), and adds its headline figures to ``SUMMARY``, which ``python -m benchmarks`` prints as one
table at the end (ours, python-redis-lock, ratio ours/theirs).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

__all__ = [
    "QUICK",
    "ROOT",
    "SUMMARY",
    "TOKEN",
    "Row",
    "Scale",
    "Server",
    "bounded",
    "free_port",
    "machine",
    "median",
    "percentile",
    "redis_missing",
    "redis_server",
    "report",
    "rss_kib",
    "scale",
    "server",
    "set_scale",
]

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
LOOPBACK = "127.0.0.1"
T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """How much work one run does: the full figures, or a tiny variant for the smoke test."""

    runs: int = 3
    """Runs per measurement; the median is reported."""
    op_seconds: float = 1.0
    """Longest one timed loop of quick operations runs (it also stops after ``max_ops``)."""
    max_ops: int = 3000
    handoff_seconds: float = 0.8
    handoff_waiters: tuple[int, ...] = (1, 8, 64)
    contention_procs: int = 8
    contention_ops: int = 30
    """Lock-protected increments per contending process and run."""
    timeouts: tuple[float, ...] = (0.5, 2.0)
    queue_waiters: int = 1000
    settings_seconds: float = 0.4
    listing_size: int = 100_000
    import_runs: int = 5


SCALE = Scale()
QUICK = Scale(
    runs=1,
    op_seconds=0.3,
    max_ops=300,
    handoff_seconds=0.4,
    handoff_waiters=(1, 4),
    contention_procs=2,
    contention_ops=5,
    timeouts=(0.5,),
    queue_waiters=20,
    settings_seconds=0.1,
    listing_size=300,
    import_runs=2,
)


def set_scale(scale: Scale) -> None:
    global SCALE
    SCALE = scale


def scale() -> Scale:
    return SCALE


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    token: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait_up(probe: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while not probe():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before it was up")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not up within 20 s")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def server(*extra: str) -> Iterator[Server]:
    """``python -m mock_server`` in its own process, as users run it (in memory by default)."""
    port = free_port()
    args = [sys.executable, "-m", "mock_server", "--host", LOOPBACK, "--port", str(port)]
    args += ["--token", TOKEN, *(extra or ["--memory"]), "--log-level", "warning"]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://{LOOPBACK}:{port}/api/latest"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/alive", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_up(up, proc, "mock_server")
        yield Server(url, TOKEN, proc)
    finally:
        _stop(proc)


def redis_missing() -> str | None:
    """Why python-redis-lock cannot run here, or ``None`` when it can."""
    if shutil.which("redis-server") is None:
        return "redis-server is not on the PATH (Debian: apt install redis-server)"
    for module in ("redis", "redis_lock"):
        if importlib.util.find_spec(module) is None:
            return f"the {module!r} package is missing (pip install 'cloudomation-kit[bench]')"
    return None


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A throwaway ``redis-server`` on a free loopback port, without persistence; its port."""
    import redis

    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", LOOPBACK]
    args += ["--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = redis.Redis(host=LOOPBACK, port=port, socket_timeout=1)

    def up() -> bool:
        try:
            return bool(conn.ping())
        except redis.exceptions.ConnectionError:
            return False

    try:
        _wait_up(up, proc, "redis-server")
        yield port
    finally:
        conn.close()
        _stop(proc)


def rss_kib(pid: int) -> int:
    """Resident memory of a process (``VmRSS`` in ``/proc/PID/status``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


# -- figures ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def bounded(op: Callable[[], object], seconds: float, max_ops: int) -> float:
    """Run ``op`` until ``seconds`` pass or ``max_ops`` ran; operations per second."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while done < max_ops:
        op()
        done += 1
        if time.perf_counter() >= deadline:
            break
    return done / (time.perf_counter() - started)


def report(name: str, figures: dict[str, Any]) -> None:
    """One JSON line (for machines) and one readable line (for people)."""
    print(json.dumps({"benchmark": name, **figures}), flush=True)
    readable = ", ".join(f"{k} {_fmt(v)}" for k, v in figures.items())
    print(f"  {name}: {readable}", file=sys.stderr, flush=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@dataclass
class Row:
    """One line of the summary table."""

    what: str
    ours: float | str | None
    theirs: float | str | None = None
    """python-redis-lock's figure; a string says why there is none."""
    unit: str = ""
    goal: str = ""


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, what: str, ours: float | str | None, theirs: float | str | None = None, **kw: str
    ) -> None:
        self.rows.append(Row(what, ours, theirs, **kw))

    def clear(self) -> None:
        self.rows.clear()
        self.notes.clear()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def table(self) -> str:
        header = ("", "ours", "python-redis-lock", "ours/theirs", "goal")
        lines = [header]
        for row in self.rows:
            value = row.ours if isinstance(row.ours, float | int) else None
            ours = str(row.ours or "-") if value is None else f"{_num(value)} {row.unit}".strip()
            if isinstance(row.theirs, float | int):
                theirs = f"{_num(row.theirs)} {row.unit}".strip()
                ratio = "-" if value is None or not row.theirs else f"{value / row.theirs:.2f}"
            else:
                theirs, ratio = (row.theirs or "-"), "-"
            lines.append((row.what, ours, theirs, ratio, row.goal))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for n, line in enumerate(lines):
            cells = [line[0].ljust(widths[0])]
            cells += [cell.rjust(widths[i]) for i, cell in enumerate(line[1:4], 1)]
            cells.append(line[4])
            out.append("  ".join(cells).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out + [f"note: {note}" for note in self.notes])


def _num(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


SUMMARY = Summary()


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
