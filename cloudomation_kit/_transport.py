"""A lean httpx transport for plain-HTTP servers, built on ``http.client``.

httpx's default transport (httpcore) costs about 0.3 ms a request in connection bookkeeping, which
is a third of an uncontended lock round trip on loopback. ``LeanTransport`` keeps a small pool of
keep-alive ``http.client`` connections with ``TCP_NODELAY`` and sends each request's head and
body in one write. ``https://`` requests go to httpx's own transport, so TLS behaves exactly as
httpx documents. Failures are raised as the httpx exceptions httpcore would raise, so the SDK maps
them the same way.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx

__all__ = ["LeanTransport", "no_cookies"]

_CHUNK = 64 * 1024
# How a reused keep-alive connection fails when the server closed it meanwhile.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _readable(conn: http.client.HTTPConnection) -> bool:
    sock = conn.sock
    if sock is None:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None]:
    timeout: dict[str, Any] = request.extensions.get("timeout", {})
    return timeout.get("connect"), timeout.get("read")


class _NoCookieJar(http.cookiejar.CookieJar):
    """Keeps no cookies. The API authenticates by token; httpx's default jar parsed every
    answer's headers through the email package for cookies, a tenth of a request's cost."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar for httpx clients that ignores Set-Cookie (httpx copies the cookies of an
    ``httpx.Cookies`` into a jar of its own, but uses a ``CookieJar`` as given)."""
    return _NoCookieJar()


class _Connection(http.client.HTTPConnection):
    """An ``HTTPConnection`` that sends a request's head and body in one write.

    ``http.client`` sends them as two: two syscalls, two segments, and the server reads twice.
    """

    def _send_output(self, message_body: bytes | None = None, encode_chunked: bool = False) -> None:
        # LeanTransport always hands a whole body as bytes (or None), never a stream.
        self._buffer.extend((b"", b""))  # type: ignore[attr-defined]
        head = b"\r\n".join(self._buffer)  # type: ignore[attr-defined]
        del self._buffer[:]  # type: ignore[attr-defined]
        self.send(head + (message_body or b""))


class _Stream(httpx.SyncByteStream):
    def __init__(
        self,
        transport: LeanTransport,
        key: tuple[str, int],
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn = conn
        self._response = response
        self._closed = False
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                # read1 returns what has arrived (up to _CHUNK), so event streams flow at once.
                chunk = self._response.read1(_CHUNK)
                if not chunk:
                    self._done = True  # the whole body is read: the connection can serve again
                    return
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._done and not self._response.will_close:
            # Closing the read response (not the socket) readies the connection for the next
            # request, as http.client's own read() does at the end of a body.
            self._response.close()
            self._transport._checkin(self._key, self._conn)
        else:
            self._conn.close()


class LeanTransport(httpx.BaseTransport):
    """Keep-alive ``http.client`` connections for ``http://``; httpx's transport for the rest."""

    def __init__(self, *, max_idle: int = 16) -> None:
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._mutex = threading.Lock()
        self._max_idle = max_idle
        self._fallback: httpx.HTTPTransport | None = None

    def _checkout(self, key: tuple[str, int]) -> http.client.HTTPConnection | None:
        while True:
            with self._mutex:
                pool = self._idle.get(key)
                conn = pool.pop() if pool else None
            if conn is None or not _readable(conn):
                return conn
            # An idle connection with something to read was closed by the server (EOF), as
            # httpcore also checks before reusing one.
            conn.close()

    def _checkin(self, key: tuple[str, int], conn: http.client.HTTPConnection) -> None:
        with self._mutex:
            pool = self._idle.setdefault(key, [])
            if len(pool) < self._max_idle:
                pool.append(conn)
                return
        conn.close()

    def _connect(
        self, key: tuple[str, int], connect_timeout: float | None
    ) -> http.client.HTTPConnection:
        conn = _Connection(key[0], key[1], timeout=connect_timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {key[0]}:{key[1]} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.HTTPTransport()
            return self._fallback.handle_request(request)
        key = (request.url.host, request.url.port or 80)
        connect_timeout, read_timeout = _timeouts(request)
        body = request.read()
        target = request.url.raw_path.decode("ascii")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        conn = self._checkout(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._connect(key, connect_timeout)
            assert conn.sock is not None
            conn.sock.settimeout(read_timeout)
            try:
                conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders(body or None)
                response = conn.getresponse()
                break
            except _STALE as exc:
                conn.close()
                # The server may have closed the reused connection just as the request went out.
                # Sending again is safe only for a method that may be repeated.
                if not reused or request.method not in _IDEMPOTENT:
                    raise httpx.RemoteProtocolError(f"server closed the connection: {exc}") from exc
                conn, reused = None, False  # once, on a fresh connection
            except TimeoutError as exc:
                conn.close()
                raise httpx.ReadTimeout(f"no answer within {read_timeout} s") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=_Stream(self, key, conn, response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    def close(self) -> None:
        with self._mutex:
            pools, self._idle = self._idle, {}
        for pool in pools.values():
            for conn in pool:
                conn.close()
        if self._fallback is not None:
            self._fallback.close()
