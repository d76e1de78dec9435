"""4xx answers common to every endpoint: bodies, routing, auth, size limits, login.

Every test checks the status and the error body ``{"error": <name>, "message": <non-empty>}``
(``assert_error``, which also checks that no token ever appears in an error body) and, for writes,
that nothing changed, read back through the API. Setting- and lock-specific cases live in
``test_http_settings.py`` and ``test_http_lock_errors.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from _http_helpers import (
    PUBLIC,
    ROUTES,
    assert_error,
    create_execution,
    create_setting,
    fast_client,
    fill_path,
    remember_secret,
    route_id,
    snapshot,
)

from mock_server import RunningServer, build_backend, run_server

READ_TOKEN = "read-only-token-for-tests"
PRIVATE = [r for r in ROUTES if r not in PUBLIC]
WRITES = [r for r in PRIVATE if r[0] != "GET" or r[1] == "/_testing/state"]
READS = [r for r in PRIVATE if r not in WRITES]


@pytest.fixture(autouse=True)
def _remember_tokens(mock_server: RunningServer) -> None:
    remember_secret(mock_server.token)
    remember_secret(READ_TOKEN)


@pytest.fixture(scope="module")
def raw() -> Iterator[httpx.Client]:
    """A client without a token and without a base URL."""
    with fast_client() as client:
        yield client


# -- bodies -----------------------------------------------------------------------------------

BODY_WRITES = [
    ("POST", "/setting"),
    ("PATCH", "/setting/{key}"),
    ("POST", "/execution"),
    ("PATCH", "/execution/{execution_id}"),
    ("POST", "/lock/acquire"),
    ("POST", "/lock/wait"),
    ("POST", "/lock/cancel"),
    ("POST", "/lock/release"),
    ("POST", "/_testing/clock"),
    ("POST", "/auth/login"),
]


@pytest.fixture
def targets(api: httpx.Client) -> dict[str, str]:
    """Existing records, so a body error is not hidden by a 404."""
    setting = create_setting(api, "target", {"a": 1})
    return {"key": setting["id"], "execution_id": create_execution(api, "target-ex")}


@pytest.mark.parametrize(
    ("content", "status", "name", "fragment"),
    [
        (b'{"name": "x",\n  "value": }', 400, "InvalidRequestError", "line 2 column 12"),
        (b'{"name": "x"} trailing', 400, "InvalidRequestError", "line 1 column 15"),
        (b"", 400, "InvalidRequestError", "empty"),
        (b"  \n ", 400, "InvalidRequestError", "empty"),
        (b'{"name": "\xff"}', 400, "InvalidRequestError", "UTF-8"),
        (b'{"name": "x", "value": NaN}', 400, "InvalidRequestError", "NaN"),
        (b'{"name": "x", "value": Infinity}', 400, "InvalidRequestError", "Infinity"),
        (b'{"name": "x", "value": -Infinity}', 400, "InvalidRequestError", "Infinity"),
        (b"[" * 100_000, 400, "InvalidRequestError", "not valid JSON"),
        (b'["name", "x"]', 422, "ValidationError", "JSON object"),
        (b'"x"', 422, "ValidationError", "JSON object"),
        (b"42", 422, "ValidationError", "JSON object"),
        (b"null", 422, "ValidationError", "JSON object"),
    ],
    ids=[
        "malformed",
        "extra-data",
        "empty",
        "blank",
        "not-utf8",
        "nan",
        "infinity",
        "minus-infinity",
        "deeply-nested",
        "array",
        "string",
        "number",
        "null",
    ],
)
def test_bad_body(api, targets, content, status, name, fragment):
    before = snapshot(api)
    for method, path in BODY_WRITES:
        r = api.request(method, fill_path(path, targets), content=content)
        body = assert_error(r, status, name)
        assert fragment in body["message"], (method, path, body)
    assert snapshot(api) == before


def test_malformed_json_message_names_line_and_column(api):
    r = api.post("/setting", content=b'{\n  "name": "x",\n  "value": [1, 2,]\n}')
    body = assert_error(r, 400, "InvalidRequestError")
    assert "line 3 column 18" in body["message"]
    assert api.get("/setting").json()["total"] == 0


def test_content_type_is_ignored(api):
    # curl -d sends application/x-www-form-urlencoded; the body is still read as JSON.
    r = api.post(
        "/setting",
        content=b'{"name": "form"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200


# -- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/settings", "/setting-x", "/v2/setting", "/_testing"])
def test_unknown_route(api, path):
    body = assert_error(api.get(path), 404, "ResourceNotFoundError")
    assert "no such endpoint" in body["message"]


def test_unknown_route_outside_the_prefix(mock_server, raw):
    r = raw.get(f"{mock_server.root}/api/v1/setting")
    assert_error(r, 404, "ResourceNotFoundError")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/setting"),
        ("DELETE", "/setting"),
        ("PATCH", "/setting"),
        ("POST", "/setting/some-id"),
        ("PUT", "/setting/some-id"),
        ("DELETE", "/lock/x"),
        ("GET", "/execution/x/heartbeat"),
        ("DELETE", "/execution/x"),
        ("POST", "/alive"),
        ("GET", "/auth/login"),
        ("GET", "/_testing/reset"),
    ],
)
def test_wrong_method(api, method, path):
    before = snapshot(api)
    body = assert_error(api.request(method, path), 405, "MethodNotAllowed")
    assert method in body["message"]
    assert snapshot(api) == before


def test_wrong_method_lists_the_allowed_ones(api):
    # RFC 9110: a 405 carries Allow with every method the path supports.
    r = api.put("/setting")
    assert_error(r, 405, "MethodNotAllowed")
    allowed = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert {"GET", "POST"} <= allowed, r.headers.get("allow")


# -- authentication ---------------------------------------------------------------------------


def test_routes_come_from_the_openapi_document():
    assert ("POST", "/lock/acquire") in PRIVATE and ("GET", "/setting/{key}") in PRIVATE
    assert len(PRIVATE) >= 18


BAD_AUTH: list[dict[str, str]] = [
    {},
    {"Authorization": ""},
    {"Authorization": "wrong-token-3f9a1c"},
    {"Authorization": "Bearer wrong-token-3f9a1c"},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic d3Jvbmc6d3Jvbmc="},
]


@pytest.mark.parametrize("route", PRIVATE, ids=route_id)
def test_token_required(mock_server, api, raw, route):
    remember_secret("wrong-token-3f9a1c")
    before = snapshot(api)
    url = mock_server.url + fill_path(route[1])
    for headers in BAD_AUTH:
        r = raw.request(route[0], url, headers=headers, json={})
        body = assert_error(r, 401, "AuthenticationError")
        assert ("missing" in body["message"]) == (not headers.get("Authorization")), body
    assert snapshot(api) == before


def test_a_cookie_alone_is_not_a_token(mock_server, raw):
    r = raw.get(f"{mock_server.url}/setting", headers={"Cookie": f"token={mock_server.token}"})
    assert_error(r, 401, "AuthenticationError")


def test_token_of_another_server_is_refused(mock_server, raw, read_server):
    r = raw.get(f"{mock_server.url}/setting", headers={"Authorization": read_server.token})
    assert_error(r, 401, "AuthenticationError")


def test_public_routes_need_no_token(mock_server, raw):
    assert raw.get(f"{mock_server.url}/alive").status_code == 200
    assert raw.get(f"{mock_server.url}/openapi.json").status_code == 200


# -- read-only tokens -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def read_server() -> Iterator[RunningServer]:
    with run_server(read_token=READ_TOKEN) as server:
        yield server


@pytest.fixture
def read_setup(read_server: RunningServer) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The read-only server, reset, with one setting held as a lock by one execution."""
    remember_secret(read_server.token)
    with fast_client(read_server.url, read_server.token) as rw:
        rw.post("/_testing/reset").raise_for_status()
        setting = create_setting(rw, "guarded", [1, 2])
        ex = create_execution(rw, "holder")
        r = rw.post("/lock/acquire", json={"name": "guarded", "execution_id": ex})
        assert r.status_code == 200
        yield rw, {"key": setting["id"], "name": "guarded", "execution_id": ex}


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_read_only_token_cannot_write(read_server, read_setup, raw, route):
    rw, values = read_setup
    before = snapshot(rw)
    r = raw.request(
        route[0],
        read_server.url + fill_path(route[1], values),
        headers={"Authorization": READ_TOKEN},
        json={"name": "guarded", "value": 1, "waiter_id": "x", "advance": 1},
    )
    assert_error(r, 403, "PermissionDenied")
    assert snapshot(rw) == before


