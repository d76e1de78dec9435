"""``/execution`` (ours): the parties that hold and wait for locks, with leases and heartbeats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from cloudomation_kit._models import ExecutionCreate, ExecutionUpdate, HeartbeatResult

from .._backend import Backend
from .._http import Principal, backend_of, envelope, parse_body, reader, writer
from .._locks import ExecutionState
from ._docs import ERRORS, ExecutionAnswer, ExecutionListAnswer, body_doc

router = APIRouter(prefix="/execution", tags=["executions"], responses=ERRORS)

BackendDep = Annotated[Backend, Depends(backend_of)]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
Plain = Annotated[bool, Query(description="Answer without the envelope.")]


def _one(backend: Backend, ex: ExecutionState, plain: bool) -> JSONResponse:
    return JSONResponse(envelope("execution", backend.locks.execution_wire(ex), plain=plain))


@router.post(
    "",
    summary="Start an execution (it must then send heartbeats)",
    responses={200: {"model": ExecutionAnswer}},
    openapi_extra=body_doc(ExecutionCreate),
)
async def create_execution(
    request: Request, backend: BackendDep, _: Writer, plain: Plain = False
) -> Response:
    body = await parse_body(request, ExecutionCreate)
    return _one(backend, backend.locks.create_execution(body.name, body.lease_ttl), plain)


@router.get(
    "",
    summary="List executions; filter by status, e.g. WAITING_LOCK",
    responses={200: {"model": ExecutionListAnswer}},
)
async def list_executions(
    backend: BackendDep,
    _: Reader,
    filter: Annotated[str | None, Query(description="JSON filter, as for settings")] = None,
    plain: Plain = False,
) -> Response:
    items = [backend.locks.execution_wire(e) for e in backend.list_executions(filter)]
    return JSONResponse(envelope("execution", items, plain=plain))


@router.get(
    "/{execution_id}", summary="Read an execution", responses={200: {"model": ExecutionAnswer}}
)
async def get_execution(
    execution_id: str, backend: BackendDep, _: Reader, plain: Plain = False
) -> Response:
    return _one(backend, backend.locks.execution(execution_id), plain)


@router.patch(
    "/{execution_id}",
    summary="End an execution (releasing its locks) or set its message",
    responses={200: {"model": ExecutionAnswer}},
    openapi_extra=body_doc(ExecutionUpdate),
)
async def update_execution(
    execution_id: str, request: Request, backend: BackendDep, _: Writer, plain: Plain = False
) -> Response:
    body = await parse_body(request, ExecutionUpdate)
    ex = backend.locks.update_execution(execution_id, body.status, body.message)
    return _one(backend, ex, plain)


@router.post(
    "/{execution_id}/heartbeat",
    summary="Renew the execution's lease; answers with the locks it still holds",
    responses={200: {"model": HeartbeatResult}},
)
async def heartbeat(execution_id: str, backend: BackendDep, _: Writer) -> Response:
    ex = backend.locks.heartbeat(execution_id)
    return JSONResponse(
        {"execution": backend.locks.execution_wire(ex), "locks": backend.locks.held_by(ex)}
    )
