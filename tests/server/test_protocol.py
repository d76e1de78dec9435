"""The server's own HTTP protocol for the lock actions (``mock_server/_protocol.py``), on raw
sockets: the order of answers on one connection, framing, limits and connection handling."""

from __future__ import annotations

import json
import select
import socket
import time
from typing import Any

import pytest

from mock_server import RunningServer
from mock_server._fastpath import Routes

PREFIX = "/api/latest"
READ_TOKEN = "read-only-token-for-the-twin-test"


class Wire:
    """One raw keep-alive connection: write requests as bytes, read answers one by one."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        self.buffer = b""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: str = "",
        raw: bytes | None = None,
    ) -> bytes:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return (
            f"{method} {PREFIX}{path} HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: {self.server.token}\r\nContent-Length: {len(data)}\r\n{headers}\r\n"
        ).encode() + data

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b"".join(requests))  # one write: pipelined

    def answer(self) -> tuple[int, dict[str, str], Any]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, json.loads(body) if body else None

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def closed_by_server(self) -> bool:
        self.sock.settimeout(5)
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(mock_server: RunningServer):
    conn = Wire(mock_server)
    yield conn
    conn.close()


def _execution(wire: Wire, name: str) -> str:
    wire.send(wire.request("POST", "/execution", {"name": name, "lease_ttl": 60}))
    status, _, body = wire.answer()
    assert status == 200, body
    return str(body["execution"]["id"])


def test_pipelined_requests_are_answered_in_order(wire):
    holder = _execution(wire, "holder")
    waiter = _execution(wire, "waiter")
    wire.send(wire.request("POST", "/lock/acquire", {"name": "p", "execution_id": holder}))
    status, _, held = wire.answer()
    assert status == 200 and held["status"] == "acquired"
    # A long-poll, then a plain request and another lock action, all in one write: the
    # answers must come in the order asked, the long-poll's first although it ends last.
    wire.send(
        wire.request("POST", "/lock/acquire", {"name": "p", "execution_id": waiter, "wait": 0.3}),
        wire.request("GET", "/alive"),
        wire.request("POST", "/lock/cancel", {"waiter_id": "0" * 32}),
    )
    first, second, third = wire.answer(), wire.answer(), wire.answer()
    assert first[0] == 202 and first[2]["status"] == "waiting" and first[2]["position"] == 1
    assert second[0] == 200 and "version" in second[2]
    assert third[0] == 404 and third[2]["error"] == "ResourceNotFoundError"


def test_a_release_and_the_next_acquire_in_one_write(wire):
    ex = _execution(wire, "solo")
    wire.send(wire.request("POST", "/lock/acquire", {"name": "q", "execution_id": ex}))
    token = wire.answer()[2]["token"]
    wire.send(
        wire.request("POST", "/lock/release", {"name": "q", "execution_id": ex, "token": token}),
        wire.request("POST", "/lock/acquire", {"name": "q", "execution_id": ex}),
    )
    released, again = wire.answer(), wire.answer()
    assert released[0] == 200 and released[2]["released"]["token"] == token
    assert again[0] == 200 and again[2]["token"] > token


def _queued(api: Any, name: str, count: int = 1) -> None:
    """Wait until ``count`` waiters are queued on the lock ``name`` (their long-polls parked)."""
    deadline = time.monotonic() + 10
    while len(api.get(f"/lock/{name}").json()["lock"]["waiters"]) < count:
        assert time.monotonic() < deadline, f"no waiter queued on {name!r}"
        time.sleep(0.005)


def test_a_release_that_hands_the_lock_on_answers_both(mock_server, wire, api):
    holder = _execution(wire, "holder")
    other = Wire(mock_server)
    try:
        waiter = _execution(other, "waiter")
        wire.send(wire.request("POST", "/lock/acquire", {"name": "h", "execution_id": holder}))
        token = wire.answer()[2]["token"]
        other.send(other.request("POST", "/lock/acquire", {"name": "h", "execution_id": waiter}))
        _queued(api, "h")
        release = {"name": "h", "execution_id": holder, "token": token}
        wire.send(wire.request("POST", "/lock/release", release), wire.request("GET", "/alive"))
        status, _, body = wire.answer()
        assert status == 200 and body["holder"]["execution_id"] == waiter
        assert wire.answer()[0] == 200  # the request pipelined behind the release comes too
        status, _, granted = other.answer()
        assert status == 200 and granted["token"] == token + 1
    finally:
        other.close()


def test_every_answer_is_framed_and_kept_alive(wire):
    ex = _execution(wire, "framing")
    wire.send(wire.request("POST", "/lock/acquire", {"name": "f", "execution_id": ex}))
    status, headers, _ = wire.answer()
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert "date" in headers and "connection" not in headers


def test_bad_bodies_get_the_wire_errors(wire):
    wire.send(wire.request("POST", "/lock/release", raw=b"{broken"))
    status, _, body = wire.answer()
    assert status == 400 and body["error"] == "InvalidRequestError"
    wire.send(wire.request("POST", "/lock/acquire", {"name": "x", "timeout": "60"}))
    status, _, body = wire.answer()
    assert status == 422 and "timeout" in body["message"]


def test_a_body_over_the_limit_is_refused_and_the_connection_goes_on(mock_server, wire):
    limit = mock_server.config.max_body_bytes
    raw = b'{"name": "' + b"x" * (limit + 10) + b'"}'
    # Chunked, so no Content-Length announces the size up front.
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(raw), raw)
    head = (
        f"POST {PREFIX}/lock/acquire HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: {mock_server.token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    wire.send(head + chunked)
    status, _, body = wire.answer()
    assert status == 413 and body["error"] == "ValueTooLargeError"
    wire.send(wire.request("GET", "/alive"))
    assert wire.answer()[0] == 200


def test_expect_100_continue_is_honoured(wire):
    ex = _execution(wire, "expect")
    body = json.dumps({"name": "e", "execution_id": ex}).encode()
    head = wire.request("POST", "/lock/acquire", headers="Expect: 100-continue\r\n", raw=body)
    wire.send(head[: -len(body)])  # the head alone, as curl sends it for large bodies
    assert wire.answer()[0] == 100
    wire.send(body)
    assert wire.answer()[0] == 200


def test_connection_close_is_answered_then_closed(wire):
    ex = _execution(wire, "closing")
    req = wire.request(
        "POST", "/lock/acquire", {"name": "c", "execution_id": ex}, headers="Connection: close\r\n"
    )
    wire.send(req)
    status, headers, _ = wire.answer()
    assert status == 200 and headers["connection"] == "close"
    assert wire.closed_by_server()


def test_a_long_poll_whose_client_goes_away_leaves_the_queue(mock_server, wire, api):
    holder = _execution(wire, "holder")
    wire.send(wire.request("POST", "/lock/acquire", {"name": "g", "execution_id": holder}))
    assert wire.answer()[0] == 200
    gone = Wire(mock_server)
    waiter = _execution(gone, "leaver")
    gone.send(gone.request("POST", "/lock/acquire", {"name": "g", "execution_id": waiter}))
    _queued(api, "g")
    deadline = time.monotonic() + 10
    gone.close()
    while api.get("/lock/g").json()["lock"]["waiters"]:
        assert time.monotonic() < deadline, "the waiter stayed queued after its client left"
        time.sleep(0.02)


# -- one setting's read and update: the fast path answers as FastAPI does ----------------------


def test_routes_match_only_what_the_fast_path_answers():
    routes = Routes(PREFIX)
    fast = [
        ("POST", "/lock/acquire", ""),
        ("GET", "/setting/vm", "by=name"),
        ("GET", "/setting/a%2Fb", "by=name&plain=true&fields=value"),
        ("GET", "/setting/0b3c2f9e-3f1e-4c1e-9a1e-2b3c4d5e6f70", ""),
        ("PATCH", "/setting/vm", "by=name&fence=12&unknown=1"),
    ]
    slow = [
        ("POST", "/lock/acquire", "x=1"),
        ("GET", "/lock/acquire", ""),
        ("GET", "/setting", "by=name"),
        ("GET", "/setting/", ""),
        ("GET", "/setting/vm", "by=nickname"),
        ("GET", "/setting/vm", "by=name&by=id"),
        ("GET", "/setting/vm", "plain=maybe"),
        ("PATCH", "/setting/vm", "fence=12.5"),
        ("PUT", "/setting/vm", ""),
        ("DELETE", "/setting/vm", ""),
    ]
    for method, path, query in fast:
        assert routes.match(method, PREFIX + path, query) is not None, (method, path, query)
    for method, path, query in slow:
        assert routes.match(method, PREFIX + path, query) is None, (method, path, query)


def _call(
    server: RunningServer, method: str, path: str, query: str, token: str | None, body: Any = None
) -> tuple[int, Any, str | None]:
    conn = Wire(server)
    try:
        auth = "" if token is None else f"Authorization: {token}\r\n"
        data = (
            b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        )
        headers = ""
        if isinstance(body, dict) and "_if_match" in body:
            headers = f"If-Match: {body.pop('_if_match')}\r\n"
            data = json.dumps(body).encode()
        conn.sock.sendall(
            f"{method} {PREFIX}{path}?{query} HTTP/1.1\r\nHost: t\r\n{auth}{headers}"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        status, hdrs, answer = conn.answer()
        return status, answer, hdrs.get("etag")
    finally:
        conn.close()


def _volatile(body: Any, setting: dict[str, Any]) -> Any:
    """An answer without what differs between two settings made alike (ids, names, times)."""
    if isinstance(body, dict):
        return {
            k: _volatile(v, setting)
            for k, v in body.items()
            if k not in ("id", "created_at", "modified_at", "name")
        }
    if isinstance(body, str):
        return body.replace(setting["name"], "<name>").replace(setting["id"], "<id>")
    return body


@pytest.mark.parametrize(
    ("method", "path", "query", "token", "body"),
    [
        ("GET", "/setting/{name}", "by=name", "rw", None),
        ("GET", "/setting/{name}", "by=name&plain=true", "rw", None),
        ("GET", "/setting/{name}", "by=name&fields=value,version", "ro", None),
        ("GET", "/setting/{name}", "by=name&fields=bogus", "rw", None),
        ("GET", "/setting/{id}", "", "rw", None),
        ("GET", "/setting/nope", "by=name", "rw", None),
        ("GET", "/setting/{name}", "by=name", None, None),
        ("GET", "/setting/{name}", "by=name", "wrong", None),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"value": {"n": 2}}),
        ("PATCH", "/setting/{name}", "by=name&plain=1", "rw", {"description": "d"}),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"value": 1, "_if_match": '"1"'}),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"value": 1, "_if_match": '"7"'}),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"value": 1, "_if_match": 'W/"1"'}),
        ("PATCH", "/setting/{name}", "by=name&fence=99", "rw", {"value": 1}),
        ("PATCH", "/setting/{name}", "by=name", "ro", {"value": 1}),
        ("PATCH", "/setting/{name}", "by=name", "rw", b"{broken"),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"value": 1, "version": "x"}),
        ("PATCH", "/setting/{name}", "by=name", "rw", {"name": ""}),
    ],
)
def test_the_fast_path_answers_as_fastapi_does(mock_server, api, method, path, query, token, body):
    """Each request twice, on two settings made alike: once as the fast path takes it, once
    with ``by`` repeated, which the fast path leaves to FastAPI (it takes the last value)."""
    made = []
    for name in ("twin-a", "twin-b"):
        r = api.post("/setting", json={"name": name, "value": {"n": 1}, "description": "x"})
        made.append(r.json()["setting"])
    tokens = {"rw": mock_server.token, "ro": READ_TOKEN, "wrong": "nope", None: None}
    mock_server.config.read_tokens.append(READ_TOKEN)
    try:
        answers = []
        for setting, slow in zip(made, (False, True), strict=True):
            p = path.format(name=setting["name"], id=setting["id"])
            q = query
            if slow:
                q = f"{query}&by=name" if "by=name" in query else f"{query}&by=id&by=id"
            if not slow:
                assert Routes(PREFIX).match(method, PREFIX + p, q) is not None
            else:
                assert Routes(PREFIX).match(method, PREFIX + p, q) is None
            copy = dict(body) if isinstance(body, dict) else body
            status, answer, etag = _call(mock_server, method, p, q, tokens[token], copy)
            answers.append((status, _volatile(answer, setting), etag))
    finally:
        mock_server.config.read_tokens.remove(READ_TOKEN)
    assert answers[0] == answers[1]


def test_a_release_answers_the_next_waiter_before_the_releaser(mock_server, wire, api):
    """The waiter's answer is written inside the release, ahead of the releaser's: once the
    releaser can read its answer, the waiter's is already there (loopback delivers in order
    of the server's writes)."""
    holder = _execution(wire, "holder")
    other = Wire(mock_server)
    try:
        waiter = _execution(other, "waiter")
        for _ in range(20):
            wire.send(wire.request("POST", "/lock/acquire", {"name": "o", "execution_id": holder}))
            token = wire.answer()[2]["token"]
            other.send(
                other.request("POST", "/lock/acquire", {"name": "o", "execution_id": waiter})
            )
            _queued(api, "o")
            wire.send(
                wire.request(
                    "POST", "/lock/release", {"name": "o", "execution_id": holder, "token": token}
                )
            )
            readable, _, _ = select.select([wire.sock], [], [], 5)
            assert readable == [wire.sock]
            waiter_ready, _, _ = select.select([other.sock], [], [], 0)
            assert waiter_ready == [other.sock], "the releaser was answered before the waiter"
            assert wire.answer()[0] == 200
            status, _, granted = other.answer()
            assert status == 200 and granted["token"] == token + 1
            other.send(
                other.request(
                    "POST",
                    "/lock/release",
                    {"name": "o", "execution_id": waiter, "token": granted["token"]},
                )
            )
            assert other.answer()[0] == 200
    finally:
        other.close()
