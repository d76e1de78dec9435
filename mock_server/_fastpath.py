"""The hot requests, answered without FastAPI: the lock actions and one setting's read and update.

A lock round trip on loopback is a handful of small requests, and FastAPI's per-request machinery
(route matching over every route, dependency solving, response handling) cost more than the work
itself: ~1 ms a settings read through FastAPI against ~0.1 ms of store and serialisation. The
requests every lock user makes over and over are answered here instead:

- ``POST /lock/{acquire,wait,cancel,release}``;
- ``GET`` and ``PATCH /setting/{key}`` (the read-modify-write under a lock), when the query holds
  nothing but well-formed ``by``, ``plain``, ``fields`` (GET) and ``fence`` (PATCH).

They call the very operations the documented FastAPI routes call (``_routers/locks.py``,
``_routers/settings.py``) with the same auth and body checks (``_http.py``), so both ways answer
alike. Anything else, including a query FastAPI would refuse, goes on to FastAPI, which still
documents every route and words every validation error.

``Routes.match`` decides from the method and the raw target; ``_protocol.py`` calls it in the
HTTP protocol itself, and ``FastRoutes`` (ASGI middleware) for any other server.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudomation_kit._models import (
    AcquireRequest,
    CancelRequest,
    ReleaseRequest,
    SettingUpdate,
    WaitRequest,
)

from ._driver import OnGrant
from ._errors import ServerError, ValueTooLargeError
from ._http import Principal, ServerConfig, authenticate, decode_body, require_write
from ._routers import settings as setting_ops
from ._routers.locks import (
    GONE,
    Waiting,
    acquire_begin,
    answer_wait,
    cancel_op,
    release_op,
    wait_begin,
)

__all__ = [
    "Answer",
    "FastRoutes",
    "Handler",
    "Routes",
    "begin",
    "encode_json",
    "finish",
    "header",
]

log = logging.getLogger("mock_server")

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Any, Headers]
"""Status, JSON body (``None``: no answer, the client is gone) and extra response headers."""
Handler = Callable[[Any, bytes, Headers], "Answer | Waiting"]
"""Given the app's state, the request body and headers: the answer, or a wait to finish."""

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
"""The query spellings of a boolean that FastAPI (pydantic) accepts."""
_INT = re.compile(r"[+-]?[0-9]+")


def _limit(state: Any) -> int:
    config: ServerConfig = state.config
    return config.max_body_bytes


def header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _writer(state: Any, headers: Headers) -> Principal:
    return require_write(authenticate(state, header(headers, b"authorization")))


# -- the lock actions ---------------------------------------------------------------------------


def _acquire(state: Any, raw: bytes, headers: Headers) -> Answer | Waiting:
    _writer(state, headers)
    body = decode_body(raw, AcquireRequest, _limit(state))
    result = acquire_begin(state, body, header(headers, b"user-agent"))
    return result if isinstance(result, Waiting) else (*result, [])


def _wait(state: Any, raw: bytes, headers: Headers) -> Answer | Waiting:
    _writer(state, headers)
    return wait_begin(state, decode_body(raw, WaitRequest, _limit(state)))


def _cancel(state: Any, raw: bytes, headers: Headers) -> Answer | Waiting:
    _writer(state, headers)
    return 200, cancel_op(state, decode_body(raw, CancelRequest, _limit(state))), []


def _release(state: Any, raw: bytes, headers: Headers) -> Answer | Waiting:
    who = _writer(state, headers)
    return 200, release_op(state, decode_body(raw, ReleaseRequest, _limit(state)), who), []


# -- one setting --------------------------------------------------------------------------------


def _get_setting(
    state: Any, raw: bytes, headers: Headers, *, key: str, query: dict[str, Any]
) -> Answer | Waiting:
    authenticate(state, header(headers, b"authorization"))
    body, etag = setting_ops.get_op(state.backend, key, **query)
    return 200, body, [(b"etag", etag.encode())]


def _patch_setting(
    state: Any, raw: bytes, headers: Headers, *, key: str, query: dict[str, Any]
) -> Answer | Waiting:
    _writer(state, headers)
    update = decode_body(raw, SettingUpdate, _limit(state))
    if_match = header(headers, b"if-match")
    body, etag = setting_ops.update_op(state.backend, key, update, if_match=if_match, **query)
    return 200, body, [(b"etag", etag.encode())]