@pytest.mark.parametrize("route", READS, ids=route_id)
def test_read_only_token_can_read(read_server, read_setup, raw, route):
    _, values = read_setup
    url = read_server.url + fill_path(route[1], values)
    headers = {"Authorization": READ_TOKEN}
    if route[1] == "/events":
        with raw.stream("GET", url, headers=headers) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
        return
    r = raw.get(url, headers=headers)
    assert r.status_code == 200, r.text


def test_read_only_token_reads_with_bearer(read_server, read_setup, raw):
    r = raw.get(f"{read_server.url}/setting", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert r.status_code == 200 and r.json()["total"] == 1


# -- size limits ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_server() -> Iterator[RunningServer]:
    """A server whose values may be at most 1000 bytes (its bodies 1000 + 64 KiB)."""
    with run_server(build_backend(memory=True, testing=True, max_value_bytes=1000)) as server:
        yield server


@pytest.fixture
def small(small_server: RunningServer) -> Iterator[httpx.Client]:
    remember_secret(small_server.token)
    with fast_client(small_server.url, small_server.token) as client:
        client.post("/_testing/reset").raise_for_status()
        yield client


def test_value_over_the_limit_on_create(small):
    before = snapshot(small)
    r = small.post("/setting", json={"name": "big", "value": "x" * 1000})
    body = assert_error(r, 413, "ValueTooLargeError")
    assert "1000" in body["message"]
    assert snapshot(small) == before


def test_value_at_the_limit_is_accepted(small):
    # 998 characters + 2 quotes = 1000 bytes of JSON
    assert small.post("/setting", json={"name": "edge", "value": "x" * 998}).status_code == 200


def test_value_over_the_limit_counts_utf8_bytes(small):
    before = snapshot(small)
    r = small.post("/setting", json={"name": "big", "value": "é" * 500})  # 1002 bytes
    assert_error(r, 413, "ValueTooLargeError")
    assert snapshot(small) == before


def test_value_over_the_limit_on_update(small):
    setting = create_setting(small, "grow", [1])
    before = snapshot(small)
    r = small.patch(f"/setting/{setting['id']}", json={"value": list(range(400))})
    assert_error(r, 413, "ValueTooLargeError")
    assert snapshot(small) == before


def test_body_over_the_limit_by_content_length(small, small_server):
    before = snapshot(small)
    raw = b'{"name": "huge", "value": "' + b"x" * 70_000 + b'"}'
    r = small.post("/setting", content=raw)
    body = assert_error(r, 413, "ValueTooLargeError")
    assert str(small_server.config.max_body_bytes) in body["message"]
    assert snapshot(small) == before


def test_body_over_the_limit_is_refused_before_authentication(small_server, small, raw):
    # The size check runs before the token check (it never reads the body).
    r = raw.post(f"{small_server.url}/setting", content=b"x" * 70_000)
    assert_error(r, 413, "ValueTooLargeError")


def test_chunked_body_over_the_limit(small):
    before = snapshot(small)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "huge", "value": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    r = small.post("/setting", content=chunks())
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "ValueTooLargeError")
    assert snapshot(small) == before


