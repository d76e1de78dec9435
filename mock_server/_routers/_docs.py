"""Models that only describe responses in the OpenAPI document (envelopes, partial records)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from cloudomation_kit._models import ErrorBody, Execution, Lock, Setting

__all__ = [
    "ERRORS",
    "ExecutionEnvelope",
    "ExecutionListEnvelope",
    "LockEnvelope",
    "LockListEnvelope",
    "PartialSetting",
    "PartialSettingEnvelope",
    "SettingEnvelope",
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


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for a route that parses its body itself (see ``parse_body``)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
