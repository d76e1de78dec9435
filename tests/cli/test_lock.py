"""``ckit lock NAME -- CMD``: exit codes, signals, and what happens when the lock is lost."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import Running, alive, hold, lock_state, wait_until

PY = sys.executable

# CMD that records the first signal it gets (in ARGV[1] + ".sig") and exits with ARGV[2].
RECORDER = """
import pathlib, signal, sys, time
ready = pathlib.Path(sys.argv[1])
def on(sig, frame):
    ready.with_suffix(".sig").write_text(signal.Signals(sig).name)
    sys.exit(int(sys.argv[2]))
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, on)
ready.write_text("ready")
time.sleep(60)
"""

# CMD that ignores SIGTERM, with a child that ignores it too; writes both pids to ARGV[1].
STUBBORN = """
import os, pathlib, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pathlib.Path(sys.argv[1]).write_text(f"{os.getpid()} {child.pid}")
time.sleep(60)
"""


def test_runs_cmd_with_the_lock_name_and_token_and_releases(ckit, api: httpx.Client) -> None:
    code = "import os; print(os.environ['CKIT_LOCK_NAME'], os.environ['CKIT_LOCK_TOKEN'])"
    result = ckit("lock", "job", "--", PY, "-c", code)
    assert result.returncode == 0, result.stderr
    name, token = result.stdout.split()
    assert name == "job" and int(token) > 0
    assert result.stderr == ""
    assert lock_state(api, "job")["holder"] is None  # released afterwards


def test_the_token_is_the_holders_token_on_the_server(ckit, api: httpx.Client) -> None:
    code = (
        "import os, httpx; r = httpx.get(os.environ['CLOUDOMATION_URL'] + '/lock/job', "
        "headers={'Authorization': os.environ['CLOUDOMATION_TOKEN']}); "
        "print(r.json()['lock']['holder']['token'] == int(os.environ['CKIT_LOCK_TOKEN']))"
    )
    result = ckit("lock", "job", "--", PY, "-c", code)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


def test_cmd_exit_status_is_passed_on(ckit) -> None:
    assert ckit("lock", "job", "--", PY, "-c", "raise SystemExit(7)").returncode == 7
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert ckit("lock", "job", "--", PY, "-c", killed).returncode == 128 + signal.SIGKILL


def test_not_acquired_exits_with_the_conflict_code(ckit, api: httpx.Client, tmp_path: Path) -> None:
    hold(api, "job")
    marker = tmp_path / "ran"
    touch = ["--", PY, "-c", f"open({str(marker)!r}, 'w')"]
    waited = ckit("lock", "job", "--timeout", "0.5", *touch)
    assert waited.returncode == 3
    assert "not acquired within 0.5 s" in waited.stderr and "held by" in waited.stderr
    assert "waiting for lock" not in waited.stderr and "\r" not in waited.stderr  # not a tty
    no_wait = ckit("lock", "job", "--no-wait", "--conflict-exit-code", "9", *touch)
    assert no_wait.returncode == 9
    assert not marker.exists()
    assert lock_state(api, "job")["waiters"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["lock", "job"],  # no CMD
        ["lock", "job", "echo", "hi"],  # CMD without --
        ["lock", "job", "--timeout", "-1", "--", "true"],
        ["lock", "job", "--timeout", "1", "--no-wait", "--", "true"],
        ["lock", "--", "true"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(inproc, args: list[str]) -> None:
    result = inproc(*args)
    assert result.code == 2, result.err
    assert "error:" in result.err


def test_usage_error_in_a_subprocess(ckit) -> None:
    result = ckit("lock", "job", "echo", "hi")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "ckit: error: no command (put it after --): ckit lock NAME [OPTIONS] -- CMD [ARGS...]"
    )


def test_cmd_not_found_exits_127_and_releases(ckit, api: httpx.Client) -> None:
    result = ckit("lock", "job", "--", "/nonexistent/cmd")
    assert result.returncode == 127
    assert result.stderr.strip() == "ckit: error: command not found: /nonexistent/cmd"
    assert lock_state(api, "job")["holder"] is None


def test_help_has_the_exit_code_table(ckit) -> None:
    result = ckit("lock", "--help")
    assert result.returncode == 0
    for text in ("exit codes:", "--conflict-exit-code", "128+N", "lost", "CKIT_LOCK_TOKEN"):
        assert text in result.stdout


def _start_recorder(start: Callable[..., Running], ready: Path, *options: str) -> Running:
    run = start("lock", "job", *options, "--", PY, "-c", RECORDER, str(ready), "42")
    wait_until(ready.exists, what="CMD to start")
    return run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_are_forwarded_to_cmd(
    start: Callable[..., Running], api: httpx.Client, tmp_path: Path, sig: signal.Signals
) -> None:
    ready = tmp_path / "ready"
    run = _start_recorder(start, ready)
    run.proc.send_signal(sig)
    assert run.wait() == 42  # CMD's own status after handling the signal
    assert ready.with_suffix(".sig").read_text() == sig.name
    assert lock_state(api, "job")["holder"] is None


def test_lease_expiry_stops_cmd(
    start: Callable[..., Running], api: httpx.Client, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    run = _start_recorder(start, ready, "--lease-ttl", "2")
    api.post("/_testing/clock", json={"advance": 60}).raise_for_status()
    assert run.wait() == 4
    assert ready.with_suffix(".sig").read_text() == "SIGTERM"
    err = run.stderr()
    assert "lost" in err and "SIGTERM" in err and "Traceback" not in err


def test_forced_release_stops_cmd(
    start: Callable[..., Running], api: httpx.Client, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    run = _start_recorder(start, ready, "--lease-ttl", "2")
    api.post("/lock/release", json={"name": "job", "force": True}).raise_for_status()
    assert run.wait() == 4
    assert ready.with_suffix(".sig").read_text() == "SIGTERM"
    assert "ckit: error: lock 'job' was lost" in run.stderr()


def test_cmd_ignoring_sigterm_is_killed_with_its_children(
    start: Callable[..., Running], api: httpx.Client, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    run = start(
        "lock",
        "job",
        "--lease-ttl",
        "2",
        "--kill-after",
        "0.5",
        "--",
        PY,
        "-c",
        STUBBORN,
        str(pids),
    )
    wait_until(lambda: pids.exists() and pids.read_text(), what="CMD to start")
    cmd_pid, child_pid = map(int, pids.read_text().split())
    api.post("/lock/release", json={"name": "job", "force": True}).raise_for_status()
    assert run.wait() == 4
    assert "SIGKILL" in run.stderr()
    assert not alive(cmd_pid)
    wait_until(lambda: not alive(child_pid), timeout=5, what="CMD's child to die")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_waiting_leaves_the_queue(
    start: Callable[..., Running], api: httpx.Client, tmp_path: Path, sig: signal.Signals
) -> None:
    hold(api, "job")
    marker = tmp_path / "ran"
    run = start("lock", "job", "--timeout", "30", "--", PY, "-c", f"open({str(marker)!r}, 'w')")
    wait_until(lambda: lock_state(api, "job")["waiters"], what="ckit in the queue")
    run.proc.send_signal(sig)
    assert run.wait() == 128 + sig
    assert lock_state(api, "job")["waiters"] == []
    assert not marker.exists()
    assert "Traceback" not in run.stderr()


def test_waiting_line_on_a_terminal(start: Callable[..., Running], api: httpx.Client) -> None:
    hold(api, "job")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every end of the terminal is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        run = start("lock", "job", "--timeout", "2.5", "--", "true", stderr=slave)
    finally:
        os.close(slave)
    assert run.wait() == 3
    reader.join(10)
    os.close(master)
    text = b"".join(chunks).decode()
    assert "waiting for lock 'job'" in text
    assert "held by" in text and "1st of 1 in the queue" in text
    assert "\r\x1b[K" in text  # redrawn in place, and cleared at the end


# Runs ckit on a new pseudo-terminal (its own session, so ckit is that terminal's foreground),
# types a line when CMD asks, and reports what the terminal showed and ckit's exit status.
ON_A_TERMINAL = """
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    cmd = "import os; print('foreground', os.tcgetpgrp(0) == os.getpgrp()); " \\
          "print('got', input('say: ')); raise SystemExit(5)"
    os.execv(sys.executable, [sys.executable, "-m", "cloudomation_kit", "lock", "job", "--",
                              sys.executable, "-c", cmd])
seen = b""
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        seen += data
        if b"say: " in seen and b"hello" not in seen:
            os.write(fd, b"hello\\n")
_, status = os.waitpid(pid, 0)
print(repr(seen.decode()), os.waitstatus_to_exitcode(status))
"""


def test_an_interactive_cmd_gets_the_terminal(env: dict[str, str]) -> None:
    result = subprocess.run(
        [PY, "-c", ON_A_TERMINAL],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=40,
        check=True,
    )
    seen, status = result.stdout.rsplit(" ", 1)
    assert "foreground True" in seen and "got hello" in seen
    assert int(status) == 5
