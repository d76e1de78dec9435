"""``Client`` and ``AsyncClient``: twins over ``BaseClient``.

Read them side by side: they differ only where one sends, sleeps or runs in the background (a
daemon thread for ``Client``, an asyncio task for ``AsyncClient``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pydantic

from . import _atransport, _transport
from ._atransport import AsyncLeanTransport
from ._base import BaseClient, EndStatus, RequestOptions, as_response
from ._constants import (
    DEFAULT_LEASE_TTL,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._events import AsyncEvents, Events
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    CloudomationError,
    ConflictError,
    LockTimeoutError,
    ResourceNotFoundError,
)
from ._lock import AsyncSettingLock, LockCore, NeedExecution, OnLost, SettingLock, Steps
from ._models import Alive, Execution, LoginResult
from ._resources import AsyncExecutions, AsyncLocks, Executions, Locks
from ._settings import AsyncSettings, Settings
from ._transport import LeanTransport
from ._transport import no_cookies as _no_cookies
from ._wire import Reply

__all__ = ["AsyncClient", "Client"]

log = logging.getLogger("cloudomation_kit")
M = TypeVar("M", bound=pydantic.BaseModel)


def _heartbeat_options(execution_id: str, interval: float) -> RequestOptions:
    return RequestOptions(
        "POST",
        f"/execution/{execution_id}/heartbeat",
        idempotent=True,
        timeout=max(1.0, interval),
        max_retries=0,
    )


def _stops_wait(exc: BaseException) -> bool:
    """Whether leaving the wait on this exception needs an explicit ``/lock/cancel``."""
    return not isinstance(exc, APIStatusError | LockTimeoutError)


class Client(BaseClient):
    """A blocking client. ``Client()`` reads ``CLOUDOMATION_URL`` and ``CLOUDOMATION_TOKEN``.

        with Client() as client:
            client.settings.create("notification_emails", ["ops@example.com"])
            with client.lock("cloud-vm-lock"):
                ...

    The client is one execution on the server, started on first lock use and ended by
    ``close()`` (``ENDED_ERROR`` when the ``with`` block raised).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        profile: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        execution_name: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            token,
            user=user,
            password=password,
            profile=profile,
            timeout=timeout,
            max_retries=max_retries,
            lease_ttl=lease_ttl,
            execution_name=execution_name,
        )
        # LeanTransport: keep-alive sockets for plain http:// without a proxy (a third of a
        # loopback lock round trip was httpcore's bookkeeping); requests then skip httpx.Client
        # altogether (LeanTransport.exchange). TLS and proxies stay with httpx's own transport.
        if transport is None and self._lean_target is not None:
            transport = LeanTransport()
        self._http = httpx.Client(transport=transport, cookies=_no_cookies())
        self._lean = transport if isinstance(transport, _transport.LeanTransport) else None
        self._sleep: Callable[[float], None] = time.sleep
        self._create_lock = threading.Lock()
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @cached_property
    def settings(self) -> Settings:
        return Settings(self)

    @cached_property
    def locks(self) -> Locks:
        return Locks(self)

    @cached_property
    def executions(self) -> Executions:
        return Executions(self)

    @cached_property
    def events(self) -> Events:
        """The server's event stream: ``for event in client.events.stream(): ...``."""
        return Events(self)

    def lock(
        self,
        name: str,
        timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        *,
        lease_ttl: float | None = None,
        on_lost: OnLost | None = None,
    ) -> SettingLock:
        """A lock on the setting ``name`` (created if missing); see ``SettingLock``."""
        return SettingLock(self, name, timeout=timeout, lease_ttl=lease_ttl, on_lost=on_lost)

    def alive(self) -> Alive:
        return self._parse(self._send(RequestOptions("GET", "/alive")), Alive)

    def login(self) -> LoginResult:
        """Log in with the configured user and password; later requests use the token."""
        result = self._parse(self._send(self._login_options(), auth=False), LoginResult)
        self._token = result.token
        return result

    @property
    def execution_id(self) -> str | None:
        """The id of this client's execution, once started."""
        return None if self._execution is None else self._execution.id

    def execution(self) -> Execution:
        """This client's execution as the server sees it now (started if needed)."""
        return self.executions.get(self._need_execution(None, None))

    def end_execution(
        self, status: EndStatus = "ENDED_SUCCESS", message: str | None = None
    ) -> Execution | None:
        """End this client's execution (releasing its locks); the next lock starts a new one."""
        self._stop_heartbeat()
        self._join_heartbeat()
        ex = self._take_execution()
        if ex is None:
            return None
        response = self._send(self._end_options(ex.id, status, message))
        return self._parse(response, Execution, "execution")

    def close(self, status: EndStatus = "ENDED_SUCCESS", message: str | None = None) -> None:
        """End the execution (if one was started) and close the connections."""
        if self._closed:
            return
        try:
            self.end_execution(status, message)
        except CloudomationError as exc:
            log.warning("could not end execution %s: %s", self.execution_name, exc)
        finally:
            self._closed = True
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(*self._end_status(exc))

    # -- sending -------------------------------------------------------------------------------

    def _send(self, opts: RequestOptions, *, auth: bool = True) -> httpx.Response:
        """Send with retries; an error answer raises its exception."""
        return as_response(self._exchange(opts, auth))

    def _call(self, opts: RequestOptions, model: type[M] | None) -> M | None:
        """Send with retries; the answer parsed as ``model`` (no ``httpx.Response`` made)."""
        reply = self._exchange(opts, True)
        return None if model is None else self._parse(reply, model)

    def _fetch(self, opts: RequestOptions, model: type[M], key: str | None = None) -> M:
        """Send with retries; the answer as ``model``, unwrapped from ``key``'s envelope."""
        return self._parse(self._exchange(opts, True), model, key)

    def _attempt(self, opts: RequestOptions) -> httpx.Response | Reply:
        """One try: through the lean transport's ``exchange`` when it is ours, else httpx."""
        if self._lean is None or self._lean_target is None:
            return self._http.send(self._build_request(opts))
        data, connect, read = self._encode(opts)
        host, port, _ = self._lean_target
        reply = self._lean.exchange(host, port, opts.method, data, connect, read)
        reply.request_factory = functools.partial(self._build_request, opts)
        return reply

    def _exchange(self, opts: RequestOptions, auth: bool) -> httpx.Response | Reply:
        """Send with retries: the successful answer, or the error answer's exception raised."""
        self._check_open()
        if auth and self._token is None:
            self.login()
        attempt = 0
        relogged = False
        while True:
            try:
                reply = self._attempt(opts)
            except httpx.HTTPError as exc:
                if self._should_retry(opts, attempt, error=exc):
                    self._sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                raise self._connection_error(exc, self._build_request(opts)) from exc
            if reply.is_success:
                return reply
            response = as_response(reply)
            if self._should_retry(opts, attempt, response=response):
                self._sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            error = self._make_status_error(response)
            if (
                isinstance(error, AuthenticationError)
                and auth
                and self.config.user
                and not relogged
            ):
                relogged = True  # a login token expired: log in again, once
                self.login()
                continue
            raise error

    def _drive(self, steps: Steps, core: LockCore | None) -> Any:
        """Run a lock algorithm (``LockCore.*_steps``): send what it asks, feed it the answers."""
        reply: Any = None
        error: CloudomationError | None = None
        try:
            while True:
                try:
                    step = steps.throw(error) if error is not None else steps.send(reply)
                except StopIteration as stop:
                    return stop.value
                reply, error = None, None
                try:
                    if isinstance(step, NeedExecution):
                        reply = self._need_execution(step.stale, step.lease_ttl)
                    else:
                        reply = self._call(step.options, step.model)
                except CloudomationError as exc:
                    error = exc
        except BaseException as exc:
            if core is not None and _stops_wait(exc):
                self._cancel_wait(core)
            raise

    def _cancel_wait(self, core: LockCore) -> None:
        call = core.cancel_call()
        if call is not None:
            try:
                self._call(call.options, None)
            except CloudomationError as exc:
                log.warning("could not leave the queue of lock %r: %s", core.name, exc)

    # -- the execution and its heartbeat -------------------------------------------------------

    def _need_execution(self, stale: str | None, lease_ttl: float | None) -> str:
        current = self._reusable_execution(stale, lease_ttl)
        if current is not None:
            return current.id
        with self._create_lock:
            if self._execution is not None:
                return self._execution.id
            response = self._send(self._execution_options(lease_ttl))
            ex = self._parse(response, Execution, "execution")
            with self._mutex:
                self._execution = ex
            self._start_heartbeat(ex)
            return ex.id

    def _start_heartbeat(self, ex: Execution) -> None:
        self._heartbeat_stop = stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._heartbeat_loop,
            args=(ex.id, ex.lease_ttl / 3, stop),
            name=f"cloudomation-heartbeat-{ex.id[:8]}",
            daemon=True,
        )
        self._heartbeat.start()

    def _heartbeat_loop(self, execution_id: str, interval: float, stop: threading.Event) -> None:
        last_ok = time.time()
        while not stop.wait(interval):
            snapshot = self._held_snapshot()
            try:
                response = self._send(_heartbeat_options(execution_id, interval))
                self._apply_heartbeat(snapshot, self._json(response))
            except (ResourceNotFoundError, ConflictError) as exc:
                self._forget_execution(execution_id, f"heartbeat refused: {exc.message}")
                return
            except (CloudomationError, pydantic.ValidationError, RuntimeError) as exc:
                if stop.is_set():
                    return
                log.warning("heartbeat of execution %s failed: %s", execution_id, exc)
                if self._heartbeat_failed_long(last_ok):
                    self._lost_all("no heartbeat got through for longer than the lease")
                continue
            last_ok = time.time()

    def _stop_heartbeat(self) -> None:
        self._heartbeat_stop.set()

    def _join_heartbeat(self) -> None:
        thread = self._heartbeat
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)
        self._heartbeat = None


