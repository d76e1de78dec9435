"""TUI benchmark: list 10,000 settings, then filter them keystroke by keystroke.

Prints the time from starting the app to the first screen of settings (the first page shown),
to every setting loaded, and the median and worst latency of one filter keystroke (the key press
handled and the screen refreshed, through Textual's pilot), with the pilot's own cost for a key
that changes nothing and the net figure. Targets: first screen under 1 s, keystrokes under 100 ms.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from ._common import Server, median, report, server

COUNT = 10_000


def _seed(srv: Server, count: int) -> None:
    def create(chunk: range) -> None:
        with httpx.Client(
            base_url=srv.url, headers={"Authorization": srv.token}, timeout=30
        ) as api:
            for i in chunk:
                value = {"host": f"vm-{i}.internal", "cpus": i % 16 + 1, "tags": ["bench"]}
                api.post("/setting", json={"name": f"setting-{i:05d}", "value": value})

    step = count // 8 or 1
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, [range(i, min(count, i + step)) for i in range(0, count, step)]))


async def _measure(srv: Server) -> dict[str, float | int]:
    from tui.app import CkitApp
    from tui.screens import SettingsScreen

    app = CkitApp(srv.url, srv.token, refresh_interval=0)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        first = full = None
        while full is None:
            screen = app.screen
            if isinstance(screen, SettingsScreen):
                if first is None and screen.table.total > 0:
                    first = time.perf_counter() - started
                if screen.loaded:
                    full = time.perf_counter() - started
            await asyncio.sleep(0.002)
        assert isinstance(screen, SettingsScreen)
        total = screen.table.total
        await pilot.press("slash")
        # What the pilot itself costs per key (it waits for the screen and a refresh): a key
        # that changes nothing. The net figure is the keystroke minus this.
        baseline: list[float] = []
        for _ in range(5):
            t0 = time.perf_counter()
            await pilot.press("left")
            await pilot.pause()
            baseline.append(time.perf_counter() - t0)
        latencies: list[float] = []
        for key in [*"setting-0", *["backspace"] * 4, *"42", *["backspace"] * 11]:
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            latencies.append(time.perf_counter() - t0)
        net = median(latencies) - median(baseline)
        return {
            "settings": total,
            "first_screen_s": round(first or 0.0, 3),
            "all_loaded_s": round(full, 3),
            "filter_keystroke_median_ms": round(median(latencies) * 1000, 1),
            "filter_keystroke_max_ms": round(max(latencies) * 1000, 1),
            "pilot_noop_key_median_ms": round(median(baseline) * 1000, 1),
            "filter_keystroke_net_median_ms": round(net * 1000, 1),
            "keystrokes": len(latencies),
        }


def tui_listing(count: int = COUNT) -> None:
    """Seed ``count`` settings and print first-screen time and filter keystroke latency."""
    with server() as srv:
        _seed(srv, count)
        figures = asyncio.run(_measure(srv))
    report("tui_listing", figures)


if __name__ == "__main__":
    tui_listing()
