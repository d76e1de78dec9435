"""ckit at a terminal: the questions it asks only when stdin is a terminal, on a real pty."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from cloudomation_kit.cli._common import Exit

from .conftest import CKIT


class Terminal:
    """ckit with a pseudo-terminal for stdin, stdout and stderr, as a person would run it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [*CKIT, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
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

    def start(*args: str) -> Terminal:
        made.append(Terminal(list(args), env))
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
