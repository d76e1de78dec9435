from __future__ import annotations

import subprocess
import sys

import cloudomation_kit
from cloudomation_kit import _models

EXPECTED = [
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


def test_curated_all() -> None:
    assert cloudomation_kit.__all__ == EXPECTED
    for name in EXPECTED:
        assert hasattr(cloudomation_kit, name), name


def test_every_wire_model_is_reexported() -> None:
    assert set(_models.__all__) <= set(cloudomation_kit.__all__)


def test_public_names_come_from_private_modules_not_reexports_of_libraries() -> None:
    for name in cloudomation_kit.__all__:
        module = getattr(getattr(cloudomation_kit, name), "__module__", "cloudomation_kit")
        assert module is None or module.startswith(("cloudomation_kit", "typing", "builtins"))


def test_import_pulls_in_no_ui_and_no_server() -> None:
    code = (
        "import sys, cloudomation_kit, cloudomation_kit.flow_api\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'ipywidgets', 'fastapi', 'mock_server', 'tui', 'uvicorn', 'starlette')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""
