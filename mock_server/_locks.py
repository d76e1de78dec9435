"""The lock manager: executions, leases, exclusive locks with FIFO queues and fencing tokens.

It knows nothing of HTTP or asyncio. Time comes from the injected clock; nothing here sleeps or
polls. Whoever drives it calls ``advance()`` at ``next_deadline()`` (the server arms one timer for
it) and learns of grants and timeouts through the ``on_wake`` hook, which gets a waiter id.

Not thread-safe by design: the server calls it from its event loop only.

An acquisition is a *waiter*: it joins the lock's queue (or is granted at once), keeps its place
across the client's long-polls, and ends as granted, timed out or cancelled. A granted waiter is
the lock's holder until released, force-released, or its execution's lease runs out.

The records it keeps are in ``_lockstate.py``; how the wire shows them, in ``_lockviews.py``.
"""

from __future__ import annotations

import heapq
import math
import os
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from cloudomation_kit._models import MAX_LEASE_TTL, MAX_TIMEOUT, MIN_LEASE_TTL

from ._clock import Clock
from ._errors import (
    ConflictError,
    FencingTokenError,
    LockAlreadyHeldError,
    LockNotHeldError,
    LockTimeoutError,
    ResourceNotFoundError,
    ValidationError,
)
from ._events import EventLog
from ._filters import FieldKind, Filter, matches
from ._lockstate import ExecutionState, LockState, WaiterState, WaiterStatus
from ._lockviews import LockViews
from ._store import SettingRecord, SettingStore, iso, normalize_name

__all__ = [
    "DEFAULT_LEASE_TTL",
    "EXECUTION_FIELDS",
    "ExecutionState",
    "LockManager",
    "WaiterState",
]

DEFAULT_LEASE_TTL = 15.0
DEFAULT_POLL_GRACE = 5.0
"""A queued waiter with no long-poll in flight for this long has gone away and leaves the queue."""
KEEP_FINISHED = 60.0
"""How long the outcome of a timed-out or cancelled wait stays readable by a late poll."""
KEEP_ENDED_EXECUTIONS = 1000

EXECUTION_FIELDS: dict[str, FieldKind] = {
    "id": "string",
    "name": "string",
    "status": "string",
    "message": "string",
    "created_at": "time",
    "modified_at": "time",
}

EndStatus = Literal["ENDED_SUCCESS", "ENDED_ERROR", "ENDED_CANCELLED"]


