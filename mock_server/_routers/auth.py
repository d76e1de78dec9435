"""``/alive`` and ``/auth/login``: the only routes that need no token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cloudomation_kit._models import Alive, LoginRequest, LoginResult

from .._errors import AuthenticationError
from .._http import ServerConfig, issue_login_token, parse_body
from ._docs import ERRORS, body_doc

router = APIRouter(tags=["auth"])

VERSION = "0.1.0"


@router.get("/alive", summary="Health check (no token needed)", response_model=Alive)
async def alive() -> Alive:
    return Alive(alive=True, server="cloudomation-kit mock_server", version=VERSION)


@router.post(
    "/auth/login",
    summary="Log in with user name and password; answers with a token",
    response_model=LoginResult,
    responses={401: ERRORS[401], 400: ERRORS[400], 422: ERRORS[422]},
    openapi_extra=body_doc(LoginRequest),
)
async def login(request: Request) -> JSONResponse:
    body = await parse_body(request, LoginRequest)
    config: ServerConfig = request.app.state.config
    expected = config.users.get(body.user_name)
    # Compare even for an unknown user, so timing does not tell which user names exist.
    ok = hmac.compare_digest(body.password.encode(), (expected or "\0invalid").encode())
    if expected is None or not ok:
        raise AuthenticationError("wrong user name or password")
    token, login = issue_login_token(request.app, body.user_name)
    result = LoginResult(token=token, user_name=body.user_name, token_expiry=login.expires_at)
    response = JSONResponse(result.model_dump())
    response.set_cookie("token", token, httponly=True, samesite="strict")
    return response
