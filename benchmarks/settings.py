"""Settings benchmarks on the SQLite store: reads and writes, and listing 100,000 settings."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from cloudomation_kit import Client

from ._common import SUMMARY, Server, bounded, median, report, scale, server

SIZES = {"1KiB": 1024, "100KiB": 100 * 1024}


def value_of(size: int) -> dict[str, Any]:
    """A JSON object of about ``size`` bytes: 64-character strings under numbered keys."""
    count = max(1, size // 76)  # '"k0000": "<64 chars>", ' is about 76 bytes
    return {f"k{i:04d}": f"{i:064d}" for i in range(count)}


def _client(srv: Server) -> Client:
    return Client(srv.url, srv.token, execution_name="bench-settings")


def settings() -> None:
    s = scale()
    with (
        tempfile.TemporaryDirectory(prefix="ckit-bench-") as tmp,
        server("--db", str(Path(tmp) / "bench.sqlite3")) as srv,
        _client(srv) as client,
    ):
        for label, size in SIZES.items():
            value = value_of(size)
            created = client.settings.create(f"bench-{label}", value)
            keys = {"name": created.name, "id": created.id}
            figures: dict[str, Any] = {"value": label}
            for by, key in keys.items():

                def read(key: str = key) -> None:
                    client.settings.get(key)

                def write(key: str = key, value: Any = value) -> None:
                    client.settings.update(key, value=value)

                for op, fn in (("read", read), ("write", write)):
                    bounded(fn, 0.1, 5)  # warm up
                    runs = [bounded(fn, s.settings_seconds, s.max_ops) for _ in range(s.runs)]
                    figures[f"{op}_by_{by}_per_s"] = median(runs)
            report("settings", {**figures, "store": "sqlite", "runs": s.runs})
            for op in ("read", "write"):
                for by in keys:
                    SUMMARY.add(
                        f"setting {op} {label}, by {by} (SQLite)",
                        figures[f"{op}_by_{by}_per_s"],
                        "-",
                        unit="/s",
                    )


def seed(path: Path, count: int) -> None:
    """``count`` settings straight into the SQLite file, in one transaction (no server)."""
    from mock_server import SqliteStore, SystemClock

    store = SqliteStore(path, SystemClock())
    try:
        store._db.execute("BEGIN")
        for i in range(count):
            store.create(f"bench-{i:06d}", {"n": i, "tags": ["a", "b"]}, f"setting {i}")
        store._db.execute("COMMIT")
    finally:
        store.close()


def listing() -> None:
    s = scale()
    n = s.listing_size
    # name like 'bench-%7' matches every tenth setting
    pattern = "bench-%7"
    with tempfile.TemporaryDirectory(prefix="ckit-bench-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        seed(path, n)
        seeded = time.perf_counter() - started
        with server("--db", str(path)) as srv, _client(srv) as client:
            # One full listing (it takes seconds); the filtered one is repeated.
            started = time.perf_counter()
            count = sum(1 for _ in client.settings.list())
            full = time.perf_counter() - started
            flt = []
            for _ in range(s.runs):
                started = time.perf_counter()
                matched = sum(1 for _ in client.settings.list(name_like=pattern))
                flt.append(time.perf_counter() - started)
            if count != n or matched != n // 10:
                raise RuntimeError(f"listing saw {count} settings and {matched} matches")
    figures = {
        "settings": n,
        "seed_s": seeded,
        "list_all_s": full,
        "list_all_per_s": n / full,
        "filtered_s": median(flt),
        "filtered_matches": matched,
        "filter": f"name like {pattern!r}",
    }
    report("listing", {**figures, "store": "sqlite", "filtered_runs": s.runs})
    SUMMARY.add(f"list all {n:,} settings (SQLite)", full, "-", unit="s")
    SUMMARY.add(f"list {matched:,} of {n:,} by name like", median(flt), "-", unit="s")
