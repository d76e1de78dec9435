"""The asyncio twin of ``_transport.py``: keep-alive asyncio streams and the same small parser.

httpx's async transport (httpcore over anyio) costs ~1.5 ms of client CPU per lock round trip on
loopback; this one keeps a pool of asyncio stream connections and reads answers with the rules
of ``_wire.py``. ``exchange`` is the SDK's own path (a whole encoded request in, a ``Reply``
out); ``handle_async_request`` makes it an ``httpx.AsyncBaseTransport`` (streams included), and
``https://`` goes to httpx's own transport. Read the two transports side by side: they differ
where one awaits.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, AsyncIterator
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

__all__ = ["AsyncLeanTransport"]


class _Connection:
    """One keep-alive asyncio stream and the answer being read from it."""

    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, connect_timeout: float | None) -> _Connection:
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE + 2)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    def stale(self) -> bool:
        """The server closed the idle connection (the loop has seen its EOF already)."""
        return self.reader.at_eof() or self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def _line(self) -> bytes:
        try:
            return check_line(await self.reader.readline())
        except ValueError:  # the stream's limit: a line without end
            raise WireError("a line of the answer is too long") from None

    async def read_head(self, method: str) -> Head:
        """Status line and headers of the answer (after any 1xx)."""
        while True:
            version, status, reason = status_line(await self._line())
            headers: list[tuple[bytes, bytes]] = []
            while (line := await self._line()) not in END_OF_HEAD:
                headers.append(header_line(line, len(headers)))
            head = Head(method, version, status, reason, headers)
            if not head.interim:
                return head

    async def _exactly(self, size: int) -> bytes:
        try:
            return await self.reader.readexactly(size)
        except asyncio.IncompleteReadError:
            raise WireError("the connection closed inside the answer's body") from None

    async def read_body(self, head: Head) -> bytes:
        """The whole body."""
        if head.mode == "length":
            return await self._exactly(head.length)
        if head.mode == "none":
            return b""
        return b"".join([chunk async for chunk in self.body_chunks(head)])

    async def body_chunks(self, head: Head) -> AsyncGenerator[bytes, None]:
        """The body as it arrives (what has arrived, up to 64 KiB at a time)."""
        reader = self.reader
        if head.mode == "length":
            left = head.length
            while left:
                chunk = await reader.read(min(left, CHUNK))
                if not chunk:
                    raise WireError("the connection closed inside the answer's body")
                left -= len(chunk)
                yield chunk
        elif head.mode == "close":
            while chunk := await reader.read(CHUNK):
                yield chunk
        elif head.mode == "chunked":
            while size := chunk_size(await self._line()):
                data = await self._exactly(size)
                if await self._line() not in END_OF_HEAD:
                    raise WireError("the connection closed inside a chunk")
                yield data
            while await self._line() not in (*END_OF_HEAD, b""):
                pass  # trailers


class _Stream(httpx.AsyncByteStream):
    """The body of an ``httpx.Response`` from ``handle_async_request``, read as it arrives."""

    def __init__(
        self,
        transport: AsyncLeanTransport,
        key: tuple[str, int],
        conn: _Connection,
        head: Head,
        read_timeout: float | None,
    ) -> None:
        self._transport, self._key, self._conn, self._head = transport, key, conn, head
        self._timeout = read_timeout
        self._closed = self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._conn.body_chunks(self._head)
        try:
            while True:
                async with asyncio.timeout(self._timeout):  # the longest silence, per chunk
                    chunk = await anext(chunks, None)
                if chunk is None:
                    break
                yield chunk
            self._done = True  # the whole body is read: the connection can serve again
        except (OSError, WireError) as exc:
            raise transport_error(exc, self._timeout) from exc
        finally:
            await chunks.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if (self._done or self._head.mode == "none") and not self._head.will_close:
            self._transport._checkin(self._key, self._conn)
        else:
            self._conn.close()


class AsyncLeanTransport(httpx.AsyncBaseTransport):
    """Keep-alive asyncio streams for ``http://``; httpx's async transport for the rest."""

    def __init__(self, *, max_idle: int = 16) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle
        self._fallback: httpx.AsyncHTTPTransport | None = None

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        pool = self._idle.get(key)
        while pool:
            conn = pool.pop()
            if not conn.stale():
                return conn
            conn.close()
        return None

    def _checkin(self, key: tuple[str, int], conn: _Connection) -> None:
        pool = self._idle.setdefault(key, [])
        if len(pool) < self._max_idle:
            pool.append(conn)
        else:
            conn.close()

    async def _start(
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
                conn = await _Connection.open(key[0], key[1], connect_timeout)
            try:
                async with asyncio.timeout(read_timeout):
                    conn.writer.write(data)
                    await conn.writer.drain()
                    return conn, await conn.read_head(method)
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
                conn.close()  # cancelled mid-answer: the connection's state is unknown
                raise

    async def exchange(
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
        conn, head = await self._start(key, method, data, connect_timeout, read_timeout)
        try:
            async with asyncio.timeout(read_timeout):
                content = await conn.read_body(head)
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        key = (request.url.host, request.url.port or 80)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        read_timeout = timeout.get("read")
        data = encode_httpx_request(request, await request.aread())
        conn, head = await self._start(
            key, request.method, data, timeout.get("connect"), read_timeout
        )
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=_Stream(self, key, conn, head, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason.encode()},
        )

    async def aclose(self) -> None:
        pools, self._idle = self._idle, {}
        for pool in pools.values():
            for conn in pool:
                conn.close()
        if self._fallback is not None:
            await self._fallback.aclose()
