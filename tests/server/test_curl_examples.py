"""The curl examples of Cloudomation's "Settings and Locks" page, run with real curl.

The page elides the workspace URL and the paths (``'https://<my-workspace-name>'``); here the
URL is ``$URL`` (the server's ``.../api/latest``) and the paths are filled in as docs/api.md
shows them. The commands are the exact text of docs/api.md's "Cloudomation's curl examples".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mock_server import RunningServer

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not on PATH")

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"

STORE = (
    """curl -X POST "$URL/setting" """
    """-d '{"name":"notification_emails","value":["ops@example.com","dev@example.com"]}' """
    """-H "Authorization: $TOKEN\""""
)
UPDATE = (
    """curl -X PATCH "$URL/setting/notification_emails?by=name" """
    """-d '{"value":["ops@example.com","dev@example.com","boss@example.com"]}' """
    """-H "Authorization: $TOKEN\""""
)
READ = """curl "$URL/setting/occurrences_found?by=name" -H "Authorization: $TOKEN" | jq ."""


def sh(server: RunningServer, command: str) -> Any:
    """Run ``command`` in a shell with ``URL`` and ``TOKEN`` set; answer its JSON output."""
    done = subprocess.run(
        ["sh", "-c", command],
        env={**os.environ, "URL": server.url, "TOKEN": server.token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_commands_are_the_ones_documented():
    text = API_MD.read_text()
    for command in (STORE, UPDATE, READ):
        assert command in text, command


def test_store_configuration_parameters(mock_server):
    answer = sh(mock_server, STORE)
    setting = answer["setting"]
    assert setting["name"] == "notification_emails"
    assert setting["value"] == ["ops@example.com", "dev@example.com"]
    assert set(setting) >= {"id", "name", "value", "description", "created_at", "modified_at"}


def test_update_the_value(mock_server):
    sh(mock_server, STORE)
    answer = sh(mock_server, UPDATE)
    assert answer["setting"]["value"] == ["ops@example.com", "dev@example.com", "boss@example.com"]
    assert answer["setting"]["version"] == 2
    again = sh(mock_server, READ.replace("occurrences_found", "notification_emails"))
    assert again["setting"]["value"][-1] == "boss@example.com"


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not on PATH")
def test_read_the_value(mock_server):
    # A flow stored the result: system.setting('occurrences_found').save(value=42)
    create = (
        """curl -X POST "$URL/setting" -d '{"name":"occurrences_found","value":42}' """
        """-H "Authorization: $TOKEN\""""
    )
    sh(mock_server, create)
    answer = sh(mock_server, READ)
    assert answer["setting"]["name"] == "occurrences_found"
    assert answer["setting"]["value"] == 42


def test_without_the_token_curl_gets_401(mock_server):
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{mock_server.url}/setting"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout == "401"


def test_lock_with_curl(mock_server):
    """Ours: acquire, inspect and release a lock from the command line (docs/api.md)."""
    ex = sh(
        mock_server,
        """curl -s -X POST "$URL/execution" -d '{"name":"shell","lease_ttl":600}' """
        """-H "Authorization: $TOKEN\"""",
    )["execution"]["id"]
    got = sh(
        mock_server,
        f"""curl -s -X POST "$URL/lock/acquire" """
        f"""-d '{{"name":"cloud-vm-lock","execution_id":"{ex}","timeout":0}}' """
        """-H "Authorization: $TOKEN\"""",
    )
    assert got["status"] == "acquired"
    busy = sh(
        mock_server,
        """curl -s -X POST "$URL/lock/acquire" -d '{"name":"cloud-vm-lock","timeout":0}' """
        """-H "Authorization: $TOKEN\"""",
    )
    assert busy["error"] == "LockTimeoutError"
    freed = sh(
        mock_server,
        f"""curl -s -X POST "$URL/lock/release" """
        f"""-d '{{"name":"cloud-vm-lock","execution_id":"{ex}"}}' """
        """-H "Authorization: $TOKEN\"""",
    )
    assert freed["holder"] is None and freed["released"]["execution_id"] == ex
