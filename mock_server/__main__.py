"""``python -m mock_server``: run the bundled Cloudomation-style server."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ._http import ServerConfig
from ._locks import DEFAULT_LEASE_TTL
from ._server import build_backend, data_dir, serve
from ._store import DEFAULT_MAX_VALUE_BYTES


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mock_server",
        description="Serve Cloudomation-style settings and locks under /api/latest.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks one)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--db", type=Path, help="SQLite file (default: mock_server.sqlite3 in the user data dir)"
    )
    where.add_argument("--memory", action="store_true", help="keep everything in memory")
    p.add_argument(
        "--token",
        default=os.environ.get("CLOUDOMATION_TOKEN"),
        help="read-write token (default $CLOUDOMATION_TOKEN, else one kept in the data dir)",
    )
    p.add_argument("--read-token", help="a token that can read everything and change nothing")
    p.add_argument(
        "--user",
        default=os.environ.get("CLOUDOMATION_USER"),
        help="user name for POST /auth/login (default $CLOUDOMATION_USER)",
    )
    p.add_argument(
        "--password",
        default=os.environ.get("CLOUDOMATION_PASSWORD"),
        help="password for --user (default $CLOUDOMATION_PASSWORD)",
    )
    p.add_argument(
        "--testing",
        action="store_true",
        help="serve /api/latest/_testing/{reset,state,clock} (never in production)",
    )
    p.add_argument(
        "--max-value-bytes",
        type=int,
        default=DEFAULT_MAX_VALUE_BYTES,
        help=f"largest setting value, as JSON (default {DEFAULT_MAX_VALUE_BYTES})",
    )
    p.add_argument(
        "--lease-ttl",
        type=float,
        default=DEFAULT_LEASE_TTL,
        help=f"default execution lease in seconds (default {DEFAULT_LEASE_TTL:g})",
    )
    p.add_argument(
        "--max-wait", type=float, default=20.0, help="longest long-poll in seconds (default 20)"
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--access-log", action="store_true", help="log every request (never tokens)")
    return p


def _stored_token() -> tuple[str, Path]:
    path = data_dir() / "token"
    if path.exists():
        return path.read_text().strip(), path
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, path


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if bool(args.user) != bool(args.password):
        parser().error("--user and --password go together")
    token = args.token
    if not token:
        token, path = _stored_token()
        # Never print the token itself: point to the file that holds it.
        print(f"token: in {path} (export CLOUDOMATION_TOKEN=$(cat {path}))", file=sys.stderr)
    backend = build_backend(
        db=args.db,
        memory=args.memory,
        testing=args.testing,
        max_value_bytes=args.max_value_bytes,
        default_lease_ttl=args.lease_ttl,
    )
    where = "memory" if args.memory else str(getattr(backend.store, "path", ""))
    config = ServerConfig(
        tokens=[token],
        read_tokens=[args.read_token] if args.read_token else [],
        users={args.user: args.password} if args.user else {},
        testing=args.testing,
        max_wait=args.max_wait,
        max_body_bytes=args.max_value_bytes + 64 * 1024,
    )
    print(
        f"mock_server: http://{args.host}:{args.port}/api/latest (store: {where})", file=sys.stderr
    )
    serve(
        backend,
        config,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
