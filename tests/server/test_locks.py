"""The lock manager on its own: no HTTP, no sleeps, the clock moved by hand."""

from __future__ import annotations

import pytest

from mock_server import Backend, ManualClock, MemoryStore
from mock_server._errors import (
    ConflictError,
    FencingTokenError,
    LockAlreadyHeldError,
    LockNotHeldError,
    LockTimeoutError,
    ResourceNotFoundError,
    ValidationError,
)
from mock_server._locks import LockManager


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(clock: ManualClock) -> Backend:
    return Backend(MemoryStore(clock), clock, default_lease_ttl=10.0, poll_grace=5.0)


@pytest.fixture
def locks(backend: Backend) -> LockManager:
    woken: list[str] = []
    backend.locks.on_wake = woken.append
    backend.locks.woken = woken  # type: ignore[attr-defined]
    return backend.locks


def events(backend: Backend) -> list[str]:
    return [e["type"] for e in backend.events.since(0)]


def keep_alive(locks: LockManager, *waiter_ids: str) -> None:
    """Simulate clients that are in a long-poll, so the silent-waiter rule does not apply."""
    for w in waiter_ids:
        locks.begin_poll(w)


def test_acquire_free_lock_grants_at_once_and_creates_the_setting(backend, locks):
    ex = locks.create_execution("a")
    w = locks.acquire("cloud-vm-lock", ex.id)
    assert w.status == "granted"
    assert w.token is not None
    setting = backend.store.find("cloud-vm-lock")
    assert setting is not None and setting.value is None
    assert locks.lock_wire(setting)["holder"]["execution_name"] == "a"
    assert "setting.created" in events(backend) and "lock.acquired" in events(backend)


