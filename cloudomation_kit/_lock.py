"""Locks: every setting doubles as an exclusive lock, held by one execution at a time.

    with client.lock("cloud-vm-lock", timeout=60) as lock:
        client.settings.update("cloud-vm", value=..., fence=lock.token)

Error handling: a held lock can be *lost*. The client's execution keeps a lease alive with
heartbeats; if the process stalls past the lease, the network fails for that long, or an operator
force-releases the lock, the server gives the lock to the next waiter. The lock object then says so:
``lost`` becomes true, the ``on_lost`` callback runs (on the heartbeat thread or task), writes
fenced with ``lock.token`` are refused with ``FencingTokenError`` (a ``LockLostError``), and leaving
the ``with`` block raises ``LockLostError`` rather than pretend the work ran under the lock.

Locks are **not re-entrant**: acquiring a lock the client already holds raises
``LockAlreadyHeldError``. One client is one execution, so two threads that must exclude each other
need two clients.

The acquisition algorithm is written once, as a generator of requests (``LockCore.acquire_steps``),
driven by a blocking driver for ``SettingLock`` and an async one for ``AsyncSettingLock``. Waiting
is a chain of bounded long-polls (``POST /lock/acquire``, then ``POST /lock/wait``) that keeps the
place in the queue; an interrupt or a cancellation while waiting leaves the queue before it
propagates.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pydantic

from ._base import RequestOptions
from ._constants import DEFAULT_LOCK_TIMEOUT, LONG_POLL_MARGIN, LONG_POLL_WAIT
from ._exceptions import (
    CloudomationError,
    ConflictError,
    LockAlreadyHeldError,
    LockLostError,
    LockNotHeldError,
    LockTimeoutError,
    ResourceNotFoundError,
)
from ._models import AcquireResult, Lock
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncSettingLock", "LockCore", "SettingLock"]

log = logging.getLogger("cloudomation_kit")

OnLost = Callable[[Any], object]


@dataclass
class Call:
    """Send this request; the driver answers with the parsed model (or throws the error in)."""

    options: RequestOptions
    model: type[pydantic.BaseModel] | None = None


@dataclass
class NeedExecution:
    """Answer with the client's execution id, replacing ``stale`` if that one is gone."""

    stale: str | None = None
    lease_ttl: float | None = None


Step = Call | NeedExecution
Steps = Generator[Step, Any, Any]


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and (not math.isfinite(timeout) or timeout < 0):
        raise ValueError(f"timeout must be seconds >= 0, or None to wait forever; got {timeout!r}")


