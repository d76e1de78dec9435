"""LeanTransport against real sockets: keep-alive, errors mapped as httpx maps them, streaming."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import threading

import httpx
import pytest

from cloudomation_kit import APIConnectionError, AsyncClient, Client
from cloudomation_kit._atransport import AsyncLeanTransport
from cloudomation_kit._base import RequestOptions
from cloudomation_kit._transport import LeanTransport, _Connection


@pytest.fixture
def http(mock_server):
    with httpx.Client(
        base_url=mock_server.url,
        headers={"Authorization": mock_server.token},
        transport=LeanTransport(),
    ) as client:
        yield client


def test_requests_reuse_one_connection(http):
    for i in range(20):
        r = http.post("/setting", json={"name": f"s{i}", "value": {"i": i}})
        assert r.status_code == 200, r.text
    pool = http._transport._idle  # type: ignore[attr-defined]
    assert sum(len(conns) for conns in pool.values()) == 1
    r = http.get("/setting", params={"plain": True, "limit": 100})
    assert [s["value"]["i"] for s in r.json()] == sorted(range(20), key=lambda i: f"s{i}")


def test_errors_and_bodies_round_trip(http):
    r = http.post("/setting", content=b'{"name": ')
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequestError"
    big = "x" * 200_000
    r = http.post("/setting", json={"name": "big", "value": big})
    assert r.status_code == 200
    assert http.get("/setting/big", params={"by": "name"}).json()["setting"]["value"] == big
    assert http.delete("/setting/big", params={"by": "name"}).status_code == 204


def test_refused_connection_is_a_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with httpx.Client(transport=LeanTransport()) as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")
    with (
        Client(url=f"http://127.0.0.1:{port}", token="t", max_retries=0) as sdk,
        pytest.raises(APIConnectionError),
    ):
        sdk.settings.exists("x")


def test_slow_answer_is_a_read_timeout():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
        with (
            httpx.Client(transport=LeanTransport(), timeout=0.2) as client,
            pytest.raises(httpx.ReadTimeout),
        ):
            client.get(f"http://127.0.0.1:{port}/")
        for conn in accepted:
            conn.close()


def test_a_connection_closed_by_the_server_is_replaced(http, mock_server):
    http.get("/alive")
    pool = http._transport._idle  # type: ignore[attr-defined]
    (conn,) = next(iter(pool.values()))
    conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped the idle connection
    assert http.get("/alive").status_code == 200


def test_event_stream_flows_before_the_response_ends(http, mock_server):
    seen: list[str] = []
    with http.stream("GET", "/events") as r:
        lines = r.iter_lines()
        assert next(lines).startswith(":")  # the greeting arrives although the stream stays open
        http_writer = httpx.Client(
            base_url=mock_server.url, headers={"Authorization": mock_server.token}
        )
        http_writer.post("/setting", json={"name": "ev", "value": 1})
        for line in lines:
            if line.startswith("event: "):
                seen.append(line[7:])
                break
        http_writer.close()
    assert seen == ["setting.created"]


# -- a canned server: answers framed every way HTTP/1.1 allows -----------------------------------


class CannedServer:
    """Answers each request with the canned bytes for its path's last segment, keeping the
    connection open unless the answer says otherwise; records every request as received."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    data += conn.recv(65536)
                body, data = data[:length], data[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                path = head.split(b" ")[1].decode().split("?")[0]
                answer = self.answers.get("/" + path.rsplit("/", 1)[-1], NOT_FOUND)
                conn.sendall(answer)
                low = answer.lower()
                framed = b"content-length" in low or b"transfer-encoding" in low
                if b"connection: close" in low or not framed:
                    return

    def close(self) -> None:
        self.sock.close()


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
ANSWERS = {
    "/chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b'5;ext=1\r\n{"a":\r\n3\r\n 1}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    ),
    "/close": b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"until": "close"}',
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/garbage": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
    "/echo": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
}


@pytest.fixture
def canned():
    server = CannedServer(ANSWERS)
    yield server
    server.close()


def test_answers_framed_every_way_read_whole(canned):
    with httpx.Client(transport=LeanTransport()) as client:
        assert client.get(f"{canned.url}/chunked").json() == {"a": 1}
        assert client.get(f"{canned.url}/close").json() == {"until": "close"}
        assert client.get(f"{canned.url}/continue").text == "ok"
        assert client.get(f"{canned.url}/empty").status_code == 204
        assert client.get(f"{canned.url}/chunked").json() == {"a": 1}
        with pytest.raises(httpx.RemoteProtocolError, match="status line"):
            client.get(f"{canned.url}/garbage")
        with pytest.raises(httpx.RemoteProtocolError, match="inside the answer's body"):
            client.get(f"{canned.url}/short")


def test_the_sdk_sends_the_bytes_httpx_would(canned):
    """The SDK's own request path (``exchange``) and httpx encode a request alike: the same
    headers, the same JSON body, the same query string."""
    body = {"name": "vm", "value": {"ünï": [1, 2.5, None]}, "description": "a\nb"}
    with Client(f"{canned.url}/api", "tok", max_retries=0) as sdk:
        sdk._call(RequestOptions("POST", "/echo", json=body, params={"by": "name"}), None)
        via_httpx = sdk._build_request(
            RequestOptions("POST", "/echo", json=body, params={"by": "name"})
        )
    assert_sent_as_httpx_would(canned, via_httpx)


