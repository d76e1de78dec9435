"""HTTP/1.1 as the lean transports speak it: a request as bytes, an answer's head and framing.

No I/O here. ``_transport.py`` (blocking sockets) and ``_atransport.py`` (asyncio streams) read
lines and bodies with these rules and differ only in how they read: the answer's status line and
headers (1xx answers skipped), and bodies framed by ``Content-Length``, by chunks, or by the
connection closing, as RFC 9112 orders them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

__all__ = [
    "CHUNK",
    "END_OF_HEAD",
    "IDEMPOTENT",
    "MAX_LINE",
    "STALE",
    "ClosedError",
    "Head",
    "Reply",
    "WireError",
    "check_line",
    "chunk_size",
    "encode_httpx_request",
    "encode_request",
    "header_line",
    "status_line",
    "transport_error",
]

CHUNK = 64 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 200
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
END_OF_HEAD = (b"\r\n", b"\n")


class ClosedError(Exception):
    """The server closed the connection before an answer began (a stale keep-alive socket)."""


class WireError(Exception):
    """The answer is not HTTP/1.1 as this parser reads it."""


class Reply:
    """A whole answer, as ``exchange`` returns it: status, raw headers, body."""

    __slots__ = (
        "_response",
        "content",
        "headers",
        "reason_phrase",
        "request_factory",
        "status_code",
    )

    def __init__(
        self, status_code: int, reason: str, headers: list[tuple[bytes, bytes]], content: bytes
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason
        self.headers = headers
        self.content = content
        self.request_factory: Callable[[], httpx.Request] | None = None
        """Builds the request this answers, for ``to_httpx`` (set by whoever sent it)."""
        self._response: httpx.Response | None = None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def to_httpx(self) -> httpx.Response:
        """The same answer as an ``httpx.Response`` (for exceptions and ``_send``'s callers),
        made once, on demand: most answers never need one."""
        if self._response is None:
            self._response = httpx.Response(
                self.status_code,
                headers=self.headers,
                content=self.content,
                request=self.request_factory() if self.request_factory is not None else None,
                extensions={
                    "http_version": b"HTTP/1.1",
                    "reason_phrase": self.reason_phrase.encode(),
                },
            )
        return self._response


def encode_request(method: str, target: str, headers: bytes, body: bytes | None) -> bytes:
    """One request as bytes: ``headers`` is the header block (``Name: value\\r\\n`` lines, ``Host``
    included), to which this adds ``Content-Length`` when there is a body."""
    head = f"{method} {target} HTTP/1.1\r\n".encode("ascii") + headers
    if body is None:
        return head + b"\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode_httpx_request(request: httpx.Request, body: bytes) -> bytes:
    """An ``httpx.Request`` (its body read) as bytes, with a ``Content-Length`` of its own."""
    lines = [
        b"%s: %s\r\n" % (name, value)
        for name, value in request.headers.raw
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    has_body = bool(body) or request.method in ("POST", "PUT", "PATCH")
    target = request.url.raw_path.decode("ascii")
    return encode_request(request.method, target, b"".join(lines), body if has_body else None)


def check_line(line: bytes) -> bytes:
    if len(line) > MAX_LINE:
        raise WireError("a line of the answer is too long")
    return line


def status_line(line: bytes) -> tuple[bytes, int, str]:
    """HTTP version, status and reason of a status line."""
    if not line:
        raise ClosedError("the server closed the connection without answering")
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/") or len(code) != 3 or not code.isdigit():
        raise WireError(f"not an HTTP status line: {line[:80]!r}")
    return version, int(code), reason.strip().decode("latin-1")


def header_line(line: bytes, count: int) -> tuple[bytes, bytes]:
    """Name and value of the ``count``-th header line."""
    if not line:
        raise WireError("the connection closed inside the answer's headers")
    if count >= MAX_HEADERS:
        raise WireError("the answer has too many headers")
    name, colon, value = line.partition(b":")
    if not colon:
        raise WireError(f"not a header line: {line[:80]!r}")
    return name.strip(), value.strip()


def chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip()
    try:
        return int(text, 16)
    except ValueError:
        raise WireError(f"bad chunk size: {text[:40]!r}") from None


class Head:
    """An answer's status and headers, and how its body is framed: ``mode`` is ``"length"``,
    ``"chunked"``, ``"close"`` (read to EOF) or ``"none"``."""

    __slots__ = ("headers", "length", "mode", "reason", "status", "will_close")

    def __init__(
        self,
        method: str,
        version: bytes,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.status, self.reason, self.headers = status, reason, headers
        connection, length, chunked = b"", None, False
        for name, value in headers:
            low = name.lower()
            if low == b"content-length":
                if not value.isdigit() or (length is not None and length != int(value)):
                    raise WireError(f"bad Content-Length: {value[:40]!r}")
                length = int(value)
            elif low == b"transfer-encoding":
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            elif low == b"connection":
                connection = value.lower()
        self.will_close = b"close" in connection or (
            version == b"HTTP/1.0" and b"keep-alive" not in connection
        )
        self.length = length or 0
        if method == "HEAD" or status in (204, 304):
            self.mode = "none"
        elif chunked:
            self.mode = "chunked"
        elif length is not None:
            self.mode = "length"
        else:
            self.mode, self.will_close = "close", True

    @property
    def interim(self) -> bool:
        """A 1xx answer (``100 Continue`` and friends): the real answer follows."""
        return 100 <= self.status < 200 and self.status != 101


def transport_error(exc: BaseException, read_timeout: float | None) -> httpx.TransportError:
    """The httpx exception httpcore would raise for this failure."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(f"no answer within {read_timeout} s")
    if isinstance(exc, WireError):
        return httpx.RemoteProtocolError(str(exc))
    if isinstance(exc, ClosedError | ConnectionResetError | BrokenPipeError):
        return httpx.RemoteProtocolError(f"server closed the connection: {exc}")
    return httpx.ReadError(str(exc) or type(exc).__name__)


STALE = (ClosedError, ConnectionResetError, BrokenPipeError)
"""How a reused keep-alive connection fails when the server closed it meanwhile."""
