"""Fault scenarios shared by ``tests/reliability`` and ``scripts/chaos.py``.

Each scenario runs against a real server (a child process, ``ServerProcess``), injects its faults
(SIGKILL, SIGSTOP, a cut network, a killed server), and returns a ``Tally``: how many operations
ran, how many faults were injected, what was measured, and every violation of the lock's promises
it saw, as readable sentences. The tests assert that the list is empty (and on the measurements);
the chaos script runs the same code with bigger numbers, in a loop.

Every wait here is bounded in time, every loop in count or time: a scenario that would hang
reports a violation instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cloudomation_kit import (
    AsyncClient,
    Client,
    CloudomationError,
    FencingTokenError,
    LockLostError,
)

__all__ = [
    "WORKER",
    "Child",
    "CutProxy",
    "ServerProcess",
    "Tally",
    "contention",
    "free_port",
    "holder_partitioned",
    "holder_sigkill",
    "holder_sigstop",
    "server_sigkill",
    "wait_until",
]

WORKER = Path(__file__).with_name("_worker.py")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; ``AssertionError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Tally:
    """What one scenario did and found."""

    name: str
    operations: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def check(self, ok: bool, text: str) -> bool:
        if not ok:
            self.violations.append(text)
        return ok


# -- the server and child processes ---------------------------------------------------------------


@dataclass
class ServerProcess:
    """``python -m mock_server`` in a child process that can be killed and restarted.

    It keeps its port across restarts, so clients reconnect to the same URL; its output (logs)
    goes to ``log`` and accumulates over restarts.
    """

    db: Path | None
    """SQLite file; ``None`` serves from memory."""
    log: Path
    token: str = "reliability-token"
    read_token: str | None = None
    lease_ttl: float | None = None
    log_level: str = "warning"
    extra: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/api/latest"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.port = self.port or free_port()
        args = [sys.executable, "-m", "mock_server", "--port", str(self.port)]
        args += ["--db", str(self.db)] if self.db is not None else ["--memory"]
        args += ["--token", self.token, "--testing", "--log-level", self.log_level]
        if self.read_token:
            args += ["--read-token", self.read_token]
        if self.lease_ttl is not None:
            args += ["--lease-ttl", str(self.lease_ttl)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [*args, *self.extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(f"{self.url}/alive", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the server did not start within {timeout} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kib(self) -> int:
        """The server's resident memory, from ``/proc`` (0 where there is none)."""
        assert self.proc is not None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def api(self, timeout: float = 10.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": self.token}, timeout=timeout
        )

    def reset(self) -> None:
        with self.api() as api:
            api.post("/_testing/reset").raise_for_status()


class Child:
    """A worker process (``_worker.py``) whose stdout lines can be awaited with a bound."""

    def __init__(self, *args: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line starting {prefix!r} in {timeout} s; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    made: list[Child] = []
    try:
        yield made
    finally:
        for child in made:
            child.kill()


# -- a network that can go away ---------------------------------------------------------------


class CutProxy:
    """A TCP proxy on loopback in front of the server; ``cut()`` makes the network go away.

    After the cut nothing passes in either direction, on open connections or new ones, and
    nothing is closed either: the client sees silence, as behind a dead switch, not a refusal.
    ``heal()`` lets new connections through again (the silenced ones stay dead).
    """

    def __init__(self, port: int) -> None:
        self.target = (HOST, port)
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._silenced: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/api/latest"

    def cut(self) -> None:
        self._cut.set()

    def heal(self) -> None:
        with self._lock:
            self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()
        with self._lock:
            for sock in self._silenced:
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self._cut.is_set():
                with self._lock:
                    self._silenced.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for src, dst in ((client, upstream), (upstream, client)):
                pump = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                pump.start()
                self._threads.append(pump)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.1)
        silenced = False
        try:
            while not self._closed.is_set():
                try:
                    data = src.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                if self._cut.is_set() or silenced:
                    silenced = True  # a connection cut once stays dead
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            if not silenced:
                for sock in (src, dst):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            else:
                with self._lock:
                    self._silenced += [src, dst]


