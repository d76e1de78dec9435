"""A facade of Cloudomation's ``flow_api``, so flow scripts written for Cloudomation run here.

    import flow_api

    def handler(system: flow_api.System, this: flow_api.Execution):
        emails = system.setting('notification_emails').get('value')
        system.setting('cloud-vm-lock').acquire(timeout=60)
        ...
        system.setting('cloud-vm-lock').release()
        return this.success('all done')

Run a flow with ``python -m cloudomation_kit.flow_api path/to/flow.py`` (the runner makes
``import flow_api`` resolve to this module). Only the settings and locks part of ``flow_api`` is
here, plus the execution's ``success``, ``error``, ``save(message=...)``, ``log`` and ``sleep``.
"""

from __future__ import annotations

from .._exceptions import (
    CloudomationException,
    LockTimeoutError,
    PermissionDenied,
    ResourceNotFoundError,
    TimeoutExceededError,
)
from ._api import (
    Execution,
    ExecutionError,
    ExecutionSuccess,
    LifecycleSignal,
    Setting,
    System,
)
from ._runner import FlowResult, main, run_flow

__all__ = [
    "CloudomationException",
    "Execution",
    "ExecutionError",
    "ExecutionSuccess",
    "FlowResult",
    "LifecycleSignal",
    "LockTimeoutError",
    "PermissionDenied",
    "ResourceNotFoundError",
    "Setting",
    "System",
    "TimeoutExceededError",
    "main",
    "run_flow",
]
