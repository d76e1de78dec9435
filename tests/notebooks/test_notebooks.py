"""The example notebooks run top to bottom, headless, against a real server.

The kernel is a separate process: the server's URL and token reach it through its environment
(``NotebookClient.execute(env=...)`` hands ``env`` on to ``KernelManager.start_kernel`` and from
there to the process launcher, which uses it instead of ``os.environ``). Any error in any cell
fails the test (nbclient raises ``CellExecutionError``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

from mock_server import RunningServer

from .conftest import NOTEBOOKS

ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


def execute(path: Path, env: dict[str, str], timeout: int = 60) -> Any:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env=env)
    return nb


def text_of(nb: Any) -> str:
    """Every output of every cell, as one string (streams, plain text and HTML)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                parts.append(f"ERROR {out.get('ename')}: {out.get('evalue')}")
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.extend(str(data.get(k, "")) for k in ("text/plain", "text/html"))
    return "\n".join(parts)


def server_names(server: RunningServer) -> list[str]:
    answer = httpx.get(
        f"{server.url}/setting", headers={"Authorization": server.token}, params={"plain": "true"}
    )
    answer.raise_for_status()
    body = answer.json()
    return [s["name"] for s in (body if isinstance(body, list) else body["setting"])]


def test_both_notebooks_exist() -> None:
    assert [p.name for p in ALL] == ["01-explore-settings.ipynb", "02-locks.ipynb"]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs: {cell.source[:60]!r}"
            assert cell.execution_count is None, f"{path.name}: an execution count is stored"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state is stored"


def test_explore_settings_against_the_server(
    mock_server: RunningServer, kernel_env: dict[str, str]
) -> None:
    env = {**kernel_env, "CLOUDOMATION_URL": mock_server.url}
    env["CLOUDOMATION_TOKEN"] = mock_server.token
    nb = execute(NOTEBOOKS / "01-explore-settings.ipynb", env)
    out = text_of(nb)
    assert f"using the server at {mock_server.url}" in out
    assert "refused with PreconditionFailedError: 412 PreconditionFailed" in out
    assert "Invalid JSON" in out
    assert "&#x27;size&#x27;: &#x27;large&#x27;" in out or "'size': 'large'" in out
    # The explorer's state was saved with the notebook, so it renders without a kernel.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [m["state"] for m in state.values()]
    assert any(m.get("_model_name") == "SelectModel" for m in models)
    assert server_names(mock_server) == []  # it cleaned up after itself


def test_explore_settings_with_an_embedded_server(kernel_env: dict[str, str]) -> None:
    nb = execute(NOTEBOOKS / "01-explore-settings.ipynb", kernel_env)
    assert "started an embedded server at http://127.0.0.1:" in text_of(nb)


def test_locks_against_the_server(mock_server: RunningServer, kernel_env: dict[str, str]) -> None:
    env = {**kernel_env, "CLOUDOMATION_URL": mock_server.url}
    env["CLOUDOMATION_TOKEN"] = mock_server.token
    nb = execute(NOTEBOOKS / "02-locks.ipynb", env)
    out = text_of(nb)
    assert "monitor: 1 held, 1 waiting" in out
    assert "carol gave up: 423 LockTimeoutError" in out
    assert "alice's write refused: 409 FencingTokenError" in out
    log = next(c for c in nb.cells if c.cell_type == "code" and "alice_done.set()" in c.source)
    shown = json.dumps(log.outputs)
    # Tokens only grow (the server keeps counting across resets), so compare, don't pin.
    alice = int(re.findall(r"alice: acquired it, fencing token (\d+)", shown)[0])
    bob = int(re.findall(r"bob: acquired it, fencing token (\d+)", shown)[0])
    assert alice < bob
    assert shown.index("alice: done, releasing it") < shown.index("bob: acquired it")
    assert "carol: acquired" not in shown
    assert server_names(mock_server) == []
