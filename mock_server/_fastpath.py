"""The lock actions served as plain ASGI, ahead of FastAPI's routing and dependencies.

A lock round trip on loopback is a handful of small requests, and FastAPI's per-request machinery
(route matching over every route, dependency solving, response model handling) was a quarter of
its cost. ``acquire``, ``wait``, ``cancel`` and ``release`` are the hot path of every lock, so this
middleware answers them directly, calling the very operations the documented FastAPI routes call
(``_routers/locks.py``) with the same auth and body checks (``_http.py``). Every other request,
and these paths with any other method, go on to FastAPI, which still documents them all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudomation_kit._models import AcquireRequest, CancelRequest, ReleaseRequest, WaitRequest

from ._errors import ServerError, ValueTooLargeError
from ._http import Principal, ServerConfig, authenticate, decode_body, require_write
from ._routers.locks import GONE, acquire_op, cancel_op, release_op, wait_op

__all__ = ["FastLockRoutes"]

log = logging.getLogger("mock_server")

Answer = tuple[int, Any]
Op = Callable[[Any, bytes, dict[bytes, bytes], Receive, Principal], Awaitable[Answer]]


def _limit(state: Any) -> int:
    config: ServerConfig = state.config
    return config.max_body_bytes


async def _acquire(
    state: Any, raw: bytes, headers: dict[bytes, bytes], receive: Receive, who: Principal
) -> Answer:
    body = decode_body(raw, AcquireRequest, _limit(state))
    ua = headers.get(b"user-agent")
    return await acquire_op(state, body, ua.decode("latin-1") if ua else None, receive)


async def _wait(
    state: Any, raw: bytes, headers: dict[bytes, bytes], receive: Receive, who: Principal
) -> Answer:
    return await wait_op(state, decode_body(raw, WaitRequest, _limit(state)), receive)


async def _cancel(
    state: Any, raw: bytes, headers: dict[bytes, bytes], receive: Receive, who: Principal
) -> Answer:
    return 200, cancel_op(state, decode_body(raw, CancelRequest, _limit(state)))


async def _release(
    state: Any, raw: bytes, headers: dict[bytes, bytes], receive: Receive, who: Principal
) -> Answer:
    return 200, release_op(state, decode_body(raw, ReleaseRequest, _limit(state)), who)


class FastLockRoutes:
    """ASGI middleware answering ``POST /lock/{acquire,wait,cancel,release}`` directly."""

    def __init__(self, app: ASGIApp, *, prefix: str, state: Any) -> None:
        self.app = app
        self.state = state
        self.routes: dict[str, Op] = {
            f"{prefix}/lock/acquire": _acquire,
            f"{prefix}/lock/wait": _wait,
            f"{prefix}/lock/cancel": _cancel,
            f"{prefix}/lock/release": _release,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if op is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            headers = dict(scope["headers"])
            auth = headers.get(b"authorization")
            principal = require_write(
                authenticate(self.state, auth.decode("latin-1") if auth is not None else None)
            )
            raw = await _read_body(receive, _limit(self.state))
            status, body = await op(self.state, raw, headers, receive, principal)
        except ServerError as exc:
            status, body = exc.status, {"error": exc.name, "message": exc.message}
        except Exception as exc:
            log.exception("unexpected error in POST %s", scope["path"])
            status = 500
            message = f"internal server error ({type(exc).__name__})"
            body = {"error": "InternalError", "message": message}
        if status == GONE:
            return  # the client is gone: there is nobody to answer
        await _send_json(send, status, body)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValueTooLargeError(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
