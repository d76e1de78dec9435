"""The event stream: the SSE decoder, respx for errors and reconnects, then the real server."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import respx

from cloudomation_kit import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncClient,
    AuthenticationError,
    Client,
    Event,
)
from cloudomation_kit._events import SSEDecoder
from mock_server import RunningServer

from .conftest import TOKEN, URL


def _frame(seq: int, type_: str = "setting.created", **data: object) -> str:
    body = {"seq": seq, "type": type_, "at": "2026-01-01T00:00:00Z", "data": data}
    return f"id: {seq}\nevent: {type_}\ndata: {json.dumps(body)}\n\n"


def test_decoder_frames_comments_and_multiline_data() -> None:
    decoder = SSEDecoder()
    lines = [": connected", "id: 7", "event: lock.acquired", 'data: {"seq": 7,', "data:  "]
    lines += ['data: "type": "lock.acquired", "at": "2026-01-01T00:00:00Z", "data": {}}', ""]
    events = [e for e in map(decoder.feed, lines) if e is not None]
    assert [(e.seq, e.type) for e in events] == [(7, "lock.acquired")]
    assert decoder.last_id == "7"
    assert decoder.feed("") is None  # an empty frame dispatches nothing


def test_decoder_rejects_a_bad_frame() -> None:
    decoder = SSEDecoder()
    decoder.feed("data: not json")
    with pytest.raises(APIResponseValidationError):
        decoder.feed("")


@respx.mock
def test_sync_stream_reconnects_after_the_last_seq() -> None:
    calls: list[httpx.Request] = []
    bodies = [_frame(1) + _frame(2), _frame(3)]

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 2:
            raise httpx.RemoteProtocolError("peer closed", request=request)
        return httpx.Response(
            200, text=bodies.pop(0), headers={"content-type": "text/event-stream"}
        )

    respx.get(f"{URL}/events").mock(side_effect=answer)
    client = Client(URL, TOKEN)
    client._sleep = lambda _s: None
    got = []
    for event in client.events.stream(since=0):
        got.append(event.seq)
        if event.seq == 3:
            break
    assert got == [1, 2, 3]
    assert [r.url.params.get("since") for r in calls] == ["0", "2", "2"]
    assert calls[0].headers["Authorization"] == TOKEN
    assert calls[0].headers["Accept"] == "text/event-stream"


@respx.mock
def test_sync_stream_wraps_transport_errors() -> None:
    respx.get(f"{URL}/events").mock(side_effect=httpx.ConnectError("refused"))
    client = Client(URL, TOKEN, max_retries=1)
    sleeps: list[float] = []
    client._sleep = sleeps.append
    with pytest.raises(APIConnectionError):
        next(iter(client.events.stream()))
    assert len(sleeps) == 1
    with pytest.raises(APIConnectionError):
        next(iter(client.events.stream(reconnect=False)))


@respx.mock
def test_sync_stream_maps_status_errors() -> None:
    respx.get(f"{URL}/events").mock(
        return_value=httpx.Response(401, json={"error": "AuthenticationError", "message": "no"})
    )
    with pytest.raises(AuthenticationError):
        next(iter(Client(URL, TOKEN).events.stream()))


@respx.mock
async def test_async_stream_without_reconnect_ends_with_the_stream() -> None:
    respx.get(f"{URL}/events").mock(
        return_value=httpx.Response(200, text=": hi\n\n" + _frame(4) + _frame(5))
    )
    async with AsyncClient(URL, TOKEN) as client:
        got = [e.seq async for e in client.events.stream(reconnect=False)]
    assert got == [4, 5]


@respx.mock
async def test_async_stream_wraps_transport_errors() -> None:
    respx.get(f"{URL}/events").mock(side_effect=httpx.ReadError("reset"))
    client = AsyncClient(URL, TOKEN, max_retries=2)

    async def no_sleep(_s: float) -> None:
        return None

    client._sleep = no_sleep
    with pytest.raises(APIConnectionError):
        async for _ in client.events.stream():
            pass
    await client.aclose()


def test_stream_rejects_a_bad_since() -> None:
    with pytest.raises(TypeError):
        next(iter(Client(URL, TOKEN).events.stream(since="3")))  # type: ignore[arg-type]


def test_sync_stream_on_the_real_server(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        client.settings.create("first", 1)
        seen: list[Event] = []
        ready = threading.Event()

        def read() -> None:
            with Client(mock_server.url, mock_server.token) as reader:
                for event in reader.events.stream(since=0):
                    seen.append(event)
                    ready.set()
                    if event.type == "setting.deleted":
                        return

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        assert ready.wait(10)  # the replay of "first" arrived: the stream is open
        client.settings.update("first", value=2)
        client.settings.delete("first")
        thread.join(10)
        assert not thread.is_alive()
    types = [e.type for e in seen]
    assert types == ["setting.created", "setting.updated", "setting.deleted"]
    assert seen[0].data["name"] == "first"
    assert [e.seq for e in seen] == sorted(e.seq for e in seen)


async def test_async_stream_on_the_real_server_sees_locks(mock_server: RunningServer) -> None:
    async with AsyncClient(mock_server.url, mock_server.token) as client:
        await client.settings.create("sentinel", True)
        got: list[Event] = []
        opened = asyncio.Event()

        async def read() -> None:
            async for event in client.events.stream(since=0):
                opened.set()
                got.append(event)
                if event.type == "lock.released":
                    return

        task = asyncio.create_task(read())
        await asyncio.wait_for(opened.wait(), 10)  # the sentinel's replay: the stream is open
        holder = AsyncClient(mock_server.url, mock_server.token)
        async with holder, holder.lock("cloud-vm-lock"):
            pass
        await asyncio.wait_for(task, 10)
    types = [e.type for e in got]
    assert types[0] == "setting.created"
    assert "lock.acquired" in types
    assert types[-1] == "lock.released"
    # Replaying after a seq gives exactly the later events.
    async with AsyncClient(mock_server.url, mock_server.token) as client:
        first = got[0].seq
        replay: list[int] = []
        async for event in client.events.stream(since=first):
            replay.append(event.seq)
            if event.seq == got[-1].seq:
                break
    assert replay == [e.seq for e in got[1:]]
