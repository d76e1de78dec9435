"""The lock manager's state as the wire shows it (docs/api.md): locks, holders, queues, results.

A mixin of ``LockManager`` (``_locks.py``): read-only views over its ``_locks``, kept apart from
the algorithm that changes them.
"""

from __future__ import annotations

from typing import Any

from ._lockstate import ExecutionState, LockState, WaiterState
from ._store import SettingRecord, iso

__all__ = ["LockViews"]


class LockViews:
    """The ``*_wire`` views of a ``LockManager``."""

    _locks: dict[str, LockState]

    def lock_wire(self, setting: SettingRecord) -> dict[str, Any]:
        lock = self._locks.get(setting.id)
        return (
            self._lock_wire(lock)
            if lock
            else {
                "name": setting.name,
                "setting_id": setting.id,
                "holder": None,
                "waiters": [],
            }
        )

    def locks_wire(self) -> list[dict[str, Any]]:
        """Every held or contended lock, by name."""
        busy = [lk for lk in self._locks.values() if lk.holder is not None or lk.queue]
        return [self._lock_wire(lk) for lk in sorted(busy, key=lambda lk: lk.name)]

    def _lock_wire(self, lock: LockState) -> dict[str, Any]:
        return {
            "name": lock.name,
            "setting_id": lock.setting_id,
            "holder": self.holder_wire(lock.holder),
            "waiters": [self._waiter_wire(w, i) for i, w in enumerate(lock.queue.values(), 1)],
        }

    def holder_wire(self, w: WaiterState | None) -> dict[str, Any] | None:
        if w is None:
            return None
        lease = w.execution.lease_expires_at
        return {
            "execution_id": w.execution.id,
            "execution_name": w.execution.name,
            "token": w.token,
            "acquired_at": iso(w.acquired_at or w.since),
            "lease_expires_at": None if lease is None else iso(lease),
        }

    @staticmethod
    def _waiter_wire(w: WaiterState, position: int) -> dict[str, Any]:
        return {
            "waiter_id": w.id,
            "execution_id": w.execution.id,
            "execution_name": w.execution.name,
            "position": position,
            "waiting_since": iso(w.since),
            "deadline": None if w.deadline is None else iso(w.deadline),
        }

    def release_wire(self, released: WaiterState) -> dict[str, Any]:
        """A release answer: what ended, who holds the lock now, how many wait.

        Deliberately not the queue: a release must cost the same with 1 or 1,000 waiters.
        """
        lock = self._locks[released.setting_id]
        return {
            "name": lock.name,
            "released": {
                "execution_id": released.execution.id,
                "execution_name": released.execution.name,
                "token": released.token,
            },
            "holder": self.holder_wire(lock.holder),
            "waiting": len(lock.queue),
        }

    def result_wire(self, w: WaiterState) -> dict[str, Any]:
        """An acquire or wait answer for this waiter."""
        lock = self._locks[w.setting_id]
        out: dict[str, Any] = {
            "status": "acquired" if w.status == "granted" else "waiting",
            "name": lock.name,
            "waiter_id": w.id,
            "execution_id": w.execution.id,
            "token": w.token,
            "position": None,
            "waiting_since": iso(w.since),
            "deadline": None if w.deadline is None else iso(w.deadline),
            "holder": self.holder_wire(lock.holder),
        }
        if w.status == "waiting":
            out["position"] = list(lock.queue).index(w.id) + 1
        return out

    def execution_wire(self, ex: ExecutionState) -> dict[str, Any]:
        def name(setting_id: str) -> str:
            lock = self._locks.get(setting_id)
            return lock.name if lock else setting_id

        return {
            "id": ex.id,
            "name": ex.name,
            "status": ex.status,
            "message": ex.message,
            "created_at": iso(ex.created_at),
            "modified_at": iso(ex.modified_at),
            "ended_at": None if ex.ended_at is None else iso(ex.ended_at),
            "lease_ttl": ex.lease_ttl,
            "lease_expires_at": None if ex.lease_expires_at is None else iso(ex.lease_expires_at),
            "locks": sorted(name(sid) for sid in ex.holds),
            "waiting_for": sorted(name(w.setting_id) for w in ex.waits.values()),
        }

    def held_by(self, ex: ExecutionState) -> list[dict[str, Any]]:
        return [
            {"name": self._locks[sid].name, "token": w.token} for sid, w in sorted(ex.holds.items())
        ]
