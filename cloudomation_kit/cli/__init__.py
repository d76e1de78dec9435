"""``ckit``: the command line of cloudomation-kit (also ``python -m cloudomation_kit``).

    ckit settings ls [--filter JSON] [--like PATTERN] [--json]
    ckit settings get NAME [--field F] [--raw]
    ckit settings set NAME VALUE | - | --file F [--description TEXT]
    ckit settings edit NAME
    ckit settings rm NAME [--yes]
    ckit lock NAME [--timeout S | --no-wait] [--lease-ttl S] [--conflict-exit-code N]
              [--kill-after S] -- CMD [ARGS...]
    ckit locks [--watch] [--json]
    ckit serve ...   ckit tui ...   ckit demo ...

The server and credentials come from ``--url``, ``--token`` and ``--profile`` (before or after the
command), else ``CLOUDOMATION_URL``, ``CLOUDOMATION_TOKEN`` and ``CLOUDOMATION_PROFILE``, else
``~/.config/cloudomation-kit/config.toml``. JSON goes to stdout (``| jq`` works); notes and errors
go to stderr, an error as one line: ``ckit: error: ...``.

Exit codes:

    0        success; ``ckit lock``: CMD ran under the lock, and its own status is passed on
    1        not found, or not done: no such setting, "no" at a prompt, the editor failed
    2        usage error: bad arguments, invalid JSON (nothing is written), ``rm`` without
             ``--yes`` when not interactive, a missing optional extra for serve/tui/demo
    3        ``ckit lock``: the lock was not acquired in time (``--conflict-exit-code`` changes it)
    4        ``ckit lock``: the lock was lost while CMD ran; CMD got SIGTERM, then SIGKILL
             after ``--kill-after`` seconds
    5        server, connection or configuration error (unreachable, token refused, 5xx,
             no URL or token configured)
    6        conflict: the setting changed meanwhile (``edit``/``rm`` with If-Match), or the
             server refused the write (409)
    126/127  ``ckit lock``: CMD cannot be executed / was not found
    128+N    ended by signal N (130 for Ctrl-C, 143 for SIGTERM), or CMD was killed by it
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

from .._constants import VERSION
from .._exceptions import CloudomationError, ConfigError
from . import _delegate, _lock, _locks, _settings
from ._common import CliError, Exit, exit_code_for

__all__ = ["Exit", "main", "parser"]

EPILOG = """\
exit codes: 0 success (ckit lock: CMD's status), 1 not found / not done, 2 usage error or invalid
JSON, 3 lock not acquired, 4 lock lost while CMD ran, 5 server/connection/config error,
6 conflict (changed meanwhile), 126/127 CMD not executable/not found, 128+N signal N.
'ckit COMMAND --help' for each command; 'ckit lock --help' has the full lock table.
"""

GLOBAL_VALUE_OPTIONS = ("--url", "--token", "--profile")
GLOBAL_FLAGS = ("-v", "--verbose")


def _add_globals(p: argparse.ArgumentParser, default: object) -> None:
    g = p.add_argument_group("server")
    g.add_argument(
        "--url", default=default, help="the server (default $CLOUDOMATION_URL, else the profile)"
    )
    g.add_argument(
        "--token", default=default, help="API token (default $CLOUDOMATION_TOKEN, else the profile)"
    )
    g.add_argument(
        "--profile",
        default=default,
        help="profile of ~/.config/cloudomation-kit/config.toml (default $CLOUDOMATION_PROFILE, "
        "else 'default')",
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log what the SDK does on stderr (-vv: every request)",
    )


def parser() -> argparse.ArgumentParser:
    """The ``ckit`` argument parser (``serve``, ``tui`` and ``demo`` only name their command)."""
    p = argparse.ArgumentParser(
        prog="ckit",
        description="Settings and locks of a Cloudomation-style server, from the shell.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ckit (cloudomation-kit) {VERSION}")
    _add_globals(p, None)
    # The same options after the command; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_globals(common, argparse.SUPPRESS)
    commands = p.add_subparsers(dest="ckit_command", metavar="COMMAND", required=True)
    _settings.add_parser(commands, common)
    _lock.add_parser(commands, common)
    _locks.add_parser(commands, common)
    _delegate.add_parsers(commands)
    return p


def _split(argv: list[str]) -> tuple[list[str], list[str] | None, str | None]:
    """``(ckit's own words, words after "--" or the delegated command, delegated command)``."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        if word in _delegate.DELEGATES:
            return argv[: i + 1], argv[i + 1 :], word
        break
    if word_index := (argv.index("--") if "--" in argv else 0):
        return argv[:word_index], argv[word_index + 1 :], None
    return argv, None, None


@contextlib.contextmanager
def _logging(verbose: int | None) -> Iterator[None]:
    """SDK log lines on stderr while a command runs (then put back as found: main() may run
    inside another program, such as a test)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ckit: %(levelname)s: %(message)s"))
    loggers = [logging.getLogger("cloudomation_kit")]
    if (verbose or 0) >= 2:
        loggers.append(logging.getLogger("httpx"))
    # Without -v the SDK's warnings (a lost lock, a failed heartbeat) stay quiet: ckit reports
    # what matters in its own words.
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose or 0, logging.DEBUG)
    saved = [(log, log.level, log.propagate) for log in loggers]
    for log in loggers:
        log.addHandler(handler)
        log.setLevel(level)
        log.propagate = False
    try:
        yield
    finally:
        for log, old_level, old_propagate in saved:
            log.removeHandler(handler)
            log.setLevel(old_level)
            log.propagate = old_propagate


def _error(message: str, code: int) -> int:
    print(f"ckit: error: {message}", file=sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run ``ckit`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    own, rest, delegated = _split(words)
    p = parser()
    try:
        args = p.parse_args(own)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else Exit.USAGE
    if rest is not None and delegated is None and not getattr(args, "takes_command", False):
        # "--" only separates CMD for ckit lock; elsewhere it is argparse's own.
        try:
            args = p.parse_args(words)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else Exit.USAGE
        rest = None
    if getattr(args, "takes_command", False):
        args.cmd = rest or []
    if delegated is not None:
        try:
            return _delegate.run(delegated, rest or [])
        except CliError as exc:
            return _error(exc.message, exc.code)
    with _logging(getattr(args, "verbose", None)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return int(handler(args))
    except CliError as exc:
        return _error(exc.message, exc.code)
    except ConfigError as exc:
        # The SDK speaks to Python callers; on the command line the arguments are options.
        message = (
            str(exc).replace("Client(url=...)", "--url").replace("Client(token=...)", "--token")
        )
        return _error(message, exit_code_for(exc))
    except CloudomationError as exc:
        return _error(str(exc), exit_code_for(exc))
    except ValueError as exc:  # the SDK's checks of its arguments (an empty name, say)
        return _error(str(exc), Exit.USAGE)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return Exit.SIGNAL_BASE + 2
    except BrokenPipeError:
        # The reader of stdout went away (| head): stop quietly, as a SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return Exit.SIGNAL_BASE + 13
