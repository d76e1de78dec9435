"""Everything the two clients share that does no I/O.

Request building, the status-to-exception mapping, the retry policy and the bookkeeping of the
client's execution live here, once; ``Client`` and ``AsyncClient`` (``_client.py``) repeat only the
lines that send, sleep or start a background heartbeat.
"""

from __future__ import annotations

import contextlib
import functools
import json as jsonlib
import logging
import os
import platform
import random
import socket
import sys
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from time import time
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._config import ClientConfig, resolve_config
from ._constants import (
    DEFAULT_LEASE_TTL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    VERSION,
)
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    CloudomationError,
    error_class,
)
from ._models import Execution, HeartbeatResult
from ._types import NOT_GIVEN, NotGiven
from ._wire import Reply, encode_request

if TYPE_CHECKING:
    from ._lock import LockCore

__all__ = [
    "BaseClient",
    "EndStatus",
    "RequestOptions",
    "as_response",
    "is_uuid",
    "setting_path",
    "user_agent",
]

log = logging.getLogger("cloudomation_kit")
M = TypeVar("M", bound=pydantic.BaseModel)
EndStatus = Literal["ENDED_SUCCESS", "ENDED_ERROR", "ENDED_CANCELLED"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@functools.cache
def user_agent() -> str:
    return f"cloudomation-kit/{VERSION} python/{platform.python_version()}"


def is_uuid(key: str) -> bool:
    """Whether ``key`` is addressed by id (a uuid) rather than by name."""
    try:
        uuid.UUID(key)
    except ValueError:
        return False
    return True


def setting_path(name_or_id: str) -> tuple[str, dict[str, str]]:
    """The path and query for one setting: a uuid by id, anything else by name."""
    if not isinstance(name_or_id, str) or not name_or_id.strip():
        raise ValueError(f"a setting name or id must be a non-empty string, got {name_or_id!r}")
    if is_uuid(name_or_id.strip()):
        return f"/setting/{name_or_id.strip()}", {}
    return f"/setting/{quote(name_or_id, safe='')}", {"by": "name"}


def default_execution_name() -> str:
    """A readable label for this process: ``script.py@host:pid``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    script = Path(argv0).name if argv0 and argv0 != "-c" else "python"
    if script in ("__main__.py", "pytest") or script.endswith("-script.py"):
        script = Path(argv0).parent.name or script
    return f"{script}@{socket.gethostname()}:{os.getpid()}"


@dataclass
class RequestOptions:
    """One request, before it is sent (and again for each retry)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    idempotent: bool | None = None
    """Safe to send twice; ``None`` decides by method (GET, PUT, DELETE are)."""
    timeout: float | NotGiven | None = NOT_GIVEN
    """Seconds for this request; ``NOT_GIVEN`` uses the client's timeout, ``None`` waits forever."""
    max_retries: int | None = None


class BaseClient:
    """Configuration, request building, error mapping, retries and execution bookkeeping."""

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
    ) -> None:
        self.config: ClientConfig = resolve_config(
            url=url, token=token, user=user, password=password, profile=profile
        )
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if lease_ttl < 0.5:
            raise ValueError("lease_ttl must be at least 0.5 seconds")
        self.base_url = self.config.url
        self.timeout = timeout
        self.max_retries = max_retries
        self.lease_ttl = lease_ttl
        self.execution_name = execution_name or default_execution_name()
        self._token = self.config.token
        self._closed = False
        self._mutex = threading.Lock()
        """Guards the execution and the held-lock registry (heartbeat thread vs. callers)."""
        self._execution: Execution | None = None
        self._held: dict[int, LockCore] = {}
        base = httpx.URL(self.base_url)
        self._lean_target: tuple[str, int, str] | None = None
        """Host, port and path prefix for ``LeanTransport.exchange`` (plain HTTP only)."""
        # Plain HTTP without a proxy only: httpx itself handles TLS and the *_PROXY variables.
        if base.scheme == "http" and base.host and not _proxied(base.host):
            prefix = base.raw_path.split(b"?")[0].decode("ascii").rstrip("/")
            self._lean_target = (base.host, base.port or 80, prefix)
        self._host_header = base.netloc
        self._header_block: tuple[str | None, bytes] = ("", b"")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.base_url!r})"

    # -- requests ------------------------------------------------------------------------------

    def _httpx_timeout(self, timeout: float | None) -> httpx.Timeout:
        return httpx.Timeout(timeout, connect=None if timeout is None else min(timeout, 5.0))

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": user_agent(), "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = self._token
        if extra:
            headers.update(extra)
        return headers

    def _static_headers(self) -> bytes:
        """The header lines every request carries, encoded once per token."""
        token, block = self._header_block
        if token != self._token or not block:
            block = _header_lines({"Host": self._host_header.decode("ascii"), **self._headers()})
            self._header_block = (self._token, block)
        return block

    def _encode(self, opts: RequestOptions) -> tuple[bytes, float | None, float | None]:
        """``opts`` as the bytes ``LeanTransport.exchange`` sends, with its connect and read
        timeouts: what ``_build_request`` makes, minus the ``httpx.Request`` (~50 us of URL and
        header models a request, a tenth of a lock round trip)."""
        assert self._lean_target is not None
        target = self._lean_target[2] + _quote_path(opts.path)
        if opts.params:
            target += "?" + str(httpx.QueryParams(opts.params))
        headers = self._static_headers()
        body: bytes | None = None
        if opts.json is not None:
            # As httpx encodes ``json=``, so both paths send the very same bytes.
            body = _JSON.encode(opts.json).encode()
            headers += b"Content-Type: application/json\r\n"
        elif opts.method in ("POST", "PUT", "PATCH"):
            body = b""
        if opts.headers:
            headers += _header_lines(opts.headers)
        timeout = self.timeout if isinstance(opts.timeout, NotGiven) else opts.timeout
        connect = None if timeout is None else min(timeout, 5.0)
        return encode_request(opts.method, target, headers, body), connect, timeout

    def _build_request(self, opts: RequestOptions) -> Any:
        # httpx.Request directly: the SDK's clients carry no base URL, headers, params or
        # cookies of their own, so Client.build_request's merging of them is pure cost (a
        # quarter of the client's time on a lock round trip).
        timeout = self.timeout if isinstance(opts.timeout, NotGiven) else opts.timeout
        return httpx.Request(
            opts.method,
            self.base_url + opts.path,
            params=opts.params,
            json=opts.json,
            headers=self._headers(opts.headers),
            extensions={"timeout": self._httpx_timeout(timeout).as_dict()},
        )

    def _should_retry(
        self,
        opts: RequestOptions,
        attempt: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Retry connection failures, 429 and 5xx, on idempotent requests, ``max_retries`` times.

        A refused connection is retried for every method: the request never left, so sending it
        again cannot do anything twice.
        """
        limit = self.max_retries if opts.max_retries is None else opts.max_retries
        if attempt >= limit:
            return False
        if isinstance(error, httpx.ConnectError):
            return True
        idempotent = opts.idempotent
        if idempotent is None:
            idempotent = opts.method.upper() in IDEMPOTENT_METHODS
        if not idempotent:
            return False
        if error is not None:
            return isinstance(error, httpx.TransportError)
        return response is not None and response.status_code in RETRY_STATUSES

    def _retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds before retry number ``attempt + 1``: ``Retry-After`` if sane, else backoff.

        Backoff doubles from 0.5 s up to 8 s, minus up to a quarter of jitter so that many clients
        retrying together spread out.
        """
        retry_after = _parse_retry_after(response) if response is not None else None
        if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
            return retry_after
        delay = min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY)
        return delay * (1 - 0.25 * random.random())

    def _connection_error(
        self, exc: Exception, request: httpx.Request | None
    ) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"request timed out: {exc}", request=request)
        what = f"{request.method} {request.url}" if request is not None else "request"
        detail = str(exc) or type(exc).__name__
        return APIConnectionError(f"cannot reach the server ({what}): {detail}", request=request)

    def _make_status_error(self, response: httpx.Response) -> CloudomationError:
        """The exception for an error answer, mapped by the body's ``error`` name, then status."""
        body: Any = None
        name: str | None = None
        message = ""
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = response.text
        if isinstance(body, dict):
            raw_name, raw_message = body.get("error"), body.get("message")
            name = raw_name if isinstance(raw_name, str) else None
            message = raw_message if isinstance(raw_message, str) else ""
        if not message:
            text = body if isinstance(body, str) else ""
            message = text.strip()[:200] or response.reason_phrase or "error"
        cls = error_class(response.status_code, name)
        return cls(
            f"{response.status_code} {name or cls.__name__}: {message}",
            response=response,
            body=body,
            error=name,
        )

    def _json(self, response: httpx.Response | Reply) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise APIResponseValidationError(
                f"the server answered {response.status_code} with a body that is not JSON",
                response=as_response(response),
                body=response.text,
            ) from exc

    def _parse(self, response: httpx.Response | Reply, model: type[M], key: str | None = None) -> M:
        """The answer as ``model``; ``key`` unwraps Cloudomation's ``{"<type>": ...}`` envelope."""
        if key is None and isinstance(response, Reply):
            # Straight from the bytes (the lock calls' answers): a third of the work of json.loads
            # and then model_validate. A failure is worded below, from the decoded JSON.
            with contextlib.suppress(pydantic.ValidationError):
                return model.model_validate_json(response.content)
        data = self._json(response)
        if key is not None and isinstance(data, dict) and key in data:
            data = data[key]
        return self._validate(response, model, data)

    def _validate(self, response: httpx.Response | Reply, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise APIResponseValidationError(
                f"unexpected answer from the server (not a {model.__name__}): "
                f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']}",
                response=as_response(response),
                body=data,
            ) from exc

    def _login_options(self) -> RequestOptions:
        assert self.config.user and self.config.password
        return RequestOptions(
            "POST",
            "/auth/login",
            json={"user_name": self.config.user, "password": self.config.password},
            max_retries=0,
        )

    # -- the client's execution ----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed; create a new one")

    def _execution_options(self, lease_ttl: float | None) -> RequestOptions:
        ttl = self.lease_ttl if lease_ttl is None else lease_ttl
        return RequestOptions(
            "POST", "/execution", json={"name": self.execution_name, "lease_ttl": ttl}
        )

    def _reusable_execution(self, stale: str | None, lease_ttl: float | None) -> Execution | None:
        """The current execution if it serves; ``None`` if one must be created."""
        self._check_open()
        with self._mutex:
            current = self._execution
        if current is not None and stale is not None and current.id == stale:
            self._forget_execution(stale, "the execution ended on the server")
            current = None
        if current is None:
            return None
        if lease_ttl is not None and lease_ttl != current.lease_ttl:
            raise ValueError(
                f"this client's execution has lease_ttl={current.lease_ttl:g}; one client is one "
                f"execution, so a lock with lease_ttl={lease_ttl:g} needs another client"
            )
        return current

    def _forget_execution(self, execution_id: str, reason: str) -> None:
        """The execution is gone on the server: every lock it held is lost."""
        with self._mutex:
            if self._execution is None or self._execution.id != execution_id:
                return
            self._execution = None
            held = list(self._held.values())
            self._held.clear()
        self._stop_heartbeat()
        for core in held:
            core.mark_lost(reason)

    def _stop_heartbeat(self) -> None:
        """Stop the background heartbeat (a thread or a task, depending on the client)."""

    def _register(self, core: LockCore) -> None:
        with self._mutex:
            self._held[id(core)] = core

    def _unregister(self, core: LockCore) -> None:
        with self._mutex:
            self._held.pop(id(core), None)

    def _held_snapshot(self) -> list[tuple[LockCore, int]]:
        with self._mutex:
            return [(c, c.token) for c in self._held.values() if c.token is not None]

    def _apply_heartbeat(self, snapshot: list[tuple[LockCore, int]], data: Any) -> None:
        """Mark lost every lock held before the heartbeat that its answer no longer lists.

        Only locks held when the heartbeat was sent are checked: a lock acquired meanwhile is
        legitimately missing from the answer.
        """
        result = HeartbeatResult.model_validate(data)
        tokens = {lock.token for lock in result.locks}
        for core, token in snapshot:
            if core.token == token and token not in tokens:
                self._unregister(core)
                core.mark_lost("the server no longer lists this lock for the execution")

    def _heartbeat_failed_long(self, last_ok: float) -> bool:
        return time() - last_ok > self.lease_ttl

    def _lost_all(self, reason: str) -> None:
        for core, _ in self._held_snapshot():
            self._unregister(core)
            core.mark_lost(reason)

    def _end_options(self, execution_id: str, status: EndStatus, message: str | None) -> Any:
        return RequestOptions(
            "PATCH",
            f"/execution/{execution_id}",
            json={"status": status, "message": message},
            idempotent=True,
            timeout=min(self.timeout or 10.0, 10.0),
        )

    def _take_execution(self) -> Execution | None:
        with self._mutex:
            ex, self._execution = self._execution, None
            held = list(self._held.values())
            self._held.clear()
        for core in held:
            core.forget()
        return ex

    @staticmethod
    def _end_status(exc: BaseException | None) -> tuple[EndStatus, str | None]:
        if exc is None:
            return "ENDED_SUCCESS", None
        if isinstance(exc, KeyboardInterrupt):
            return "ENDED_CANCELLED", "interrupted"
        return "ENDED_ERROR", f"{type(exc).__name__}: {exc}"[:2000]


_PATH_SAFE = "/:@!$&'()*+,;=%"
"""What a path may hold unquoted (RFC 3986 pchar; ``%`` because paths arrive quoted)."""


_JSON = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""httpx's ``json=`` encoding, made once (``json.dumps`` with options makes an encoder a call)."""


@functools.lru_cache(maxsize=256)
def _quote_path(path: str) -> str:
    # The lock actions' paths repeat on every call: quote each once.
    return quote(path, safe=_PATH_SAFE)


def _proxied(host: str) -> bool:
    """Whether the environment sends plain-HTTP requests to ``host`` through a proxy
    (``HTTP_PROXY``/``ALL_PROXY``, unless ``NO_PROXY`` names the host), as httpx reads it."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get("http") or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)  # type: ignore[attr-defined]


def _header_lines(headers: dict[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} holds a line break (or the name a colon)")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


def as_response(reply: httpx.Response | Reply) -> httpx.Response:
    """An answer as the ``httpx.Response`` that callers and exceptions carry."""
    return reply if isinstance(reply, httpx.Response) else reply.to_httpx()


def _parse_retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000
        except ValueError:
            return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time()
    except (TypeError, ValueError):
        return None


def dumps(value: Any) -> str:
    """Compact JSON, for query parameters such as ``filter``."""
    return jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False)