def assert_sent_as_httpx_would(canned: CannedServer, via_httpx: httpx.Request) -> None:
    """The one request the canned server got has httpx's request line, headers and body."""
    (sent,) = canned.requests
    head, _, payload = sent.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    assert request_line == f"POST {via_httpx.url.raw_path.decode()} HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    assert headers == {k.decode().lower(): v.decode() for k, v in via_httpx.headers.raw}
    assert payload == via_httpx.read()


def test_sdk_calls_survive_a_dropped_keep_alive_connection(mock_server):
    with Client(mock_server.url, mock_server.token) as sdk:
        sdk.settings.create("kept", 1)
        (conn,) = next(iter(sdk._lean._idle.values()))  # type: ignore[union-attr]
        conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped the idle connection
        assert sdk.settings.get("kept").value == 1


def test_a_token_with_a_line_break_is_refused_before_sending(canned):
    with (
        Client(f"{canned.url}/api", "tok\r\nX-Evil: 1", max_retries=0) as sdk,
        pytest.raises(ValueError, match="line break"),
    ):
        sdk.settings.get("x")
    assert canned.requests == []


# -- the asyncio twin -------------------------------------------------------------------------


async def test_async_answers_framed_every_way_read_whole(canned):
    async with httpx.AsyncClient(transport=AsyncLeanTransport()) as client:
        assert (await client.get(f"{canned.url}/chunked")).json() == {"a": 1}
        assert (await client.get(f"{canned.url}/close")).json() == {"until": "close"}
        assert (await client.get(f"{canned.url}/continue")).text == "ok"
        assert (await client.get(f"{canned.url}/empty")).status_code == 204
        assert (await client.get(f"{canned.url}/chunked")).json() == {"a": 1}
        with pytest.raises(httpx.RemoteProtocolError, match="status line"):
            await client.get(f"{canned.url}/garbage")
        with pytest.raises(httpx.RemoteProtocolError, match="inside the answer's body"):
            await client.get(f"{canned.url}/short")


async def test_the_async_sdk_sends_the_bytes_httpx_would(canned):
    body = {"name": "vm", "value": {"ünï": [1, 2.5, None]}}
    async with AsyncClient(f"{canned.url}/api", "tok", max_retries=0) as sdk:
        await sdk._call(RequestOptions("POST", "/echo", json=body, params={"by": "name"}), None)
        via_httpx = sdk._build_request(
            RequestOptions("POST", "/echo", json=body, params={"by": "name"})
        )
    assert_sent_as_httpx_would(canned, via_httpx)


async def test_async_refused_connection_is_a_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with httpx.AsyncClient(transport=AsyncLeanTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        accepted: list[socket.socket] = []

        def accept() -> None:
            with contextlib.suppress(OSError):
                while True:
                    accepted.append(server.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
        for conn in accepted:
            conn.close()


async def test_async_slow_answer_is_a_read_timeout(silent_server):
    async with httpx.AsyncClient(transport=AsyncLeanTransport(), timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{silent_server}/")


async def test_a_cancelled_request_does_not_leave_its_connection_for_reuse(silent_server):
    transport = AsyncLeanTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        task = asyncio.create_task(client.get(f"{silent_server}/"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not any(transport._idle.values())


async def test_async_sdk_calls_survive_a_dropped_keep_alive_connection(mock_server):
    async with AsyncClient(mock_server.url, mock_server.token) as sdk:
        await sdk.settings.create("kept", 1)
        (conn,) = next(iter(sdk._lean._idle.values()))  # type: ignore[union-attr]
        conn.writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        await asyncio.sleep(0.05)  # the loop sees the EOF
        assert (await sdk.settings.get("kept")).value == 1


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_tls_and_proxies_stay_with_httpx(cls, monkeypatch):
    """The lean transports serve plain HTTP without a proxy; https:// and a proxy from the
    environment go through httpx's own transport, which knows TLS and the *_PROXY variables."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert cls("http://cloudomation.test", "t")._lean is not None
    assert cls("https://cloudomation.test", "t")._lean is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    assert cls("http://cloudomation.test", "t")._lean is None
    monkeypatch.setenv("NO_PROXY", "cloudomation.test,localhost")
    assert cls("http://cloudomation.test", "t")._lean is not None


def test_the_stale_check_takes_descriptors_above_1023():
    """select() refuses descriptors >= 1024, which a busy process hands out; the check before
    reusing a connection must work for them (and still see the server's EOF)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1500:
        pytest.skip(f"the hard limit of open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1501), hard))
    ours, servers = socket.socketpair()
    try:
        high = socket.socket(fileno=os.dup2(ours.fileno(), 1500))
        conn = object.__new__(_Connection)
        conn.sock = high
        assert conn.stale() is False
        servers.close()  # the server drops the idle connection
        assert conn.stale() is True
        high.close()
    finally:
        ours.close()
        servers.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
