"""The page's flow examples, run through ``python -m cloudomation_kit.flow_api``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudomation_kit import Client, LockTimeoutError
from cloudomation_kit.flow_api import Execution, System, run_flow
from mock_server import RunningServer

FLOWS = Path(__file__).resolve().parents[2] / "examples" / "flows"


def run(env: dict[str, str], flow: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudomation_kit.flow_api", str(flow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def executions(api: httpx.Client) -> list[dict[str, Any]]:
    return list(api.get("/execution").json()["execution"])


def test_configuration_parameters(child_env: dict[str, str], api: httpx.Client) -> None:
    # as the page's curl does
    api.post("/setting", json={"name": "notification_emails", "value": ["a@x", "b@x"]})
    out = run(child_env, FLOWS / "configuration_parameters.py")
    assert out.returncode == 0, out.stderr
    assert "ENDED_SUCCESS: all done" in out.stdout
    outbox = api.get("/setting/notification_outbox", params={"by": "name"}).json()["setting"]
    assert outbox["value"]["recipients"] == ["a@x", "b@x"]
    [ex] = executions(api)
    assert (ex["status"], ex["message"]) == ("ENDED_SUCCESS", "all done")
    assert ex["name"].startswith("configuration_parameters.py@")


def test_store_and_read_a_result(child_env: dict[str, str], api: httpx.Client) -> None:
    assert run(child_env, FLOWS / "store_result.py").returncode == 0
    assert api.get("/setting/occurrences_found?by=name").json()["setting"]["value"] == 42
    assert run(child_env, FLOWS / "read_result.py").returncode == 0
    alert = api.get("/setting/counter_alert?by=name").json()["setting"]["value"]
    assert alert == {"subject": "counter alert", "text": "found 42 occurrences"}
    assert [e["status"] for e in executions(api)] == ["ENDED_SUCCESS", "ENDED_SUCCESS"]


def test_cloud_vm_lock_twice_at_once(child_env: dict[str, str], api: httpx.Client) -> None:
    flow = [sys.executable, "-m", "cloudomation_kit.flow_api", str(FLOWS / "cloud_vm_lock.py")]
    procs = [
        subprocess.Popen(flow, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert [e["status"] for e in executions(api)] == ["ENDED_SUCCESS", "ENDED_SUCCESS"]
    assert api.get("/lock").json()["lock"] == []
    assert not api.get("/setting/cloud-vm?by=name").is_success  # deleted by both runs


def test_failing_flow_ends_in_error(
    child_env: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    flow = tmp_path / "broken.py"
    flow.write_text(
        "import flow_api\n\n"
        "def handler(system, this):\n"
        "    system.setting('missing').get('value')\n"
    )
    out = run(child_env, flow)
    assert out.returncode == 1
    assert "ENDED_ERROR: ResourceNotFoundError" in out.stdout
    assert "Traceback" in out.stderr
    [ex] = executions(api)
    assert ex["status"] == "ENDED_ERROR"


def test_this_error_and_a_missing_handler(child_env: dict[str, str], tmp_path: Path) -> None:
    flow = tmp_path / "erring.py"
    flow.write_text("def handler(system, this, inputs):\n    this.error(f'bad {inputs}')\n")
    out = run(child_env, flow)
    assert (out.returncode, "ENDED_ERROR: bad {}" in out.stdout) == (1, True)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    out = run(child_env, empty)
    assert out.returncode == 2
    assert "no handler" in out.stderr


def test_setting_object_in_process(mock_server: RunningServer) -> None:
    with Client(mock_server.url, mock_server.token) as client:
        system = System(client)
        s = system.setting("my-new-setting")
        assert not s.exists()
        s.save(value=42, description="some number")
        assert s.exists()
        assert s.get("value") == 42
        name, value = s.load("name", "value")
        assert (name, value) == ("my-new-setting", 42)
        assert s.load("description") == "some number"
        s.save(value=43)
        assert s.load()["value"] == 43
        with pytest.raises(KeyError):
            s.get("colour")
        s.acquire(timeout=5)
        s.save(value=44)  # fenced with the lock's token
        system.setting("my-new-setting").release()
        assert [x.load("name") for x in system.settings()] == ["my-new-setting"]
        s.delete()
        assert not s.exists()


def test_acquire_times_out_with_lock_timeout_error(mock_server: RunningServer) -> None:
    with (
        Client(mock_server.url, mock_server.token) as one,
        Client(mock_server.url, mock_server.token) as two,
    ):
        System(one).setting("cloud-vm-lock").acquire()
        with pytest.raises(LockTimeoutError):
            System(two).setting("cloud-vm-lock").acquire(timeout=0.3)
        # Cloudomation lets another flow release a lock someone else took
        System(two).setting("cloud-vm-lock").release()
        System(two).setting("cloud-vm-lock").acquire(timeout=0)


def test_run_flow_in_process(mock_server: RunningServer, tmp_path: Path) -> None:
    flow = tmp_path / "ok.py"
    flow.write_text(
        "def handler(system, this):\n    this.save(message='half way')\n    return 'fine'\n"
    )
    with Client(mock_server.url, mock_server.token) as client:
        result = run_flow(flow, client=client)
        assert (result.status, result.message, result.exit_code) == ("ENDED_SUCCESS", "fine", 0)
        assert isinstance(repr(Execution), str)
