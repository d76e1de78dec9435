"""TUI benchmark: list 10,000 settings, then filter them keystroke by keystroke.

Prints the time from starting the app to the first screen of settings (the first page shown),
to every setting loaded, and the median and worst latency of one filter keystroke: from the key
event entering the app, as a terminal driver delivers it, to the first screen refresh after the
table shows the new filter. The pilot's figures are printed too: its press-and-pause also sleeps
until the process looks idle, which costs ~85 ms even for a key that changes nothing. Targets:
first screen under 1 s, keystrokes under 100 ms.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
        keys = [*"setting-0", *["backspace"] * 4, *"42", *["backspace"] * 7]  # back to no filter
        latencies: list[float] = []
        for key in keys:
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            latencies.append(time.perf_counter() - t0)
        net = median(latencies) - median(baseline)
        # The same keystrokes without the pilot's idle-waiting (it sleeps until the process
        # looks idle): from the key event entering the app, as a terminal delivers it, to the
        # first screen refresh after the table shows the new filter.
        direct = await _direct_keystrokes(app, screen, keys)
        return {
            "settings": total,
            "first_screen_s": round(first or 0.0, 3),
            "all_loaded_s": round(full, 3),
            "filter_keystroke_median_ms": round(median(direct) * 1000, 1),
            "filter_keystroke_max_ms": round(max(direct) * 1000, 1),
            "pilot_keystroke_median_ms": round(median(latencies) * 1000, 1),
            "pilot_noop_key_median_ms": round(median(baseline) * 1000, 1),
            "pilot_keystroke_net_median_ms": round(net * 1000, 1),
            "keystrokes": len(direct),
        }


async def _direct_keystrokes(app: Any, screen: Any, keys: list[str]) -> list[float]:
    from textual import events

    loop = asyncio.get_running_loop()
    typed = screen.table.filter_text
    latencies: list[float] = []
    for key in keys:
        typed = typed[:-1] if key == "backspace" else typed + key
        char = None if key == "backspace" else key
        t0 = time.perf_counter()
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
        deadline = t0 + 5
        while screen.table.filter_text != typed:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the filter never became {typed!r}")
            await asyncio.sleep(0)
        refreshed: asyncio.Future[None] = loop.create_future()
        app.call_after_refresh(lambda f=refreshed: f.done() or f.set_result(None))
        await asyncio.wait_for(refreshed, 5)
        latencies.append(time.perf_counter() - t0)
    return latencies


def tui_listing(count: int = COUNT) -> None:
    """Seed ``count`` settings and print first-screen time and filter keystroke latency."""
    with server() as srv:
        _seed(srv, count)
        figures = asyncio.run(_measure(srv))
    report("tui_listing", figures)


if __name__ == "__main__":
    tui_listing()
