"""The ASGI app: composes the routers over one backend (FastAPI's "bigger applications" layout)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from ._backend import Backend
from ._driver import LockDriver
from ._errors import ValueTooLargeError
from ._fastpath import FastRoutes
from ._http import ServerConfig, error_response, install_error_handlers
from ._routers import auth, events, executions, locks, settings, testing

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/latest"


class _BodyLimit:
    """Refuse a body announced as too large before reading any of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                    error = ValueTooLargeError(
                        f"request body is {int(value)} bytes; the limit is {self.limit} bytes"
                    )
                    await error_response(error)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(backend: Backend, config: ServerConfig | None = None) -> FastAPI:
    """A server app over ``backend``; the lock driver starts with the app's lifespan."""
    config = config or ServerConfig()
    driver = LockDriver(backend.locks)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        driver.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            driver.stop()

    app = FastAPI(
        title="cloudomation-kit mock server",
        version=auth.VERSION,
        description=(
            "Cloudomation-style settings and locks. The `setting` routes, the envelope, "
            "`plain`, `filter` and `fields` follow Cloudomation's documentation; locks, "
            "executions, events, paging, versions and fencing are ours (see docs/api.md)."
        ),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    app.state.config = config
    app.state.driver = driver
    app.state.logins = {}
    install_error_handlers(app)
    routers: list[Any] = [auth, settings, locks, executions, events]
    if config.testing:
        routers.append(testing)
    route_methods = []
    for module in routers:
        app.include_router(module.router, prefix=API_PREFIX)
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                pattern, _, _ = compile_path(API_PREFIX + route.path)
                route_methods.append((pattern, set(route.methods or ())))
    # For the Allow header of a 405, which FastAPI fills from one matching route only.
    app.state.route_methods = route_methods
    app.add_middleware(_BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(FastRoutes, prefix=API_PREFIX, state=app.state)
    return app
