"""respx: every error status and body name maps to its exception; httpx never leaks."""

from __future__ import annotations

import httpx
import pytest
import respx

import cloudomation_kit as ck
from cloudomation_kit import AsyncClient, Client

from .conftest import TOKEN, URL

STATUS_CASES = [
    pytest.param(400, "InvalidRequestError", ck.BadRequestError, id="400"),
    pytest.param(400, "InvalidFilterError", ck.InvalidFilterError, id="400-filter"),
    pytest.param(401, "AuthenticationError", ck.AuthenticationError, id="401"),
    pytest.param(403, "PermissionDenied", ck.PermissionDenied, id="403"),
    pytest.param(404, "ResourceNotFoundError", ck.ResourceNotFoundError, id="404"),
    pytest.param(405, "MethodNotAllowed", ck.MethodNotAllowedError, id="405"),
    pytest.param(409, "ConflictError", ck.ConflictError, id="409"),
    pytest.param(409, "LockNotHeldError", ck.LockNotHeldError, id="409-not-held"),
    pytest.param(409, "LockAlreadyHeldError", ck.LockAlreadyHeldError, id="409-held"),
    pytest.param(409, "FencingTokenError", ck.FencingTokenError, id="409-fence"),
    pytest.param(412, "PreconditionFailed", ck.PreconditionFailedError, id="412"),
    pytest.param(413, "ValueTooLargeError", ck.ValueTooLargeError, id="413"),
    pytest.param(422, "ValidationError", ck.UnprocessableEntityError, id="422"),
    pytest.param(423, "LockTimeoutError", ck.LockTimeoutError, id="423"),
    pytest.param(429, "RateLimitError", ck.RateLimitError, id="429"),
    pytest.param(500, "InternalError", ck.InternalServerError, id="500"),
    pytest.param(503, "Whatever", ck.InternalServerError, id="503-unknown-name"),
    pytest.param(409, "SomeNewConflict", ck.ConflictError, id="409-unknown-name"),
    pytest.param(418, None, ck.APIStatusError, id="418-no-body"),
]


def _client() -> Client:
    return Client(URL, TOKEN, max_retries=0)


@pytest.mark.parametrize(("status", "name", "cls"), STATUS_CASES)
@respx.mock
def test_status_maps_to_exception(status: int, name: str | None, cls: type) -> None:
    body = {"error": name, "message": "it went wrong"} if name else None
    respx.get(f"{URL}/setting/thing").mock(
        return_value=httpx.Response(status, json=body) if body else httpx.Response(status)
    )
    with _client() as client, pytest.raises(cls) as info:
        client.settings.get("thing")
    err = info.value
    assert isinstance(err, ck.CloudomationError)
    assert err.status_code == status
    assert err.response is not None and err.request is not None
    if name:
        assert err.error == name
        assert "it went wrong" in str(err)


@pytest.mark.parametrize(("status", "name", "cls"), STATUS_CASES)
@respx.mock
async def test_status_maps_to_exception_async(status: int, name: str | None, cls: type) -> None:
    body = {"error": name, "message": "it went wrong"} if name else None
    respx.get(f"{URL}/setting/thing").mock(
        return_value=httpx.Response(status, json=body) if body else httpx.Response(status)
    )
    async with AsyncClient(URL, TOKEN, max_retries=0) as client:
        with pytest.raises(cls):
            await client.settings.get("thing")


def test_hierarchy_matches_cloudomation() -> None:
    assert ck.CloudomationException is ck.CloudomationError
    assert issubclass(ck.LockTimeoutError, ck.TimeoutExceededError)
    assert issubclass(ck.TimeoutExceededError, TimeoutError)
    assert issubclass(ck.FencingTokenError, ck.LockLostError)
    assert issubclass(ck.FencingTokenError, ck.ConflictError)
    assert issubclass(ck.APITimeoutError, ck.APIConnectionError)
    for cls in (ck.ResourceNotFoundError, ck.PermissionDenied, ck.ConflictError):
        assert issubclass(cls, ck.APIStatusError)


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        pytest.param(httpx.ConnectError("refused"), ck.APIConnectionError, id="connect"),
        pytest.param(httpx.ReadError("reset"), ck.APIConnectionError, id="read"),
        pytest.param(httpx.RemoteProtocolError("bad"), ck.APIConnectionError, id="protocol"),
        pytest.param(httpx.ReadTimeout("slow"), ck.APITimeoutError, id="read-timeout"),
        pytest.param(httpx.ConnectTimeout("slow"), ck.APITimeoutError, id="connect-timeout"),
    ],
)
@respx.mock
def test_transport_failures_are_wrapped(exc: Exception, cls: type) -> None:
    respx.get(f"{URL}/setting/thing").mock(side_effect=exc)
    with _client() as client, pytest.raises(cls) as info:
        client.settings.get("thing")
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert info.value.request is not None


@respx.mock
async def test_transport_failure_async() -> None:
    respx.get(f"{URL}/setting/thing").mock(side_effect=httpx.ConnectError("refused"))
    async with AsyncClient(URL, TOKEN, max_retries=0) as client:
        with pytest.raises(ck.APIConnectionError):
            await client.settings.get("thing")


@respx.mock
def test_body_that_is_not_json_is_a_validation_error() -> None:
    respx.get(f"{URL}/setting/thing").mock(return_value=httpx.Response(200, text="<html>"))
    with _client() as client, pytest.raises(ck.APIResponseValidationError):
        client.settings.get("thing")


@respx.mock
def test_body_of_wrong_shape_wraps_pydantic() -> None:
    respx.get(f"{URL}/setting/thing").mock(
        return_value=httpx.Response(200, json={"setting": {"name": "x"}})
    )
    with _client() as client, pytest.raises(ck.APIResponseValidationError) as info:
        client.settings.get("thing")
    assert "Setting" in str(info.value)


@respx.mock
def test_error_without_json_body_keeps_text() -> None:
    respx.get(f"{URL}/setting/thing").mock(return_value=httpx.Response(502, text="bad gateway"))
    with _client() as client, pytest.raises(ck.InternalServerError) as info:
        client.settings.get("thing")
    assert "bad gateway" in str(info.value)


@respx.mock
def test_requests_carry_token_and_user_agent() -> None:
    route = respx.get(f"{URL}/alive").mock(
        return_value=httpx.Response(200, json={"alive": True, "server": "x", "version": "1"})
    )
    with _client() as client:
        client.alive()
    request = route.calls.last.request
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["User-Agent"].startswith(f"cloudomation-kit/{ck.__version__} python/")
