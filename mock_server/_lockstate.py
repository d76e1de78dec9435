"""The lock manager's state: executions, waiters (acquisitions) and locks, as plain records."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ExecutionState", "LockState", "WaiterState", "WaiterStatus"]

WaiterStatus = Literal["waiting", "granted", "timed_out", "cancelled"]


@dataclass(eq=False)
class ExecutionState:
    id: str
    name: str
    lease_ttl: float
    created_at: float
    modified_at: float
    status: str = "RUNNING"
    message: str | None = None
    ended_at: float | None = None
    lease_expires_at: float | None = None
    holds: dict[str, WaiterState] = field(default_factory=dict)
    """Setting id -> the granted waiter, for every lock it holds."""
    waits: dict[str, WaiterState] = field(default_factory=dict)
    """Waiter id -> waiter, for every queued acquisition."""
    ad_hoc: bool = False
    """Created by an acquire that named no execution: it ends when that wait fails."""

    @property
    def ended(self) -> bool:
        return self.status.startswith("ENDED_")


@dataclass(eq=False)
class WaiterState:
    id: str
    setting_id: str
    execution: ExecutionState
    since: float
    deadline: float | None
    status: WaiterStatus = "waiting"
    token: int | None = None
    reason: str | None = None
    polls: int = 0
    poll_deadline: float | None = None
    acquired_at: float | None = None


@dataclass(eq=False)
class LockState:
    setting_id: str
    name: str
    holder: WaiterState | None = None
    queue: OrderedDict[str, WaiterState] = field(default_factory=OrderedDict)
    last_token: int | None = None