def test_waiters_are_served_first_come_first_served(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    waiters = []
    for i in range(5):
        ex = locks.create_execution(f"w{i}")
        w = locks.acquire("x", ex.id)
        keep_alive(locks, w.id)
        assert w.status == "waiting"
        assert ex.status == "WAITING_LOCK"
        waiters.append(w)
    order = []
    current = holder.id
    for _ in range(5):
        locks.release("x", current)
        granted = [w for w in waiters if w.status == "granted"]
        assert len(granted) == 1
        order.append(granted[0].execution.name)
        assert granted[0].execution.status == "RUNNING"
        current = granted[0].execution.id
        waiters.remove(granted[0])
    assert order == ["w0", "w1", "w2", "w3", "w4"]


def test_queue_shows_position_since_and_deadline(backend, locks, clock):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    a = locks.acquire("x", locks.create_execution("a").id, timeout=30)
    clock.advance(1)
    b = locks.acquire("x", locks.create_execution("b").id, timeout=None)
    lock = locks.lock_wire(backend.store.get("x", by_name=True))
    assert [(w["execution_name"], w["position"]) for w in lock["waiters"]] == [("a", 1), ("b", 2)]
    assert lock["waiters"][0]["deadline"] is not None
    assert lock["waiters"][1]["deadline"] is None
    assert lock["waiters"][0]["waiting_since"] < lock["waiters"][1]["waiting_since"]
    assert {a.id, b.id} == {w["waiter_id"] for w in lock["waiters"]}


def test_timeout_zero_tries_once(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    other = locks.create_execution("other")
    with pytest.raises(LockTimeoutError, match="tried once"):
        locks.acquire("x", other.id, timeout=0)
    assert other.status == "RUNNING" and not other.waits
    # and on a free lock it simply succeeds
    assert locks.acquire("y", other.id, timeout=0).status == "granted"


def test_timeout_removes_the_waiter_and_raises_once(backend, locks, clock):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    ex = locks.create_execution("late")
    w = locks.acquire("x", ex.id, timeout=2)
    keep_alive(locks, w.id)
    clock.advance(1.999)
    locks.advance()
    assert locks.outcome(w.id).status == "waiting"
    assert locks.next_deadline() == pytest.approx(w.since + 2)
    clock.advance(0.001)
    locks.advance()
    assert w.id in locks.woken
    with pytest.raises(LockTimeoutError, match="within 2 s"):
        locks.outcome(w.id)
    with pytest.raises(ResourceNotFoundError):
        locks.outcome(w.id)
    assert ex.status == "RUNNING"
    assert locks.lock_wire(backend.store.get("x", by_name=True))["waiters"] == []
    assert "waiter.timed_out" in events(backend)


def test_none_timeout_waits_forever(locks, clock):
    holder = locks.create_execution("holder", lease_ttl=10**4)
    locks.acquire("x", holder.id)
    ex = locks.create_execution("patient", lease_ttl=10**4)
    w = locks.acquire("x", ex.id, timeout=None)
    keep_alive(locks, w.id)
    clock.advance(5000)
    locks.heartbeat(holder.id)
    locks.heartbeat(ex.id)
    locks.advance()
    assert locks.outcome(w.id).status == "waiting"
    locks.release("x", holder.id)
    assert locks.outcome(w.id).status == "granted"


def test_timed_out_head_of_queue_lets_the_next_move_up(backend, locks, clock):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    first = locks.acquire("x", locks.create_execution("first").id, timeout=1)
    second = locks.acquire("x", locks.create_execution("second").id, timeout=60)
    keep_alive(locks, first.id, second.id)
    clock.advance(1)
    locks.advance()
    lock = locks.lock_wire(backend.store.get("x", by_name=True))
    assert [(w["execution_name"], w["position"]) for w in lock["waiters"]] == [("second", 1)]
    locks.release("x", holder.id)
    assert second.status == "granted"


def test_a_waiter_that_stops_polling_leaves_the_queue(backend, locks, clock):
    holder = locks.create_execution("holder", lease_ttl=100)
    locks.acquire("x", holder.id)
    w = locks.acquire("x", locks.create_execution("gone", lease_ttl=100).id, timeout=None)
    locks.begin_poll(w.id)
    clock.advance(30)
    locks.advance()
    assert w.status == "waiting"  # a long-poll is in flight
    locks.end_poll(w.id)
    clock.advance(4.9)
    locks.advance()
    assert w.status == "waiting"  # within the grace between two polls
    clock.advance(0.1)
    locks.advance()
    assert w.status == "cancelled"
    assert "waiter.left" in events(backend)


def test_cancel_leaves_the_queue_and_is_safe_to_repeat(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    ex = locks.create_execution("w")
    w = locks.acquire("x", ex.id)
    locks.cancel(w.id)
    locks.cancel(w.id)
    assert w.status == "cancelled" and ex.status == "RUNNING"
    with pytest.raises(ConflictError, match="cancelled"):
        locks.outcome(w.id)


def test_cancel_after_grant_releases(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    w = locks.acquire("x", locks.create_execution("w").id)
    keep_alive(locks, w.id)
    locks.release("x", holder.id)
    assert w.status == "granted"
    # the client gave up before it saw the grant: the lock must not stay held
    locks.cancel(w.id)
    third = locks.acquire("x", locks.create_execution("third").id, timeout=0)
    assert third.status == "granted"


def test_retried_acquire_finds_its_own_place(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    ex = locks.create_execution("w")
    first = locks.acquire("x", ex.id)
    again = locks.acquire("x", ex.id)
    assert again is first


def test_not_reentrant(locks):
    ex = locks.create_execution("a")
    locks.acquire("x", ex.id)
    with pytest.raises(LockAlreadyHeldError, match="not re-entrant"):
        locks.acquire("x", ex.id)


def test_lease_expiry_ends_the_execution_and_hands_the_lock_on(backend, locks, clock):
    holder = locks.create_execution("holder", lease_ttl=3)
    locks.acquire("x", holder.id)
    ex = locks.create_execution("next", lease_ttl=100)
    w = locks.acquire("x", ex.id, timeout=None)
    keep_alive(locks, w.id)
    clock.advance(2)
    locks.heartbeat(holder.id)  # renewed: expires at t=5
    clock.advance(2.9)
    locks.advance()
    assert holder.status == "RUNNING"
    clock.advance(0.1)
    locks.advance()
    assert holder.status == "ENDED_ERROR" and holder.message == "lease expired"
    assert w.status == "granted"
    assert "lock.expired" in events(backend)
    with pytest.raises(ConflictError, match="ENDED_ERROR"):
        locks.heartbeat(holder.id)


def test_ending_an_execution_releases_its_locks_and_leaves_its_queues(locks):
    a = locks.create_execution("a")
    b = locks.create_execution("b")
    locks.acquire("x", a.id)
    locks.acquire("y", b.id)
    wy = locks.acquire("y", a.id)
    wx = locks.acquire("x", b.id)
    keep_alive(locks, wy.id, wx.id)
    locks.update_execution(a.id, "ENDED_SUCCESS")
    assert a.status == "ENDED_SUCCESS"
    assert wy.status == "cancelled"
    assert wx.status == "granted" and b.status == "RUNNING"
    # ending again with the same status is harmless; another status is a conflict
    locks.update_execution(a.id, "ENDED_SUCCESS")
    with pytest.raises(ConflictError):
        locks.update_execution(a.id, "ENDED_ERROR")


def test_release_by_someone_else_needs_force_and_force_is_an_event(backend, locks):
    a = locks.create_execution("a")
    b = locks.create_execution("b")
    locks.acquire("x", a.id)
    with pytest.raises(LockNotHeldError, match="held by 'a'"):
        locks.release("x", b.id)
    with pytest.raises(ValidationError):
        locks.release("x")
    locks.release("x", force=True, by="operator", reason="stuck")
    forced = [e for e in backend.events.since(0) if e["type"] == "lock.forced"]
    assert forced and forced[0]["data"]["forced_by"] == "operator"
    assert forced[0]["data"]["reason"] == "stuck"
    with pytest.raises(LockNotHeldError, match="not held"):
        locks.release("x", a.id)


def test_release_by_token(locks):
    a = locks.create_execution("a")
    w = locks.acquire("x", a.id)
    with pytest.raises(LockNotHeldError):
        locks.release("x", token=w.token + 1)
    locks.release("x", token=w.token)


def test_tokens_grow_strictly_and_are_never_reused(locks):
    seen = []
    for i in range(20):
        ex = locks.create_execution(f"e{i}")
        seen.append(locks.acquire("x", ex.id).token)
        locks.release("x", ex.id)
        seen.append(locks.acquire(f"other-{i}", ex.id).token)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_stale_token_is_refused(backend, locks):
    a = locks.create_execution("a")
    old = locks.acquire("x", a.id).token
    assert old is not None
    backend.update_setting("x", by_name=True, changes={"value": 1}, fence=old)
    locks.release("x", a.id)
    b = locks.create_execution("b")
    new = locks.acquire("x", b.id).token
    with pytest.raises(FencingTokenError, match=f"fencing token {old}"):
        backend.update_setting("x", by_name=True, changes={"value": 2}, fence=old)
    assert backend.get_setting("x", by_name=True).value == 1
    backend.update_setting("x", by_name=True, changes={"value": 3}, fence=new)
    assert backend.get_setting("x", by_name=True).value == 3


def test_token_of_an_expired_holder_is_refused_even_when_no_one_took_over(backend, locks, clock):
    a = locks.create_execution("a", lease_ttl=1)
    token = locks.acquire("x", a.id).token
    clock.advance(1)
    locks.advance()
    with pytest.raises(FencingTokenError, match="lock is free"):
        backend.update_setting("x", by_name=True, changes={"value": 1}, fence=token)


def test_locked_setting_cannot_be_deleted_but_its_holder_may_delete_it(backend, locks):
    a = locks.create_execution("a")
    token = locks.acquire("x", a.id).token
    with pytest.raises(ConflictError, match="locked"):
        backend.delete_setting("x", by_name=True)
    backend.delete_setting("x", by_name=True, fence=token)
    assert backend.store.find("x") is None
    assert a.holds == {}


def test_reset_wakes_every_waiter(locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    w = locks.acquire("x", locks.create_execution("w").id)
    locks.woken.clear()
    locks.reset()
    assert w.id in locks.woken
    with pytest.raises(ResourceNotFoundError):
        locks.outcome(w.id)


def test_bad_arguments(locks):
    with pytest.raises(ValidationError):
        locks.create_execution("a", lease_ttl=0)
    with pytest.raises(ValidationError):
        locks.create_execution("a", lease_ttl=float("nan"))
    ex = locks.create_execution("a")
    with pytest.raises(ValidationError):
        locks.acquire("x", ex.id, timeout=-1)
    with pytest.raises(ValidationError):
        locks.acquire("   ", ex.id)
    with pytest.raises(ResourceNotFoundError):
        locks.acquire("x", "no-such-execution")


def test_executions_can_be_filtered_by_status(backend, locks):
    holder = locks.create_execution("holder")
    locks.acquire("x", holder.id)
    locks.acquire("x", locks.create_execution("w").id)
    waiting = backend.list_executions('{"field": "status", "op": "eq", "value": "WAITING_LOCK"}')
    assert [e.name for e in waiting] == ["w"]
    wire = locks.execution_wire(waiting[0])
    assert wire["waiting_for"] == ["x"] and wire["locks"] == []
