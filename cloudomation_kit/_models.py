"""Wire models shared by the SDK and the bundled server.

Both sides import these classes, so the JSON the server writes and the JSON the SDK reads cannot
drift apart. Response models allow unknown fields (``extra="allow"``) so an older SDK keeps
working against a newer server; request models forbid them, so a typo in a request is a 422, not a
silent no-op.

Fields marked *ours* are not documented by Cloudomation; see ``docs/api.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ._display import DisplayMixin

__all__ = [
    "AcquireRequest",
    "AcquireResult",
    "Alive",
    "CancelRequest",
    "ErrorBody",
    "Event",
    "EventType",
    "Execution",
    "ExecutionCreate",
    "ExecutionStatus",
    "ExecutionUpdate",
    "HeartbeatResult",
    "HeldLock",
    "Holder",
    "Lock",
    "LoginRequest",
    "LoginResult",
    "ReleaseRequest",
    "ReleaseResult",
    "Released",
    "Setting",
    "SettingCreate",
    "SettingUpdate",
    "WaitRequest",
    "Waiter",
]

ExecutionStatus = Literal[
    "RUNNING", "WAITING_LOCK", "ENDED_SUCCESS", "ENDED_ERROR", "ENDED_CANCELLED"
]
"""Lifecycle of an execution. ``WAITING_LOCK`` while any of its lock requests is queued."""

EventType = Literal[
    "setting.created",
    "setting.updated",
    "setting.deleted",
    "lock.acquired",
    "lock.released",
    "lock.expired",
    "lock.forced",
    "waiter.joined",
    "waiter.left",
    "waiter.timed_out",
    "execution.status",
]


class _Response(DisplayMixin, BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class _Request(DisplayMixin, BaseModel):
    # strict: "yes" is not true and "60" is not 60 (an int is still a float)
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


MAX_TIMEOUT = 366 * 24 * 3600.0
"""Longest finite lock wait, in seconds; ``null`` waits forever."""
MIN_LEASE_TTL = 0.5
MAX_LEASE_TTL = 24 * 3600.0

# Documented in the schema only: the server checks names itself, with messages that say what is
# wrong (blank, too long, control characters) rather than a regular expression.
_NAME_SCHEMA: dict[str, Any] = {
    "minLength": 1,
    "maxLength": 512,
    "pattern": r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
}


# -- settings ---------------------------------------------------------------------------------


class Setting(_Response):
    """A named record holding any JSON value, read and written as a whole."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("name", "value", "version")

    id: str
    """A uuid, fixed for the life of the setting."""
    name: str
    """Unique among settings; the server strips leading and trailing blanks."""
    value: JsonValue = None
    """Any JSON value: object, array, string, number, bool or null."""
    description: str | None = None
    created_at: datetime
    modified_at: datetime
    version: int
    """*Ours.* Starts at 1 and grows by one on every write; used for ``If-Match``."""


class SettingCreate(_Request):
    """Body of ``POST /setting``."""

    name: str = Field(json_schema_extra=_NAME_SCHEMA)
    value: JsonValue = None
    description: str | None = None


class SettingUpdate(_Request):
    """Body of ``PATCH /setting/<id>``: only the fields given are changed."""

    name: str | None = None
    value: JsonValue = None
    description: str | None = None


# -- executions -------------------------------------------------------------------------------


class Execution(_Response):
    """*Ours.* The party that holds locks and waits for them (one per SDK client)."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("name", "status", "locks", "waiting_for")

    id: str
    name: str
    """A human label such as ``nightly-backup.py@host:1234``."""
    status: ExecutionStatus
    message: str | None = None
    created_at: datetime
    modified_at: datetime
    ended_at: datetime | None = None
    lease_ttl: float
    """Seconds the lease lasts after each heartbeat."""
    lease_expires_at: datetime | None = None
    """When it ends as ``ENDED_ERROR`` unless a heartbeat comes first; ``None`` once ended."""
    locks: list[str] = Field(default_factory=list)
    """Names of the locks it holds."""
    waiting_for: list[str] = Field(default_factory=list)
    """Names of the locks it waits for."""


class ExecutionCreate(_Request):
    """Body of ``POST /execution``."""

    name: str | None = Field(None, max_length=512)
    lease_ttl: float | None = Field(None, ge=MIN_LEASE_TTL, le=MAX_LEASE_TTL)


class ExecutionUpdate(_Request):
    """Body of ``PATCH /execution/<id>``: ends the execution or changes its message."""

    status: Literal["ENDED_SUCCESS", "ENDED_ERROR", "ENDED_CANCELLED"] | None = None
    message: str | None = None


class HeldLock(_Response):
    """A lock an execution holds, as reported by a heartbeat."""

    name: str
    token: int


class HeartbeatResult(_Response):
    """Answer to ``POST /execution/<id>/heartbeat``."""

    execution: Execution
    locks: list[HeldLock]


# -- locks ------------------------------------------------------------------------------------


class Holder(_Response):
    """The execution holding a lock."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("execution_name", "token", "acquired_at")

    execution_id: str
    execution_name: str
    token: int
    """Fencing token of this acquisition: strictly increasing per setting, never reused."""
    acquired_at: datetime
    lease_expires_at: datetime | None


