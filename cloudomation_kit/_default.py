"""The module-level ``lock()`` and ``alock()``: a default client built from the environment.

    from cloudomation_kit import lock

    with lock("cloud-vm-lock"):
        ...

The default ``Client`` is made on first use (from ``CLOUDOMATION_URL`` and ``CLOUDOMATION_TOKEN``,
see ``_config``) and closed when the interpreter exits, which ends its execution: ``ENDED_ERROR``
if the program died of an uncaught exception, ``ENDED_SUCCESS`` otherwise. ``alock()`` keeps one
``AsyncClient`` per event loop, since an async connection pool cannot move between loops.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import threading
import weakref
from types import TracebackType

import httpx

from ._client import AsyncClient, Client
from ._constants import DEFAULT_LOCK_TIMEOUT
from ._lock import AsyncSettingLock, OnLost, SettingLock

__all__ = ["alock", "default_async_client", "default_client", "lock"]

log = logging.getLogger("cloudomation_kit")

_mutex = threading.Lock()
_client: Client | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_crash: BaseException | None = None
_registered = False
_previous_hook = sys.excepthook


def _hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    global _crash
    _crash = exc
    _previous_hook(exc_type, exc, tb)


def default_client() -> Client:
    """The process-wide ``Client`` behind ``lock()``, made from the environment on first use."""
    global _client
    with _mutex:
        if _client is None or _client._closed:
            _client = Client()
            _register()
        return _client


def default_async_client() -> AsyncClient:
    """The ``AsyncClient`` behind ``alock()`` for the running event loop."""
    loop = asyncio.get_running_loop()
    with _mutex:
        client = _async_clients.get(loop)
        if client is None or client._closed:
            client = _async_clients[loop] = AsyncClient()
            _register()
        return client


def _register() -> None:
    global _registered
    if not _registered:
        _registered = True
        atexit.register(_close_all)
        if sys.excepthook is _previous_hook:
            sys.excepthook = _hook


def lock(
    name: str,
    timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    *,
    lease_ttl: float | None = None,
    on_lost: OnLost | None = None,
) -> SettingLock:
    """A lock on setting ``name`` through the default client: ``with lock("x"): ...``."""
    return default_client().lock(name, timeout, lease_ttl=lease_ttl, on_lost=on_lost)


def alock(
    name: str,
    timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    *,
    lease_ttl: float | None = None,
    on_lost: OnLost | None = None,
) -> AsyncSettingLock:
    """The async twin of ``lock()``: ``async with alock("x"): ...`` (inside a running loop)."""
    return default_async_client().lock(name, timeout, lease_ttl=lease_ttl, on_lost=on_lost)


def _close_all() -> None:
    status, message = Client._end_status(_crash)
    with _mutex:
        client, clients = _client, list(_async_clients.values())
        _async_clients.clear()
    if client is not None:
        client.close(status, message)
    for aclient in clients:
        # The loop that owned this client is gone by now: end its execution with a plain request.
        ex = aclient._take_execution()
        if ex is None or aclient._closed:
            continue
        options = aclient._end_options(ex.id, status, message)
        try:
            httpx.request(
                options.method,
                aclient.base_url + options.path,
                json=options.json,
                headers=aclient._headers(),
                timeout=5.0,
            )
        except httpx.HTTPError as exc:
            log.warning("could not end execution %s: %s", aclient.execution_name, exc)
