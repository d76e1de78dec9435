"""Models that only describe responses in the OpenAPI document (envelopes, partial records)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue, RootModel

from cloudomation_kit._models import ErrorBody, Execution, Lock, Setting

__all__ = [
    "ERRORS",
    "ExecutionAnswer",
    "ExecutionEnvelope",
    "ExecutionListAnswer",
    "ExecutionListEnvelope",
    "LockAnswer",
    "LockEnvelope",
    "LockListAnswer",
    "LockListEnvelope",
    "PartialSetting",
    "PartialSettingAnswer",
    "PartialSettingEnvelope",
    "SettingAnswer",
    "SettingEnvelope",
    "SettingListAnswer",
    "SettingListEnvelope",
    "body_doc",
]


class PartialSetting(BaseModel):
    """A setting as read with ``fields=...``: only the fields asked for."""

    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None
    value: JsonValue = None
    description: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    version: int | None = None


class SettingEnvelope(BaseModel):
    setting: Setting


class PartialSettingEnvelope(BaseModel):
    setting: PartialSetting


class SettingListEnvelope(BaseModel):
    setting: list[PartialSetting]
    total: int
    limit: int
    offset: int


class LockEnvelope(BaseModel):
    lock: Lock


class LockListEnvelope(BaseModel):
    lock: list[Lock]


class ExecutionEnvelope(BaseModel):
    execution: Execution


class ExecutionListEnvelope(BaseModel):
    execution: list[Execution]


# With plain=true the same routes answer with the bare record or list.
class SettingAnswer(RootModel[SettingEnvelope | Setting]):
    pass


class PartialSettingAnswer(RootModel[PartialSettingEnvelope | PartialSetting]):
    pass


class SettingListAnswer(RootModel[SettingListEnvelope | list[PartialSetting]]):
    pass


class LockAnswer(RootModel[LockEnvelope | Lock]):
    pass


class LockListAnswer(RootModel[LockListEnvelope | list[Lock]]):
    pass


class ExecutionAnswer(RootModel[ExecutionEnvelope | Execution]):
    pass


class ExecutionListAnswer(RootModel[ExecutionListEnvelope | list[Execution]]):
    pass


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _err("Malformed JSON or bad query parameters"),
    401: _err("No token or an unknown one"),
    403: _err("A read-only token tried to write"),
    404: _err("Not found"),
    409: _err("Conflict: a taken name, a lock held by another, a stale fencing token"),
    412: _err("If-Match names an old version"),
    413: _err("Value or body too large"),
    422: _err("A body of the wrong shape"),
    423: _err("The lock was not acquired in time (LockTimeoutError)"),
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for a route that parses its body itself (see ``parse_body``).

    The model's ``$defs`` are inlined: a ``#/$defs/...`` reference means nothing inside the
    OpenAPI document.
    """
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, schema.get("$defs", {}))}},
        }
    }