# -- mutual exclusion under contention --------------------------------------------------------


def contention(
    server: ServerProcess, workdir: Path, *, processes: int = 16, cycles: int = 25
) -> Tally:
    """``processes`` workers (half sync ``Client``, half ``AsyncClient``) each run ``cycles``
    fenced read-increment-write cycles on one counter; the count must be exact and the
    enter/leave log must show no overlap and tokens growing in the order of entry."""
    tally = Tally("contention")
    lock = f"counter-{time.monotonic_ns()}"
    logs = [workdir / f"{lock}-{i}.log" for i in range(processes)]
    with server.api() as api:
        api.post("/setting", json={"name": lock, "value": 0}).raise_for_status()
    with children() as made:
        for i in range(processes):
            mode = "sync" if i % 2 == 0 else "async"
            made.append(
                Child(
                    "contend", server.url, server.token, f"{mode}-{i}", mode, cycles, logs[i], lock
                )
            )
        for i, child in enumerate(made):
            try:
                code = child.wait(timeout=240)
            except subprocess.TimeoutExpired:
                tally.violation(f"worker {i} did not finish within 240 s (hung?)")
                continue
            if code != 0:
                tally.violation(f"worker {i} failed ({code}): {list(child.lines.queue)[-3:]}")
    with server.api() as api:
        final = api.get(f"/setting/{lock}", params={"by": "name"}).json()["setting"]["value"]
    tally.operations = processes * cycles
    tally.check(
        final == processes * cycles, f"counter is {final}, expected {processes * cycles} (lost)"
    )
    tally.violations += check_exclusion_log(logs, processes * cycles)
    tally.measured["final"] = final
    return tally


def check_exclusion_log(logs: list[Path], expected: int) -> list[str]:
    """The enter/leave log: every token enters once and leaves once; sorted by entry, each
    holder left before the next entered, and the tokens grow in the order of entry."""
    problems: list[str] = []
    spans: dict[int, dict[str, int]] = {}
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            kind, token, at = line.split()
            span = spans.setdefault(int(token), {})
            if kind in span:
                problems.append(f"token {token} logged {kind} twice: a token was issued twice")
            span[kind] = int(at)
    if len(spans) != expected:
        problems.append(f"{len(spans)} critical sections logged, expected {expected}")
    complete = [(s["enter"], s["leave"], t) for t, s in spans.items() if len(s) == 2]
    if len(complete) != len(spans):
        problems.append(f"{len(spans) - len(complete)} critical sections never left")
    complete.sort()
    for (_, leave_a, token_a), (enter_b, _, token_b) in itertools.pairwise(complete):
        if enter_b < leave_a:
            problems.append(f"token {token_b} entered before token {token_a} left: overlap")
        if token_b <= token_a:
            problems.append(f"token {token_b} entered after token {token_a}: token order")
    return problems[:20]


# -- holder death -----------------------------------------------------------------------------


class _Waiter:
    """A client in a thread of this process that waits for a lock and records when it enters."""

    def __init__(self, url: str, token: str, lock: str, timeout: float = 30.0) -> None:
        self.client = Client(url, token, execution_name="next-waiter", lease_ttl=30)
        self.lock = self.client.lock(lock, timeout=timeout)
        self.entered_at: float | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.lock.acquire()
            self.entered_at = time.monotonic()
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def close(self) -> None:
        with contextlib.suppress(CloudomationError):
            self.lock.release()
        self.client.close()


def _queued(server: ServerProcess, lock: str, count: int = 1) -> bool:
    with server.api() as api:
        r = api.get(f"/lock/{lock}")
        return r.status_code == 200 and len(r.json()["lock"]["waiters"]) >= count


