"""``--demo``: example settings, and background executions taking turns on two locks.

The executions are threads, each with its own sync ``Client`` (so each is one execution on the
server, with its own heartbeat). They hold ``cloud-vm-lock`` or ``db-migration-lock`` for a
moment, so the queues on the Locks screen move as soon as the app opens; one of them is impatient
and gives up after a short wait, which shows a waiter timing out.
"""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Any

from cloudomation_kit import Client, CloudomationError, LockTimeoutError

__all__ = ["DEMO_SETTINGS", "DemoExecutions", "seed"]

DEMO_SETTINGS: dict[str, tuple[Any, str | None]] = {
    "notification_emails": (["ops@example.com", "oncall@example.com"], "Who hears about failures"),
    "cloud-vm-lock": (None, "Serialises VM provisioning in the shared cloud account"),
    "db-migration-lock": (None, "One schema migration at a time"),
    "db.primary": (
        {"host": "db-primary.internal", "port": 5432, "database": "orders", "pool": 20},
        "Primary database connection",
    ),
    "db.replica": (
        {"host": "db-replica.internal", "port": 5432, "database": "orders", "read_only": True},
        "Read replica for reports",
    ),
    "cloud.regions": (["eu-central-1", "eu-west-1", "us-east-1"], "Regions we deploy to"),
    "cloud.vm_defaults": (
        {"size": "m5.large", "disk_gb": 80, "image": "ubuntu-24.04", "tags": {"team": "platform"}},
        "Defaults for new VMs",
    ),
    "feature_flags": ({"new_checkout": True, "dark_mode": False, "beta_reports": True}, None),
    "maintenance_window": ({"day": "sunday", "start": "02:00", "end": "04:00", "tz": "UTC"}, None),
    "backup.retention_days": (30, "How long nightly backups are kept"),
    "rate_limits": ({"api": 600, "webhooks": 120, "burst": 50}, "Requests per minute"),
    "slack.webhook_channel": ("#ops-alerts", None),
    "vault.paths": ({"db": "secret/data/db", "cloud": "secret/data/cloud"}, None),
}

# (execution name, lock, hold seconds, pause seconds, wait timeout)
WORKERS: list[tuple[str, str, float, float, float | None]] = [
    ("provision-vm.py@build-01", "cloud-vm-lock", 1.2, 0.3, 60.0),
    ("provision-vm.py@build-02", "cloud-vm-lock", 0.9, 0.6, 60.0),
    ("resize-disk.py@ops-07", "cloud-vm-lock", 1.5, 0.8, 60.0),
    ("cost-report.py@cron", "cloud-vm-lock", 0.6, 1.0, 1.5),
    ("migrate-orders.py@deploy", "db-migration-lock", 2.0, 0.5, 60.0),
    ("vacuum-analyze.py@cron", "db-migration-lock", 1.0, 1.2, 60.0),
]


def seed(url: str, token: str) -> None:
    """Create the example settings (those already there are left alone)."""
    with Client(url, token, execution_name="ckit-demo-seed") as client:
        for name, (value, description) in DEMO_SETTINGS.items():
            if not client.settings.exists(name):
                client.settings.create(name, value, description)


class DemoExecutions:
    """Threads that take turns on the demo locks until ``stop()``."""

    def __init__(self, url: str, token: str, *, speed: float = 1.0) -> None:
        self.url, self.token, self.speed = url, token, speed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i, spec in enumerate(WORKERS):
            thread = threading.Thread(
                target=self._run, args=(i, *spec), name=f"demo-{spec[0]}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout / max(1, len(self._threads)))

    def _run(
        self, index: int, name: str, lock: str, hold: float, pause: float, timeout: float | None
    ) -> None:
        rng = random.Random(index)
        # Stagger the start so the queue builds up in a readable order.
        if self._stop.wait(0.15 * index):
            return
        with contextlib.suppress(CloudomationError, RuntimeError):
            client = Client(self.url, self.token, execution_name=name, lease_ttl=10.0)
            try:
                while not self._stop.is_set():
                    try:
                        with client.lock(lock, timeout=timeout):
                            self._stop.wait(hold * rng.uniform(0.7, 1.3) / self.speed)
                    except LockTimeoutError:
                        pass
                    self._stop.wait(pause * rng.uniform(0.5, 1.5) / self.speed)
            finally:
                with contextlib.suppress(CloudomationError, RuntimeError):
                    client.close()
