"""Locks over HTTP against a real server on loopback: long-polls, handoff, disconnects, leases."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest


def execution(api: httpx.Client, name: str, lease_ttl: float = 30) -> str:
    r = api.post("/execution", json={"name": name, "lease_ttl": lease_ttl})
    assert r.status_code == 200, r.text
    return r.json()["execution"]["id"]


def acquire(api: httpx.Client, name: str, ex: str, **body) -> httpx.Response:
    return api.post("/lock/acquire", json={"name": name, "execution_id": ex, **body})


def queue(api: httpx.Client, name: str) -> list[str]:
    return [w["execution_name"] for w in api.get(f"/lock/{name}").json()["lock"]["waiters"]]


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_acquire_release_and_inspect(api):
    ex = execution(api, "a")
    r = acquire(api, "cloud-vm-lock", ex)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "acquired" and body["token"] >= 1
    lock = api.get("/lock/cloud-vm-lock").json()["lock"]
    assert lock["holder"]["execution_name"] == "a" and lock["holder"]["token"] == body["token"]
    assert [lk["name"] for lk in api.get("/lock", params={"plain": True}).json()] == [
        "cloud-vm-lock"
    ]
    r = api.post("/lock/release", json={"name": "cloud-vm-lock", "execution_id": ex})
    assert r.status_code == 200
    assert r.json() == {
        "name": "cloud-vm-lock",
        "released": {"execution_id": ex, "execution_name": "a", "token": body["token"]},
        "holder": None,
        "waiting": 0,
    }
    assert api.get("/lock").json() == {"lock": []}
    # acquiring created the setting, with a null value
    assert (
        api.get("/setting/cloud-vm-lock", params={"by": "name"}).json()["setting"]["value"] is None
    )


def test_long_poll_answers_202_and_keeps_the_place(api):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    first = execution(api, "first")
    second = execution(api, "second")
    r1 = acquire(api, "x", first, wait=0.05)
    r2 = acquire(api, "x", second, wait=0.05)
    assert (r1.status_code, r2.status_code) == (202, 202)
    assert (r1.json()["position"], r2.json()["position"]) == (1, 2)
    assert queue(api, "x") == ["first", "second"]
    ex = api.get(
        "/execution",
        params={"filter": json.dumps({"field": "status", "op": "eq", "value": "WAITING_LOCK"})},
    ).json()["execution"]
    assert sorted(e["name"] for e in ex) == ["first", "second"]
    # continuing the wait keeps the same place
    r = api.post("/lock/wait", json={"waiter_id": r1.json()["waiter_id"], "wait": 0.05})
    assert r.status_code == 202 and r.json()["position"] == 1


def test_release_wakes_the_blocked_waiter(api, mock_server):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    waiter = execution(api, "waiter")
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(acquire, api, "x", waiter, wait=20)
        wait_until(lambda: queue(api, "x") == ["waiter"])
        released = time.monotonic()
        api.post("/lock/release", json={"name": "x", "execution_id": holder})
        r = future.result(timeout=10)
        woke_after = time.monotonic() - released
    assert r.status_code == 200 and r.json()["status"] == "acquired"
    # Pushed, not polled: far below the 20 s long-poll bound (loose bound for a noisy machine).
    assert woke_after < 5
    ex = api.get(f"/execution/{waiter}").json()["execution"]
    assert ex["status"] == "RUNNING" and ex["locks"] == ["x"]


def test_timeout_answers_423_at_the_deadline(api):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    waiter = execution(api, "waiter")
    started = time.monotonic()
    r = acquire(api, "x", waiter, timeout=0.3)
    took = time.monotonic() - started
    assert r.status_code == 423
    assert r.json()["error"] == "LockTimeoutError"
    assert took >= 0.3
    assert queue(api, "x") == []
    assert api.get(f"/execution/{waiter}").json()["execution"]["status"] == "RUNNING"


def test_a_waiter_whose_client_disconnects_leaves_at_once(api, mock_server):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    waiter = execution(api, "quitter")
    with (
        httpx.Client(
            base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=0.5
        ) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        acquire(impatient, "x", waiter, wait=20)
    # The connection closed (client timeout): the server takes the waiter out without waiting
    # for the 20 s long-poll or the 5 s silence rule.
    wait_until(lambda: queue(api, "x") == [], timeout=3)
    kinds = [e["type"] for e in mock_server.backend.events.since(0)]
    assert "waiter.left" in kinds


def test_lease_expiry_by_the_test_clock_hands_the_lock_on(api):
    holder = execution(api, "holder", lease_ttl=5)
    acquire(api, "x", holder)
    waiter = execution(api, "waiter", lease_ttl=600)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(acquire, api, "x", waiter, timeout=None, wait=20)
        wait_until(lambda: queue(api, "x") == ["waiter"])
        api.post("/_testing/clock", json={"advance": 6})
        r = future.result(timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "acquired"
    ended = api.get(f"/execution/{holder}").json()["execution"]
    assert ended["status"] == "ENDED_ERROR" and ended["message"] == "lease expired"
    r = api.post(f"/execution/{holder}/heartbeat")
    assert r.status_code == 409


def test_heartbeat_renews_and_reports_held_locks(api):
    ex = execution(api, "a", lease_ttl=5)
    token = acquire(api, "x", ex).json()["token"]
    api.post("/_testing/clock", json={"advance": 4})
    r = api.post(f"/execution/{ex}/heartbeat")
    assert r.status_code == 200
    assert r.json()["locks"] == [{"name": "x", "token": token}]
    api.post("/_testing/clock", json={"advance": 4})  # 8 s after start, 4 after the heartbeat
    assert api.get(f"/execution/{ex}").json()["execution"]["status"] == "RUNNING"


def test_fenced_writes(api):
    ex = execution(api, "a")
    token = acquire(api, "x", ex).json()["token"]
    r = api.patch("/setting/x", params={"by": "name", "fence": token}, json={"value": 1})
    assert r.status_code == 200 and r.json()["setting"]["value"] == 1
    api.post("/lock/release", json={"name": "x", "token": token})
    r = api.patch("/setting/x", params={"by": "name", "fence": token}, json={"value": 2})
    assert r.status_code == 409 and r.json()["error"] == "FencingTokenError"
    assert api.get("/setting/x", params={"by": "name"}).json()["setting"]["value"] == 1


def test_forced_release_is_an_event_naming_who(api, mock_server):
    ex = execution(api, "stuck")
    acquire(api, "x", ex)
    r = api.post("/lock/release", json={"name": "x", "force": True, "reason": "operator"})
    assert r.status_code == 200
    forced = [e for e in mock_server.backend.events.since(0) if e["type"] == "lock.forced"]
    assert forced[-1]["data"]["forced_by"] == "admin"
    assert forced[-1]["data"]["execution_name"] == "stuck"


def test_ending_an_execution_releases_its_locks(api):
    a = execution(api, "a")
    acquire(api, "x", a)
    r = api.patch(f"/execution/{a}", json={"status": "ENDED_SUCCESS", "message": "done"})
    assert r.status_code == 200 and r.json()["execution"]["status"] == "ENDED_SUCCESS"
    assert api.get("/lock/x").json()["lock"]["holder"] is None


def test_acquire_without_an_execution_creates_one(api):
    r = acquire(api, "x", None, execution_name="curl user", lease_ttl=60)
    assert r.status_code == 200
    ex = api.get(f"/execution/{r.json()['execution_id']}").json()["execution"]
    assert ex["name"] == "curl user" and ex["locks"] == ["x"]


def test_event_stream_reports_changes_in_order(api, mock_server):
    seen: list[dict] = []
    ready = threading.Event()

    def read() -> None:
        with (
            httpx.Client(
                base_url=mock_server.url, headers={"Authorization": mock_server.token}, timeout=10
            ) as c,
            c.stream("GET", "/events") as r,
        ):
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith(":"):
                    ready.set()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["type"] == "setting.deleted":
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(10)
    api.post("/setting", json={"name": "s", "value": 1})
    api.patch("/setting/s", params={"by": "name"}, json={"value": 2})
    ex = execution(api, "a")
    acquire(api, "s", ex)
    api.post("/lock/release", json={"name": "s", "execution_id": ex})
    api.delete("/setting/s", params={"by": "name"})
    reader.join(10)
    kinds = [e["type"] for e in seen]
    assert kinds == [
        "setting.created",
        "setting.updated",
        "execution.status",
        "lock.acquired",
        "lock.released",
        "setting.deleted",
    ]
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # a reader that reconnects with since=N gets exactly what came after N
    with api.stream("GET", "/events", params={"since": seqs[2]}) as r:
        replay = []
        for line in r.iter_lines():
            if line.startswith("data: "):
                replay.append(json.loads(line[6:])["seq"])
                if len(replay) == 3:
                    break
    assert replay == seqs[3:]


def test_openapi_describes_every_endpoint(api):
    doc = api.get("/openapi.json").json()
    paths = doc["paths"]
    for path in [
        "/api/latest/setting",
        "/api/latest/setting/{key}",
        "/api/latest/lock/acquire",
        "/api/latest/lock/wait",
        "/api/latest/lock/cancel",
        "/api/latest/lock/release",
        "/api/latest/lock",
        "/api/latest/lock/{name}",
        "/api/latest/execution",
        "/api/latest/execution/{execution_id}",
        "/api/latest/execution/{execution_id}/heartbeat",
        "/api/latest/events",
        "/api/latest/alive",
        "/api/latest/auth/login",
    ]:
        assert path in paths, path
    assert "requestBody" in paths["/api/latest/setting"]["post"]


def test_an_ad_hoc_caller_is_named_after_its_client(api):
    r = api.post("/lock/acquire", json={"name": "x"}, headers={"User-Agent": "curl/8.5.0"})
    ex = api.get(f"/execution/{r.json()['execution_id']}").json()["execution"]
    assert ex["name"] == "anonymous (curl/8.5.0)"


def test_testing_endpoints_exist_only_with_testing():
    from mock_server import run_server

    with (
        run_server(testing=False) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": server.token}) as api,
    ):
        assert api.post("/_testing/reset").status_code == 404
        assert api.post("/_testing/clock", json={"advance": 1}).status_code == 404
        assert api.get("/alive").status_code == 200


def test_an_ad_hoc_execution_ends_when_its_wait_fails(api):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    r = api.post("/lock/acquire", json={"name": "x", "timeout": 0.2, "execution_name": "curl"})
    assert r.status_code == 423
    ex = [e for e in api.get("/execution", params={"plain": True}).json() if e["name"] == "curl"]
    assert ex[0]["status"] == "ENDED_ERROR" and "timeout" in ex[0]["message"]


def test_cancel_after_the_grant_says_released(api):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    waiter = execution(api, "waiter")
    queued = acquire(api, "x", waiter, wait=0).json()
    api.post("/lock/release", json={"name": "x", "execution_id": holder})
    r = api.post("/lock/cancel", json={"waiter_id": queued["waiter_id"]})
    assert r.json() == {"waiter_id": queued["waiter_id"], "status": "released"}
    assert api.get("/lock/x").json()["lock"]["holder"] is None


def test_an_empty_patch_is_not_a_write(api, mock_server):
    api.post("/setting", json={"name": "s", "value": 1})
    seq = mock_server.backend.events.last_seq
    r = api.patch("/setting/s", params={"by": "name"}, json={})
    assert r.status_code == 200 and r.json()["setting"]["version"] == 1
    assert mock_server.backend.events.last_seq == seq


def test_release_names_the_next_holder_without_listing_the_queue(api):
    holder = execution(api, "holder")
    acquire(api, "x", holder)
    for name in ("w1", "w2", "w3"):
        acquire(api, "x", execution(api, name), wait=0)
    r = api.post("/lock/release", json={"name": "x", "execution_id": holder}).json()
    assert r["holder"]["execution_name"] == "w1"
    assert r["waiting"] == 2 and "waiters" not in r


@pytest.mark.parametrize("name", ["a\x00b", "x\x1b[31mred", "tab\there"])
def test_execution_names_with_control_characters_are_refused(api, name):
    # Names are shown in terminals (TUI, ckit locks): no escape sequences through them.
    r = api.post("/execution", json={"name": name})
    assert r.status_code == 422 and r.json()["error"] == "ValidationError"
    r = api.post("/lock/acquire", json={"name": "x", "execution_name": name})
    assert r.status_code == 422
    assert api.get("/setting", params={"plain": True}).json() == []
