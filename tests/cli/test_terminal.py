"""ckit at a terminal: the questions it asks only when stdin is a terminal, on a real pty."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudomation_kit.cli._common import Exit
from cloudomation_kit.cli._locks import CLEAR

from .conftest import CKIT


class Terminal:
    """ckit with a pseudo-terminal for stdin, stdout and stderr, as a person would run it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [*CKIT, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            start_new_session=True,
            # The pty becomes ckit's controlling terminal, so Ctrl-C typed into it is a SIGINT.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"no {text!r} on the terminal; saw {self.seen!r}"
            readable, _, _ = select.select([self.master], [], [], 0.1)
            if readable:
                self._read()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 30) -> int:
        status = self.proc.wait(timeout)
        while select.select([self.master], [], [], 0)[0] and self._read():
            pass
        os.close(self.master)
        return status

    def _read(self) -> bool:
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the other side is closed
            return False
        self.seen += chunk
        return bool(chunk)


@pytest.fixture
def terminal(env: dict[str, str]) -> Iterator[Callable[..., Terminal]]:
    made: list[Terminal] = []

    def start(*args: str, extra_env: dict[str, str] | None = None) -> Terminal:
        made.append(Terminal(list(args), {**env, **(extra_env or {})}))
        return made[-1]

    yield start
    for t in made:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait(10)


def test_rm_asks_and_deletes_on_yes(terminal, api):
    api.post("/setting", json={"name": "doomed", "value": {"a": 1}})
    t = terminal("settings", "rm", "doomed")
    t.expect("Delete setting 'doomed' (version 1")
    t.expect("[y/N]")
    t.type("y\n")
    assert t.finish() == Exit.OK
    assert api.get("/setting/doomed", params={"by": "name"}).status_code == 404


def test_rm_keeps_the_setting_on_enter(terminal, api):
    api.post("/setting", json={"name": "kept", "value": 1})
    t = terminal("settings", "rm", "kept")
    t.expect("[y/N]")
    t.type("\n")  # the default is no
    assert t.finish() == Exit.NOT_DONE
    assert b"not deleted" in t.seen
    assert api.get("/setting/kept", params={"by": "name"}).status_code == 200


def test_rm_refuses_to_delete_what_changed_while_it_asked(terminal, api):
    api.post("/setting", json={"name": "moving", "value": 1})
    t = terminal("settings", "rm", "moving")
    t.expect("[y/N]")
    api.patch("/setting/moving", params={"by": "name"}, json={"value": 2})
    t.type("yes\n")
    assert t.finish() == Exit.CONFLICT
    assert b"changed since it was read; not deleted" in t.seen
    assert api.get("/setting/moving", params={"by": "name"}).json()["setting"]["value"] == 2


# A fake $EDITOR that writes the next of $EDIT_TEXTS at each call (counted in $EDIT_COUNT).
EDITOR = """
import json, os, pathlib, sys
count = pathlib.Path(os.environ["EDIT_COUNT"])
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
texts = json.loads(os.environ["EDIT_TEXTS"])
pathlib.Path(sys.argv[-1]).write_text(texts[min(n, len(texts) - 1)])
"""


def _editor(tmp_path: Path, *texts: str) -> dict[str, str]:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return {
        "EDITOR": f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}",
        "EDIT_COUNT": str(tmp_path / "count"),
        "EDIT_TEXTS": json.dumps(list(texts)),
    }


def test_edit_offers_the_editor_again_while_the_text_is_not_json(terminal, api, tmp_path):
    api.post("/setting", json={"name": "cfg", "value": {"a": 1}})
    env = _editor(tmp_path, '{"a": 2,,}', '{"a": 2}')
    t = terminal("settings", "edit", "cfg", extra_env=env)
    t.expect("not valid JSON: line 1, column 9")  # where the JSON breaks
    t.expect("Edit again? [Y/n]")
    t.type("\n")  # the default is yes
    assert t.finish() == Exit.OK
    assert b"updated setting 'cfg' (version 1 -> 2)" in t.seen
    assert (tmp_path / "count").read_text() == "2"
    assert api.get("/setting/cfg", params={"by": "name"}).json()["setting"]["value"] == {"a": 2}


def test_edit_given_up_keeps_the_text_and_writes_nothing(terminal, api, tmp_path):
    api.post("/setting", json={"name": "cfg", "value": {"a": 1}})
    t = terminal("settings", "edit", "cfg", extra_env=_editor(tmp_path, '{"a": oops}'))
    t.expect("Edit again? [Y/n]")
    t.type("n\n")
    assert t.finish() == Exit.NOT_DONE
    kept = re.search(rb"your text is in (\S+?\.json)", t.seen)
    assert kept is not None, t.seen
    assert Path(kept.group(1).decode()).read_text() == '{"a": oops}'
    Path(kept.group(1).decode()).unlink()
    assert api.get("/setting/cfg", params={"by": "name"}).json()["setting"]["version"] == 1


def test_locks_watch_redraws_the_queue_in_place_until_ctrl_c(terminal, api):
    t = terminal("locks", "--watch", "--interval", "0.2")
    t.expect("Ctrl-C to stop")
    ex = api.post("/execution", json={"name": "deploy.py@ci", "lease_ttl": 60}).json()
    api.post("/lock/acquire", json={"name": "cloud-vm-lock", "execution_id": ex["execution"]["id"]})
    t.expect("deploy.py@ci")  # the next redraw shows the holder
    assert t.seen.count(CLEAR.encode()) >= 2  # each refresh clears the screen first
    t.type("\x03")  # Ctrl-C, as the terminal sends it
    assert t.finish() == Exit.OK