@dataclass(eq=False)
class LockCore:
    """The state and the algorithm of one lock object, shared by the sync and async twins."""

    name: str
    timeout: float | None = DEFAULT_LOCK_TIMEOUT
    lease_ttl: float | None = None
    on_lost: OnLost | None = None
    owner: Any = None
    token: int | None = None
    execution_id: str | None = None
    waiter_id: str | None = None
    position: int | None = None
    lost: bool = False
    lost_reason: str | None = None
    _lost_mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acquire_steps(self, blocking: bool, timeout: float | NotGiven | None) -> Steps:
        """Take the lock, waiting in bounded long-polls; ``False`` if non-blocking and busy."""
        wait_for = self.timeout if isinstance(timeout, NotGiven) else timeout
        _check_timeout(wait_for)
        if not blocking:
            wait_for = 0
        self.token, self.lost, self.lost_reason, self.waiter_id = None, False, None, None
        execution_id = yield NeedExecution(lease_ttl=self.lease_ttl)
        body: dict[str, Any] = {"name": self.name, "timeout": wait_for, "wait": LONG_POLL_WAIT}
        for attempt in range(2):
            try:
                result = yield self._poll("/lock/acquire", {**body, "execution_id": execution_id})
                break
            except LockTimeoutError:
                if not blocking:
                    return False
                raise
            except LockAlreadyHeldError:
                raise
            except (ResourceNotFoundError, ConflictError):
                # Our execution ended (lease lost) or the server forgot it (restart): start anew.
                if attempt:
                    raise
                execution_id = yield NeedExecution(stale=execution_id, lease_ttl=self.lease_ttl)
        self.execution_id = execution_id
        while result.status == "waiting":
            self.waiter_id, self.position = result.waiter_id, result.position
            result = yield self._poll(
                "/lock/wait", {"waiter_id": result.waiter_id, "wait": LONG_POLL_WAIT}, True
            )
        self.waiter_id = self.position = None
        self.token = result.token
        return True

    @staticmethod
    def _poll(path: str, body: dict[str, Any], idempotent: bool = False) -> Call:
        options = RequestOptions(
            "POST",
            path,
            json=body,
            idempotent=idempotent,
            timeout=LONG_POLL_WAIT + LONG_POLL_MARGIN,
        )
        return Call(options, AcquireResult)

    def cancel_call(self) -> Call | None:
        """The request that takes a pending wait out of the queue, if one is pending."""
        if self.waiter_id is None:
            return None
        waiter_id, self.waiter_id = self.waiter_id, None
        options = RequestOptions(
            "POST", "/lock/cancel", json={"waiter_id": waiter_id}, idempotent=True, timeout=5.0
        )
        return Call(options)

    def release_steps(self) -> Steps:
        """Release the lock: ``True`` if released, ``False`` if it was not held or already lost."""
        token = self.token
        if token is None:
            return False
        if self.lost:
            self.forget()
            return False
        body = {"name": self.name, "execution_id": self.execution_id, "token": token}
        try:
            yield Call(RequestOptions("POST", "/lock/release", json=body, idempotent=True))
        except LockNotHeldError as exc:
            self.mark_lost(exc.message)
            self.forget()
            raise LockLostError(
                f"lock {self.name!r} was lost before it was released: {exc.message}",
                response=exc.response,
                body=exc.body,
            ) from exc
        except ResourceNotFoundError:
            # The setting was deleted under a fence, which released the lock with it.
            self.forget()
            return False
        self.forget()
        return True

    def forget(self) -> None:
        """Drop the local state of a lock no longer held (released, or its execution ended)."""
        self.token = self.execution_id = self.waiter_id = self.position = None

    def mark_lost(self, reason: str) -> None:
        """The server says this lock is gone: flag it and run the callback, once."""
        with self._lost_mutex:
            if self.lost or self.token is None:
                return
            self.lost, self.lost_reason = True, reason
        log.warning("lock %r lost: %s", self.name, reason)
        if self.on_lost is not None:
            try:
                self.on_lost(self.owner)
            except Exception:
                log.exception("the on_lost callback of lock %r failed", self.name)

    def describe(self) -> str:
        if self.lost:
            return f"lost: {self.lost_reason}"
        if self.token is not None:
            return f"held, token {self.token}"
        if self.waiter_id is not None:
            return f"waiting, position {self.position}"
        return "not held"


def _exit_error(core: LockCore, error: BaseException | None, was_lost: bool) -> None:
    """After the release in ``__exit__``: complain about a lock lost under a successful block."""
    if error is None and was_lost:
        raise LockLostError(
            f"lock {core.name!r} was lost while the block ran ({core.lost_reason}); "
            "its work did not run under the lock"
        )


def _release_failed(core: LockCore, exc: CloudomationError, error: BaseException | None) -> None:
    if error is None:
        raise exc
    # Never hide the user's exception behind ours: note it, and let theirs propagate.
    log.warning("releasing lock %r failed: %s", core.name, exc)
    error.add_note(f"(also, releasing lock {core.name!r} failed: {exc})")


