"""Helpers shared by the TUI tests (a plain module: ``tests/tui`` is no package, see conftest)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from textual.pilot import Pilot

SETTINGS: dict[str, Any] = {
    "notification_emails": ["ops@example.com", "oncall@example.com"],
    "cloud-vm-lock": None,
    "db.primary": {"host": "db-primary.internal", "port": 5432, "database": "orders"},
    "db.replica": {"host": "db-replica.internal", "port": 5432, "read_only": True},
    "feature_flags": {"new_checkout": True, "dark_mode": False},
    "backup.retention_days": 30,
    "slack.webhook_channel": "#ops-alerts",
}


def seed(api: httpx.Client, settings: dict[str, Any] | None = None) -> None:
    for name, value in (settings or SETTINGS).items():
        api.post("/setting", json={"name": name, "value": value}).raise_for_status()


async def wait_for(
    pilot: Pilot[Any], check: Callable[[], Any], what: str, within: float = 10.0
) -> Any:
    """Let the app run until ``check()`` is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await pilot.pause(0.05)


class Waiter:
    """An execution queued for a lock that long-polls from a thread, as the SDK does.

    The server drops a queued waiter with no long-poll in flight after a few seconds, so a test
    that keeps waiters around for a while needs them to keep polling.
    """

    def __init__(self, url: str, token: str, lock: str, name: str, timeout: float = 60) -> None:
        self.lock, self.name, self.timeout = lock, name, timeout
        self.api = httpx.Client(base_url=url, headers={"Authorization": token}, timeout=30)
        self.waiter_id: str | None = None
        self.outcome: str | None = None
        """``acquired``, or the HTTP status that ended the wait (423 timed out, 404 left)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"waiter-{name}", daemon=True)

    def start(self) -> Waiter:
        self._thread.start()
        return self

    def _run(self) -> None:
        r = self.api.post("/execution", json={"name": self.name, "lease_ttl": 600})
        body = {"name": self.lock, "execution_id": r.json()["execution"]["id"]}
        r = self.api.post("/lock/acquire", json={**body, "timeout": self.timeout, "wait": 0.5})
        while r.status_code == 202 and not self._stop.is_set():
            self.waiter_id = r.json()["waiter_id"]
            r = self.api.post("/lock/wait", json={"waiter_id": self.waiter_id, "wait": 0.5})
        self.outcome = "acquired" if r.status_code == 200 else str(r.status_code)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()