def _query(raw: str, allowed: frozenset[str]) -> dict[str, Any] | None:
    """The known parameters of a setting request, parsed as FastAPI would; ``None`` when
    FastAPI should answer (a repeated or malformed parameter: it words those errors)."""
    out: dict[str, Any] = {"by_name": False, "plain": False}
    seen: set[str] = set()
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name not in allowed:
            continue  # FastAPI ignores parameters it does not know
        if name in seen:
            return None
        seen.add(name)
        if name == "by":
            if value not in ("id", "name"):
                return None
            out["by_name"] = value == "name"
        elif name == "plain":
            if value.lower() not in _TRUE | _FALSE:
                return None
            out["plain"] = value.lower() in _TRUE
        elif name == "fence":
            if not _INT.fullmatch(value):
                return None
            out["fence"] = int(value)
        else:
            out[name] = value
    return out


class Routes:
    """Which requests the fast path answers: ``match`` gives the handler, or ``None``."""

    def __init__(self, prefix: str) -> None:
        self._locks: dict[str, Handler] = {
            f"{prefix}/lock/acquire": _acquire,
            f"{prefix}/lock/wait": _wait,
            f"{prefix}/lock/cancel": _cancel,
            f"{prefix}/lock/release": _release,
        }
        self._setting = f"{prefix}/setting/"

    def match(self, method: str, raw_path: str, query: str) -> Handler | None:
        """The handler for a request, from its method, its path as sent (percent-encoded)
        and its query string."""
        if method == "POST":
            return self._locks.get(raw_path) if not query else None
        if method not in ("GET", "PATCH") or not raw_path.startswith(self._setting):
            return None
        raw_key = raw_path[len(self._setting) :]
        if not raw_key:
            return None
        # As uvicorn and Starlette decode the path for the {key:path} parameter.
        key = unquote(raw_key) if "%" in raw_key else raw_key
        if method == "GET":
            params = _query(query, frozenset({"by", "plain", "fields"}))
            handler: Callable[..., Answer | Waiting] = _get_setting
        else:
            params = _query(query, frozenset({"by", "plain", "fence"}))
            handler = _patch_setting
        if params is None:
            return None
        return functools.partial(handler, key=key, query=params)


def begin(state: Any, handler: Handler, raw: bytes, headers: Headers) -> Answer | Waiting:
    """Run ``handler``: its answer (errors as their wire answer), or a wait to finish."""
    try:
        return handler(state, raw, headers)
    except ServerError as exc:
        return exc.status, {"error": exc.name, "message": exc.message}, []
    except Exception as exc:
        log.exception("unexpected error in a fast-path request")
        return _internal(exc)


async def finish(
    state: Any, waiting: Waiting, receive: Receive, on_grant: OnGrant | None = None
) -> Answer:
    """The long-poll of a ``Waiting`` answer, its errors as their wire answer. ``on_grant``:
    see ``LockDriver.wait``."""
    try:
        status, body = await answer_wait(state, waiting, receive, on_grant)
        return status, body, []
    except ServerError as exc:
        return exc.status, {"error": exc.name, "message": exc.message}, []
    except Exception as exc:
        log.exception("unexpected error in a lock wait")
        return _internal(exc)


def _internal(exc: Exception) -> Answer:
    message = f"internal server error ({type(exc).__name__})"
    return 500, {"error": "InternalError", "message": message}, []


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json(body: Any) -> bytes:
    """As Starlette's ``JSONResponse`` encodes, byte for byte (one encoder, made once)."""
    return _JSON.encode(body).encode()


class FastRoutes:
    """ASGI middleware answering what ``Routes`` matches; the rest goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, prefix: str, state: Any) -> None:
        self.app = app
        self.state = state
        self.routes = Routes(prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            handler = self.routes.match(
                scope["method"],
                raw_path.decode("latin-1"),
                scope["query_string"].decode("latin-1"),
            )
        if handler is None:
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        try:
            raw = await _read_body(receive, _limit(self.state))
        except ServerError as exc:
            body = {"error": exc.name, "message": exc.message}
            await _send_json(send, (exc.status, body, []))
            return
        result = begin(self.state, handler, raw, headers)
        answer = (
            await finish(self.state, result, receive) if isinstance(result, Waiting) else result
        )
        if answer[0] == GONE:
            return  # the client is gone: there is nobody to answer
        await _send_json(send, answer)


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


async def _send_json(send: Send, answer: Answer) -> None:
    status, body, extra = answer
    payload = encode_json(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