class AsyncClient(BaseClient):
    """The async twin of ``Client``: ``async with AsyncClient() as client: ...``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        profile: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        execution_name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            token,
            user=user,
            password=password,
            profile=profile,
            timeout=timeout,
            max_retries=max_retries,
            lease_ttl=lease_ttl,
            execution_name=execution_name,
        )
        # The asyncio twin of Client's LeanTransport (httpcore over anyio cost ~1.5 ms a lock
        # round trip), on the same terms: plain http:// without a proxy.
        if transport is None and self._lean_target is not None:
            transport = AsyncLeanTransport()
        self._http = httpx.AsyncClient(transport=transport, cookies=_no_cookies())
        self._lean = transport if isinstance(transport, _atransport.AsyncLeanTransport) else None
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._create_lock: asyncio.Lock | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @cached_property
    def settings(self) -> AsyncSettings:
        return AsyncSettings(self)

    @cached_property
    def locks(self) -> AsyncLocks:
        return AsyncLocks(self)

    @cached_property
    def executions(self) -> AsyncExecutions:
        return AsyncExecutions(self)

    @cached_property
    def events(self) -> AsyncEvents:
        """The server's event stream: ``async for event in aclient.events.stream(): ...``."""
        return AsyncEvents(self)

    def lock(
        self,
        name: str,
        timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        *,
        lease_ttl: float | None = None,
        on_lost: OnLost | None = None,
    ) -> AsyncSettingLock:
        """A lock on the setting ``name`` (created if missing); see ``AsyncSettingLock``."""
        return AsyncSettingLock(self, name, timeout=timeout, lease_ttl=lease_ttl, on_lost=on_lost)

    async def alive(self) -> Alive:
        return self._parse(await self._send(RequestOptions("GET", "/alive")), Alive)

    async def login(self) -> LoginResult:
        """Log in with the configured user and password; later requests use the token."""
        result = self._parse(await self._send(self._login_options(), auth=False), LoginResult)
        self._token = result.token
        return result

    @property
    def execution_id(self) -> str | None:
        """The id of this client's execution, once started."""
        return None if self._execution is None else self._execution.id

    async def execution(self) -> Execution:
        """This client's execution as the server sees it now (started if needed)."""
        return await self.executions.get(await self._need_execution(None, None))

    async def end_execution(
        self, status: EndStatus = "ENDED_SUCCESS", message: str | None = None
    ) -> Execution | None:
        """End this client's execution (releasing its locks); the next lock starts a new one."""
        self._stop_heartbeat()
        await self._join_heartbeat()
        ex = self._take_execution()
        if ex is None:
            return None
        response = await self._send(self._end_options(ex.id, status, message))
        return self._parse(response, Execution, "execution")

    async def aclose(self, status: EndStatus = "ENDED_SUCCESS", message: str | None = None) -> None:
        """End the execution (if one was started) and close the connections."""
        if self._closed:
            return
        try:
            await self.end_execution(status, message)
        except CloudomationError as exc:
            log.warning("could not end execution %s: %s", self.execution_name, exc)
        finally:
            self._closed = True
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(*self._end_status(exc))

    # -- sending -------------------------------------------------------------------------------

    async def _send(self, opts: RequestOptions, *, auth: bool = True) -> httpx.Response:
        """Send with retries; an error answer raises its exception."""
        return as_response(await self._exchange(opts, auth))

    async def _call(self, opts: RequestOptions, model: type[M] | None) -> M | None:
        """Send with retries; the answer parsed as ``model`` (no ``httpx.Response`` made)."""
        reply = await self._exchange(opts, True)
        return None if model is None else self._parse(reply, model)

    async def _fetch(self, opts: RequestOptions, model: type[M], key: str | None = None) -> M:
        """Send with retries; the answer as ``model``, unwrapped from ``key``'s envelope."""
        return self._parse(await self._exchange(opts, True), model, key)

    async def _attempt(self, opts: RequestOptions) -> httpx.Response | Reply:
        """One try: through the lean transport's ``exchange`` when it is ours, else httpx."""
        if self._lean is None or self._lean_target is None:
            return await self._http.send(self._build_request(opts))
        data, connect, read = self._encode(opts)
        host, port, _ = self._lean_target
        reply = await self._lean.exchange(host, port, opts.method, data, connect, read)
        reply.request_factory = functools.partial(self._build_request, opts)
        return reply

    async def _exchange(self, opts: RequestOptions, auth: bool) -> httpx.Response | Reply:
        """Send with retries: the successful answer, or the error answer's exception raised."""
        self._check_open()
        if auth and self._token is None:
            await self.login()
        attempt = 0
        relogged = False
        while True:
            try:
                reply = await self._attempt(opts)
            except httpx.HTTPError as exc:
                if self._should_retry(opts, attempt, error=exc):
                    await self._sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                raise self._connection_error(exc, self._build_request(opts)) from exc
            if reply.is_success:
                return reply
            response = as_response(reply)
            if self._should_retry(opts, attempt, response=response):
                await self._sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            error = self._make_status_error(response)
            if (
                isinstance(error, AuthenticationError)
                and auth
                and self.config.user
                and not relogged
            ):
                relogged = True  # a login token expired: log in again, once
                await self.login()
                continue
            raise error

    async def _drive(self, steps: Steps, core: LockCore | None) -> Any:
        """Run a lock algorithm (``LockCore.*_steps``): send what it asks, feed it the answers."""
        reply: Any = None
        error: CloudomationError | None = None
        try:
            while True:
                try:
                    step = steps.throw(error) if error is not None else steps.send(reply)
                except StopIteration as stop:
                    return stop.value
                reply, error = None, None
                try:
                    if isinstance(step, NeedExecution):
                        reply = await self._need_execution(step.stale, step.lease_ttl)
                    else:
                        reply = await self._call(step.options, step.model)
                except CloudomationError as exc:
                    error = exc
        except BaseException as exc:
            if core is not None and _stops_wait(exc):
                await self._cancel_wait(core)
            raise

    async def _cancel_wait(self, core: LockCore) -> None:
        call = core.cancel_call()
        if call is not None:
            try:
                await self._call(call.options, None)
            except CloudomationError as exc:
                log.warning("could not leave the queue of lock %r: %s", core.name, exc)

    # -- the execution and its heartbeat -------------------------------------------------------

    async def _need_execution(self, stale: str | None, lease_ttl: float | None) -> str:
        current = self._reusable_execution(stale, lease_ttl)
        if current is not None:
            return current.id
        if self._create_lock is None:
            self._create_lock = asyncio.Lock()
        async with self._create_lock:
            if self._execution is not None:
                return self._execution.id
            response = await self._send(self._execution_options(lease_ttl))
            ex = self._parse(response, Execution, "execution")
            with self._mutex:
                self._execution = ex
            self._start_heartbeat(ex)
            return ex.id

    def _start_heartbeat(self, ex: Execution) -> None:
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._heartbeat_loop(ex.id, ex.lease_ttl / 3),
            name=f"cloudomation-heartbeat-{ex.id[:8]}",
        )

    async def _heartbeat_loop(self, execution_id: str, interval: float) -> None:
        last_ok = time.time()
        while True:
            await asyncio.sleep(interval)
            snapshot = self._held_snapshot()
            try:
                response = await self._send(_heartbeat_options(execution_id, interval))
                self._apply_heartbeat(snapshot, self._json(response))
            except (ResourceNotFoundError, ConflictError) as exc:
                self._forget_execution(execution_id, f"heartbeat refused: {exc.message}")
                return
            except (CloudomationError, pydantic.ValidationError, RuntimeError) as exc:
                log.warning("heartbeat of execution %s failed: %s", execution_id, exc)
                if self._heartbeat_failed_long(last_ok):
                    self._lost_all("no heartbeat got through for longer than the lease")
                continue
            last_ok = time.time()

    def _stop_heartbeat(self) -> None:
        task = self._heartbeat
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _join_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task
