"""``client.events``: the server's stream of changes (server-sent events), sync and async twins.

    for event in client.events.stream():          # blocks; reconnects after the last seen seq
        print(event.seq, event.type, event.data)

    async for event in aclient.events.stream(since=41):
        ...

The stream is ``GET /events`` (ours): frames of ``id: <seq>``, ``event: <type>`` and
``data: <json>`` lines ended by a blank line, with ``:`` comment lines as keep-alives. A reader
that reconnects asks for ``since=<last seq>`` and so misses nothing the server still remembers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pydantic

from ._base import RequestOptions
from ._exceptions import APIConnectionError, APIResponseValidationError
from ._models import Event

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncEvents", "Events", "SSEDecoder"]

READ_TIMEOUT = 60.0
"""Longest silence on an open stream before it counts as lost (the server pings every 15 s)."""


class SSEDecoder:
    """Turns the lines of a ``text/event-stream`` into ``Event`` models, one frame at a time.

    Follows the WHATWG rules the server relies on: ``field: value`` lines (one optional blank
    after the colon), ``data`` lines joined by newlines, a blank line ends a frame, lines starting
    with ``:`` are comments, unknown fields are ignored.
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self.last_id: str | None = None
        """The last ``id:`` seen, kept across frames (what ``Last-Event-ID`` would send)."""

    def feed(self, line: str) -> Event | None:
        """Take one line (without its newline); return an event when a frame ends."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self.last_id = value
        return None

    def _dispatch(self) -> Event | None:
        data, event_type = self._data, self._event
        self._data, self._event = [], None
        if not data:
            return None
        text = "\n".join(data)
        try:
            payload: Any = json.loads(text)
            if isinstance(payload, dict) and event_type and "type" not in payload:
                payload["type"] = event_type
            return Event.model_validate(payload)
        except (ValueError, pydantic.ValidationError) as exc:
            raise APIResponseValidationError(
                f"an event on the stream is not a valid Event: {text[:200]!r}", body=text
            ) from exc


class _StreamState:
    """Where a stream is: the last sequence number seen and the failures since it last worked."""

    def __init__(self, since: int | None) -> None:
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise TypeError(f"since must be an event's seq (an int), got {since!r}")
        if since is not None and since < 0:
            raise ValueError("since must be >= 0")
        self.since = since
        self.failures = 0

    def options(self) -> RequestOptions:
        params = {} if self.since is None else {"since": self.since}
        return RequestOptions(
            "GET",
            "/events",
            params=params,
            headers={"Accept": "text/event-stream", "Cache-Control": "no-cache"},
            timeout=READ_TIMEOUT,
        )

    def seen(self, event: Event) -> None:
        self.since = event.seq
        self.failures = 0

    def may_retry(self, reconnect: bool, max_retries: int) -> bool:
        """After a lost connection: whether to try again (and count the attempt)."""
        if not reconnect or self.failures >= max_retries:
            return False
        self.failures += 1
        return True


class Events:
    """The event stream through a ``Client``: ``client.events``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def stream(self, since: int | None = None, *, reconnect: bool = True) -> Iterator[Event]:
        """Yield events as they happen, forever (break out of the loop to stop).

        ``since``: first replay the events after this sequence number. With ``reconnect``, a lost
        connection is reopened after the last event seen, with backoff, up to the client's
        ``max_retries`` times in a row; then (or at once without ``reconnect``) it raises
        ``APIConnectionError``. Without ``reconnect`` the iterator also ends when the server
        closes the stream.
        """
        state = _StreamState(since)
        client = self._client
        while True:
            try:
                yield from self._once(state)
            except APIConnectionError:
                if not state.may_retry(reconnect, client.max_retries):
                    raise
                client._sleep(client._retry_delay(state.failures - 1))
                continue
            if not reconnect:
                return

    def _once(self, state: _StreamState) -> Iterator[Event]:
        client = self._client
        client._check_open()
        if client._token is None:
            client.login()
        request = client._build_request(state.options())
        try:
            response = client._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise client._connection_error(exc, request) from exc
        try:
            if not response.is_success:
                response.read()
                raise client._make_status_error(response)
            state.failures = 0
            decoder = SSEDecoder()
            try:
                for line in response.iter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        state.seen(event)
                        yield event
            except httpx.HTTPError as exc:
                raise client._connection_error(exc, request) from exc
        finally:
            response.close()


class AsyncEvents:
    """The async twin of ``Events``: ``async for event in aclient.events.stream(): ...``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def stream(
        self, since: int | None = None, *, reconnect: bool = True
    ) -> AsyncIterator[Event]:
        """Yield events as they happen (see ``Events.stream``)."""
        state = _StreamState(since)
        client = self._client
        while True:
            try:
                async for event in self._once(state):
                    yield event
            except APIConnectionError:
                if not state.may_retry(reconnect, client.max_retries):
                    raise
                await client._sleep(client._retry_delay(state.failures - 1))
                continue
            if not reconnect:
                return

    async def _once(self, state: _StreamState) -> AsyncIterator[Event]:
        client = self._client
        client._check_open()
        if client._token is None:
            await client.login()
        request = client._build_request(state.options())
        try:
            response = await client._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise client._connection_error(exc, request) from exc
        try:
            if not response.is_success:
                await response.aread()
                raise client._make_status_error(response)
            state.failures = 0
            decoder = SSEDecoder()
            try:
                async for line in response.aiter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        state.seen(event)
                        yield event
            except httpx.HTTPError as exc:
                raise client._connection_error(exc, request) from exc
        finally:
            await response.aclose()