def _check_handoff(tally: Tally, waiter: _Waiter, faulted_at: float, lease_ttl: float) -> None:
    bound = lease_ttl + lease_ttl / 3  # the lease plus one heartbeat interval
    if not tally.check(waiter.join(bound + 10), "the next waiter never entered (hung?)"):
        return
    if waiter.error is not None or waiter.entered_at is None:
        tally.violation(f"the next waiter failed: {waiter.error!r}")
        return
    took = waiter.entered_at - faulted_at
    tally.measured["handoff_s"] = round(took, 3)
    tally.check(
        took <= bound, f"the next waiter entered {took:.3f} s after the fault (bound {bound:.3f} s)"
    )


def holder_sigkill(server: ServerProcess, *, lease_ttl: float = 1.5) -> Tally:
    """A holder process is SIGKILLed: its lease runs out and the next waiter enters in time."""
    tally = Tally("holder-sigkill")
    lock = f"kill-{time.monotonic_ns()}"
    with children() as made:
        holder = Child("hold", server.url, server.token, lock, lease_ttl)
        made.append(holder)
        holder.expect("ACQUIRED")
        waiter = _Waiter(server.url, server.token, lock)
        try:
            wait_until(lambda: _queued(server, lock), 10, "the waiter in the queue")
            faulted_at = time.monotonic()
            holder.proc.kill()
            tally.faults += 1
            _check_handoff(tally, waiter, faulted_at, lease_ttl)
            tally.operations += 2
        finally:
            waiter.close()
    return tally


def holder_sigstop(server: ServerProcess, *, lease_ttl: float = 1.5) -> Tally:
    """A holder is stopped past its lease, then continued: the next waiter entered meanwhile,
    the old holder's fenced write is refused and its lock object reports the loss."""
    tally = Tally("holder-sigstop")
    lock = f"stop-{time.monotonic_ns()}"
    with children() as made:
        holder = Child("hold", server.url, server.token, lock, lease_ttl)
        made.append(holder)
        holder.expect("ACQUIRED")
        waiter = _Waiter(server.url, server.token, lock)
        try:
            wait_until(lambda: _queued(server, lock), 10, "the waiter in the queue")
            faulted_at = time.monotonic()
            holder.signal(signal.SIGSTOP)
            tally.faults += 1
            _check_handoff(tally, waiter, faulted_at, lease_ttl)
            if waiter.lock.token is not None:
                waiter.client.settings.update(lock, value="new holder", fence=waiter.lock.token)
            holder.signal(signal.SIGCONT)
            holder.send("write 666")
            refused = holder.expect("WRITE")
            tally.check(
                refused == "WRITE refused FencingTokenError",
                f"the stale holder's fenced write: {refused!r}, expected FencingTokenError",
            )
            # The heartbeat thread wakes at once after SIGCONT; allow it one interval and one
            # request to hear the verdict.
            holder.send(f"lost {lease_ttl / 3 + 5}")
            lost = holder.expect("LOST")
            tally.check(lost.startswith("LOST True"), f"the stale holder's lock says {lost!r}")
            holder.send("exit")
            leaving = holder.expect("EXIT")
            tally.check(
                leaving == "EXIT LockLostError",
                f"leaving the stale holder's block: {leaving!r}, expected LockLostError",
            )
            value = waiter.client.settings.get(lock).value
            tally.check(value == "new holder", f"the stale holder's write landed: {value!r}")
            tally.operations += 5
        finally:
            waiter.close()
    return tally


