"""``/setting``: the routes Cloudomation documents, plus paging, versions and fencing (ours)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, RootModel

from cloudomation_kit._models import SettingCreate, SettingUpdate

from .._backend import Backend, parse_fields, project
from .._http import Principal, backend_of, envelope, parse_body, parse_if_match, reader, writer
from .._store import MAX_CURSOR_LENGTH, SETTING_FIELDS, SettingRecord
from ._docs import (
    ERRORS,
    PartialSetting,
    PartialSettingAnswer,
    SettingAnswer,
    body_doc,
)


class SettingPageEnvelope(BaseModel):
    setting: list[PartialSetting]
    total: int | None = None
    """*Ours.* Left out when not counted (with ``after`` and without ``count=true``)."""
    limit: int
    offset: int
    next: str | None
    """*Ours.* The cursor to pass as ``after`` for the next page; ``null`` on the last page."""


# With plain=true the bare list (total and next then come only as headers).
class SettingPageAnswer(RootModel[SettingPageEnvelope | list[PartialSetting]]):
    pass


router = APIRouter(prefix="/setting", tags=["settings"], responses=ERRORS)

BackendDep = Annotated[Backend, Depends(backend_of)]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
By = Annotated[
    Literal["id", "name"], Query(description="Address the setting by `id` (default) or `name`.")
]
Plain = Annotated[bool, Query(description="Answer with the bare record, without the envelope.")]
Fields = Annotated[str | None, Query(description="Comma-separated fields to return.")]
Fence = Annotated[
    int | None,
    Query(description="*Ours.* The fencing token of the caller's lock; refused (409) if stale."),
]
IfMatch = Annotated[
    str | None,
    Header(description="*Ours.* The version the caller read; 412 if the setting changed since."),
]


# -- the operations of one setting: (body, ETag) from parsed input ----------------------------
# The FastAPI routes below and the fast path (``_fastpath.py``) both call these.


def one_body(
    record: SettingRecord, *, plain: bool, fields: list[str] | None = None
) -> tuple[Any, str]:
    """A setting's answer body (enveloped unless ``plain``) and its ETag."""
    body = envelope("setting", project(record.wire(), fields), plain=plain)
    return body, f'"{record.version}"'


def get_op(
    backend: Backend, key: str, *, by_name: bool, plain: bool, fields: str | None = None
) -> tuple[Any, str]:
    wanted = parse_fields(fields, SETTING_FIELDS)
    return one_body(backend.get_setting(key, by_name=by_name), plain=plain, fields=wanted)


def update_op(
    backend: Backend,
    key: str,
    body: SettingUpdate,
    *,
    by_name: bool,
    plain: bool,
    fence: int | None = None,
    if_match: str | None = None,
) -> tuple[Any, str]:
    changes = {f: getattr(body, f) for f in body.model_fields_set}
    record = backend.update_setting(
        key,
        by_name=by_name,
        changes=changes,
        if_version=parse_if_match(if_match),
        fence=fence,
    )
    return one_body(record, plain=plain)


def _one(record: SettingRecord, *, plain: bool, fields: list[str] | None = None) -> JSONResponse:
    return _json(*one_body(record, plain=plain, fields=fields))


def _json(body: Any, etag: str) -> JSONResponse:
    return JSONResponse(body, headers={"ETag": etag})


@router.post(
    "",
    summary="Create a setting",
    responses={200: {"model": SettingAnswer}},
    openapi_extra=body_doc(SettingCreate),
)
async def create_setting(
    request: Request, backend: BackendDep, _: Writer, plain: Plain = False
) -> Response:
    body = await parse_body(request, SettingCreate)
    return _one(backend.create_setting(body.name, body.value, body.description), plain=plain)


@router.get(
    "",
    summary="List settings",
    responses={200: {"model": SettingPageAnswer}},
)
async def list_settings(
    backend: BackendDep,
    _: Reader,
    filter: Annotated[
        str | None, Query(description='JSON: `{"field","op","value"}` leaves, `{"and": [...]}`')
    ] = None,
    fields: Fields = None,
    plain: Plain = False,
    limit: Annotated[int, Query(ge=0, le=10_000, description="*Ours.* Page size.")] = 1000,
    offset: Annotated[int, Query(ge=0, description="*Ours.* Records to skip.")] = 0,
    order: Annotated[
        str, Query(description="*Ours.* `name`, `created_at` or `modified_at`; `-` descends.")
    ] = "name",
    after: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="*Ours.* The `next` cursor of an earlier page: the page after it.",
        ),
    ] = None,
    count: Annotated[
        bool | None,
        Query(description="*Ours.* Count for `total`; default: yes without `after`, no with it."),
    ] = None,
) -> Response:
    wanted = parse_fields(fields, SETTING_FIELDS)
    page = backend.list_settings(
        filter,
        order=order,
        limit=limit,
        offset=offset,
        after=after,
        count=count,
        fields=wanted,
    )
    headers = {}
    if page.total is not None:
        headers["X-Total-Count"] = str(page.total)
    if page.next is not None:
        headers["X-Next-Cursor"] = page.next
    # The rows come as JSON text (built by the store, for SQLite by SQLite itself): spliced into
    # the answer as they are rather than parsed and encoded again.
    rows = "[" + ",".join(page.rows) + "]"
    if plain:
        text = rows
    else:
        meta: dict[str, Any] = {"total": page.total} if page.total is not None else {}
        meta |= {"limit": limit, "offset": offset, "next": page.next}
        text = '{"setting":' + rows + "," + json.dumps(meta, separators=(",", ":"))[1:]
    return Response(text.encode(), media_type="application/json", headers=headers)


@router.get(
    "/{key:path}",
    summary="Read a setting by id or by name",
    responses={200: {"model": PartialSettingAnswer}},
)
async def get_setting(
    key: str,
    backend: BackendDep,
    _: Reader,
    by: By = "id",
    plain: Plain = False,
    fields: Fields = None,
) -> Response:
    return _json(*get_op(backend, key, by_name=by == "name", plain=plain, fields=fields))


@router.patch(
    "/{key:path}",
    summary="Update the fields given",
    responses={200: {"model": SettingAnswer}},
    openapi_extra=body_doc(SettingUpdate),
)
async def update_setting(
    key: str,
    request: Request,
    backend: BackendDep,
    _: Writer,
    by: By = "id",
    plain: Plain = False,
    fence: Fence = None,
    if_match: IfMatch = None,
) -> Response:
    body = await parse_body(request, SettingUpdate)
    by_name = by == "name"
    answer = update_op(
        backend, key, body, by_name=by_name, plain=plain, fence=fence, if_match=if_match
    )
    return _json(*answer)


@router.delete("/{key:path}", summary="Delete a setting", status_code=204)
async def delete_setting(
    key: str,
    backend: BackendDep,
    _: Writer,
    by: By = "id",
    fence: Fence = None,
    if_match: IfMatch = None,
) -> Response:
    backend.delete_setting(
        key, by_name=by == "name", if_version=parse_if_match(if_match), fence=fence
    )
    return Response(status_code=204)
