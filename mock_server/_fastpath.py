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
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudomation_kit._models import AcquireRequest, CancelRequest, ReleaseRequest, WaitRequest

from ._errors import ServerError, ValueTooLargeError
from ._http import Principal, ServerConfig, authenticate, decode_body, require_write
from ._routers.locks import (
    GONE,
    Waiting,
    acquire_begin,
    answer_wait,
    cancel_op,
    release_op,
    wait_begin,
)

__all__ = ["FastLockRoutes", "Op", "begin", "encode_json", "finish", "header", "lock_routes"]

log = logging.getLogger("mock_server")

Answer = tuple[int, Any]
Headers = list[tuple[bytes, bytes]]
Op = Callable[[Any, bytes, Headers, Principal], "Answer | Waiting"]


def _limit(state: Any) -> int:
    config: ServerConfig = state.config
    return config.max_body_bytes


def header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _acquire(state: Any, raw: bytes, headers: Headers, who: Principal) -> Answer | Waiting:
    body = decode_body(raw, AcquireRequest, _limit(state))
    return acquire_begin(state, body, header(headers, b"user-agent"))


def _wait(state: Any, raw: bytes, headers: Headers, who: Principal) -> Answer | Waiting:
    return wait_begin(state, decode_body(raw, WaitRequest, _limit(state)))


def _cancel(state: Any, raw: bytes, headers: Headers, who: Principal) -> Answer | Waiting:
    return 200, cancel_op(state, decode_body(raw, CancelRequest, _limit(state)))


def _release(state: Any, raw: bytes, headers: Headers, who: Principal) -> Answer | Waiting:
    return 200, release_op(state, decode_body(raw, ReleaseRequest, _limit(state)), who)


def lock_routes(prefix: str) -> dict[str, Op]:
    """The four lock actions by path: each parses its body and answers at once, or says what
    to wait for (``Waiting``)."""
    return {
        f"{prefix}/lock/acquire": _acquire,
        f"{prefix}/lock/wait": _wait,
        f"{prefix}/lock/cancel": _cancel,
        f"{prefix}/lock/release": _release,
    }


def begin(
    state: Any, op: Op, raw: bytes, headers: Headers, authorization: str | None
) -> Answer | Waiting:
    """Authenticate and run ``op``: its answer (errors as their wire answer), or a wait."""
    try:
        principal = require_write(authenticate(state, authorization))
        return op(state, raw, headers, principal)
    except ServerError as exc:
        return exc.status, {"error": exc.name, "message": exc.message}
    except Exception as exc:
        log.exception("unexpected error in a lock action")
        return 500, {
            "error": "InternalError",
            "message": f"internal server error ({type(exc).__name__})",
        }


async def finish(state: Any, waiting: Waiting, receive: Receive) -> Answer:
    """The long-poll of a ``Waiting`` answer, its errors as their wire answer."""
    try:
        return await answer_wait(state, waiting, receive)
    except ServerError as exc:
        return exc.status, {"error": exc.name, "message": exc.message}
    except Exception as exc:
        log.exception("unexpected error in a lock wait")
        return 500, {
            "error": "InternalError",
            "message": f"internal server error ({type(exc).__name__})",
        }


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class FastLockRoutes:
    """ASGI middleware answering ``POST /lock/{acquire,wait,cancel,release}`` directly."""

    def __init__(self, app: ASGIApp, *, prefix: str, state: Any) -> None:
        self.app = app
        self.state = state
        self.routes = lock_routes(prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if op is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        try:
            raw = await _read_body(receive, _limit(self.state))
        except ServerError as exc:
            await _send_json(send, exc.status, {"error": exc.name, "message": exc.message})
            return
        result = begin(self.state, op, raw, headers, header(headers, b"authorization"))
        status, body = (
            await finish(self.state, result, receive) if isinstance(result, Waiting) else result
        )
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
    payload = encode_json(body)
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
