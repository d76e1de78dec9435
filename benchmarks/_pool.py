"""The parent side of ``_worker``: start contending processes, run measured runs, collect."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from types import TracebackType
from typing import IO, Any

from ._common import ROOT

__all__ = ["Pool"]

START_DELAY = 0.3
"""Seconds between sending a run's command and its start, so every thread starts together."""


def spread(total: int, procs: int) -> list[int]:
    """``total`` threads over ``procs`` processes, as evenly as can be."""
    procs = max(1, min(procs, total))
    return [total // procs + (1 if i < total % procs else 0) for i in range(procs)]


class Pool:
    """Processes running ``python -m benchmarks._worker``, ``threads`` contenders in all."""

    def __init__(self, cfg: dict[str, Any], threads: int, procs: int, startup: float = 60) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        first = 0
        try:
            for n in spread(threads, procs):
                args = [sys.executable, "-m", "benchmarks._worker"]
                args.append(json.dumps({**cfg, "threads": n, "first": first}))
                proc = subprocess.Popen(
                    args,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
                self.procs.append(proc)
                first += n
            deadline = time.monotonic() + startup
            for proc in self.procs:
                line = _readline(proc, deadline)
                if line.strip() != "ready":
                    raise RuntimeError(f"a worker did not start: {line!r}")
        except BaseException:
            self.close()
            raise

    def run(
        self, seconds: float, ops: int, hold: float = 0.0, limit: float = 60
    ) -> tuple[float, list[dict[str, Any]]]:
        """One measured run in every process: its start time and each process's output."""
        start = time.monotonic() + START_DELAY
        cmd = {"start": start, "end": start + seconds, "ops": ops, "hold": hold}
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(cmd) + "\n")
            proc.stdin.flush()
        deadline = start + seconds + limit
        outputs = [json.loads(_readline(proc, deadline)) for proc in self.procs]
        errors = [e for out in outputs for e in out.get("errors", [])]
        if errors:
            raise RuntimeError(f"{len(errors)} contender(s) failed, first: {errors[0]}")
        return start, outputs

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.write("quit\n")
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _readline(proc: subprocess.Popen[str], deadline: float) -> str:
    stdout: IO[str] | None = proc.stdout
    assert stdout is not None
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([stdout], [], [], left)[0]:
        raise TimeoutError("a worker did not answer in time")
    line = stdout.readline()
    if not line:
        raise RuntimeError(f"a worker exited (status {proc.wait(5)})")
    return line
