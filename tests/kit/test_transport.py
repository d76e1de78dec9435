"""LeanTransport against real sockets: keep-alive, errors mapped as httpx maps them, streaming."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from cloudomation_kit import APIConnectionError, Client
from cloudomation_kit._transport import LeanTransport


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
