"""cloudomation-kit: Cloudomation-style settings and locks.

    from cloudomation_kit import Client, lock

    client = Client()                      # CLOUDOMATION_URL + CLOUDOMATION_TOKEN
    client.settings.create("notification_emails", ["ops@example.com"])
    with lock("cloud-vm-lock", timeout=60):
        ...

Every name here is public API; everything in an underscore module is not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        Released,
        ReleaseRequest,
        ReleaseResult,
        Setting,
        SettingCreate,
        SettingUpdate,
        Waiter,
        WaitRequest,
    )
    from ._resources import AsyncExecutions, AsyncLocks, Executions, Locks
    from ._settings import (
        AsyncSettingIterator,
        AsyncSettings,
        SettingIterator,
        SettingList,
        Settings,
    )
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
    "ReleaseResult",
    "Released",
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

# Public name -> (module, attribute). Loaded on first use, so `import cloudomation_kit` costs
# almost nothing: the command line starts fast, and httpx, pydantic and asyncio load only when a
# client, a model or an exception is first touched.
_LAZY: dict[str, tuple[str, str]] = {
    "AsyncClient": ("._client", "AsyncClient"),
    "Client": ("._client", "Client"),
    "ClientConfig": ("._config", "ClientConfig"),
    "resolve_config": ("._config", "resolve_config"),
    "__version__": ("._constants", "VERSION"),
    "alock": ("._default", "alock"),
    "default_async_client": ("._default", "default_async_client"),
    "default_client": ("._default", "default_client"),
    "lock": ("._default", "lock"),
    "APIConnectionError": ("._exceptions", "APIConnectionError"),
    "APIError": ("._exceptions", "APIError"),
    "APIResponseValidationError": ("._exceptions", "APIResponseValidationError"),
    "APIStatusError": ("._exceptions", "APIStatusError"),
    "APITimeoutError": ("._exceptions", "APITimeoutError"),
    "AuthenticationError": ("._exceptions", "AuthenticationError"),
    "BadRequestError": ("._exceptions", "BadRequestError"),
    "CloudomationError": ("._exceptions", "CloudomationError"),
    "CloudomationException": ("._exceptions", "CloudomationException"),
    "ConfigError": ("._exceptions", "ConfigError"),
    "ConflictError": ("._exceptions", "ConflictError"),
    "FencingTokenError": ("._exceptions", "FencingTokenError"),
    "InternalServerError": ("._exceptions", "InternalServerError"),
    "InvalidFilterError": ("._exceptions", "InvalidFilterError"),
    "LockAlreadyHeldError": ("._exceptions", "LockAlreadyHeldError"),
    "LockLostError": ("._exceptions", "LockLostError"),
    "LockNotHeldError": ("._exceptions", "LockNotHeldError"),
    "LockTimeoutError": ("._exceptions", "LockTimeoutError"),
    "MethodNotAllowedError": ("._exceptions", "MethodNotAllowedError"),
    "PermissionDenied": ("._exceptions", "PermissionDenied"),
    "PreconditionFailedError": ("._exceptions", "PreconditionFailedError"),
    "RateLimitError": ("._exceptions", "RateLimitError"),
    "ResourceNotFoundError": ("._exceptions", "ResourceNotFoundError"),
    "TimeoutExceededError": ("._exceptions", "TimeoutExceededError"),
    "UnprocessableEntityError": ("._exceptions", "UnprocessableEntityError"),
    "ValueTooLargeError": ("._exceptions", "ValueTooLargeError"),
    "AsyncSettingLock": ("._lock", "AsyncSettingLock"),
    "SettingLock": ("._lock", "SettingLock"),
    "AcquireRequest": ("._models", "AcquireRequest"),
    "AcquireResult": ("._models", "AcquireResult"),
    "Alive": ("._models", "Alive"),
    "CancelRequest": ("._models", "CancelRequest"),
    "ErrorBody": ("._models", "ErrorBody"),
    "Event": ("._models", "Event"),
    "EventType": ("._models", "EventType"),
    "Execution": ("._models", "Execution"),
    "ExecutionCreate": ("._models", "ExecutionCreate"),
    "ExecutionStatus": ("._models", "ExecutionStatus"),
    "ExecutionUpdate": ("._models", "ExecutionUpdate"),
    "HeartbeatResult": ("._models", "HeartbeatResult"),
    "HeldLock": ("._models", "HeldLock"),
    "Holder": ("._models", "Holder"),
    "Lock": ("._models", "Lock"),
    "LoginRequest": ("._models", "LoginRequest"),
    "LoginResult": ("._models", "LoginResult"),
    "Released": ("._models", "Released"),
    "ReleaseRequest": ("._models", "ReleaseRequest"),
    "ReleaseResult": ("._models", "ReleaseResult"),
    "Setting": ("._models", "Setting"),
    "SettingCreate": ("._models", "SettingCreate"),
    "SettingUpdate": ("._models", "SettingUpdate"),
    "Waiter": ("._models", "Waiter"),
    "WaitRequest": ("._models", "WaitRequest"),
    "AsyncExecutions": ("._resources", "AsyncExecutions"),
    "AsyncLocks": ("._resources", "AsyncLocks"),
    "Executions": ("._resources", "Executions"),
    "Locks": ("._resources", "Locks"),
    "AsyncSettingIterator": ("._settings", "AsyncSettingIterator"),
    "AsyncSettings": ("._settings", "AsyncSettings"),
    "SettingIterator": ("._settings", "SettingIterator"),
    "SettingList": ("._settings", "SettingList"),
    "Settings": ("._settings", "Settings"),
    "NOT_GIVEN": ("._types", "NOT_GIVEN"),
    "NotGiven": ("._types", "NotGiven"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'cloudomation_kit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