# -- login ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def login_server() -> Iterator[RunningServer]:
    with run_server(users={"alice": "s3cret-password"}) as server:
        yield server


@pytest.mark.parametrize(
    "body",
    [
        {"user_name": "alice", "password": "wrong"},
        {"user_name": "alice", "password": ""},
        {"user_name": "bob", "password": "s3cret-password"},
        {"user_name": "", "password": ""},
        {"user_name": "ALICE", "password": "s3cret-password"},
    ],
    ids=["wrong-password", "empty-password", "unknown-user", "empty-user", "case-differs"],
)
def test_login_refused(login_server, raw, body):
    remember_secret("s3cret-password")
    r = raw.post(f"{login_server.url}/auth/login", json=body)
    body = assert_error(r, 401, "AuthenticationError")
    assert "set-cookie" not in r.headers


def test_login_on_a_server_without_users(mock_server, raw):
    r = raw.post(f"{mock_server.url}/auth/login", json={"user_name": "", "password": ""})
    assert_error(r, 401, "AuthenticationError")


@pytest.mark.parametrize(
    ("body", "status", "name"),
    [
        ({"user_name": "alice"}, 422, "ValidationError"),
        ({"password": "x"}, 422, "ValidationError"),
        ({"user_name": 1, "password": "x"}, 422, "ValidationError"),
        (b"", 400, "InvalidRequestError"),
        (b"{", 400, "InvalidRequestError"),
    ],
)
def test_login_bad_body(login_server, raw, body, status, name):
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = raw.post(f"{login_server.url}/auth/login", **kwargs)
    assert_error(r, status, name)


