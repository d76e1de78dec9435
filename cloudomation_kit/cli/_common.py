"""What every ``ckit`` command shares: exit codes, the error type, the client factory."""

from __future__ import annotations

import argparse
from enum import IntEnum
from typing import TYPE_CHECKING

from .._constants import DEFAULT_LEASE_TTL
from .._exceptions import (
    APIStatusError,
    BadRequestError,
    CloudomationError,
    ConflictError,
    PreconditionFailedError,
    ResourceNotFoundError,
    UnprocessableEntityError,
    ValueTooLargeError,
)

if TYPE_CHECKING:
    # The client (httpx, pydantic) loads when a command runs, so help and usage errors are instant.
    from .._client import Client

__all__ = ["CliError", "Exit", "exit_code_for", "make_client"]


class Exit(IntEnum):
    """``ckit``'s exit codes (``ckit lock`` also passes on CMD's own status)."""

    OK = 0
    NOT_DONE = 1
    """Not found, or not done: no such setting, "no" at a prompt, the editor failed."""
    USAGE = 2
    """Bad arguments, invalid JSON, ``rm`` without ``--yes`` when not interactive."""
    NOT_ACQUIRED = 3
    """``ckit lock``: not acquired in time (``--conflict-exit-code`` changes it)."""
    LOCK_LOST = 4
    """``ckit lock``: the lock was lost while CMD ran, and CMD was stopped."""
    SERVER = 5
    """Server, connection or configuration error."""
    CONFLICT = 6
    """The setting changed meanwhile (``If-Match``), or the server refused the write (409)."""
    CANNOT_EXECUTE = 126
    COMMAND_NOT_FOUND = 127
    SIGNAL_BASE = 128
    """Ended by signal N: 128 + N."""


class CliError(Exception):
    """A failure to report as one line on stderr (``ckit: error: ...``) with an exit code."""

    def __init__(self, message: str, code: int = Exit.NOT_DONE) -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code)


def exit_code_for(exc: CloudomationError) -> int:
    """The exit code for an SDK error that reached the top of a command."""
    if isinstance(exc, ResourceNotFoundError):
        return Exit.NOT_DONE
    if isinstance(exc, ConflictError | PreconditionFailedError):
        return Exit.CONFLICT
    if isinstance(exc, BadRequestError | UnprocessableEntityError | ValueTooLargeError):
        return Exit.USAGE
    if isinstance(exc, APIStatusError):
        return Exit.SERVER
    # ConfigError, APIConnectionError, APIResponseValidationError, anything else of the SDK's.
    return Exit.SERVER


def make_client(
    args: argparse.Namespace,
    *,
    lease_ttl: float = DEFAULT_LEASE_TTL,
    execution_name: str | None = None,
) -> Client:
    """A ``Client`` from ``--url``, ``--token`` and ``--profile`` (then the env, then the file)."""
    from .._client import Client

    return Client(
        getattr(args, "url", None),
        getattr(args, "token", None),
        profile=getattr(args, "profile", None),
        lease_ttl=lease_ttl,
        execution_name=execution_name,
    )
