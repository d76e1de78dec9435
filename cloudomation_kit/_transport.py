"""A lean HTTP/1.1 transport for plain-HTTP servers: keep-alive sockets and a small parser.

A lock round trip on loopback is two small requests, and the generic machinery around them cost
more than the server: httpx's request model (URL parsing alone ~50 us), httpcore's connection
bookkeeping (~0.3 ms) and ``http.client``'s header parsing through the ``email`` package. This
module keeps a small pool of keep-alive sockets with ``TCP_NODELAY`` and speaks just the HTTP/1.1
the API needs (``_wire.py``), each request in one write. ``_atransport.py`` is its asyncio twin.

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
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from ._wire import (
    CHUNK,
    END_OF_HEAD,
    IDEMPOTENT,
    MAX_LINE,
    STALE,
    Head,
    Reply,
    WireError,
    check_line,
    chunk_size,
    encode_httpx_request,
    header_line,
    status_line,
    transport_error,
)

__all__ = ["LeanTransport", "no_cookies"]


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
        if hasattr(select, "poll"):
            # poll, not select: select() refuses descriptors above 1023 (a busy process).
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()

    def _line(self) -> bytes:
        return check_line(self.rfile.readline(MAX_LINE + 1))

    def read_head(self, method: str) -> Head:
        """Status line and headers of the answer (after any 1xx)."""
        while True:
            version, status, reason = status_line(self._line())
            headers: list[tuple[bytes, bytes]] = []
            while (line := self._line()) not in END_OF_HEAD:
                headers.append(header_line(line, len(headers)))
            head = Head(method, version, status, reason, headers)
            if not head.interim:
                return head

    def read_body(self, head: Head) -> bytes:
        """The whole body."""
        if head.mode == "length":
            data = self.rfile.read(head.length)
            if len(data) < head.length:
                raise WireError("the connection closed inside the answer's body")
            return data
        if head.mode == "none":
            return b""
        return b"".join(self.body_chunks(head))

    def body_chunks(self, head: Head) -> Iterator[bytes]:
        """The body as it arrives (what has arrived, up to 64 KiB at a time)."""
        rfile = self.rfile
        if head.mode == "length":
            left = head.length
            while left:
                chunk = rfile.read1(min(left, CHUNK))
                if not chunk:
                    raise WireError("the connection closed inside the answer's body")
                left -= len(chunk)
                yield chunk
        elif head.mode == "close":
            while chunk := rfile.read1(CHUNK):
                yield chunk
        elif head.mode == "chunked":
            while size := chunk_size(self._line()):
                data = rfile.read(size)
                if len(data) < size or self._line() not in END_OF_HEAD:
                    raise WireError("the connection closed inside a chunk")
                yield data
            while self._line() not in (*END_OF_HEAD, b""):
                pass  # trailers


class _Stream(httpx.SyncByteStream):
    """The body of an ``httpx.Response`` from ``handle_request``, read as it arrives."""

    def __init__(
        self, transport: LeanTransport, key: tuple[str, int], conn: _Connection, head: Head
    ) -> None:
        self._transport, self._key, self._conn, self._head = transport, key, conn, head
        self._closed = self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._conn.body_chunks(self._head)
            self._done = True  # the whole body is read: the connection can serve again
        except (OSError, WireError) as exc:
            raise transport_error(exc, self._conn.timeout) from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if (self._done or self._head.mode == "none") and not self._head.will_close:
            self._transport._checkin(self._key, self._conn)
        else:
            self._conn.close()


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
    ) -> tuple[_Connection, Head]:
        """Send ``data`` on a pooled (or new) connection; the connection and the answer's head."""
        conn = self._checkout(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = _Connection(key[0], key[1], connect_timeout)
            conn.settimeout(read_timeout)
            try:
                conn.sock.sendall(data)
                return conn, conn.read_head(method)
            except STALE as exc:
                conn.close()
                # The server may have closed the reused connection just as the request went out.
                # Sending again is safe only for a method that may be repeated.
                if not reused or method not in IDEMPOTENT:
                    raise transport_error(exc, read_timeout) from exc
                conn, reused = None, False  # once, on a fresh connection
            except (OSError, WireError) as exc:
                conn.close()
                raise transport_error(exc, read_timeout) from exc
            except BaseException:
                conn.close()  # interrupted mid-answer: the connection's state is unknown
                raise

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
        conn, head = self._start(key, method, data, connect_timeout, read_timeout)
        try:
            content = conn.read_body(head)
        except (OSError, WireError) as exc:
            conn.close()
            raise transport_error(exc, read_timeout) from exc
        except BaseException:
            conn.close()
            raise
        if head.will_close:
            conn.close()
        else:
            self._checkin(key, conn)
        return Reply(head.status, head.reason, head.headers, content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.HTTPTransport()
            return self._fallback.handle_request(request)
        key = (request.url.host, request.url.port or 80)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        data = encode_httpx_request(request, request.read())
        conn, head = self._start(
            key, request.method, data, timeout.get("connect"), timeout.get("read")
        )
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=_Stream(self, key, conn, head),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason.encode()},
        )

    def close(self) -> None:
        with self._mutex:
            pools, self._idle = self._idle, {}
        for pool in pools.values():
            for conn in pool:
                conn.close()
        if self._fallback is not None:
            self._fallback.close()
