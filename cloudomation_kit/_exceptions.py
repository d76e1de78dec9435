"""Every error the SDK raises.

One root, so ``except CloudomationError`` catches everything the kit raises; httpx and pydantic
errors are always wrapped (and chained with ``from``), never raised as they are.

    CloudomationError (alias CloudomationException)
    ├── ConfigError                      no URL or token configured, an unknown profile
    ├── APIError                         anything that went wrong talking to the server
    │   ├── APIConnectionError           no answer: refused, reset, DNS, protocol errors
    │   │   └── APITimeoutError          the request ran past its timeout
    │   ├── APIResponseValidationError   an answer that is not the JSON the SDK expects
    │   └── APIStatusError               the server answered 4xx or 5xx
    │       ├── BadRequestError              400  (InvalidRequestError)
    │       │   └── InvalidFilterError       400
    │       ├── AuthenticationError          401
    │       ├── PermissionDenied             403
    │       ├── ResourceNotFoundError        404
    │       ├── MethodNotAllowedError        405
    │       ├── ConflictError                409
    │       │   ├── LockNotHeldError         409
    │       │   ├── LockAlreadyHeldError     409  locks are not re-entrant
    │       │   └── FencingTokenError        409  (also a LockLostError)
    │       ├── PreconditionFailedError      412  if_version names an old version
    │       ├── ValueTooLargeError           413
    │       ├── UnprocessableEntityError     422  (ValidationError on the wire)
    │       ├── RateLimitError               429
    │       └── InternalServerError          5xx  (InternalError on the wire)
    ├── TimeoutExceededError             also a builtin TimeoutError
    │   └── LockTimeoutError             423, or the wait ran out
    └── LockLostError                    the lease ran out or the lock was taken away
        └── FencingTokenError            (see above)

The server names its error in the body (``{"error": "LockTimeoutError", "message": ...}``); the SDK
maps by that name first and by the HTTP status second, so a new server error with a known status
still lands in the right branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CloudomationError",
    "CloudomationException",
    "ConfigError",
    "ConflictError",
    "FencingTokenError",
    "InternalServerError",
    "InvalidFilterError",
    "LockAlreadyHeldError",
    "LockLostError",
    "LockNotHeldError",
    "LockTimeoutError",
    "MethodNotAllowedError",
    "PermissionDenied",
    "PreconditionFailedError",
    "RateLimitError",
    "ResourceNotFoundError",
    "TimeoutExceededError",
    "UnprocessableEntityError",
    "ValueTooLargeError",
]


class CloudomationError(Exception):
    """Root of every error the SDK raises.

    ``request`` and ``response`` are set when the error came from an HTTP exchange; ``error`` is
    the server's exception name (the ``error`` field of its body), ``status_code`` the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        body: Any = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.request = request if request is not None or response is None else response.request
        self.body = body
        self.error = error or type(self).__name__

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the answer, if there was one."""
        return None if self.response is None else self.response.status_code

    def __str__(self) -> str:
        return self.message


CloudomationException = CloudomationError
"""Cloudomation's name for the root exception, so ``except CloudomationException`` works too."""


class ConfigError(CloudomationError):
    """The client cannot be configured: a missing URL or token, an unknown profile."""


class APIError(CloudomationError):
    """Talking to the server failed."""


class APIConnectionError(APIError):
    """The server could not be reached or did not answer."""


class APITimeoutError(APIConnectionError):
    """The request ran past its timeout."""


class APIResponseValidationError(APIError):
    """The server answered with something that is not the expected JSON."""


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status."""


class BadRequestError(APIStatusError):
    """400: malformed JSON or query parameters."""


class InvalidFilterError(BadRequestError):
    """400: a list filter the server cannot parse."""


class AuthenticationError(APIStatusError):
    """401: no token, an unknown token, or a wrong password."""


class PermissionDenied(APIStatusError):
    """403: the token may not do this (e.g. a read-only token writing)."""


class ResourceNotFoundError(APIStatusError):
    """404: no such setting, execution, waiter or endpoint."""


class MethodNotAllowedError(APIStatusError):
    """405."""


class ConflictError(APIStatusError):
    """409: a name already taken, a locked setting, an execution that has ended."""


class LockNotHeldError(ConflictError):
    """409: a release by someone who does not hold the lock."""


class LockAlreadyHeldError(ConflictError):
    """409: this execution already holds the lock (locks are not re-entrant)."""


class PreconditionFailedError(APIStatusError):
    """412: the setting changed since the version named in ``if_version``."""


class ValueTooLargeError(APIStatusError):
    """413: the value or body is larger than the server accepts."""


class UnprocessableEntityError(APIStatusError):
    """422: a body of the wrong shape, an empty name, a lease out of range."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class TimeoutExceededError(CloudomationError, TimeoutError):
    """Something did not happen in time (Cloudomation's name); also a builtin ``TimeoutError``."""


class LockTimeoutError(TimeoutExceededError):
    """The lock was not acquired within its timeout (the server answers 423)."""


class LockLostError(CloudomationError):
    """A lock this client held is gone: its lease ran out, or it was force-released."""


class FencingTokenError(ConflictError, LockLostError):
    """409: a write fenced with a token that no longer holds the lock."""


_BY_NAME: dict[str, type[CloudomationError]] = {
    "InvalidRequestError": BadRequestError,
    "InvalidFilterError": InvalidFilterError,
    "AuthenticationError": AuthenticationError,
    "PermissionDenied": PermissionDenied,
    "ResourceNotFoundError": ResourceNotFoundError,
    "MethodNotAllowed": MethodNotAllowedError,
    "ConflictError": ConflictError,
    "LockNotHeldError": LockNotHeldError,
    "LockAlreadyHeldError": LockAlreadyHeldError,
    "FencingTokenError": FencingTokenError,
    "PreconditionFailed": PreconditionFailedError,
    "ValueTooLargeError": ValueTooLargeError,
    "ValidationError": UnprocessableEntityError,
    "LockTimeoutError": LockTimeoutError,
    "RateLimitError": RateLimitError,
    "InternalError": InternalServerError,
}

_BY_STATUS: dict[int, type[CloudomationError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: ResourceNotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: ValueTooLargeError,
    422: UnprocessableEntityError,
    423: LockTimeoutError,
    429: RateLimitError,
}


def error_class(status_code: int, name: str | None) -> type[CloudomationError]:
    """The exception class for an error answer: by the body's ``error`` name, else by status."""
    if name is not None and name in _BY_NAME:
        return _BY_NAME[name]
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIStatusError
