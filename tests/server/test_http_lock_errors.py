"""4xx answers of ``/lock``, ``/execution``, ``/events`` and ``/_testing``.

Waits that must end are ended by the test clock (``POST /_testing/clock``) or by a short timeout
whose exact duration is never asserted, so the tests do not depend on tight timing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _http_helpers import (
    assert_error,
    create_execution,
    create_setting,
    fast_client,
    remember_secret,
    snapshot,
)


@pytest.fixture
def held(api: httpx.Client) -> dict[str, Any]:
    """Lock ``job`` held by execution ``a``; execution ``b`` exists and waits for nothing."""
    a, b = create_execution(api, "a"), create_execution(api, "b")
    r = api.post("/lock/acquire", json={"name": "job", "execution_id": a})
    assert r.status_code == 200
    return {"a": a, "b": b, "token": r.json()["token"]}


def settings_and_locks(api: httpx.Client) -> dict[str, Any]:
    state = snapshot(api)
    return {"settings": state["settings"], "locks": state["locks"]}


def execution(api: httpx.Client, execution_id: str) -> dict[str, Any]:
    r = api.get(f"/execution/{execution_id}")
    assert r.status_code == 200
    ex: dict[str, Any] = r.json()["execution"]
    return ex


# -- acquire ----------------------------------------------------------------------------------


def test_timeout_zero_on_a_held_lock(api, held):
    before = snapshot(api)
    r = api.post("/lock/acquire", json={"name": "job", "execution_id": held["b"], "timeout": 0})
    body = assert_error(r, 423, "LockTimeoutError")
    assert "'a'" in body["message"]
    assert snapshot(api) == before


def test_timeout_zero_without_an_execution_ends_the_one_it_made(api, held):
    before = settings_and_locks(api)
    r = api.post("/lock/acquire", json={"name": "job", "timeout": 0, "execution_name": "once"})
    assert_error(r, 423, "LockTimeoutError")
    assert settings_and_locks(api) == before
    made = api.get("/execution", params={"filter": '{"field":"name","op":"eq","value":"once"}'})
    [ex] = made.json()["execution"]
    assert ex["status"] == "ENDED_ERROR"


def test_short_timeout_on_a_held_lock(api, held):
    before = settings_and_locks(api)
    r = api.post("/lock/acquire", json={"name": "job", "execution_id": held["b"], "timeout": 0.3})
    body = assert_error(r, 423, "LockTimeoutError")
    assert "0.3" in body["message"]
    assert settings_and_locks(api) == before
    ex = execution(api, held["b"])
    assert ex["status"] == "RUNNING" and ex["waiting_for"] == []


def test_reacquire_by_the_holder(api, held):
    before = snapshot(api)
    for timeout in (60, 0, None):
        r = api.post(
            "/lock/acquire", json={"name": " job ", "execution_id": held["a"], "timeout": timeout}
        )
        body = assert_error(r, 409, "LockAlreadyHeldError")
        assert "re-entrant" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "extra",
    [
        {"timeout": -1},
        {"timeout": -0.001},
        {"timeout": "sixty"},
        {"timeout": [1]},
        {"wait": -1},
        {"wait": "x"},
        {"lease_ttl": "x"},
        {"execution_id": 5},
        {"unknown": 1},
    ],
    ids=lambda e: "-".join(f"{k}={v}" for k, v in e.items()),
)
def test_bad_acquire_body(api, held, extra):
    before = snapshot(api)
    body = json.dumps({"name": "fresh", "execution_id": held["b"], **extra})
    r = api.post("/lock/acquire", content=body.replace('"1e999"', "1e999"))
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 513, None, 1])
def test_bad_lock_name(api, held, name):
    before = snapshot(api)
    r = api.post("/lock/acquire", json={"name": name, "execution_id": held["b"]})
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_missing_lock_name(api):
    before = snapshot(api)
    assert_error(api.post("/lock/acquire", json={}), 422, "ValidationError")
    assert snapshot(api) == before


@pytest.mark.parametrize("lease_ttl", ["0", "0.1", "-1", "86401"])
def test_bad_lease_ttl_on_acquire_changes_nothing(api, lease_ttl):
    before = snapshot(api)
    r = api.post("/lock/acquire", content=f'{{"name": "fresh", "lease_ttl": {lease_ttl}}}')
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_unknown_execution_on_acquire_changes_nothing(api):
    before = snapshot(api)
    r = api.post("/lock/acquire", json={"name": "fresh", "execution_id": "no-such-execution"})
    assert_error(r, 404, "ResourceNotFoundError")
    assert snapshot(api) == before


def test_ended_execution_on_acquire_changes_nothing(api, held):
    api.patch(f"/execution/{held['b']}", json={"status": "ENDED_SUCCESS"}).raise_for_status()
    before = snapshot(api)
    r = api.post("/lock/acquire", json={"name": "fresh", "execution_id": held["b"]})
    body = assert_error(r, 409, "ConflictError")
    assert "ended" in body["message"]
    assert snapshot(api) == before


# -- wait and cancel --------------------------------------------------------------------------


def queued(api: httpx.Client, held: dict[str, Any], timeout: float | None = 60) -> str:
    r = api.post(
        "/lock/acquire",
        json={"name": "job", "execution_id": held["b"], "timeout": timeout, "wait": 0},
    )
    assert r.status_code == 202, r.text
    waiter_id: str = r.json()["waiter_id"]
    return waiter_id


@pytest.mark.parametrize("path", ["/lock/wait", "/lock/cancel"])
def test_unknown_waiter(api, held, path):
    before = snapshot(api)
    body = assert_error(api.post(path, json={"waiter_id": "nope"}), 404, "ResourceNotFoundError")
    assert "nope" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("path", ["/lock/wait", "/lock/cancel"])
@pytest.mark.parametrize(
    "body", [{}, {"waiter_id": 1}, {"waiter_id": None}, {"waiter_id": "x", "extra": 1}]
)
def test_bad_waiter_body(api, held, path, body):
    before = snapshot(api)
    assert_error(api.post(path, json=body), 422, "ValidationError")
    assert snapshot(api) == before


def test_negative_wait_on_wait(api, held):
    waiter = queued(api, held)
    before = snapshot(api)
    r = api.post("/lock/wait", json={"waiter_id": waiter, "wait": -1})
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_timed_out_waiter_answers_423_once_then_404(api, held):
    waiter = queued(api, held, timeout=1)
    api.post("/_testing/clock", json={"advance": 2}).raise_for_status()  # < the 5 s poll grace
    r = api.post("/lock/wait", json={"waiter_id": waiter, "wait": 0})
    assert_error(r, 423, "LockTimeoutError")
    r = api.post("/lock/wait", json={"waiter_id": waiter, "wait": 0})
    assert_error(r, 404, "ResourceNotFoundError")


def test_silent_waiter_leaves_and_answers_409_once_then_404(api, held):
    waiter = queued(api, held)
    api.post("/_testing/clock", json={"advance": 6}).raise_for_status()  # > the 5 s poll grace
    assert api.get("/lock/job").json()["lock"]["waiters"] == []
    r = api.post("/lock/wait", json={"waiter_id": waiter, "wait": 0})
    body = assert_error(r, 409, "ConflictError")
    assert "stopped polling" in body["message"]
    assert_error(api.post("/lock/wait", json={"waiter_id": waiter}), 404, "ResourceNotFoundError")


def test_cancelled_waiter_answers_409_on_its_next_poll(api, held):
    waiter = queued(api, held)
    assert api.post("/lock/cancel", json={"waiter_id": waiter}).status_code == 200
    r = api.post("/lock/wait", json={"waiter_id": waiter, "wait": 0})
    assert_error(r, 409, "ConflictError")


# -- release ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [{"execution_id": "b"}, {"token": "token+1"}, {"execution_id": "a", "token": "token+1"}],
    ids=["other-execution", "wrong-token", "holder-with-wrong-token"],
)
def test_release_by_a_non_holder(api, held, who):
    body: dict[str, Any] = {"name": "job"}
    for key, value in who.items():
        body[key] = held["token"] + 1 if value == "token+1" else held[value]
    before = snapshot(api)
    r = api.post("/lock/release", json=body)
    msg = assert_error(r, 409, "LockNotHeldError")
    assert "force" in msg["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("force", [False, True])
def test_release_of_a_free_lock(api, held, force):
    api.post("/lock/release", json={"name": "job", "execution_id": held["a"]}).raise_for_status()
    create_setting(api, "never-locked")
    before = snapshot(api)
    for name in ("job", "never-locked"):
        r = api.post(
            "/lock/release", json={"name": name, "execution_id": held["a"], "force": force}
        )
        body = assert_error(r, 409, "LockNotHeldError")
        assert "not held" in body["message"]
    assert snapshot(api) == before


def test_release_of_an_unknown_setting(api, held):
    before = snapshot(api)
    r = api.post("/lock/release", json={"name": "nope", "execution_id": held["a"]})
    assert_error(r, 404, "ResourceNotFoundError")
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "job"},
        {"name": "job", "force": "perhaps"},
        {"name": "job", "token": "one"},
        {"name": "job", "token": 1.5},
        {"execution_id": "x"},
        {"name": "job", "execution_id": "x", "extra": 1},
    ],
    ids=["no-holder-named", "force-not-bool", "token-word", "token-fraction", "no-name", "unknown"],
)
def test_bad_release_body(api, held, body):
    before = snapshot(api)
    assert_error(api.post("/lock/release", json=body), 422, "ValidationError")
    assert snapshot(api) == before


def test_unknown_lock(api):
    body = assert_error(api.get("/lock/nope"), 404, "ResourceNotFoundError")
    assert "nope" in body["message"]


# -- executions -------------------------------------------------------------------------------


def test_heartbeat_of_an_ended_execution(api, held):
    api.patch(f"/execution/{held['a']}", json={"status": "ENDED_CANCELLED"}).raise_for_status()
    before = snapshot(api)
    r = api.post(f"/execution/{held['a']}/heartbeat")
    body = assert_error(r, 409, "ConflictError")
    assert "ENDED_CANCELLED" in body["message"]
    assert snapshot(api) == before


def test_heartbeat_after_the_lease_ran_out(api):
    ex = create_execution(api, "short", lease_ttl=1)
    api.post("/_testing/clock", json={"advance": 2}).raise_for_status()
    assert execution(api, ex)["status"] == "ENDED_ERROR"
    body = assert_error(api.post(f"/execution/{ex}/heartbeat"), 409, "ConflictError")
    assert "lease expired" in body["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/execution/{id}"),
        ("PATCH", "/execution/{id}"),
        ("POST", "/execution/{id}/heartbeat"),
    ],
)
@pytest.mark.parametrize(
    "execution_id", ["no-such-execution", "00000000-0000-0000-0000-000000000000"]
)
def test_unknown_execution(api, held, method, path, execution_id):
    before = snapshot(api)
    r = api.request(method, path.format(id=execution_id), json={"status": "ENDED_SUCCESS"})
    assert_error(r, 404, "ResourceNotFoundError")
    assert snapshot(api) == before


def test_ending_twice_with_another_status(api, held):
    url = f"/execution/{held['a']}"
    assert api.patch(url, json={"status": "ENDED_SUCCESS"}).status_code == 200
    assert api.patch(url, json={"status": "ENDED_SUCCESS"}).status_code == 200  # idempotent
    before = snapshot(api)
    for status in ("ENDED_ERROR", "ENDED_CANCELLED"):
        body = assert_error(api.patch(url, json={"status": status}), 409, "ConflictError")
        assert "already ended" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {"status": "RUNNING"},
        {"status": "WAITING_LOCK"},
        {"status": "ended_success"},
        {"message": 5},
        {"lease_ttl": 10},
    ],
)
def test_bad_execution_update(api, held, body):
    before = snapshot(api)
    assert_error(api.patch(f"/execution/{held['a']}", json=body), 422, "ValidationError")
    assert snapshot(api) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/lock/acquire", '{"name": "fresh", "timeout": 1e999}'),
        ("/lock/acquire", '{"name": "fresh", "lease_ttl": 1e999}'),
        ("/lock/acquire", '{"name": "fresh", "wait": -1e999}'),
        ("/execution", '{"name": "e", "lease_ttl": 1e999}'),
    ],
)
def test_out_of_range_numbers_are_not_json(api, path, body):
    # 1e999 reads as infinity in Python; like Infinity itself it is refused as broken JSON.
    before = snapshot(api)
    body_ = assert_error(api.post(path, content=body), 400, "InvalidRequestError")
    assert "out of range" in body_["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {"lease_ttl": 0.4},
        {"lease_ttl": 0},
        {"lease_ttl": -1},
        {"lease_ttl": 86_401},
        {"lease_ttl": "x"},
        {"name": "x" * 513},
        {"name": 5},
        {"status": "RUNNING"},
    ],
    ids=lambda b: "-".join(f"{k}={str(v)[:10]}" for k, v in b.items()),
)
def test_bad_execution_create(api, body):
    before = snapshot(api)
    r = api.post("/execution", content=json.dumps(body).replace('"1e999"', "1e999"))
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_lone_surrogate_in_an_execution_name_or_message_is_refused(api):
    # Each would be stored, then fail every answer that holds it.
    ex = create_execution(api, "e")
    before = snapshot(api)
    assert_error(api.post("/execution", content=b'{"name": "x\\ud800"}'), 422, "ValidationError")
    assert_error(
        api.patch(f"/execution/{ex}", content=b'{"message": "x\\ud800"}'), 422, "ValidationError"
    )
    r = api.post("/lock/acquire", content=b'{"name": "L", "execution_name": "x\\ud800"}')
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


# -- events and test endpoints ----------------------------------------------------------------


@pytest.mark.parametrize("since", ["-1", "x", "1.5"])
def test_bad_events_since(api, since):
    body = assert_error(api.get("/events", params={"since": since}), 400, "InvalidRequestError")
    assert "since" in body["message"]


@pytest.mark.parametrize(
    "body", [{"advance": -1}, {}, {"advance": "x"}, {"advance": 1e10}, {"advance": 1, "x": 1}]
)
def test_bad_clock_advance(api, body):
    before = snapshot(api)
    assert_error(api.post("/_testing/clock", json=body), 422, "ValidationError")
    assert snapshot(api) == before


def test_testing_endpoints_are_absent_without_testing():
    from mock_server import run_server

    with run_server(testing=False) as server, fast_client(server.url, server.token) as client:
        remember_secret(server.token)
        for method, path in [
            ("POST", "/_testing/reset"),
            ("GET", "/_testing/state"),
            ("POST", "/_testing/clock"),
        ]:
            assert_error(client.request(method, path), 404, "ResourceNotFoundError")
