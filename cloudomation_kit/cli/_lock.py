"""``ckit lock NAME -- CMD ARGS...``: run a command while holding a lock.

Shaped like ``flock``, ``consul lock`` and ``etcdctl lock``, with the lessons of their trackers:

- no shell: CMD runs as given, so signals reach it (consul's ``-shell`` with dash did not forward
  SIGTERM);
- CMD never outlives the lock: when the lock is lost (lease expired, forced release, heartbeats
  failing for longer than the lease), CMD's whole process group gets SIGTERM, then SIGKILL after
  ``--kill-after`` seconds, and ``ckit`` exits with its own code, not CMD's;
- a signal while waiting takes the waiter out of the server's queue before ``ckit`` exits;
- the timeout is the timeout (consul #2399): the server enforces the deadline.

CMD runs in a process group of its own, so that a lock loss stops its children too. When ``ckit``
runs in the foreground of a terminal, the terminal is handed to that group while CMD runs (so an
interactive CMD can read it and gets Ctrl-C itself), and taken back afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_LEASE_TTL, DEFAULT_LOCK_TIMEOUT
from .._exceptions import CloudomationError, LockLostError, LockTimeoutError
from ._common import CliError, Exit, make_client
from ._output import LiveLine, age, duration

if TYPE_CHECKING:
    from .._client import Client
    from .._lock import SettingLock

__all__ = ["EXIT_CODES", "add_parser", "run"]

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL = 0.05

EXIT_CODES = """\
exit codes:
  0 / CMD's status  CMD ran under the lock; its own exit status is passed on
  2                 usage error (bad arguments, no CMD after --)
  3                 the lock was not acquired in time (change with --conflict-exit-code)
  4                 the lock was lost while CMD ran (lease expired, forced release, server
                    unreachable for longer than the lease); CMD got SIGTERM, then SIGKILL
                    after --kill-after seconds
  5                 server, connection or configuration error (CMD did not run)
  126, 127          CMD cannot be executed, CMD not found
  128+N             ckit or CMD ended by signal N (130 Ctrl-C, 143 SIGTERM); a signal while
                    waiting leaves the queue first

CMD's environment has CKIT_LOCK_NAME (the lock) and CKIT_LOCK_TOKEN (its fencing token).
SIGINT, SIGTERM and SIGHUP sent to ckit are forwarded to CMD's process group.
"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be a finite number >= 0: {text!r}")
    return value


def _timeout(text: str) -> float | None:
    if text.strip().lower() in ("forever", "none", "inf"):
        return None
    return _seconds(text)


def _lease(text: str) -> float:
    value = _seconds(text)
    if value < 0.5:
        raise argparse.ArgumentTypeError("the lease must be at least 0.5 seconds")
    return value


