"""Building and running a server: from the command line, or on a thread for tests and embedding."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from ._app import API_PREFIX, create_app
from ._backend import Backend
from ._clock import Clock, OffsetClock, SystemClock
from ._http import ServerConfig
from ._protocol import protocol_for
from ._sqlite import SqliteStore
from ._store import DEFAULT_MAX_VALUE_BYTES, MemoryStore, SettingStore

__all__ = ["RunningServer", "build_backend", "data_dir", "run_server", "serve"]

KEEP_ALIVE = 65
"""Seconds an idle connection stays open. uvicorn's default (5 s) equals the heartbeat period of
the default 15 s lease, so clients kept sending heartbeats on connections the server was just
closing ("Server disconnected without sending a response")."""


def data_dir() -> Path:
    """Where the server keeps its SQLite file and generated token by default."""
    import platformdirs

    return Path(platformdirs.user_data_dir("cloudomation-kit", appauthor=False))


def build_backend(
    *,
    db: str | Path | None = None,
    memory: bool = False,
    testing: bool = False,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    clock: Clock | None = None,
    **lock_options: Any,
) -> Backend:
    """A backend on SQLite (``db``, default under ``data_dir()``) or in memory (``memory``).

    ``testing`` uses a clock the ``/_testing/clock`` endpoint can move forward.
    """
    clock = clock or (OffsetClock() if testing else SystemClock())
    store: SettingStore
    if memory:
        store = MemoryStore(clock, max_value_bytes=max_value_bytes)
    else:
        store = SqliteStore(
            db or data_dir() / "mock_server.sqlite3", clock, max_value_bytes=max_value_bytes
        )
    return Backend(store, clock, **lock_options)


def _protocol(app: FastAPI) -> Any:
    """The HTTP protocol: uvicorn's, answering the lock actions itself (``_protocol.py``)."""
    return protocol_for(app.state, API_PREFIX) or "auto"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says so, and without it every keep-alive answer waits ~40 ms for the
    # client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    backend: Backend,
    config: ServerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Run the server in the foreground until interrupted."""
    app = create_app(backend, config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http=_protocol(app),
            log_level=log_level,
            access_log=access_log,
            timeout_graceful_shutdown=3,
            timeout_keep_alive=KEEP_ALIVE,
        )
    )
    sock = _bind(host, port)
    try:
        server.run(sockets=[sock])
    finally:
        backend.store.close()


@dataclass
class RunningServer:
    """A server running on a thread: where it is and how to reach it."""

    url: str
    """Base URL including the API prefix, e.g. ``http://127.0.0.1:43123/api/latest``."""
    token: str
    """A read-write token."""
    backend: Backend
    config: ServerConfig
    host: str = "127.0.0.1"
    port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        """The URL without the API prefix."""
        return self.url[: -len(API_PREFIX)]


@contextlib.contextmanager
def run_server(
    backend: Backend | None = None,
    *,
    token: str | None = None,
    read_token: str | None = None,
    users: dict[str, str] | None = None,
    testing: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    max_wait: float = 20.0,
    log_level: str = "warning",
) -> Iterator[RunningServer]:
    """Run a real server on a free loopback port in a thread; yields its URL and token.

    Without ``backend`` the server uses a fresh in-memory store and a movable test clock.

        with run_server() as server:
            httpx.get(f"{server.url}/setting", headers={"Authorization": server.token})
    """
    owned = backend is None
    backend = backend or build_backend(memory=True, testing=testing)
    token = token or secrets.token_urlsafe(24)
    config = ServerConfig(
        tokens=[token],
        read_tokens=[read_token] if read_token else [],
        users=users or {},
        testing=testing,
        max_wait=max_wait,
        max_body_bytes=backend.store.max_value_bytes + 64 * 1024,
    )
    app = create_app(backend, config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http=_protocol(app),
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=KEEP_ALIVE,
        )
    )
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mock-server", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the mock server failed to start; see its log above")
            threading.Event().wait(0.005)
        yield RunningServer(
            url=f"http://{host}:{actual_port}{API_PREFIX}",
            token=token,
            backend=backend,
            config=config,
            host=host,
            port=actual_port,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if owned:
            backend.store.close()


def env_token() -> str | None:
    return os.environ.get("CLOUDOMATION_TOKEN") or None
