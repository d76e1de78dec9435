"""A child process for the reliability scenarios; it talks to the server only through the SDK.

Usage:
    python _worker.py contend URL TOKEN LABEL sync|async CYCLES LOG LOCK
        CYCLES lock-protected read-increment-write cycles on the setting LOCK, fenced by the
        lock's token; appends ``enter <token> <ns>`` / ``leave <token> <ns>`` lines to LOG
        (``time.monotonic_ns()``, one clock for every process on the machine).
    python _worker.py hold URL TOKEN LOCK LEASE_TTL
        Takes LOCK, prints ``ACQUIRED <token>``, then obeys lines on stdin:
        ``write <n>`` (fenced write, prints ``WRITE ok`` or ``WRITE refused <error>``),
        ``lost <seconds>`` (waits that long at most for the loss, prints ``LOST <bool> <reason>``),
        ``exit`` (leaves the ``with`` block, prints ``EXIT ok`` or ``EXIT <error>``).
    python _worker.py wait URL TOKEN LOCK LABEL
        Prints ``STARTED``, waits for LOCK (60 s at most), prints ``ACQUIRED <token>``, releases.

Exit status 0 on success, 2 on an unexpected error (printed as ``ERROR <type>: <message>``).
"""

from __future__ import annotations

import asyncio
import sys
import time

from cloudomation_kit import AsyncClient, Client, CloudomationError

LOCK_WAIT = 120.0


def _log_line(log, kind: str, token: int | None) -> None:
    log.write(f"{kind} {token} {time.monotonic_ns()}\n")


def contend_sync(url: str, token: str, label: str, cycles: int, log_path: str, lock: str) -> None:
    with (
        Client(url, token, execution_name=label, lease_ttl=30) as client,
        open(log_path, "a") as log,
    ):
        for _ in range(cycles):
            with client.lock(lock, timeout=LOCK_WAIT) as held:
                _log_line(log, "enter", held.token)
                value = client.settings.get(lock).value or 0
                client.settings.update(lock, value=value + 1, fence=held.token)
                _log_line(log, "leave", held.token)
            log.flush()


async def contend_async(
    url: str, token: str, label: str, cycles: int, log_path: str, lock: str
) -> None:
    async with AsyncClient(url, token, execution_name=label, lease_ttl=30) as client:
        with open(log_path, "a") as log:  # noqa: ASYNC230 (a local file, small appends)
            for _ in range(cycles):
                async with client.lock(lock, timeout=LOCK_WAIT) as held:
                    _log_line(log, "enter", held.token)
                    value = (await client.settings.get(lock)).value or 0
                    await client.settings.update(lock, value=value + 1, fence=held.token)
                    _log_line(log, "leave", held.token)
                log.flush()


def hold(url: str, token: str, lock: str, lease_ttl: float) -> None:
    with Client(url, token, execution_name="holder", lease_ttl=lease_ttl, timeout=5) as client:
        held = client.lock(lock, timeout=LOCK_WAIT)
        held.acquire()
        print(f"ACQUIRED {held.token}", flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "write":
                try:
                    client.settings.update(lock, value=int(arg), fence=held.token)
                    print("WRITE ok", flush=True)
                except CloudomationError as exc:
                    print(f"WRITE refused {type(exc).__name__}", flush=True)
            elif command == "lost":
                deadline = time.monotonic() + float(arg)
                while not held.lost and time.monotonic() < deadline:
                    time.sleep(0.02)
                print(f"LOST {held.lost} {held.lost_reason}", flush=True)
            elif command == "exit":
                try:
                    held.__exit__(None, None, None)
                    print("EXIT ok", flush=True)
                except CloudomationError as exc:
                    print(f"EXIT {type(exc).__name__}", flush=True)
                return


def wait(url: str, token: str, lock: str, label: str) -> None:
    with Client(url, token, execution_name=label) as client:
        print("STARTED", flush=True)
        with client.lock(lock, timeout=60) as held:
            print(f"ACQUIRED {held.token}", flush=True)


def main(argv: list[str]) -> int:
    command, url, token, *rest = argv
    try:
        if command == "contend":
            label, mode, cycles, log_path, lock = rest
            if mode == "sync":
                contend_sync(url, token, label, int(cycles), log_path, lock)
            else:
                asyncio.run(contend_async(url, token, label, int(cycles), log_path, lock))
        elif command == "hold":
            hold(url, token, rest[0], float(rest[1]))
        elif command == "wait":
            wait(url, token, rest[0], rest[1])
        else:
            raise SystemExit(f"unknown command {command!r}")
    except Exception as exc:
        print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