def test_login_token_works_and_never_shows_in_errors(login_server, raw):
    r = raw.post(
        f"{login_server.url}/auth/login",
        json={"user_name": "alice", "password": "s3cret-password", "twofa_code": None},
    )
    assert r.status_code == 200
    token = r.json()["token"]
    remember_secret(token)
    headers = {"Authorization": token}
    assert raw.get(f"{login_server.url}/setting", headers=headers).status_code == 200
    # a few errors made with the login token: none of them echoes it
    assert_error(
        raw.get(f"{login_server.url}/setting/x", headers=headers), 404, "ResourceNotFoundError"
    )
    assert_error(
        raw.patch(f"{login_server.url}/setting/x", headers=headers, content=b"{"),
        400,
        "InvalidRequestError",
    )
    assert_error(
        raw.get(f"{login_server.url}/setting", headers={"Authorization": token + "x"}),
        401,
        "AuthenticationError",
    )


def test_errors_do_not_echo_the_authorization_header(mock_server, raw):
    secret = "do-not-echo-7c1e"
    remember_secret(secret)
    for headers in ({"Authorization": secret}, {"Authorization": f"Bearer {secret}"}):
        r = raw.get(f"{mock_server.url}/setting", headers=headers)
        assert_error(r, 401, "AuthenticationError")


def test_a_login_token_expires_on_the_server_clock(raw):
    with run_server(users={"alice": "s3cret-password"}) as server:
        remember_secret("s3cret-password")
        r = raw.post(
            f"{server.url}/auth/login",
            json={"user_name": "alice", "password": "s3cret-password"},
        )
        login = r.json()
        remember_secret(login["token"])
        ttl = server.config.login_ttl
        assert abs(login["token_expiry"] - server.backend.clock.now() - ttl) < 60
        as_alice = {"Authorization": login["token"]}
        assert raw.get(f"{server.url}/setting", headers=as_alice).status_code == 200
        admin = {"Authorization": server.token}
        raw.post(f"{server.url}/_testing/clock", headers=admin, json={"advance": ttl + 1})
        body = assert_error(
            raw.get(f"{server.url}/setting", headers=as_alice), 401, "AuthenticationError"
        )
        assert "expired" in body["message"]
        # Forgotten once expired: it stays refused.
        assert raw.get(f"{server.url}/setting", headers=as_alice).status_code == 401
