"""A contending process: ``python -m benchmarks._worker '<json config>'``.

It opens one client per thread (one client is one execution, so threads never share one), warms
each up, prints ``ready``, then for every command line on stdin runs one measured run in all its
threads and prints one JSON line of records. Times are ``time.monotonic()`` (CLOCK_MONOTONIC, the
same clock in every process on Linux), so the parent can merge the records of all processes.

Config: ``backend`` ("kit" or "redis"), ``workload`` ("handoff" or "contention"), ``threads``,
``lock`` (the lock's name), and ``url``/``token`` (kit) or ``port`` (redis).
Command: ``{"start": t, "end": t, "ops": n, "hold": s}``: begin at monotonic ``start``; stop
acquiring after ``end`` or ``ops`` acquisitions per thread, whichever comes first.

Records: handoff ``[called, acquired, released]`` per acquisition (the acquire call, its return,
the release call); contention ``[acquired, released]`` plus each thread's finishing time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

ACQUIRE_TIMEOUT = 30
"""Seconds any one acquisition may wait: a stuck run fails instead of hanging the suite."""


class KitContender:
    """One ``cloudomation_kit.Client`` and its lock."""

    def __init__(self, cfg: dict[str, Any], index: int) -> None:
        from cloudomation_kit import Client

        name = f"bench-{cfg['workload']}-{index}"
        self.client = Client(cfg["url"], cfg["token"], lease_ttl=60, execution_name=name)
        self.lock = self.client.lock(cfg["lock"], timeout=ACQUIRE_TIMEOUT)

    def acquire(self) -> None:
        self.lock.acquire()

    def release(self) -> None:
        self.lock.release()

    def increment(self) -> None:
        """Read-increment-write of the lock's own setting, fenced with the lock's token."""
        settings = self.client.settings
        value = int(settings.get(self.lock.name).value)  # type: ignore[arg-type]
        settings.update(self.lock.name, value=value + 1, fence=self.lock.token)

    def close(self) -> None:
        self.client.close()


class RedisContender:
    """One ``redis.Redis`` connection and a python-redis-lock ``Lock``."""

    def __init__(self, cfg: dict[str, Any], index: int) -> None:
        import redis
        import redis_lock

        self.conn = redis.Redis(host="127.0.0.1", port=cfg["port"])
        self.counter = f"counter:{cfg['lock']}"
        self.lock = redis_lock.Lock(self.conn, cfg["lock"])

    def acquire(self) -> None:
        if not self.lock.acquire(timeout=ACQUIRE_TIMEOUT):
            raise TimeoutError(f"no lock within {ACQUIRE_TIMEOUT} s")

    def release(self) -> None:
        self.lock.release()

    def increment(self) -> None:
        value = int(self.conn.get(self.counter) or 0)
        self.conn.set(self.counter, value + 1)

    def close(self) -> None:
        self.conn.close()


def handoff(c: KitContender | RedisContender, cmd: dict[str, Any], out: dict[str, Any]) -> None:
    records, hold = out.setdefault("records", []), cmd["hold"]
    for _ in range(cmd["ops"]):
        if time.monotonic() >= cmd["end"]:
            break
        called = time.monotonic()
        c.acquire()
        acquired = time.monotonic()
        if hold:
            time.sleep(hold)
        released = time.monotonic()
        c.release()
        records.append([called, acquired, released])


def contention(c: KitContender | RedisContender, cmd: dict[str, Any], out: dict[str, Any]) -> None:
    records = out.setdefault("records", [])
    for _ in range(cmd["ops"]):
        if time.monotonic() >= cmd["end"]:
            break
        c.acquire()
        acquired = time.monotonic()
        try:
            c.increment()
        finally:
            released = time.monotonic()
            c.release()
        records.append([acquired, released])
    out.setdefault("finished", []).append(time.monotonic())


def run(contenders: list[Any], job: Callable[..., None], cmd: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"errors": []}
    mutex = threading.Lock()

    def thread(c: Any) -> None:
        mine: dict[str, Any] = {}
        delay = cmd["start"] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            job(c, cmd, mine)
        except Exception as exc:
            mine.setdefault("errors", []).append(f"{type(exc).__name__}: {exc}")
        with mutex:
            for key, values in mine.items():
                out.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=thread, args=(c,)) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main(cfg: dict[str, Any]) -> None:
    kind = KitContender if cfg["backend"] == "kit" else RedisContender
    job = handoff if cfg["workload"] == "handoff" else contention
    contenders = [kind(cfg, cfg["first"] + i) for i in range(cfg["threads"])]
    try:
        for c in contenders:  # warm up: the execution exists and the connection is open
            c.acquire()
            c.release()
        print("ready", flush=True)
        for line in sys.stdin:
            if not line.strip() or line.strip() == "quit":
                break
            print(json.dumps(run(contenders, job, json.loads(line))), flush=True)
    finally:
        for c in contenders:
            c.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
