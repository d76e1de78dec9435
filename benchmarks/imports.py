"""``import cloudomation_kit`` time in fresh interpreters, and what ``-X importtime`` blames."""

from __future__ import annotations

import os
import subprocess
import sys

from ._common import ROOT, SUMMARY, median, report, scale

TIMED = (
    "import time; t = time.perf_counter(); import cloudomation_kit; print(time.perf_counter() - t)"
)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def biggest(importtime: str, top: int = 6) -> dict[str, float]:
    """The largest contributors in ``-X importtime`` output, in ms: third-party and stdlib
    packages by cumulative time (a package's time includes what it imports), and
    cloudomation_kit's own modules by self time."""
    packages: dict[str, float] = {}
    own: dict[str, float] = {}
    for line in importtime.splitlines():
        fields = line.split(":", 1)[-1].split("|")
        if not line.startswith("import time:") or len(fields) != 3:
            continue
        try:
            self_us, cumulative_us = int(fields[0]), int(fields[1])
        except ValueError:
            continue  # the header line
        module = fields[2].strip()
        if module.startswith("cloudomation_kit."):
            own[module] = self_us / 1000
        elif "." not in module and module != "cloudomation_kit":
            packages[module] = max(packages.get(module, 0.0), cumulative_us / 1000)
    best = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:top]
    mine = sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:3]
    return {name: round(ms, 1) for name, ms in best + [(f"{m} (self)", v) for m, v in mine]}


def imports() -> None:
    s = scale()
    _python("-c", "import cloudomation_kit")  # warm the bytecode and the page cache
    runs = [float(_python("-c", TIMED).stdout) * 1000 for _ in range(s.import_runs)]
    profile = _python("-X", "importtime", "-c", "import cloudomation_kit").stderr
    top = biggest(profile)
    figures = {"median_ms": median(runs), "min_ms": min(runs), "runs": s.import_runs}
    report("import", {**figures, "biggest_ms": top})
    SUMMARY.add("import cloudomation_kit", median(runs), "-", unit="ms", goal="< 150 ms")
    SUMMARY.note(
        "import time, largest (ms; packages cumulative, nested ones counted in both): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in top.items())
    )
