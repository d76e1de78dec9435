"""``client.locks`` and ``client.executions``: what an operator looks at (sync and async twins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._base import RequestOptions, dumps
from ._models import Execution, ExecutionStatus, Lock, ReleaseResult

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncExecutions", "AsyncLocks", "Executions", "Locks"]


def _lock_get(name: str) -> RequestOptions:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a lock name must be a non-empty string, got {name!r}")
    return RequestOptions("GET", f"/lock/{quote(name.strip(), safe='')}")


def _force_release(name: str, reason: str | None) -> RequestOptions:
    body = {"name": name, "force": True, "reason": reason}
    return RequestOptions("POST", "/lock/release", json=body)


def _executions_list(status: ExecutionStatus | None, filter: dict[str, Any] | None) -> Any:
    parts = [filter] if filter is not None else []
    if status is not None:
        parts.append({"field": "status", "op": "eq", "value": status})
    params = {}
    if parts:
        params["filter"] = dumps(parts[0] if len(parts) == 1 else {"and": parts})
    return RequestOptions("GET", "/execution", params=params)


class Locks:
    """Inspect locks, and force-release one (an operator action)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, name: str) -> Lock:
        """One lock: its holder and its FIFO queue."""
        return self._client._fetch(_lock_get(name), Lock, "lock")

    def list(self) -> list[Lock]:
        """Every lock that is held or waited for."""
        response = self._client._send(RequestOptions("GET", "/lock"))
        data = self._client._json(response)
        return [self._client._validate(response, Lock, item) for item in data.get("lock", [])]

    def force_release(self, name: str, reason: str | None = None) -> ReleaseResult:
        """Release the lock whoever holds it (published as a ``lock.forced`` event); the answer
        names the acquisition that ended and the next holder."""
        response = self._client._send(_force_release(name, reason))
        return self._client._parse(response, ReleaseResult)


class AsyncLocks:
    """The async twin of ``Locks``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, name: str) -> Lock:
        """One lock: its holder and its FIFO queue."""
        return await self._client._fetch(_lock_get(name), Lock, "lock")

    async def list(self) -> list[Lock]:
        """Every lock that is held or waited for."""
        response = await self._client._send(RequestOptions("GET", "/lock"))
        data = self._client._json(response)
        return [self._client._validate(response, Lock, item) for item in data.get("lock", [])]

    async def force_release(self, name: str, reason: str | None = None) -> ReleaseResult:
        """Release the lock whoever holds it (published as a ``lock.forced`` event); the answer
        names the acquisition that ended and the next holder."""
        response = await self._client._send(_force_release(name, reason))
        return self._client._parse(response, ReleaseResult)


class Executions:
    """The executions that hold and wait for locks."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, execution_id: str) -> Execution:
        options = RequestOptions("GET", f"/execution/{quote(execution_id, safe='')}")
        return self._client._parse(self._client._send(options), Execution, "execution")

    def list(
        self, status: ExecutionStatus | None = None, filter: dict[str, Any] | None = None
    ) -> list[Execution]:
        """Executions, e.g. ``list(status="WAITING_LOCK")`` for everyone waiting for a lock."""
        response = self._client._send(_executions_list(status, filter))
        data = self._client._json(response)
        items = data.get("execution", []) if isinstance(data, dict) else data
        return [self._client._validate(response, Execution, item) for item in items]


class AsyncExecutions:
    """The async twin of ``Executions``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, execution_id: str) -> Execution:
        options = RequestOptions("GET", f"/execution/{quote(execution_id, safe='')}")
        return self._client._parse(await self._client._send(options), Execution, "execution")

    async def list(
        self, status: ExecutionStatus | None = None, filter: dict[str, Any] | None = None
    ) -> list[Execution]:
        """Executions, e.g. ``list(status="WAITING_LOCK")``."""
        response = await self._client._send(_executions_list(status, filter))
        data = self._client._json(response)
        items = data.get("execution", []) if isinstance(data, dict) else data
        return [self._client._validate(response, Execution, item) for item in items]
