"""A lean HTTP/1.1 transport for plain-HTTP servers: keep-alive sockets and a small parser.

A lock round trip on loopback is two small requests, and the generic machinery around them cost
more than the server: httpx's request model (URL parsing alone ~50 us), httpcore's connection
bookkeeping (~0.3 ms) and ``http.client``'s header parsing through the ``email`` package. This
module keeps a small pool of keep-alive sockets with ``TCP_NODELAY`` and speaks just the HTTP/1.1
the API needs (``Content-Length``, chunked and close-delimited bodies, 1xx skipped), each request
in one write.

Two ways in:

- ``LeanTransport.handle_request``: an ``httpx.BaseTransport``, so an ``httpx.Client`` works over
  it as usual (streams included: the event stream flows chunk by chunk). ``https://`` requests go
  to httpx's own transport, so TLS behaves exactly as httpx documents.
- ``LeanTransport.exchange``: the SDK's own path for a whole request already encoded as bytes
  (``encode_request``), answering a ``Reply`` without building httpx objects; the SDK turns a
  ``Reply`` into an ``httpx.Response`` only where a caller sees one (error answers, ``_send``).

Failures are raised as the httpx exceptions httpcore would raise, so the SDK maps them the same.
"""

from __future__ import annotations

import http.cookiejar
import json
import select
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

__all__ = ["LeanTransport", "Reply", "encode_request", "no_cookies"]

_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024
_MAX_HEADERS = 200
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _Closed(Exception):
    """The server closed the connection before an answer began (a stale keep-alive socket)."""


class _Protocol(Exception):
    """The answer is not HTTP/1.1 as this parser reads it."""


class Reply:
    """A whole answer, as ``LeanTransport.exchange`` returns it: status, raw headers, body."""

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


class _NoCookieJar(http.cookiejar.CookieJar):
    """Keeps no cookies. The API authenticates by token; httpx's default jar parsed every
    answer's headers through the email package for cookies, a tenth of a request's cost."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar for httpx clients that ignores Set-Cookie (httpx copies the cookies of an
    ``httpx.Cookies`` into a jar of its own, but uses a ``CookieJar`` as given)."""
    return _NoCookieJar()


