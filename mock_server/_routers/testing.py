"""``/_testing`` (ours, only with ``--testing``): reset, dump the state, advance the clock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from .._backend import Backend
from .._clock import OffsetClock
from .._driver import LockDriver
from .._errors import InvalidRequestError
from .._http import Principal, backend_of, parse_body, writer
from ._docs import ERRORS, body_doc

router = APIRouter(prefix="/_testing", tags=["testing"], responses=ERRORS)

BackendDep = Annotated[Backend, Depends(backend_of)]
Writer = Annotated[Principal, Depends(writer)]


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: float = Field(ge=0, le=10 * 365 * 24 * 3600)
    """Seconds to jump forward; leases and waits that fall due expire at once."""


@router.post("/reset", summary="Forget every setting, lock, execution and event")
async def reset(backend: BackendDep, _: Writer) -> dict[str, Any]:
    backend.reset()
    return {"reset": True}


@router.get("/state", summary="The whole state, for assertions")
async def state(backend: BackendDep, _: Writer) -> dict[str, Any]:
    return backend.dump()


@router.post(
    "/clock", summary="Move the server's clock forward", openapi_extra=body_doc(ClockAdvance)
)
async def clock(request: Request, backend: BackendDep, _: Writer) -> dict[str, Any]:
    body = await parse_body(request, ClockAdvance)
    if not isinstance(backend.clock, OffsetClock):
        raise InvalidRequestError("this server's clock cannot be moved")
    backend.clock.advance(body.advance)
    driver: LockDriver = request.app.state.driver
    driver.poke()
    return {"now": backend.clock.now(), "offset": backend.clock.offset}
