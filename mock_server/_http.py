"""What every router shares: configuration, auth, body parsing, envelopes and error bodies."""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._backend import Backend
from ._errors import (
    AuthenticationError,
    InvalidRequestError,
    MethodNotAllowed,
    PermissionDenied,
    PreconditionFailed,
    ResourceNotFoundError,
    ServerError,
    ValidationError,
    ValueTooLargeError,
)

__all__ = [
    "Principal",
    "ServerConfig",
    "authenticate",
    "decode_body",
    "envelope",
    "error_response",
    "install_error_handlers",
    "parse_body",
    "parse_if_match",
    "reader",
    "require_write",
    "writer",
]

log = logging.getLogger("mock_server")
T = TypeVar("T", bound=pydantic.BaseModel)


@dataclass
class ServerConfig:
    """How a server answers: who may call it, and its limits."""

    tokens: list[str] = field(default_factory=list)
    """Tokens that may read and write."""
    read_tokens: list[str] = field(default_factory=list)
    """Tokens that may only read."""
    users: dict[str, str] = field(default_factory=dict)
    """User name -> password, for ``POST /auth/login``."""
    testing: bool = False
    """Serve the ``/_testing`` endpoints (reset, state, clock)."""
    max_wait: float = 20.0
    """Longest one long-poll request blocks, in seconds."""
    max_body_bytes: int = 1024 * 1024 + 64 * 1024
    login_ttl: float = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Principal:
    name: str
    can_write: bool


# auto_error=False: a missing header is our 401 with our error body, not FastAPI's 403.
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="The token, raw (`Authorization: <token>`) or as `Bearer <token>`.",
)


def _match(candidate: str, tokens: list[str]) -> bool:
    found = False
    for token in tokens:
        # Compare against every token, so timing tells nothing about which one matched.
        found |= hmac.compare_digest(candidate.encode(), token.encode())
    return found


# The dependencies are coroutines on purpose: FastAPI runs plain functions in a worker thread,
# which costs a thread hop per dependency on every request.
async def reader(
    request: Request, authorization: Annotated[str | None, Depends(_authorization)]
) -> Principal:
    """Any valid token; 401 without one."""
    return authenticate(request.app.state, authorization)


def authenticate(state: Any, authorization: str | None) -> Principal:
    """Who the ``Authorization`` header names, given the app's state; 401 if nobody."""
    if not authorization:
        raise AuthenticationError("missing Authorization header: send 'Authorization: <token>'")
    token = authorization.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    config: ServerConfig = state.config
    logins: dict[str, Login] = state.logins
    if _match(token, config.tokens):
        return Principal("admin", True)
    if logins and _match(token, list(logins)):
        login = logins[token]
        if state.backend.clock.now() >= login.expires_at:
            del logins[token]
            raise AuthenticationError("the login token expired: log in again")
        return Principal(login.user_name, True)
    if _match(token, config.read_tokens):
        return Principal("read-only", False)
    raise AuthenticationError("invalid token")


def require_write(principal: Principal) -> Principal:
    if not principal.can_write:
        raise PermissionDenied("this token is read-only: it cannot change anything")
    return principal


async def writer(principal: Annotated[Principal, Depends(reader)]) -> Principal:
    """A token that may write; 403 for a read-only one."""
    return require_write(principal)


@dataclass(frozen=True)
class Login:
    """A token issued by ``POST /auth/login``: whose, and until when (server clock)."""

    user_name: str
    expires_at: float


def issue_login_token(app: FastAPI, user_name: str) -> tuple[str, Login]:
    """A new login token for ``user_name``, valid for ``login_ttl`` on the server's clock."""
    config: ServerConfig = app.state.config
    login = Login(user_name, app.state.backend.clock.now() + config.login_ttl)
    token = secrets.token_urlsafe(32)
    app.state.logins[token] = login
    return token, login


async def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


async def parse_body(request: Request, model: type[T]) -> T:
    """Read and validate a JSON body: 400 for broken JSON, 413 too big, 422 wrong shape."""
    config: ServerConfig = request.app.state.config
    return decode_body(await request.body(), model, config.max_body_bytes)


def decode_body(raw: bytes, model: type[T], limit: int) -> T:
    """Validate a JSON body already read (see ``parse_body``)."""
    if len(raw) > limit:
        raise ValueTooLargeError(f"request body is {len(raw)} bytes; the limit is {limit} bytes")
    if not raw.strip():
        raise InvalidRequestError("request body is empty; send a JSON object")
    try:
        # As json.loads reads bytes, through one decoder made once (loads makes one a call).
        data = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except UnicodeDecodeError:
        raise InvalidRequestError("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(data)
    if not isinstance(data, dict):
        raise ValidationError(f"request body must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(_describe(exc)) from None
    except RecursionError:
        raise ValidationError("request body is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


# json.loads turns an escaped lone surrogate ("\ud800") into a str that cannot be encoded, so it
# could be stored but never answered. Only bodies with such an escape pay for the deep check.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(node: Any) -> None:
    if isinstance(node, str):
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
            ) from None
    elif isinstance(node, dict):
        for key, value in node.items():
            _refuse_lone_surrogates(key)
            _refuse_lone_surrogates(value)
    elif isinstance(node, list):
        for item in node:
            _refuse_lone_surrogates(item)


def _describe(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"][:8]) or "body"
        parts.append(f"{where[:120]}: {err['msg'][:200]}")
    return "; ".join(parts)


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: 3``, ``"3"`` or ``W/"3"`` -> 3; ``*`` or absent -> ``None``."""
    if value is None or value.strip() in ("", "*"):
        return None
    text = value.strip()
    if text.startswith("W/"):
        # If-Match uses strong comparison: a weak tag never matches (RFC 9110, 13.1.1).
        raise PreconditionFailed(f"If-Match {value!r} is a weak tag, which never matches")
    text = text.strip('"')
    if not text.isdigit():
        raise InvalidRequestError(f"If-Match must be a setting version number, got {value!r}")
    return int(text)


def envelope(type_name: str, body: Any, *, plain: bool, **extra: Any) -> dict[str, Any] | Any:
    """Cloudomation's ``{"<type>": ...}`` envelope, or the bare body with ``plain=true``."""
    if plain:
        return body
    return {type_name: body, **extra}


def error_response(exc: ServerError) -> JSONResponse:
    return JSONResponse({"error": exc.name, "message": exc.message}, status_code=exc.status)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as ``{"error": "<ExceptionName>", "message": "..."}``."""

    async def on_server_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServerError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error: ServerError
        if exc.status_code == 404:
            error = ResourceNotFoundError(f"no such endpoint: {request.method} {request.url.path}")
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
            # Starlette names only the first route that matched the path; list them all.
            path = request.url.path
            allowed: set[str] = set()
            for pattern, methods in request.app.state.route_methods:
                if pattern.match(path):
                    allowed |= methods
            if allowed:
                response = error_response(error)
                response.headers["Allow"] = ", ".join(sorted(allowed))
                return response
        else:
            error = InvalidRequestError(str(exc.detail))
        response = error_response(error)
        if exc.headers:  # e.g. Allow on a 405
            response.headers.update(exc.headers)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors()[:5]:
            loc = err.get("loc", ())
            where = ".".join(str(p) for p in loc[1:]) or str(loc[0] if loc else "request")
            parts.append(f"{where}: {err.get('msg')}")
        return error_response(InvalidRequestError("; ".join(parts)))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "InternalError", "message": f"internal server error ({type(exc).__name__})"},
            status_code=500,
        )

    app.add_exception_handler(ServerError, on_server_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