class SettingLock:
    """An exclusive lock on a setting, for ``Client`` (use ``client.lock(name)``).

    ``acquire()`` waits up to ``timeout`` seconds (60 by default; ``None`` waits forever) and raises
    ``LockTimeoutError`` when it passes; ``acquire(blocking=False)`` tries once and returns
    ``False`` if the lock is busy. As a context manager it returns itself, held, and always
    releases on the way out. Not re-entrant.
    """

    def __init__(
        self,
        client: Client,
        name: str,
        *,
        timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        lease_ttl: float | None = None,
        on_lost: OnLost | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a lock name must be a non-empty string, got {name!r}")
        _check_timeout(timeout)
        self.client = client
        self._core = LockCore(name.strip(), timeout, lease_ttl, on_lost, owner=self)
        self._method_lock = threading.Lock()
        self._error_lost = False

    name = property(lambda self: self._core.name, doc="The setting's name.")
    timeout = property(lambda self: self._core.timeout, doc="Default seconds ``acquire`` waits.")

    @property
    def token(self) -> int | None:
        """The fencing token of the current acquisition (kept after a loss, so fenced writes
        fail); ``None`` when not acquired."""
        return self._core.token

    @property
    def lost(self) -> bool:
        """True once the server has taken the lock away (lease expired, forced release)."""
        return self._core.lost

    @property
    def lost_reason(self) -> str | None:
        """Why the lock was lost (``None`` while it was not)."""
        return self._core.lost_reason

    def locked(self) -> bool:
        """Whether this object holds the lock (acquired, not released, not lost)."""
        return self._core.token is not None and not self._core.lost

    def __repr__(self) -> str:
        return f"<SettingLock {self.name!r} {self._core.describe()}>"

    def acquire(self, blocking: bool = True, timeout: float | NotGiven | None = NOT_GIVEN) -> bool:
        """Acquire the lock; ``True`` once held. See the class docstring for timeouts."""
        with self._method_lock:
            acquired = bool(
                self.client._drive(self._core.acquire_steps(blocking, timeout), self._core)
            )
            if acquired:
                self.client._register(self._core)
            return acquired

    def release(self) -> bool:
        """Release the lock; ``False`` if it was not held (or was already lost)."""
        self.client._unregister(self._core)
        return bool(self.client._drive(self._core.release_steps(), None))

    def status(self) -> Lock:
        """The lock as the server sees it: holder and queue."""
        return self.client.locks.get(self.name)

    def __enter__(self) -> SettingLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        was_lost = self._core.lost
        try:
            self.release()
        except CloudomationError as err:
            _release_failed(self._core, err, exc)
            return
        _exit_error(self._core, exc, was_lost)


class AsyncSettingLock:
    """The ``AsyncClient`` twin of ``SettingLock``: ``await lock.acquire()``, ``async with``."""

    def __init__(
        self,
        client: AsyncClient,
        name: str,
        *,
        timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        lease_ttl: float | None = None,
        on_lost: OnLost | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a lock name must be a non-empty string, got {name!r}")
        _check_timeout(timeout)
        self.client = client
        self._core = LockCore(name.strip(), timeout, lease_ttl, on_lost, owner=self)

    name = property(lambda self: self._core.name, doc="The setting's name.")
    timeout = property(lambda self: self._core.timeout, doc="Default seconds ``acquire`` waits.")

    @property
    def token(self) -> int | None:
        """The fencing token of the current acquisition (kept after a loss)."""
        return self._core.token

    @property
    def lost(self) -> bool:
        """True once the server has taken the lock away."""
        return self._core.lost

    @property
    def lost_reason(self) -> str | None:
        """Why the lock was lost (``None`` while it was not)."""
        return self._core.lost_reason

    def locked(self) -> bool:
        """Whether this object holds the lock (acquired, not released, not lost)."""
        return self._core.token is not None and not self._core.lost

    def __repr__(self) -> str:
        return f"<AsyncSettingLock {self.name!r} {self._core.describe()}>"

    async def acquire(
        self,
        blocking: bool = True,
        timeout: float | NotGiven | None = NOT_GIVEN,  # noqa: ASYNC109 (the queue's wait bound)
    ) -> bool:
        """Acquire the lock; ``True`` once held."""
        acquired = bool(
            await self.client._drive(self._core.acquire_steps(blocking, timeout), self._core)
        )
        if acquired:
            self.client._register(self._core)
        return acquired

    async def release(self) -> bool:
        """Release the lock; ``False`` if it was not held (or was already lost)."""
        self.client._unregister(self._core)
        return bool(await self.client._drive(self._core.release_steps(), None))

    async def status(self) -> Lock:
        """The lock as the server sees it: holder and queue."""
        return await self.client.locks.get(self.name)

    async def __aenter__(self) -> AsyncSettingLock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        was_lost = self._core.lost
        try:
            await self.release()
        except CloudomationError as err:
            _release_failed(self._core, err, exc)
            return
        _exit_error(self._core, exc, was_lost)
