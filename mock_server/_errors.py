"""Domain errors of the store and the lock manager.

Each error knows its wire name (the ``error`` field of the body) and its HTTP status, so the
routers never decide either; the store and the lock manager raise them without knowing of HTTP.

    ServerError
    ├── InvalidRequestError      400  malformed JSON, bad query parameters
    │   └── InvalidFilterError   400  a filter that is not {"field","op","value"} / {"and": [...]}
    ├── AuthenticationError      401  no token, or an unknown one
    ├── PermissionDenied         403  a read-only token tried to write
    ├── ResourceNotFoundError    404
    ├── MethodNotAllowed         405
    ├── ConflictError            409  a name already taken, a setting still locked
    │   ├── LockNotHeldError     409  release by someone who does not hold the lock
    │   ├── LockAlreadyHeldError 409  re-acquire by the holder (locks are not re-entrant)
    │   └── FencingTokenError    409  a write naming a token that no longer holds the lock
    ├── PreconditionFailed       412  If-Match names an old version
    ├── ValueTooLargeError       413
    ├── ValidationError          422  a body of the wrong shape, an empty name
    └── LockTimeoutError         423  the lock was not acquired in time
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "FencingTokenError",
    "InvalidFilterError",
    "InvalidRequestError",
    "LockAlreadyHeldError",
    "LockNotHeldError",
    "LockTimeoutError",
    "MethodNotAllowed",
    "PermissionDenied",
    "PreconditionFailed",
    "ResourceNotFoundError",
    "ServerError",
    "ValidationError",
    "ValueTooLargeError",
]


class ServerError(Exception):
    """Root of the errors the server answers with a ``{"error", "message"}`` body."""

    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def name(self) -> str:
        return type(self).__name__


class InvalidRequestError(ServerError):
    status = 400


class InvalidFilterError(InvalidRequestError):
    pass


class AuthenticationError(ServerError):
    status = 401


class PermissionDenied(ServerError):
    status = 403


class ResourceNotFoundError(ServerError):
    status = 404


class MethodNotAllowed(ServerError):
    status = 405


class ConflictError(ServerError):
    status = 409


class LockNotHeldError(ConflictError):
    pass


class LockAlreadyHeldError(ConflictError):
    pass


class FencingTokenError(ConflictError):
    pass


class PreconditionFailed(ServerError):
    status = 412


class ValueTooLargeError(ServerError):
    status = 413


class ValidationError(ServerError):
    status = 422


class LockTimeoutError(ServerError):
    status = 423