def _check_label(name: str | None) -> str:
    label = (name or "").strip()
    if len(label) > 512:
        raise ValidationError("execution name is longer than 512 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in label):
        # Names are shown in terminals (TUI, ckit locks): no escape sequences through them.
        raise ValidationError("execution name must not contain control characters")
    return label


class LockManager(LockViews):
    """Every setting is a lock; executions hold and wait for them."""

    def __init__(
        self,
        store: SettingStore,
        events: EventLog,
        clock: Clock,
        *,
        default_lease_ttl: float = DEFAULT_LEASE_TTL,
        poll_grace: float = DEFAULT_POLL_GRACE,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.default_lease_ttl = default_lease_ttl
        self.poll_grace = poll_grace
        self.on_wake: Callable[[str], None] = lambda waiter_id: None
        """Called with a waiter id when its wait ends (granted, timed out or cancelled)."""
        self.on_schedule: Callable[[float], None] = lambda when: None
        """Called with a time at which ``advance()`` has work to do."""
        self._executions: dict[str, ExecutionState] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._locks: dict[str, LockState] = {}
        self._waiters: dict[str, WaiterState] = {}
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_seq = 0

    # -- timers ----------------------------------------------------------------------------------

    def _arm(self, when: float, kind: str, ident: str) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, self._timer_seq, kind, ident))
        self.on_schedule(when)

    def next_deadline(self) -> float | None:
        """The earliest time at which ``advance()`` may have something to do."""
        while self._timers and not self._timer_live(self._timers[0]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _timer_live(self, timer: tuple[float, int, str, str]) -> bool:
        when, _, kind, ident = timer
        if kind == "lease":
            ex = self._executions.get(ident)
            return ex is not None and not ex.ended and ex.lease_expires_at == when
        w = self._waiters.get(ident)
        if w is None:
            return False
        if kind == "deadline":
            return w.status == "waiting" and w.deadline == when
        if kind == "poll":
            return w.status == "waiting" and w.poll_deadline == when
        return kind == "purge" and w.status in ("timed_out", "cancelled")

    def advance(self) -> float | None:
        """Expire leases, time out waiters and drop silent ones, as of ``clock.now()``.

        Returns the next deadline, like ``next_deadline()``.
        """
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)
            if not self._timer_live(timer):
                continue
            _, _, kind, ident = timer
            if kind == "lease":
                self._end(self._executions[ident], "ENDED_ERROR", "lease expired", expired=True)
            elif kind == "deadline":
                self._finish_wait(self._waiters[ident], "timed_out", "timeout")
            elif kind == "poll":
                self._finish_wait(self._waiters[ident], "cancelled", "client stopped polling")
            else:
                del self._waiters[ident]
        return self.next_deadline()

    # -- executions ------------------------------------------------------------------------------

    def create_execution(
        self, name: str | None = None, lease_ttl: float | None = None
    ) -> ExecutionState:
        """Start an execution; it stays ``RUNNING`` while heartbeats renew its lease."""
        ttl = self._check_lease_ttl(lease_ttl)
        label = _check_label(name) or f"anonymous@{os.getpid()}"
        now = self.clock.now()
        ex = ExecutionState(str(uuid.uuid4()), label, ttl, now, now, lease_expires_at=now + ttl)
        self._executions[ex.id] = ex
        self._arm(now + ttl, "lease", ex.id)
        self.events.publish("execution.status", id=ex.id, name=ex.name, status=ex.status)
        return ex

    def _check_lease_ttl(self, lease_ttl: float | None) -> float:
        ttl = self.default_lease_ttl if lease_ttl is None else lease_ttl
        if not math.isfinite(ttl) or not MIN_LEASE_TTL <= ttl <= MAX_LEASE_TTL:
            raise ValidationError(
                f"lease_ttl must be between {MIN_LEASE_TTL} and {MAX_LEASE_TTL:.0f} seconds"
            )
        return ttl

    def execution(self, execution_id: str) -> ExecutionState:
        ex = self._executions.get(execution_id)
        if ex is None:
            raise ResourceNotFoundError(f"execution {execution_id!r} not found")
        return ex

    def executions(self, flt: Filter | None = None) -> list[ExecutionState]:
        found = sorted(self._executions.values(), key=lambda e: e.created_at)
        return [e for e in found if flt is None or matches(flt, self.execution_wire(e))]

    def _active(self, execution_id: str) -> ExecutionState:
        ex = self.execution(execution_id)
        if ex.ended:
            raise ConflictError(
                f"execution {ex.name!r} has ended ({ex.status}"
                + (f": {ex.message}" if ex.message else "")
                + ")"
            )
        return ex

    def heartbeat(self, execution_id: str) -> ExecutionState:
        """Renew the lease; an execution that already ended is a ``ConflictError``."""
        ex = self._active(execution_id)
        now = self.clock.now()
        ex.lease_expires_at = now + ex.lease_ttl
        self._arm(ex.lease_expires_at, "lease", ex.id)
        return ex

    def update_execution(
        self, execution_id: str, status: EndStatus | None = None, message: str | None = None
    ) -> ExecutionState:
        """Change the message, or end the execution (releasing its locks, leaving its queues)."""
        ex = self.execution(execution_id)
        if status is None:
            if message is not None:
                ex.message = message
                ex.modified_at = self.clock.now()
            return ex
        if ex.ended:
            if ex.status == status:
                return ex
            raise ConflictError(f"execution {ex.name!r} has already ended ({ex.status})")
        self._end(ex, status, message, expired=False)
        return ex

    def _end(
        self, ex: ExecutionState, status: EndStatus, message: str | None, *, expired: bool
    ) -> None:
        for w in list(ex.waits.values()):
            self._finish_wait(w, "cancelled", "execution ended", publish_status=False)
        for w in list(ex.holds.values()):
            self._release(w, "lock.expired" if expired else "lock.released", reason=message)
        now = self.clock.now()
        ex.status, ex.message, ex.ended_at, ex.modified_at = status, message, now, now
        ex.lease_expires_at = None
        self.events.publish(
            "execution.status", id=ex.id, name=ex.name, status=status, message=message
        )
        self._ended[ex.id] = None
        while len(self._ended) > KEEP_ENDED_EXECUTIONS:
            old, _ = self._ended.popitem(last=False)
            self._executions.pop(old, None)

    def _update_status(self, ex: ExecutionState) -> None:
        if ex.ended:
            return
        status = "WAITING_LOCK" if ex.waits else "RUNNING"
        if status != ex.status:
            ex.status = status
            ex.modified_at = self.clock.now()
            self.events.publish("execution.status", id=ex.id, name=ex.name, status=status)

    # -- acquiring -------------------------------------------------------------------------------

    def acquire(
        self,
        name: str,
        execution_id: str | None = None,
        *,
        timeout: float | None = 60.0,
        execution_name: str | None = None,
        lease_ttl: float | None = None,
    ) -> WaiterState:
        """Take the lock or join its queue; returns the waiter (granted, or waiting).

        ``timeout`` ``None`` waits forever and ``0`` tries once: a held lock is then a
        ``LockTimeoutError`` at once. Without ``execution_id`` a new execution is created.
        """
        if timeout is not None and not 0 <= timeout <= MAX_TIMEOUT:
            raise ValidationError(
                f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds, or null to wait forever"
            )
        # Every check before anything is created: a refused acquire leaves no setting behind.
        normalize_name(name)
        if execution_id is None:
            self._check_lease_ttl(lease_ttl)
            _check_label(execution_name)
            ex = None
        else:
            ex = self._active(execution_id)
        setting = self._setting_for_lock(name)
        if ex is None:
            ex = self.create_execution(execution_name, lease_ttl)
            ex.ad_hoc = True
        lock = self._lock(setting)
        if lock.holder is not None and lock.holder.execution is ex:
            raise LockAlreadyHeldError(
                f"execution {ex.name!r} already holds lock {lock.name!r} "
                f"(token {lock.holder.token}); locks are not re-entrant"
            )
        for w in lock.queue.values():
            if w.execution is ex:
                return w  # a retried request finds its own place in the queue
        now = self.clock.now()
        waiter = WaiterState(
            str(uuid.uuid4()),
            setting.id,
            ex,
            now,
            None if timeout is None else now + timeout,
        )
        if lock.holder is None and not lock.queue:
            self._waiters[waiter.id] = waiter
            self._grant(lock, waiter)
            return waiter
        if timeout == 0:
            holder = lock.holder.execution.name if lock.holder else "an earlier waiter"
            if ex.ad_hoc:
                self._end(ex, "ENDED_ERROR", f"lock {lock.name!r} is held", expired=False)
            raise LockTimeoutError(
                f"lock {lock.name!r} is held by {holder!r} (timeout 0: tried once)"
            )
        self._waiters[waiter.id] = waiter
        lock.queue[waiter.id] = waiter
        ex.waits[waiter.id] = waiter
        if waiter.deadline is not None:
            self._arm(waiter.deadline, "deadline", waiter.id)
        self._schedule_poll_grace(waiter)
        self.events.publish(
            "waiter.joined",
            name=lock.name,
            waiter_id=waiter.id,
            execution_id=ex.id,
            execution_name=ex.name,
            position=len(lock.queue),
            deadline=None if waiter.deadline is None else iso(waiter.deadline),
        )
        self._update_status(ex)
        return waiter

    def _setting_for_lock(self, name: str) -> SettingRecord:
        setting, created = self.store.get_or_create(name)
        if created:
            self.events.publish("setting.created", id=setting.id, name=setting.name, version=1)
        return setting

    def _lock(self, setting: SettingRecord) -> LockState:
        lock = self._locks.get(setting.id)
        if lock is None:
            lock = self._locks[setting.id] = LockState(setting.id, setting.name)
        return lock

    def _grant(self, lock: LockState, waiter: WaiterState) -> None:
        ex = waiter.execution
        waiter.status = "granted"
        waiter.token = self.store.next_token()
        waiter.acquired_at = self.clock.now()
        waiter.poll_deadline = None
        lock.holder = waiter
        lock.last_token = waiter.token
        ex.holds[lock.setting_id] = waiter
        ex.waits.pop(waiter.id, None)
        self.events.publish(
            "lock.acquired",
            name=lock.name,
            execution_id=ex.id,
            execution_name=ex.name,
            token=waiter.token,
            waited=round(waiter.acquired_at - waiter.since, 6),
        )
        self._update_status(ex)
        self.on_wake(waiter.id)

    def _schedule_poll_grace(self, waiter: WaiterState) -> None:
        waiter.poll_deadline = self.clock.now() + self.poll_grace
        self._arm(waiter.poll_deadline, "poll", waiter.id)

    def begin_poll(self, waiter_id: str) -> WaiterState:
        """A long-poll for this waiter starts: it cannot be dropped as silent while it lasts."""
        w = self.waiter(waiter_id)
        w.polls += 1
        w.poll_deadline = None
        return w

    def end_poll(self, waiter_id: str) -> None:
        """A long-poll ended; the client has ``poll_grace`` seconds to start the next one."""
        w = self._waiters.get(waiter_id)
        if w is None:
            return
        w.polls = max(0, w.polls - 1)
        if w.polls == 0 and w.status == "waiting":
            self._schedule_poll_grace(w)

    def peek(self, waiter_id: str) -> WaiterState | None:
        """The waiter if known, whatever its status (unlike ``outcome``, consuming nothing)."""
        return self._waiters.get(waiter_id)

    def waiter(self, waiter_id: str) -> WaiterState:
        w = self._waiters.get(waiter_id)
        if w is None:
            raise ResourceNotFoundError(
                f"waiter {waiter_id!r} not found (it may have ended long ago)"
            )
        return w

    def outcome(self, waiter_id: str) -> WaiterState:
        """The waiter, granted or still waiting; a timed-out wait raises ``LockTimeoutError`` and a
        cancelled one ``ConflictError`` (each once: the record is then forgotten)."""
        w = self.waiter(waiter_id)
        name = self._locks[w.setting_id].name if w.setting_id in self._locks else w.setting_id
        if w.status == "timed_out":
            del self._waiters[w.id]
            assert w.deadline is not None
            raise LockTimeoutError(
                f"lock {name!r} was not acquired within {w.deadline - w.since:g} s"
            )
        if w.status == "cancelled":
            del self._waiters[w.id]
            raise ConflictError(f"the wait for lock {name!r} was cancelled: {w.reason}")
        return w

    def cancel(self, waiter_id: str, reason: str = "cancelled by the client") -> WaiterState:
        """Leave the queue; if the lock was granted meanwhile, release it. Safe to repeat."""
        w = self.waiter(waiter_id)
        if w.status == "waiting":
            self._finish_wait(w, "cancelled", reason)
        elif w.status == "granted":
            self._release(w, "lock.released", reason=reason)
        return w

    def _finish_wait(
        self, w: WaiterState, status: WaiterStatus, reason: str, *, publish_status: bool = True
    ) -> None:
        lock = self._locks[w.setting_id]
        position = list(lock.queue).index(w.id) + 1
        del lock.queue[w.id]
        w.execution.waits.pop(w.id, None)
        w.status, w.reason = status, reason
        w.poll_deadline = None
        self.events.publish(
            "waiter.timed_out" if status == "timed_out" else "waiter.left",
            name=lock.name,
            waiter_id=w.id,
            execution_id=w.execution.id,
            execution_name=w.execution.name,
            position=position,
            reason=reason,
        )
        self._arm(self.clock.now() + KEEP_FINISHED, "purge", w.id)
        if w.execution.ad_hoc and publish_status:
            # Nobody else will use or end an execution made for this one wait.
            self._end(
                w.execution, "ENDED_ERROR", f"wait for lock {lock.name!r}: {reason}", expired=False
            )
        elif publish_status:
            self._update_status(w.execution)
        self.on_wake(w.id)
        if position == 1 and lock.holder is None:
            self._handoff(lock)

    # -- releasing -------------------------------------------------------------------------------

    def release(
        self,
        name: str,
        execution_id: str | None = None,
        token: int | None = None,
        *,
        force: bool = False,
        by: str | None = None,
        reason: str | None = None,
    ) -> WaiterState:
        """Release a lock and return the acquisition that ended. The holder names itself by
        execution id or fencing token; anyone else needs ``force``, which is published as a
        ``lock.forced`` event naming ``by``."""
        setting = self.store.find(name)
        lock = self._locks.get(setting.id) if setting else None
        if setting is None:
            raise ResourceNotFoundError(f"setting {name.strip()!r} not found")
        holder = lock.holder if lock else None
        if holder is None:
            raise LockNotHeldError(f"lock {setting.name!r} is not held")
        if force:
            self._release(holder, "lock.forced", reason=reason, by=by)
            return holder
        if execution_id is None and token is None:
            raise ValidationError("name the holder: give execution_id or token (or force: true)")
        if (execution_id is not None and execution_id != holder.execution.id) or (
            token is not None and token != holder.token
        ):
            raise LockNotHeldError(
                f"lock {setting.name!r} is held by {holder.execution.name!r} "
                f"(token {holder.token}), not by you; an operator may release it with force"
            )
        self._release(holder, "lock.released", reason=reason)
        return holder

    def _release(
        self, holder: WaiterState, event: str, *, reason: str | None = None, by: str | None = None
    ) -> None:
        lock = self._locks[holder.setting_id]
        ex = holder.execution
        lock.holder = None
        ex.holds.pop(lock.setting_id, None)
        self._waiters.pop(holder.id, None)
        data: dict[str, Any] = {
            "name": lock.name,
            "execution_id": ex.id,
            "execution_name": ex.name,
            "token": holder.token,
        }
        if reason is not None:
            data["reason"] = reason
        if event == "lock.forced":
            data["forced_by"] = by or "unknown"
        self.events.publish(event, **data)
        self._handoff(lock)

    def _handoff(self, lock: LockState) -> None:
        if lock.queue:
            _, head = next(iter(lock.queue.items()))
            del lock.queue[head.id]
            self._grant(lock, head)
        elif lock.holder is None and lock.last_token is None:
            # An idle lock keeps its state only for its last token (fencing checks).
            self._locks.pop(lock.setting_id, None)

    # -- fencing and settings --------------------------------------------------------------------

    def check_fence(self, setting_id: str, token: int) -> None:
        """Refuse a write whose token does not currently hold the lock of that setting."""
        lock = self._locks.get(setting_id)
        holder = lock.holder if lock else None
        if holder is not None and holder.token == token:
            return
        name = lock.name if lock else self.store.get(setting_id).name
        newest = lock.last_token if lock else None
        if holder is not None:
            detail = f"the lock is held by {holder.execution.name!r} with token {holder.token}"
        elif newest is not None:
            detail = f"the lock is free; the newest token was {newest}"
        else:
            detail = "the lock was never acquired"
        raise FencingTokenError(f"fencing token {token} no longer holds lock {name!r}: {detail}")

    def prepare_delete(self, setting_id: str, fence: int | None = None) -> None:
        """Refuse to delete a setting that is held or waited for; its holder may delete it by
        naming its fencing token (the lock then goes with the setting)."""
        if fence is not None:
            self.check_fence(setting_id, fence)
        lock = self._locks.get(setting_id)
        if lock is None or (lock.holder is None and not lock.queue):
            return
        if fence is not None and lock.holder is not None and not lock.queue:
            self._release(lock.holder, "lock.released", reason="setting deleted")
            return
        who = lock.holder.execution.name if lock.holder else "nobody"
        raise ConflictError(
            f"setting {lock.name!r} is locked (holder: {who}, {len(lock.queue)} waiting); "
            "release it first"
        )

    def forget(self, setting_id: str) -> None:
        """The setting was deleted."""
        self._locks.pop(setting_id, None)

    def renamed(self, setting_id: str, name: str) -> None:
        lock = self._locks.get(setting_id)
        if lock is not None:
            lock.name = name

    def reset(self) -> None:
        """Forget every execution, lock and waiter (test helper); waiters are woken first."""
        pending = list(self._waiters)
        self._executions.clear()
        self._ended.clear()
        self._locks.clear()
        self._waiters.clear()
        self._timers.clear()
        for waiter_id in pending:
            self.on_wake(waiter_id)