def holder_partitioned(server: ServerProcess, *, lease_ttl: float = 1.5) -> Tally:
    """The holder's network goes away (a proxy that falls silent): the next waiter enters in time,
    the holder's lock reports the loss while still cut off, and once the network is back the
    holder's fenced write is refused and its ``with`` block ends in ``LockLostError``."""
    tally = Tally("holder-partitioned")
    lock = f"cut-{time.monotonic_ns()}"
    proxy = CutProxy(server.port)
    holder_client = Client(
        proxy.url, server.token, execution_name="cut-off", lease_ttl=lease_ttl, timeout=3
    )
    lost_at: list[float] = []
    held = holder_client.lock(lock, timeout=10, on_lost=lambda _: lost_at.append(time.monotonic()))
    try:
        held.acquire()
        waiter = _Waiter(server.url, server.token, lock)
        try:
            wait_until(lambda: _queued(server, lock), 10, "the waiter in the queue")
            faulted_at = time.monotonic()
            proxy.cut()
            tally.faults += 1
            _check_handoff(tally, waiter, faulted_at, lease_ttl)
            # The client hears nothing; it gives the lock up when no heartbeat got through for a
            # lease (each failed heartbeat takes up to its request timeout, max(1, interval)).
            interval = lease_ttl / 3
            bound = lease_ttl + 2 * (interval + max(1.0, interval))
            with contextlib.suppress(AssertionError):
                wait_until(lambda: held.lost, bound + 5, "the cut-off holder to notice")
            if tally.check(held.lost, "the cut-off holder never learned it lost the lock"):
                tally.measured["holder_noticed_s"] = round(lost_at[0] - faulted_at, 3)
                tally.check(
                    lost_at[0] - faulted_at <= bound,
                    f"the cut-off holder noticed after {lost_at[0] - faulted_at:.3f} s "
                    f"(bound {bound:.3f} s)",
                )
            proxy.heal()
            try:
                holder_client.settings.update(lock, value="stale", fence=held.token)
                tally.violation("the cut-off holder's fenced write was accepted")
            except FencingTokenError:
                pass
            except CloudomationError as exc:
                tally.violation(f"the cut-off holder's fenced write: {exc!r}")
            try:
                held.__exit__(None, None, None)
                tally.violation("the cut-off holder left its block without LockLostError")
            except LockLostError:
                pass
            tally.operations += 4
        finally:
            waiter.close()
    finally:
        holder_client.close()
        proxy.close()
    return tally


# -- server death -----------------------------------------------------------------------------

_CLEAR = (CloudomationError,)
"""What a client may raise while the server is dead: the SDK's own errors, nothing rawer."""


def pad(seq: int) -> str:
    return f"{seq:08d}" * 64


@dataclass
class _Writer:
    """One writer's record: the last acknowledged sequence number and the last one attempted."""

    key: str
    acked: int = 0
    attempted: int = 0
    errors: int = 0
    tokens: list[tuple[int, int]] = field(default_factory=list)
    """(server generation, token) of every acquisition, in the order this writer made them."""
    stray: list[str] = field(default_factory=list)


class _Generation:
    """Counts server (re)starts, so an acquisition can be tied to one server life."""

    def __init__(self) -> None:
        self.value = 0


def _sync_writer(
    url: str, token: str, w: _Writer, gen: _Generation, stop: threading.Event, lock: str
) -> None:
    with Client(url, token, execution_name=w.key, lease_ttl=2, timeout=3) as client:
        while not stop.is_set():
            seq = w.attempted + 1
            try:
                if seq % 10 == 0:
                    before = gen.value
                    with client.lock(lock, timeout=5) as held:
                        if held.token is not None and gen.value == before:
                            w.tokens.append((before, held.token))
                        w.attempted = seq
                        client.settings.update(
                            w.key, value={"seq": seq, "pad": pad(seq)}, fence=held.token
                        )
                else:
                    w.attempted = seq
                    client.settings.update(w.key, value={"seq": seq, "pad": pad(seq)})
                w.acked = seq
            except _CLEAR:
                w.errors += 1
                stop.wait(0.05)
            except Exception as exc:
                w.stray.append(f"{type(exc).__name__}: {exc}")
                return


async def _async_writer(
    url: str, token: str, w: _Writer, gen: _Generation, stop: threading.Event, lock: str
) -> None:
    async with AsyncClient(url, token, execution_name=w.key, lease_ttl=2, timeout=3) as client:
        while not stop.is_set():
            seq = w.attempted + 1
            try:
                if seq % 10 == 0:
                    before = gen.value
                    async with client.lock(lock, timeout=5) as held:
                        if held.token is not None and gen.value == before:
                            w.tokens.append((before, held.token))
                        w.attempted = seq
                        await client.settings.update(
                            w.key, value={"seq": seq, "pad": pad(seq)}, fence=held.token
                        )
                else:
                    w.attempted = seq
                    await client.settings.update(w.key, value={"seq": seq, "pad": pad(seq)})
                w.acked = seq
            except _CLEAR:
                w.errors += 1
                await asyncio.sleep(0.05)
            except Exception as exc:
                w.stray.append(f"{type(exc).__name__}: {exc}")
                return


