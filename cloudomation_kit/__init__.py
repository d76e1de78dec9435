"""cloudomation-kit: Cloudomation-style settings and locks.

    from cloudomation_kit import Client, lock

    client = Client()                      # CLOUDOMATION_URL + CLOUDOMATION_TOKEN
    client.settings.create("notification_emails", ["ops@example.com"])
    with lock("cloud-vm-lock", timeout=60):
        ...

Every name here is public API; everything in an underscore module is not.
"""

from __future__ import annotations

from ._client import AsyncClient, Client
from ._config import ClientConfig, resolve_config
from ._constants import VERSION as __version__
from ._default import alock, default_async_client, default_client, lock
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudomationError,
    CloudomationException,
    ConfigError,
    ConflictError,
    FencingTokenError,
    InternalServerError,
    InvalidFilterError,
    LockAlreadyHeldError,
    LockLostError,
    LockNotHeldError,
    LockTimeoutError,
    MethodNotAllowedError,
    PermissionDenied,
    PreconditionFailedError,
    RateLimitError,
    ResourceNotFoundError,
    TimeoutExceededError,
    UnprocessableEntityError,
    ValueTooLargeError,
)
from ._lock import AsyncSettingLock, SettingLock
from ._models import (
    AcquireRequest,
    AcquireResult,
    Alive,
    CancelRequest,
    ErrorBody,
    Event,
    EventType,
    Execution,
    ExecutionCreate,
    ExecutionStatus,
    ExecutionUpdate,
    HeartbeatResult,
    HeldLock,
    Holder,
    Lock,
    LoginRequest,
    LoginResult,
    ReleaseRequest,
    Setting,
    SettingCreate,
    SettingUpdate,
    Waiter,
    WaitRequest,
)
from ._resources import AsyncExecutions, AsyncLocks, Executions, Locks
from ._settings import AsyncSettingIterator, AsyncSettings, SettingIterator, SettingList, Settings
from ._types import NOT_GIVEN, NotGiven

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AcquireRequest",
    "AcquireResult",
    "Alive",
    "AsyncClient",
    "AsyncExecutions",
    "AsyncLocks",
    "AsyncSettingIterator",
    "AsyncSettingLock",
    "AsyncSettings",
    "AuthenticationError",
    "BadRequestError",
    "CancelRequest",
    "Client",
    "ClientConfig",
    "CloudomationError",
    "CloudomationException",
    "ConfigError",
    "ConflictError",
    "ErrorBody",
    "Event",
    "EventType",
    "Execution",
    "ExecutionCreate",
    "ExecutionStatus",
    "ExecutionUpdate",
    "Executions",
    "FencingTokenError",
    "HeartbeatResult",
    "HeldLock",
    "Holder",
    "InternalServerError",
    "InvalidFilterError",
    "Lock",
    "LockAlreadyHeldError",
    "LockLostError",
    "LockNotHeldError",
    "LockTimeoutError",
    "Locks",
    "LoginRequest",
    "LoginResult",
    "MethodNotAllowedError",
    "NotGiven",
    "PermissionDenied",
    "PreconditionFailedError",
    "RateLimitError",
    "ReleaseRequest",
    "ResourceNotFoundError",
    "Setting",
    "SettingCreate",
    "SettingIterator",
    "SettingList",
    "SettingLock",
    "SettingUpdate",
    "Settings",
    "TimeoutExceededError",
    "UnprocessableEntityError",
    "ValueTooLargeError",
    "WaitRequest",
    "Waiter",
    "__version__",
    "alock",
    "default_async_client",
    "default_client",
    "lock",
    "resolve_config",
]
