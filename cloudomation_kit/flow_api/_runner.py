"""The flow runner: load a flow script, call ``handler(system, this)``, end its execution."""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import os
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .._base import EndStatus
from .._client import Client
from .._exceptions import CloudomationError
from . import _api

__all__ = ["FlowResult", "main", "run_flow"]


@dataclass(frozen=True)
class FlowResult:
    """How a flow ended."""

    status: EndStatus
    message: str | None
    execution_id: str

    @property
    def exit_code(self) -> int:
        return {"ENDED_SUCCESS": 0, "ENDED_ERROR": 1, "ENDED_CANCELLED": 130}[self.status]


def _load(path: Path) -> ModuleType:
    # Flows say ``import flow_api``: make that name this facade before the flow is imported.
    sys.modules.setdefault("flow_api", sys.modules[__package__ or "cloudomation_kit.flow_api"])
    spec = importlib.util.spec_from_file_location(f"flow_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a flow from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _handler(module: ModuleType, path: Path) -> Callable[..., Any]:
    handler: Callable[..., Any] | None = getattr(module, "handler", None)
    if handler is None or not callable(handler):
        raise TypeError(f"{path} has no handler(system, this) function")
    return handler


def run_flow(
    path: str | Path, *, client: Client | None = None, inputs: dict[str, Any] | None = None
) -> FlowResult:
    """Run the flow at ``path`` as one execution and end it with the flow's outcome.

    ``this.success(msg)`` or a normal return ends it ``ENDED_SUCCESS``; ``this.error(msg)`` or an
    exception ``ENDED_ERROR`` (with the traceback on stderr); Ctrl-C ``ENDED_CANCELLED``.
    """
    path = Path(path)
    handler = _handler(_load(path), path)
    own = client is None
    if client is None:
        client = Client(execution_name=f"{path.name}@{socket.gethostname()}:{os.getpid()}")
    status: EndStatus = "ENDED_SUCCESS"
    message: str | None = None
    try:
        this = _api.Execution(client)
        system = _api.System(client)
        try:
            args: list[Any] = [system, this]
            if len(inspect.signature(handler).parameters) >= 3:
                args.append(inputs or {})
            returned = handler(*args)
            if isinstance(returned, str):
                message = returned
        except _api.LifecycleSignal as signal:
            status = "ENDED_ERROR" if signal.status == "ENDED_ERROR" else "ENDED_SUCCESS"
            message = signal.message
        except KeyboardInterrupt:
            status, message = "ENDED_CANCELLED", "interrupted"
        except Exception as exc:
            traceback.print_exc()
            status, message = "ENDED_ERROR", f"{type(exc).__name__}: {exc}"
        client.end_execution(status, message)
        return FlowResult(status, message, this.id)
    finally:
        if own:
            client.close(status, message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudomation_kit.flow_api",
        description="Run a Cloudomation-style flow script against the server in "
        "CLOUDOMATION_URL (token from CLOUDOMATION_TOKEN).",
    )
    parser.add_argument("flow", type=Path, help="a .py file defining handler(system, this)")
    parser.add_argument("--input", default="{}", help="JSON object passed as the third argument")
    args = parser.parse_args(argv)
    # The flow's own log (this.log) at INFO; the kit's warnings too; not httpx's request lines.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    kit = logging.getLogger("cloudomation_kit")
    kit.addHandler(handler)
    kit.setLevel(logging.INFO)
    try:
        inputs = json.loads(args.input)
        result = run_flow(args.flow, inputs=inputs)
    except (CloudomationError, ImportError, TypeError, OSError, ValueError) as exc:
        print(f"cannot run {args.flow}: {exc}", file=sys.stderr)
        return 2
    suffix = f": {result.message}" if result.message else ""
    print(f"{args.flow.name}: execution {result.execution_id} {result.status}{suffix}")
    return result.exit_code
