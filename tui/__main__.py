"""``python -m tui``, ``ckit tui ARGS`` and ``ckit demo ARGS`` all come through ``main``.

Where the server is, first match wins: ``--url`` / ``--token``; ``CLOUDOMATION_URL``; a profile
(``--profile``, ``CLOUDOMATION_PROFILE`` or the config file's ``[default]``). With none of them the
bundled server starts in-process on a free loopback port, on its default SQLite store. ``--demo``
starts it in memory instead, seeded with example settings and executions taking turns on locks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from cloudomation_kit import ConfigError, resolve_config

__all__ = ["main"]


@dataclass
class Target:
    url: str
    token: str | None
    label: str


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ckit tui",
        description="Browse and edit settings, watch locks and WAITING_LOCK queues.",
    )
    parser.add_argument("--url", help="server URL (default: CLOUDOMATION_URL, a profile, or "
                        "an embedded server)")  # fmt: skip
    parser.add_argument("--token", help="API token (default: CLOUDOMATION_TOKEN or the profile)")
    parser.add_argument("--profile", help="profile of the config file to use")
    parser.add_argument(
        "--read-only", action="store_true", help="no action that writes (safe for production)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start an in-memory server with example settings and busy locks",
    )
    return parser


def _configured(args: argparse.Namespace) -> bool:
    return bool(
        args.url
        or args.profile
        or os.environ.get("CLOUDOMATION_URL")
        or os.environ.get("CLOUDOMATION_PROFILE")
    )


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    """The server to talk to, starting an embedded one when nothing is configured."""
    if not args.demo:
        if _configured(args):
            config = resolve_config(url=args.url, token=args.token, profile=args.profile)
            yield Target(config.url, config.token, config.url)
            return
        try:  # the config file's [default] profile, if it names a server
            config = resolve_config(token=args.token)
        except ConfigError:
            pass
        else:
            yield Target(config.url, config.token, config.url)
            return
    from mock_server import build_backend, run_server

    token = secrets.token_urlsafe(24)
    if args.demo:
        from ._demo import DemoExecutions, seed

        with run_server(build_backend(memory=True), token=token, testing=False) as server:
            seed(server.url, server.token)
            demo = DemoExecutions(server.url, server.token)
            demo.start()
            try:
                yield Target(server.url, server.token, f"demo server (in memory) {server.url}")
            finally:
                demo.stop()
        return
    backend = build_backend()
    with run_server(backend, token=token, testing=False) as server:
        try:
            yield Target(server.url, server.token, f"embedded server (SQLite) {server.url}")
        finally:
            backend.store.close()


def main(argv: list[str] | None = None) -> int:
    """Run the TUI until the user quits; returns the exit status."""
    args = _parser().parse_args(argv)
    from .app import CkitApp

    try:
        with _target(args) as target:
            app = CkitApp(
                target.url, target.token, read_only=args.read_only, server_label=target.label
            )
            app.run()
    except ConfigError as exc:
        print(f"ckit tui: {exc}", file=sys.stderr)
        return 2
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