def _exit_code(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an exit code: {text!r}") from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError("an exit code is between 0 and 255")
    return value


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    p = commands.add_parser(
        "lock",
        parents=[common],
        usage="ckit lock NAME [--timeout S | --no-wait] [--lease-ttl S] "
        "[--conflict-exit-code N] [--kill-after S] -- CMD [ARGS...]",
        help="run a command while holding a lock",
        description=(
            "Acquire the lock NAME (waiting in its queue), run CMD without a shell while holding "
            "it, release it when CMD ends. If the lock is lost while CMD runs, CMD is stopped."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="the lock (a setting name; created if missing)")
    p.add_argument("words_without_dashes", nargs="*", help=argparse.SUPPRESS)
    wait = p.add_mutually_exclusive_group()
    wait.add_argument(
        "--timeout",
        "-w",
        type=_timeout,
        default=DEFAULT_LOCK_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the lock (default {DEFAULT_LOCK_TIMEOUT:g}; 'forever' waits "
        "forever; 0 tries once)",
    )
    wait.add_argument(
        "--no-wait", "-n", action="store_true", help="fail at once if the lock is busy"
    )
    p.add_argument(
        "--lease-ttl",
        type=_lease,
        default=DEFAULT_LEASE_TTL,
        metavar="S",
        help=f"lease kept alive by heartbeats every S/3 s; if they stop for S seconds the lock "
        f"is lost (default {DEFAULT_LEASE_TTL:g})",
    )
    p.add_argument(
        "--conflict-exit-code",
        "-E",
        type=_exit_code,
        default=int(Exit.NOT_ACQUIRED),
        metavar="N",
        help=f"exit code when the lock is not acquired (default {int(Exit.NOT_ACQUIRED)})",
    )
    p.add_argument(
        "--kill-after",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="after a lock loss, seconds between SIGTERM and SIGKILL (default 5)",
    )
    p.set_defaults(handler=run, takes_command=True)


# -- signals -------------------------------------------------------------------------------------


class Signalled(BaseException):
    """A signal arrived while waiting for the lock (a BaseException, like KeyboardInterrupt, so
    that the SDK leaves the queue before it propagates)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SignalRouter:
    """SIGINT, SIGTERM and SIGHUP: raise while waiting, forward to CMD while it runs."""

    def __init__(self) -> None:
        self.mode = "raise"
        self.pgid: int | None = None
        self.pending: list[int] = []
        """Signals noted in ``record`` mode, for CMD once it runs."""
        self._previous: dict[int, Any] = {}

    @contextlib.contextmanager
    def installed(self) -> Iterator[SignalRouter]:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for number, handler in self._previous.items():
                signal.signal(number, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.mode == "record":
            self.pending.append(signum)
        if self.mode == "raise":
            self.mode = "record"  # once: a second signal must not interrupt leaving the queue
            raise Signalled(signum)
        if self.mode == "forward" and self.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signum)


# -- the terminal --------------------------------------------------------------------------------


class Terminal:
    """Hands the controlling terminal's foreground to CMD's group, and takes it back."""

    def __init__(self) -> None:
        self.fd: int | None = None
        try:
            fd = sys.stdin.fileno()
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                self.fd = fd
        except (OSError, ValueError, AttributeError):
            self.fd = None

    def give(self, pgid: int) -> None:
        if self.fd is None:
            return
        try:
            os.tcsetpgrp(self.fd, pgid)
            # CMD may have touched the terminal before it was its own, and been stopped for it.
            os.killpg(pgid, signal.SIGCONT)
        except OSError:
            self.fd = None

    def take_back(self) -> None:
        if self.fd is None:
            return
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(self.fd, os.getpgrp())
        except OSError:
            pass
        finally:
            signal.signal(signal.SIGTTOU, previous)


# -- the command ---------------------------------------------------------------------------------


def _note(message: str) -> None:
    print(f"ckit: {message}", file=sys.stderr, flush=True)


def _execution_name(cmd: list[str]) -> str:
    return f"ckit:{Path(cmd[0]).name}@{socket.gethostname()}:{os.getpid()}"


def _status(returncode: int) -> int:
    return returncode if returncode >= 0 else Exit.SIGNAL_BASE - returncode


def run(args: argparse.Namespace) -> int:
    cmd: list[str] = args.cmd
    if not cmd:
        hint = " (put it after --)" if args.words_without_dashes else ""
        raise CliError(f"no command{hint}: ckit lock NAME [OPTIONS] -- CMD [ARGS...]", Exit.USAGE)
    router = SignalRouter()
    lost = threading.Event()
    with router.installed():
        try:
            client = make_client(
                args, lease_ttl=args.lease_ttl, execution_name=_execution_name(cmd)
            )
        except Signalled as sig:
            return Exit.SIGNAL_BASE + sig.signum
        ended: tuple[Any, str | None] = ("ENDED_ERROR", "ckit lock did not finish")
        try:
            lock = client.lock(args.name, timeout=args.timeout, on_lost=lambda _lock: lost.set())
            if not _acquire(client, lock, args):
                ended = ("ENDED_SUCCESS", "lock not acquired")
                return int(args.conflict_exit_code)
            # From here a signal must not unwind past a running CMD: note it, CMD gets it.
            router.mode, router.pending = "record", []
            code = _run_command(cmd, lock, args, router, lost)
            ended = ("ENDED_SUCCESS" if code == 0 else "ENDED_ERROR", f"ckit lock: exit {code}")
            return code
        except Signalled as sig:
            ended = ("ENDED_CANCELLED", f"signal {sig.signum}")
            return Exit.SIGNAL_BASE + sig.signum
        except CliError as exc:
            ended = ("ENDED_ERROR", f"ckit lock: {exc.message}"[:2000])
            raise
        finally:
            router.mode = "record"
            client.close(*ended)


def _acquire(client: Client, lock: SettingLock, args: argparse.Namespace) -> bool:
    """Wait for the lock; a live line on a terminal; ``False`` when not acquired in time."""
    started = time.monotonic()
    line = LiveLine(lambda: _waiting_line(client, lock, args.timeout, started), sys.stderr)
    line.start()
    try:
        acquired = lock.acquire(blocking=not args.no_wait)
    except LockTimeoutError:
        acquired = False
    finally:
        line.stop()
    if not acquired:
        waited = "" if args.no_wait else f" within {args.timeout:g} s"
        _note(f"lock {lock.name!r} not acquired{waited}{_holder_text(client, lock.name)}")
    return acquired


def _holder_text(client: Client, name: str) -> str:
    try:
        holder = client.locks.get(name).holder
    except CloudomationError:
        return ""
    if holder is None:
        return ""
    return f"; held by {holder.execution_name} for {age(holder.acquired_at)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _waiting_line(client: Client, lock: SettingLock, timeout: float | None, started: float) -> str:
    state = client.locks.get(lock.name)
    waited = duration(time.monotonic() - started)
    limit = "" if timeout is None else f" of {timeout:g}s"
    text = f"ckit: waiting for lock {lock.name!r} ({waited}{limit})"
    mine = [w for w in state.waiters if w.execution_id == client.execution_id]
    if mine:
        text += f", {_ordinal(mine[0].position)} of {len(state.waiters)} in the queue"
    if state.holder is not None:
        text += f"; held by {state.holder.execution_name} for {age(state.holder.acquired_at)}"
    return text


def _run_command(
    cmd: list[str],
    lock: SettingLock,
    args: argparse.Namespace,
    router: SignalRouter,
    lost: threading.Event,
) -> int:
    env = {**os.environ, "CKIT_LOCK_NAME": lock.name, "CKIT_LOCK_TOKEN": str(lock.token)}
    terminal = Terminal()
    if router.pending:
        _release(lock)
        return Exit.SIGNAL_BASE + router.pending[0]
    try:
        proc = subprocess.Popen(cmd, env=env, process_group=0)
    except FileNotFoundError:
        _release(lock)
        raise CliError(f"command not found: {cmd[0]}", Exit.COMMAND_NOT_FOUND) from None
    except OSError as exc:
        _release(lock)
        raise CliError(
            f"cannot execute {cmd[0]}: {exc.strerror or exc}", Exit.CANNOT_EXECUTE
        ) from None
    router.pgid, router.mode = proc.pid, "forward"
    # A signal that came while CMD was being started must not be lost.
    for signum in router.pending:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
    terminal.give(proc.pid)
    try:
        returncode, stopped_by = _supervise(proc, lock, lost, args.kill_after)
    finally:
        router.mode = "record"
        terminal.take_back()
    if stopped_by is None:
        try:
            _release(lock)
        except LockLostError as exc:
            raise CliError(
                f"{exc}; CMD exited with status {_status(returncode)}", Exit.LOCK_LOST
            ) from exc
        if not lock.lost:
            return _status(returncode)
        raise CliError(
            f"lock {lock.name!r} was lost before it was released ({lock.lost_reason}); "
            f"CMD had exited with status {_status(returncode)}",
            Exit.LOCK_LOST,
        )
    raise CliError(
        f"lock {lock.name!r} was lost while CMD ran ({lock.lost_reason}); "
        f"CMD was stopped by {stopped_by}",
        Exit.LOCK_LOST,
    )


def _release(lock: SettingLock) -> None:
    """Release after CMD; a server that cannot be reached is a warning (the lease runs out)."""
    try:
        lock.release()
    except LockLostError:
        raise
    except CloudomationError as exc:
        _note(
            f"warning: could not release lock {lock.name!r} ({exc}); it frees when its lease "
            "runs out"
        )


def _supervise(
    proc: subprocess.Popen[bytes], lock: SettingLock, lost: threading.Event, kill_after: float
) -> tuple[int, str | None]:
    """Wait for CMD; on a lock loss, SIGTERM its group, then SIGKILL after ``kill_after`` s.

    Returns CMD's return code and, when it had to be stopped, the signal that stopped it.
    """
    term_at: float | None = None
    stopped_by: str | None = None
    returncode: int | None = None
    while True:
        if returncode is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                returncode = proc.wait(timeout=POLL)
        if term_at is None and (lost.is_set() or lock.lost):
            _note(f"lock {lock.name!r} lost ({lock.lost_reason}); sending SIGTERM to CMD")
            _signal_group(proc.pid, signal.SIGTERM)
            term_at, stopped_by = time.monotonic(), "SIGTERM"
        if term_at is None:
            if returncode is not None:
                return returncode, None
            continue
        # After a loss nothing of CMD may outlive the grace period: not CMD, not its children.
        if not _group_alive(proc.pid) and returncode is not None:
            return returncode, stopped_by
        if time.monotonic() - term_at >= kill_after:
            if _group_alive(proc.pid):
                _note(f"CMD still running {kill_after:g} s after SIGTERM; sending SIGKILL")
                _signal_group(proc.pid, signal.SIGKILL)
                stopped_by = "SIGKILL"
            if returncode is None:
                returncode = proc.wait()
            return returncode, stopped_by
        if returncode is not None:
            time.sleep(POLL)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