class _Connection:
    """One keep-alive socket and the answer being read from it."""

    __slots__ = ("rfile", "sock", "timeout")

    def __init__(self, host: str, port: int, connect_timeout: float | None) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = connect_timeout
        self.rfile = self.sock.makefile("rb")

    def settimeout(self, timeout: float | None) -> None:
        if timeout != self.timeout:  # each change is a syscall
            self.sock.settimeout(timeout)
            self.timeout = timeout

    def stale(self) -> bool:
        """An idle connection with something to read was closed by the server (EOF), as
        httpcore also checks before reusing one."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()

    def _line(self) -> bytes:
        line = self.rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _Protocol("a line of the answer is too long")
        return line

    def read_head(self, method: str) -> _Answer:
        """Status line and headers (after any 1xx); says how the body is framed."""
        while True:
            line = self._line()
            if not line:
                raise _Closed("the server closed the connection without answering")
            version, _, rest = line.partition(b" ")
            code, _, reason = rest.partition(b" ")
            if not version.startswith(b"HTTP/") or len(code) != 3 or not code.isdigit():
                raise _Protocol(f"not an HTTP status line: {line[:80]!r}")
            headers: list[tuple[bytes, bytes]] = []
            while True:
                line = self._line()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise _Protocol("the connection closed inside the answer's headers")
                if len(headers) >= _MAX_HEADERS:
                    raise _Protocol("the answer has too many headers")
                name, colon, value = line.partition(b":")
                if not colon:
                    raise _Protocol(f"not a header line: {line[:80]!r}")
                headers.append((name.strip(), value.strip()))
            status = int(code)
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and friends: the real answer follows
            return _Answer(self, method, status, reason.strip().decode("latin-1"), headers, version)


class _Answer:
    """An answer's head, and its body read whole or as it arrives."""

    __slots__ = ("conn", "headers", "length", "mode", "reason", "status", "will_close")

    def __init__(
        self,
        conn: _Connection,
        method: str,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]],
        version: bytes,
    ) -> None:
        self.conn, self.status, self.reason, self.headers = conn, status, reason, headers
        connection, length, chunked = b"", None, False
        for name, value in headers:
            low = name.lower()
            if low == b"content-length":
                if not value.isdigit() or (length is not None and length != int(value)):
                    raise _Protocol(f"bad Content-Length: {value[:40]!r}")
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

    def read(self) -> bytes:
        """The whole body."""
        if self.mode == "length":
            data = self.conn.rfile.read(self.length)
            if len(data) < self.length:
                raise _Protocol("the connection closed inside the answer's body")
            return data
        if self.mode == "none":
            return b""
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives (what has arrived, up to 64 KiB at a time)."""
        rfile = self.conn.rfile
        if self.mode == "length":
            left = self.length
            while left:
                chunk = rfile.read1(min(left, _CHUNK))
                if not chunk:
                    raise _Protocol("the connection closed inside the answer's body")
                left -= len(chunk)
                yield chunk
        elif self.mode == "close":
            while chunk := rfile.read1(_CHUNK):
                yield chunk
        elif self.mode == "chunked":
            while True:
                size_line = self.conn._line().split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _Protocol(f"bad chunk size: {size_line[:40]!r}") from None
                if size == 0:
                    while self.conn._line() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                data = rfile.read(size)
                if len(data) < size or self.conn._line() not in (b"\r\n", b"\n"):
                    raise _Protocol("the connection closed inside a chunk")
                yield data


def _read_error(exc: BaseException, read_timeout: float | None) -> httpx.TransportError:
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(f"no answer within {read_timeout} s")
    if isinstance(exc, _Protocol):
        return httpx.RemoteProtocolError(str(exc))
    if isinstance(exc, _Closed | ConnectionResetError | BrokenPipeError):
        return httpx.RemoteProtocolError(f"server closed the connection: {exc}")
    return httpx.ReadError(str(exc) or type(exc).__name__)


class _Stream(httpx.SyncByteStream):
    """The body of an ``httpx.Response`` from ``handle_request``, read as it arrives."""

    def __init__(self, transport: LeanTransport, key: tuple[str, int], answer: _Answer) -> None:
        self._transport, self._key, self._answer = transport, key, answer
        self._closed = self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._answer.chunks()
            self._done = True  # the whole body is read: the connection can serve again
        except (OSError, _Protocol) as exc:
            raise _read_error(exc, self._answer.conn.timeout) from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        answer = self._answer
        if (self._done or answer.mode == "none") and not answer.will_close:
            self._transport._checkin(self._key, answer.conn)
        else:
            answer.conn.close()


class LeanTransport(httpx.BaseTransport):
    """Keep-alive sockets for ``http://``; httpx's transport for the rest."""

    def __init__(self, *, max_idle: int = 16) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._mutex = threading.Lock()
        self._max_idle = max_idle
        self._fallback: httpx.HTTPTransport | None = None

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        while True:
            with self._mutex:
                pool = self._idle.get(key)
                conn = pool.pop() if pool else None
            if conn is None or not conn.stale():
                return conn
            conn.close()

    def _checkin(self, key: tuple[str, int], conn: _Connection) -> None:
        with self._mutex:
            pool = self._idle.setdefault(key, [])
            if len(pool) < self._max_idle:
                pool.append(conn)
                return
        conn.close()

    def _start(
        self,
        key: tuple[str, int],
        method: str,
        data: bytes,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> _Answer:
        """Send ``data`` on a pooled (or new) connection; the answer's head."""
        conn = self._checkout(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = _Connection(key[0], key[1], connect_timeout)
            conn.settimeout(read_timeout)
            try:
                conn.sock.sendall(data)
                return conn.read_head(method)
            except (_Closed, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                # The server may have closed the reused connection just as the request went out.
                # Sending again is safe only for a method that may be repeated.
                if not reused or method not in _IDEMPOTENT:
                    raise _read_error(exc, read_timeout) from exc
                conn, reused = None, False  # once, on a fresh connection
            except (OSError, _Protocol) as exc:
                conn.close()
                raise _read_error(exc, read_timeout) from exc

    def exchange(
        self,
        host: str,
        port: int,
        method: str,
        data: bytes,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> Reply:
        """Send one encoded request (``encode_request``) and read its whole answer."""
        key = (host, port)
        answer = self._start(key, method, data, connect_timeout, read_timeout)
        try:
            content = answer.read()
        except (OSError, _Protocol) as exc:
            answer.conn.close()
            raise _read_error(exc, read_timeout) from exc
        if answer.will_close:
            answer.conn.close()
        else:
            self._checkin(key, answer.conn)
        return Reply(answer.status, answer.reason, answer.headers, content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.HTTPTransport()
            return self._fallback.handle_request(request)
        url = request.url
        key = (url.host, url.port or 80)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        body = request.read()
        lines = [
            b"%s: %s\r\n" % (name, value)
            for name, value in request.headers.raw
            # The body is read whole, so it goes with a Content-Length of its own.
            if name.lower() not in (b"content-length", b"transfer-encoding")
        ]
        has_body = bool(body) or request.method in ("POST", "PUT", "PATCH")
        data = encode_request(
            request.method,
            url.raw_path.decode("ascii"),
            b"".join(lines),
            body if has_body else None,
        )
        answer = self._start(key, request.method, data, timeout.get("connect"), timeout.get("read"))
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Stream(self, key, answer),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode()},
        )

    def close(self) -> None:
        with self._mutex:
            pools, self._idle = self._idle, {}
        for pool in pools.values():
            for conn in pool:
                conn.close()
        if self._fallback is not None:
            self._fallback.close()