def server_sigkill(
    server: ServerProcess,
    *,
    writers: int = 6,
    kills: int = 1,
    load_seconds: float = 1.5,
    down_seconds: float = 0.3,
) -> Tally:
    """SIGKILL the SQLite server ``kills`` times under a write-heavy load through the SDK (sync
    and async clients, fenced writes under a lock every tenth write), restart it on the same port
    each time, then check: no acknowledged write lost, no torn value, tokens growing across
    restarts, every client error one of the SDK's own, and every client finishes (no hang)."""
    tally = Tally("server-sigkill")
    lock = f"svr-{time.monotonic_ns()}"
    records = [_Writer(f"w{i}-{lock}") for i in range(writers)]
    with server.api() as api:
        for w in records:
            api.post("/setting", json={"name": w.key, "value": None}).raise_for_status()
    gen, stop = _Generation(), threading.Event()
    threads = []
    for i, w in enumerate(records):
        args = (server.url, server.token, w, gen, stop, lock)
        if i % 2 == 0:
            target: Callable[[], object] = lambda a=args: _sync_writer(*a)  # noqa: E731
        else:
            target = lambda a=args: asyncio.run(_async_writer(*a))  # noqa: E731
        threads.append(threading.Thread(target=target, daemon=True, name=w.key))
    for t in threads:
        t.start()
    try:
        for _ in range(kills):
            time.sleep(load_seconds)
            server.kill()
            tally.faults += 1
            time.sleep(down_seconds)
            gen.value += 1
            server.start()
        time.sleep(load_seconds)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    for t in threads:
        tally.check(not t.is_alive(), f"client {t.name} still runs 30 s after the stop (hung)")
    with server.api() as api:
        for w in records:
            tally.operations += w.attempted
            for stray in w.stray:
                tally.violation(f"{w.key} failed with an unclear error: {stray}")
            r = api.get(f"/setting/{w.key}", params={"by": "name"})
            if not tally.check(r.status_code == 200, f"{w.key}: {r.status_code} after restart"):
                continue
            value = r.json()["setting"]["value"]
            seq = 0 if value is None else value.get("seq", -1)
            if value is not None:
                tally.check(value == {"seq": seq, "pad": pad(seq)}, f"{w.key}: torn {value!r}")
            # An acknowledged write survives; an unacknowledged one may or may not have landed.
            tally.check(
                w.acked <= seq <= w.attempted,
                f"{w.key}: stored seq {seq}, acknowledged {w.acked}, attempted {w.attempted}",
            )
            for (g1, t1), (g2, t2) in itertools.pairwise(w.tokens):
                tally.check(t2 > t1, f"{w.key}: token {t2} after {t1} (generations {g1}, {g2})")
    by_gen: dict[int, list[int]] = {}
    for w in records:
        for g, t in w.tokens:
            by_gen.setdefault(g, []).append(t)
    for g in sorted(by_gen)[1:]:
        earlier = max(t for h, ts in by_gen.items() if h < g for t in ts)
        tally.check(
            min(by_gen[g]) > earlier,
            f"a token after restart {g} ({min(by_gen[g])}) is not above {earlier}",
        )
    tally.measured.update(
        acknowledged=sum(w.acked for w in records),
        client_errors=sum(w.errors for w in records),
        tokens=sum(len(w.tokens) for w in records),
        generations=len(by_gen),
    )
    tally.check(
        len(by_gen) == kills + 1, f"locks were taken in {len(by_gen)} of {kills + 1} server lives"
    )
    return tally
