"""``ckit`` as a whole: locks view, global options, errors, delegation, import hygiene."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from cloudomation_kit.cli import main
from mock_server import RunningServer

from .conftest import CKIT, Running, hold, wait_until


def queue_behind(api: httpx.Client, name: str, who: str) -> None:
    """Put an execution called ``who`` in the queue of ``name`` (it stays until its deadline)."""
    body = {"name": name, "timeout": 60, "wait": 0, "execution_name": who, "lease_ttl": 300}
    response = api.post("/lock/acquire", json=body)
    assert response.status_code == 202, response.text


def test_locks_json_shows_holder_and_waiters(ckit, api: httpx.Client) -> None:
    assert json.loads(ckit("locks", "--json").stdout) == []
    token = hold(api, "job")["token"]
    queue_behind(api, "job", "second")
    locks = json.loads(ckit("locks", "--json").stdout)
    assert [lock["name"] for lock in locks] == ["job"]
    assert locks[0]["holder"]["token"] == token
    assert locks[0]["holder"]["lease_expires_at"] is not None
    waiter = locks[0]["waiters"][0]
    assert (waiter["position"], waiter["execution_name"]) == (1, "second")
    assert waiter["waiting_since"] and waiter["deadline"]


def test_locks_table(ckit, api: httpx.Client) -> None:
    assert ckit("locks").stdout.strip() == "No lock is held or waited for."
    hold(api, "job")
    queue_behind(api, "job", "second")
    lines = ckit("locks").stdout.splitlines()
    assert lines[0].split()[:2] == ["LOCK", "HOLDER"]
    assert lines[1].startswith("job ") and "1 waiting" in lines[1]
    assert lines[2].split()[:2] == ["#1", "second"] and "deadline" in lines[2]


def test_locks_watch_until_ctrl_c(start: Callable[..., Running], api: httpx.Client) -> None:
    hold(api, "job")
    run = start("locks", "--watch", "--json", "--interval", "0.2")
    wait_until(lambda: run.stdout().count("\n") >= 2, what="two refreshes")
    run.proc.send_signal(signal.SIGINT)
    assert run.wait() == 0
    snapshots = [json.loads(line) for line in run.stdout().splitlines()]
    assert all(s[0]["name"] == "job" for s in snapshots)


def test_global_options_before_or_after_the_command(inproc, mock_server: RunningServer) -> None:
    bare = {"CLOUDOMATION_URL": "", "CLOUDOMATION_TOKEN": ""}
    where = ["--url", mock_server.url, "--token", mock_server.token]
    assert inproc(*where, "settings", "ls", "--json", extra_env=bare).code == 0
    assert inproc("settings", "ls", "--json", *where, extra_env=bare).code == 0
    assert inproc("locks", *where, extra_env=bare).code == 0
    assert inproc("settings", "ls", extra_env=bare).code == 5


def test_profile_from_the_config_file(
    inproc, mock_server: RunningServer, env: dict[str, str]
) -> None:
    config = Path(env["XDG_CONFIG_HOME"]) / "cloudomation-kit" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[test]\nurl = "{mock_server.url}"\ntoken = "{mock_server.token}"\n')
    bare = {"CLOUDOMATION_URL": "", "CLOUDOMATION_TOKEN": ""}
    assert inproc("--profile", "test", "locks", extra_env=bare).code == 0
    missing = inproc("--profile", "nope", "locks", extra_env=bare)
    assert missing.code == 5 and "no profile 'nope'" in missing.err


def test_server_and_config_errors_are_one_line(ckit, inproc) -> None:
    no_url = ckit("settings", "ls", extra_env={"CLOUDOMATION_URL": ""})
    assert no_url.returncode == 5
    assert no_url.stderr.startswith("ckit: error: no server URL: pass --url")
    refused = ckit("--url", "http://127.0.0.1:9", "lock", "job", "--", "true")
    assert refused.returncode == 5 and "cannot reach the server" in refused.stderr
    for result in (no_url, refused):
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    bad_token = inproc("--token", "wrong", "locks")
    assert bad_token.code == 5 and "401" in bad_token.err and bad_token.err.count("\n") == 1


def test_usage_errors_in_process() -> None:
    assert main(["lock", "job"]) == 2
    assert main(["settings"]) == 2
    assert main(["settings", "get"]) == 2
    assert main(["--version"]) == 0


def test_help_everywhere(ckit) -> None:
    for args in (
        [],
        ["settings"],
        ["settings", "ls"],
        ["settings", "get"],
        ["settings", "set"],
        ["settings", "edit"],
        ["settings", "rm"],
        ["lock"],
        ["locks"],
    ):
        assert main([*args, "--help"]) == 0
    top = ckit("--help")
    assert top.returncode == 0 and "exit codes:" in top.stdout


def test_serve_delegates_to_the_mock_server(ckit) -> None:
    result = ckit("serve", "--help")
    assert result.returncode == 0 and "--testing" in result.stdout and "--db" in result.stdout
    assert ckit("serve", "--no-such-option").returncode == 2


def test_serve_runs_a_server(env: dict[str, str], tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*CKIT, "serve", "--memory", "--port", str(port), "--token", "t", "--log-level", "error"],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/latest/alive"

        def up() -> bool:
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, what="ckit serve to answer")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tui_and_demo_delegate_lazily(ckit, tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "tui"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    # Run from elsewhere: "python -m" puts the working directory (the real tui) first on the path.
    env = {"PYTHONPATH": str(fake.parent)}
    missing = ckit("tui", extra_env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("ckit: error: ckit tui needs the tui extra")
    assert missing.stderr.count("\n") == 1
    (fake / "__main__.py").write_text(
        "import sys\n"
        "def main(argv):\n"
        "    print('tui got', argv)\n"
        "    return 0\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main(sys.argv[1:]))\n"
    )
    tui = ckit("tui", "--read-only", extra_env=env, cwd=tmp_path)
    assert tui.stdout == "tui got ['--read-only']\n"
    assert ckit("demo", "-x", extra_env=env, cwd=tmp_path).stdout == "tui got ['--demo', '-x']\n"


def test_importing_the_cli_pulls_in_no_server_or_ui() -> None:
    code = (
        "import sys, cloudomation_kit.cli, cloudomation_kit.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'mock_server', 'tui', 'textual', 'fastapi', 'uvicorn', 'ipywidgets'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def test_ckit_script_is_installed(ckit) -> None:
    script = Path(sys.executable).parent / "ckit"
    assert script.exists()
    started = time.monotonic()
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("ckit ")
    assert time.monotonic() - started < 30
