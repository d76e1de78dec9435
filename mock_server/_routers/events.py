"""``/events`` (ours): a server-sent-events stream of every change, resumable by sequence number."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from .._backend import Backend
from .._http import Principal, backend_of, reader
from ._docs import ERRORS

router = APIRouter(tags=["events"], responses=ERRORS)

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 10_000


def _frame(event: dict[str, Any]) -> str:
    return f"id: {event['seq']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"


@router.get(
    "/events",
    summary="Server-sent events: settings, locks, waiters and executions as they change",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    backend: Annotated[Backend, Depends(backend_of)],
    _: Annotated[Principal, Depends(reader)],
    since: Annotated[
        int | None, Query(ge=0, description="Replay the events after this sequence number.")
    ] = None,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    if since is None and last_event_id and last_event_id.strip().isdigit():
        since = int(last_event_id)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def deliver(event: dict[str, Any]) -> None:
        # A reader this far behind is dropped; it reconnects with Last-Event-ID and catches up.
        queue.put_nowait(event if queue.qsize() < QUEUE_LIMIT else None)

    unsubscribe = backend.events.subscribe(deliver)
    backlog = backend.events.since(since) if since is not None else []
    sent = since if since is not None else backend.events.last_seq

    async def stream() -> AsyncIterator[str]:
        nonlocal sent
        try:
            yield f": connected; last event {backend.events.last_seq}\n\n"
            for old in backlog:
                sent = old["seq"]
                yield _frame(old)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                if event["seq"] > sent:
                    sent = event["seq"]
                    yield _frame(event)
        finally:
            unsubscribe()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
