"""``/lock`` (ours): acquire with bounded long-polls, wait, cancel, release, and inspect queues."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from cloudomation_kit._models import (
    AcquireRequest,
    AcquireResult,
    CancelRequest,
    ReleaseRequest,
    WaitRequest,
)

from .._backend import Backend
from .._driver import LockDriver
from .._errors import ResourceNotFoundError, ValidationError
from .._http import Principal, ServerConfig, backend_of, envelope, parse_body, reader, writer
from ._docs import ERRORS, LockAnswer, LockEnvelope, LockListAnswer, body_doc

router = APIRouter(prefix="/lock", tags=["locks"], responses=ERRORS)

BackendDep = Annotated[Backend, Depends(backend_of)]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]


def _bound(request: Request, wait: float | None) -> float:
    config: ServerConfig = request.app.state.config
    if wait is None:
        return config.max_wait
    if not wait >= 0:
        raise ValidationError("wait must be a number of seconds >= 0")
    return min(wait, config.max_wait)


async def _answer(request: Request, backend: Backend, waiter_id: str, wait: float) -> Response:
    driver: LockDriver = request.app.state.driver
    waiter = await driver.wait(request, waiter_id, wait)
    if waiter is None:
        return Response(status_code=499)  # the client is gone; nobody reads this
    body = backend.locks.result_wire(waiter)
    return JSONResponse(body, status_code=200 if waiter.status == "granted" else 202)


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
async def acquire(request: Request, backend: BackendDep, _: Writer) -> Response:
    body = await parse_body(request, AcquireRequest)
    wait = _bound(request, body.wait)
    label = body.execution_name
    if body.execution_id is None and not label:
        # An ad-hoc caller (curl, a script): name its execution after the client it uses.
        label = f"anonymous ({request.headers.get('user-agent', 'unknown client')[:80]})"
    waiter = backend.locks.acquire(
        body.name,
        body.execution_id,
        timeout=body.timeout,
        execution_name=label,
        lease_ttl=body.lease_ttl,
    )
    if waiter.status == "granted":
        return JSONResponse(backend.locks.result_wire(waiter))
    return await _answer(request, backend, waiter.id, wait)


@router.post(
    "/wait",
    summary="Continue waiting for a queued acquisition",
    responses={200: {"model": AcquireResult}, 202: {"model": AcquireResult}},
    openapi_extra=body_doc(WaitRequest),
)
async def wait(request: Request, backend: BackendDep, _: Writer) -> Response:
    body = await parse_body(request, WaitRequest)
    return await _answer(request, backend, body.waiter_id, _bound(request, body.wait))


@router.post(
    "/cancel",
    summary="Leave the queue (releasing the lock if it was granted meanwhile)",
    openapi_extra=body_doc(CancelRequest),
)
async def cancel(request: Request, backend: BackendDep, _: Writer) -> dict[str, Any]:
    body = await parse_body(request, CancelRequest)
    was = backend.locks.waiter(body.waiter_id).status
    waiter = backend.locks.cancel(body.waiter_id)
    return {"waiter_id": waiter.id, "status": "released" if was == "granted" else waiter.status}


@router.post(
    "/release",
    summary="Release a lock (by its holder, or by anyone with force)",
    responses={200: {"model": LockEnvelope}},
    openapi_extra=body_doc(ReleaseRequest),
)
async def release(request: Request, backend: BackendDep, who: Writer) -> Response:
    body = await parse_body(request, ReleaseRequest)
    by = who.name
    if body.force and body.execution_id:
        with contextlib.suppress(ResourceNotFoundError):
            by = f"{backend.locks.execution(body.execution_id).name} ({who.name})"
    backend.locks.release(
        body.name, body.execution_id, body.token, force=body.force, by=by, reason=body.reason
    )
    setting = backend.get_setting(body.name, by_name=True)
    return JSONResponse({"lock": backend.locks.lock_wire(setting)})


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