class Waiter(_Response):
    """One entry of a lock's FIFO queue."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("position", "execution_name", "deadline")

    waiter_id: str
    execution_id: str
    execution_name: str
    position: int
    """1 for the next in line."""
    waiting_since: datetime
    deadline: datetime | None
    """When the wait fails with ``LockTimeoutError``; ``None`` waits forever."""


class Lock(_Response):
    """A setting seen as a lock: its holder and its queue."""

    name: str
    setting_id: str
    holder: Holder | None
    waiters: list[Waiter]

    def _repr_items(self) -> list[tuple[str, Any]]:
        holder = self.holder
        return [
            ("name", self.name),
            ("holder", holder.execution_name if holder else None),
            ("token", holder.token if holder else None),
            ("waiters", len(self.waiters)),
        ]


class AcquireRequest(_Request):
    """Body of ``POST /lock/acquire``."""

    name: str = Field(json_schema_extra=_NAME_SCHEMA)
    execution_id: str | None = None
    """The execution that will hold the lock; omitted, the server creates one for this call."""
    execution_name: str | None = None
    """Label of the execution the server creates when ``execution_id`` is omitted."""
    timeout: float | None = Field(60.0, ge=0, le=MAX_TIMEOUT)
    """Seconds to wait in the queue; ``null`` waits forever; ``0`` tries once."""
    wait: float | None = Field(None, ge=0, le=MAX_TIMEOUT)
    """Longest this one request blocks (a long-poll bound, at most the server's maximum)."""
    lease_ttl: float | None = Field(None, ge=MIN_LEASE_TTL, le=MAX_LEASE_TTL)
    """Lease of the execution the server creates when ``execution_id`` is omitted."""


class WaitRequest(_Request):
    """Body of ``POST /lock/wait``: continue a queued acquisition."""

    waiter_id: str
    wait: float | None = Field(None, ge=0, le=MAX_TIMEOUT)


class CancelRequest(_Request):
    """Body of ``POST /lock/cancel``: leave the queue (and release, if already granted)."""

    waiter_id: str


class ReleaseRequest(_Request):
    """Body of ``POST /lock/release``."""

    name: str
    execution_id: str | None = None
    token: int | None = None
    force: bool = False
    """Release whoever holds it (an operator action, published as a ``lock.forced`` event)."""
    reason: str | None = None


class Released(_Response):
    """The acquisition a release ended."""

    execution_id: str
    execution_name: str
    token: int


class ReleaseResult(_Response):
    """Answer to ``POST /lock/release``: what ended and who holds the lock now."""

    name: str
    released: Released
    holder: Holder | None
    """The next waiter, who already holds the lock; ``None`` if nobody waited."""
    waiting: int
    """How many still wait."""


class AcquireResult(_Response):
    """Answer to an acquire or wait call: acquired, or still waiting in the queue."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("status", "name", "token", "position")

    status: Literal["acquired", "waiting"]
    name: str
    waiter_id: str
    execution_id: str
    token: int | None = None
    """Fencing token, once acquired."""
    position: int | None = None
    """Place in the queue while waiting (1 is next)."""
    waiting_since: datetime | None = None
    deadline: datetime | None = None
    holder: Holder | None = None


# -- events, auth, errors ---------------------------------------------------------------------


class Event(_Response):
    """*Ours.* One change, as sent on the event stream."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("seq", "type", "data")

    seq: int
    """Grows by one per event."""
    type: EventType
    at: datetime
    data: dict[str, JsonValue]


class LoginRequest(DisplayMixin, BaseModel):
    """Body of ``POST /auth/login``; extra fields Cloudomation clients send are ignored."""

    _secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    user_name: str
    password: str


class LoginResult(_Response):
    _repr_fields: ClassVar[tuple[str, ...]] = ("user_name", "token_expiry")
    _secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    token: str
    user_name: str
    token_expiry: float | None = None


class Alive(_Response):
    alive: bool
    server: str
    version: str


class ErrorBody(_Response):
    """Every 4xx and 5xx answer carries this body."""

    _repr_fields: ClassVar[tuple[str, ...]] = ("error", "message")

    error: str
    """The exception name, e.g. ``ResourceNotFoundError``."""
    message: str
