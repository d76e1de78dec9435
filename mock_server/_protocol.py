"""The server's HTTP protocol: uvicorn's httptools protocol, answering the hot requests itself.

Through ASGI every request costs a task, a scope, receive/send messages and two writes (uvicorn
sends an answer's head and its body apart, so the client wakes twice). The lock actions and one
setting's read and update (what ``_fastpath.Routes`` matches) are most of a lock user's traffic
and small, so this protocol answers them as the parser completes them: one write, and no task
unless an acquisition has to wait. Everything else goes through uvicorn to the ASGI app
unchanged, and so does a request that arrives while the connection still owes an earlier answer
(pipelining keeps its order). The handlers are ``_fastpath.py``'s, which the app also serves as
ASGI middleware for any other server, so both ways answer alike.

A release that hands the lock to a long-polling waiter answers the waiter inside the release,
the moment the lock manager grants it (``LockDriver.wait``'s ``on_grant``), before the rest of
the release's work and the releaser's own answer: the handoff is what a lock is measured by.

This leans on uvicorn's protocol internals (``url``, ``headers``, ``parser``, ``cycle``,
``pipeline``, ``on_response_complete``), so ``pyproject.toml`` pins uvicorn's minor version and
``protocol_for`` falls back to plain uvicorn when they are not there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._fastpath import Answer, Handler, Routes, begin, encode_json, finish
from ._lockstate import WaiterState
from ._routers.locks import GONE, Waiting

__all__ = ["protocol_for"]

log = logging.getLogger("mock_server")

_NEEDED = ("on_headers_complete", "on_body", "on_message_complete", "on_response_complete")


class _Pending:
    """Stands in for uvicorn's request cycle while an answer is owed by the lock path, so that a
    request pipelined behind it waits its turn and a disconnect or shutdown reaches it."""

    __slots__ = ("disconnected", "keep_alive", "message_event", "request", "response_complete")

    def __init__(self, keep_alive: bool, request: tuple[str, str, str]) -> None:
        self.response_complete = False
        self.disconnected = False
        self.keep_alive = keep_alive
        self.request = request
        self.message_event = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        """The ASGI ``receive`` the lock driver watches: only a lost connection answers it."""
        while not self.disconnected:
            await self.message_event.wait()
            self.message_event.clear()
        return {"type": "http.disconnect"}


def protocol_for(state: Any, prefix: str) -> type[Any] | None:
    """A protocol class answering the fast-path requests under ``prefix`` over ``state`` (the
    app's state), or ``None`` when the installed uvicorn lacks what it builds on."""
    try:
        from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn picks h11 by itself
        return None
    if not all(hasattr(HttpToolsProtocol, name) for name in _NEEDED):
        log.warning("this uvicorn's protocol differs from the one the lock path knows")
        return None
    routes = Routes(prefix)

    class LockProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._op: Handler | None = None
            self._body = bytearray()
            self._too_big = False
            self._keep = True
            self._request = ("", "", "1.1")
            """Method, target and HTTP version of the request being answered (access log)."""
            self._pending: _Pending | None = None

        def _idle(self) -> bool:
            """Nothing owed on this connection: an answer now keeps the order of answers."""
            cycle = self.cycle
            return (
                self._pending is None
                and (cycle is None or cycle.response_complete)
                and not self.pipeline
            )

        def on_headers_complete(self) -> None:
            op = None
            method, target = self.parser.get_method().decode("ascii"), self.url.decode("latin-1")
            # An upgrade (h2c, websocket) stays uvicorn's to handle, as does anything out of turn.
            if self._idle() and not self.parser.should_upgrade():
                path, _, query = target.partition("?")
                op = routes.match(method, path, query)
            if op is None:
                self._op = None
                super().on_headers_complete()
                return
            self._op, self._body, self._too_big = op, bytearray(), False
            version = self.parser.get_http_version()
            self._keep = version != "1.0" and self.parser.should_keep_alive()
            self._request = (method, target, version)
            if self.expect_100_continue:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

        def on_body(self, body: bytes) -> None:
            if self._op is None:
                super().on_body(body)
            elif len(self._body) + len(body) > state.config.max_body_bytes:
                self._too_big = True  # keep reading (and dropping) to the end of the message
            elif not self._too_big:
                self._body += body

        def on_message_complete(self) -> None:
            op, self._op = self._op, None
            if op is None:
                super().on_message_complete()
                return
            if self._too_big:
                limit = state.config.max_body_bytes
                message = f"request body is over the limit of {limit} bytes"
                error = {"error": "ValueTooLargeError", "message": message}
                result: Answer | Waiting = (413, error, [])
            else:
                result = begin(state, op, bytes(self._body), self.headers)
            if isinstance(result, Waiting):
                pending = self._owe()
                task = self.loop.create_task(self._long_poll(pending, result))
                task.add_done_callback(self.tasks.discard)
                self.tasks.add(task)
            else:
                self._write(result, keep_alive=self._keep, request=self._request)
                self.on_response_complete()

        def _owe(self) -> _Pending:
            pending = _Pending(self._keep, self._request)
            self._pending = pending
            self.cycle = pending  # type: ignore[assignment]  # the stand-in quacks alike
            return pending

        async def _long_poll(self, pending: _Pending, waiting: Waiting) -> None:
            def granted(waiter: WaiterState) -> None:
                self._answer(pending, (200, state.backend.locks.result_wire(waiter), []))

            try:
                answer = await finish(state, waiting, pending.receive, granted)
            except asyncio.CancelledError:
                # The server is shutting down: nobody will answer this long-poll.
                self.transport.close()
                raise
            self._answer(pending, answer)

        def _answer(self, pending: _Pending, answer: Answer) -> None:
            if pending.response_complete:
                return  # answered already, the moment it was granted
            pending.response_complete = True
            self._pending = None
            if answer[0] == GONE or pending.disconnected:
                return
            self._write(answer, keep_alive=pending.keep_alive, request=pending.request)
            self.on_response_complete()

        def _write(
            self, answer: Answer, *, keep_alive: bool, request: tuple[str, str, str]
        ) -> None:
            status, body, extra = answer
            if self.access_log:
                method, path, version = request
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d', client, method, path, version, status
                )
            if self.transport.is_closing():
                return
            payload = encode_json(body)
            head = [STATUS_LINE[status]]
            for name, value in [*self.server_state.default_headers, *extra]:
                head += [name, b": ", value, b"\r\n"]
            head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(payload))
            if not keep_alive:
                head.append(b"connection: close\r\n")
            head += [b"\r\n", payload]
            self.transport.write(b"".join(head))
            if not keep_alive:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            pending = self._pending
            if pending is not None:
                pending.disconnected = True
                pending.message_event.set()
            super().connection_lost(exc)

    return LockProtocol
