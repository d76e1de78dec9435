"""``/lock`` (ours): acquire with bounded long-polls, wait, cancel, release, and inspect queues.

The four lock actions are written once, as operations over the app's state (``acquire_op`` and
friends); the FastAPI routes below and the lean ASGI path in ``_fastpath.py`` both call them, so
the documented routes and the fast ones cannot answer differently.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import Receive

from cloudomation_kit._models import (
    AcquireRequest,
    AcquireResult,
    CancelRequest,
    ReleaseRequest,
    ReleaseResult,
    WaitRequest,
)

from .._backend import Backend
from .._driver import LockDriver, OnGrant
from .._errors import ResourceNotFoundError, ValidationError
from .._http import Principal, ServerConfig, backend_of, envelope, parse_body, reader, writer
from ._docs import ERRORS, LockAnswer, LockListAnswer, body_doc

router = APIRouter(prefix="/lock", tags=["locks"], responses=ERRORS)

BackendDep = Annotated[Backend, Depends(backend_of)]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]

GONE = 499
"""Status of a long-poll whose client went away (nobody reads it)."""

# -- the operations: (status, body) from parsed input ---------------------------------------------


def _bound(config: ServerConfig, wait: float | None) -> float:
    if wait is None:
        return config.max_wait
    if not wait >= 0:
        raise ValidationError("wait must be a number of seconds >= 0")
    return min(wait, config.max_wait)


@dataclass(frozen=True, slots=True)
class Waiting:
    """An acquisition that did not end at once: wait for ``waiter_id`` up to ``seconds``."""

    waiter_id: str
    seconds: float


async def answer_wait(
    state: Any, waiting: Waiting, receive: Receive, on_grant: OnGrant | None = None
) -> tuple[int, dict[str, Any] | None]:
    """Long-poll until the waiter is granted or ``seconds`` pass: 200 granted, 202 still queued,
    ``GONE`` when the client went away (``receive`` said so). ``on_grant``: see
    ``LockDriver.wait``."""
    driver: LockDriver = state.driver
    waiter = await driver.wait(receive, waiting.waiter_id, waiting.seconds, on_grant)
    if waiter is None:
        return GONE, None
    body = state.backend.locks.result_wire(waiter)
    return (200 if waiter.status == "granted" else 202), body


def acquire_begin(
    state: Any, body: AcquireRequest, user_agent: str | None
) -> tuple[int, dict[str, Any]] | Waiting:
    """Join the queue: 200 with the result when granted at once, else what to wait for."""
    backend: Backend = state.backend
    wait = _bound(state.config, body.wait)  # checked before joining the queue
    label = body.execution_name
    if body.execution_id is None and not label:
        # An ad-hoc caller (curl, a script): name its execution after the client it uses.
        agent = "".join(ch for ch in (user_agent or "unknown client")[:80] if ch.isprintable())
        label = f"anonymous ({agent})"
    waiter = backend.locks.acquire(
        body.name,
        body.execution_id,
        timeout=body.timeout,
        execution_name=label,
        lease_ttl=body.lease_ttl,
    )
    if waiter.status == "granted":
        return 200, backend.locks.result_wire(waiter)
    return Waiting(waiter.id, wait)


def wait_begin(state: Any, body: WaitRequest) -> Waiting:
    return Waiting(body.waiter_id, _bound(state.config, body.wait))


async def acquire_op(
    state: Any, body: AcquireRequest, user_agent: str | None, receive: Receive
) -> tuple[int, dict[str, Any] | None]:
    first = acquire_begin(state, body, user_agent)
    return await answer_wait(state, first, receive) if isinstance(first, Waiting) else first


async def wait_op(
    state: Any, body: WaitRequest, receive: Receive
) -> tuple[int, dict[str, Any] | None]:
    return await answer_wait(state, wait_begin(state, body), receive)


def cancel_op(state: Any, body: CancelRequest) -> dict[str, Any]:
    locks = state.backend.locks
    was = locks.waiter(body.waiter_id).status
    waiter = locks.cancel(body.waiter_id)
    return {"waiter_id": waiter.id, "status": "released" if was == "granted" else waiter.status}


def release_op(state: Any, body: ReleaseRequest, who: Principal) -> dict[str, Any]:
    backend: Backend = state.backend
    by = who.name
    if body.force and body.execution_id:
        with contextlib.suppress(ResourceNotFoundError):
            by = f"{backend.locks.execution(body.execution_id).name} ({who.name})"
    released = backend.locks.release(
        body.name, body.execution_id, body.token, force=body.force, by=by, reason=body.reason
    )
    return backend.locks.release_wire(released)


def _json(status: int, body: dict[str, Any] | None) -> Response:
    if body is None:
        return Response(status_code=status)
    return JSONResponse(body, status_code=status)


# -- the documented routes --------------------------------------------------------------------


@router.post(
    "/acquire",
    summary="Acquire a lock, or wait in its queue",
    description=(
        "200 when acquired. 202 when still queued after `wait` seconds: continue with "
        "`POST /lock/wait` (the place in the queue is kept). 423 `LockTimeoutError` when "
        "`timeout` passes. Acquiring a name with no setting creates the setting."
    ),
    responses={200: {"model": AcquireResult}, 202: {"model": AcquireResult}},
    openapi_extra=body_doc(AcquireRequest),
)
async def acquire(request: Request, _: Writer) -> Response:
    body = await parse_body(request, AcquireRequest)
    ua = request.headers.get("user-agent")
    return _json(*await acquire_op(request.app.state, body, ua, request.receive))


@router.post(
    "/wait",
    summary="Continue waiting for a queued acquisition",
    responses={200: {"model": AcquireResult}, 202: {"model": AcquireResult}},
    openapi_extra=body_doc(WaitRequest),
)
async def wait(request: Request, _: Writer) -> Response:
    body = await parse_body(request, WaitRequest)
    return _json(*await wait_op(request.app.state, body, request.receive))


@router.post(
    "/cancel",
    summary="Leave the queue (releasing the lock if it was granted meanwhile)",
    openapi_extra=body_doc(CancelRequest),
)
async def cancel(request: Request, _: Writer) -> dict[str, Any]:
    return cancel_op(request.app.state, await parse_body(request, CancelRequest))


@router.post(
    "/release",
    summary="Release a lock (by its holder, or by anyone with force)",
    responses={200: {"model": ReleaseResult}},
    openapi_extra=body_doc(ReleaseRequest),
)
async def release(request: Request, who: Writer) -> Response:
    body = await parse_body(request, ReleaseRequest)
    return JSONResponse(release_op(request.app.state, body, who))


@router.get(
    "",
    summary="Every held or contended lock, with holder and queue",
    responses={200: {"model": LockListAnswer}},
)
async def list_locks(backend: BackendDep, _: Reader, plain: bool = False) -> Response:
    return JSONResponse(envelope("lock", backend.locks.locks_wire(), plain=plain))


@router.get(
    "/{name:path}",
    summary="One lock by setting name: holder and FIFO queue",
    responses={200: {"model": LockAnswer}},
)
async def get_lock(name: str, backend: BackendDep, _: Reader, plain: bool = False) -> Response:
    setting = backend.get_setting(name, by_name=True)
    return JSONResponse(envelope("lock", backend.locks.lock_wire(setting), plain=plain))
