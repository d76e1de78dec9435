"""``ckit locks [--watch] [--json]``: who holds which lock, and who waits for it."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ._common import Exit, make_client
from ._output import age, dump_json, is_terminal, print_json, table, until

if TYPE_CHECKING:
    from .._models import Lock

__all__ = ["add_parser", "render"]

CLEAR = "\x1b[H\x1b[2J"


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    p = commands.add_parser(
        "locks",
        parents=[common],
        help="show held and contended locks",
        description=(
            "Show every lock that is held or waited for: the holder (execution, fencing token, "
            "held since, lease left) and the queue (position, execution, waiting since, deadline)."
        ),
    )
    p.add_argument("--watch", "-w", action="store_true", help="redraw every second until Ctrl-C")
    p.add_argument(
        "--json", action="store_true", help="print JSON (with --watch: one line per refresh)"
    )
    p.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="--watch refresh (default 1 s)"
    )
    p.set_defaults(handler=cmd_locks)


def render(locks: list[Lock], now: datetime | None = None) -> str:
    """The locks as a table; each lock's waiters on indented lines under it."""
    now = now or datetime.now(UTC)
    if not locks:
        return "No lock is held or waited for."
    rows: list[list[str]] = []
    for lock in sorted(locks, key=lambda item: item.name):
        holder = lock.holder
        if holder is None:
            rows.append([lock.name, "(free)", "", "", "", f"{len(lock.waiters)} waiting"])
        else:
            rows.append(
                [
                    lock.name,
                    holder.execution_name,
                    str(holder.token),
                    f"{age(holder.acquired_at, now)} ago",
                    until(holder.lease_expires_at, now),
                    f"{len(lock.waiters)} waiting" if lock.waiters else "",
                ]
            )
        for waiter in sorted(lock.waiters, key=lambda item: item.position):
            rows.append(
                [
                    f"  #{waiter.position}",
                    waiter.execution_name,
                    "",
                    f"{age(waiter.waiting_since, now)} ago",
                    "",
                    f"deadline {until(waiter.deadline, now)}"
                    if waiter.deadline is not None
                    else "waits forever",
                ]
            )
    headers = ["LOCK", "HOLDER / WAITER", "TOKEN", "SINCE", "LEASE LEFT", "QUEUE"]
    return table(headers, rows, stretch=1)


def cmd_locks(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        if not args.watch:
            locks = client.locks.list()
            if args.json:
                print_json([lock.model_dump(mode="json") for lock in locks])
            else:
                print(render(locks))
            return Exit.OK
        redraw = is_terminal(sys.stdout) and not args.json
        try:
            while True:
                locks = client.locks.list()
                if args.json:
                    text = dump_json([lock.model_dump(mode="json") for lock in locks], compact=True)
                else:
                    stamp = datetime.now().strftime("%H:%M:%S")
                    text = f"{render(locks)}\n\n{stamp}  refreshing every {args.interval:g} s"
                    text += ", Ctrl-C to stop" if redraw else "\n"
                sys.stdout.write((CLEAR if redraw else "") + text + "\n")
                sys.stdout.flush()
                time.sleep(max(0.1, args.interval))
        except KeyboardInterrupt:
            return Exit.OK
