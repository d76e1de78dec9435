"""``ckit settings``: ls, get, set (strict JSON), edit (If-Match), rm (confirmation)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import httpx
import pytest

# A fake $EDITOR: optionally changes the setting through the API first (as a colleague would,
# mid-edit), then writes $NEW_TEXT into the file it was given.
EDITOR = """
import os, sys, pathlib, httpx
if os.environ.get("MEANWHILE"):
    httpx.patch(
        os.environ["CLOUDOMATION_URL"] + "/setting/" + os.environ["MEANWHILE"] + "?by=name",
        json={"value": "changed meanwhile"},
        headers={"Authorization": os.environ["CLOUDOMATION_TOKEN"]},
    ).raise_for_status()
path = pathlib.Path(sys.argv[-1])
pathlib.Path(os.environ["SEEN"]).write_text(path.read_text())
if "NEW_TEXT" in os.environ:
    path.write_text(os.environ["NEW_TEXT"])
"""


def setting(api: httpx.Client, name: str) -> dict | None:
    response = api.get(f"/setting/{name}", params={"by": "name"})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()["setting"]


def create(api: httpx.Client, name: str, value: object) -> dict:
    response = api.post("/setting", json={"name": name, "value": value})
    response.raise_for_status()
    return response.json()["setting"]


@pytest.fixture
def editor(tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return {
        "EDITOR": f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}",
        "SEEN": str(tmp_path / "seen.json"),
    }


def test_set_get_ls_rm(ckit, api: httpx.Client) -> None:
    created = ckit("settings", "set", "vm", '{"cpus": 4, "tags": ["a"]}', "--description", "d")
    assert created.returncode == 0, created.stderr
    assert "created setting 'vm' (version 1)" in created.stderr
    updated = ckit("settings", "set", "vm", '{"cpus": 8}')
    assert "updated setting 'vm' (version 2)" in updated.stderr
    assert setting(api, "vm")["value"] == {"cpus": 8}  # type: ignore[index]

    record = json.loads(ckit("settings", "get", "vm").stdout)
    assert (
        record["value"] == {"cpus": 8} and record["version"] == 2 and record["description"] == "d"
    )
    assert json.loads(ckit("settings", "get", "vm", "--field", "value").stdout) == {"cpus": 8}
    assert ckit("settings", "get", "vm", "--field", "description", "--raw").stdout == "d\n"

    ckit("settings", "set", "other", '"text"')
    table = ckit("settings", "ls").stdout.splitlines()
    assert table[0].split() == ["NAME", "VALUE", "VERSION", "MODIFIED"]
    assert [line.split()[0] for line in table[1:]] == ["other", "vm"]
    listed = json.loads(ckit("settings", "ls", "--like", "v%", "--json").stdout)
    assert [s["name"] for s in listed] == ["vm"]
    flt = json.dumps({"field": "name", "op": "eq", "value": "other"})
    assert [
        s["name"] for s in json.loads(ckit("settings", "ls", "--filter", flt, "--json").stdout)
    ] == ["other"]

    removed = ckit("settings", "rm", "vm", "--yes")
    assert removed.returncode == 0 and setting(api, "vm") is None


def test_get_missing_exits_1_with_one_line(ckit) -> None:
    result = ckit("settings", "get", "nope")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ckit: error: ")


def test_set_from_stdin_and_file(ckit, api: httpx.Client, tmp_path: Path) -> None:
    assert ckit("settings", "set", "a", "-", input="[1, 2]\n").returncode == 0
    assert setting(api, "a")["value"] == [1, 2]  # type: ignore[index]
    path = tmp_path / "v.json"
    path.write_text('{"from": "file"}')
    assert ckit("settings", "set", "a", "--file", str(path)).returncode == 0
    assert setting(api, "a")["value"] == {"from": "file"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1,\n "b" 2}', "line 2, column 6"),
        ("[1, 2,]", "line 1, column 7"),
        ("hello", "line 1, column 1"),
        ("NaN", "NaN is not JSON"),
        ("", "line 1, column 1"),
    ],
)
def test_set_with_broken_json_writes_nothing(
    inproc, api: httpx.Client, text: str, where: str
) -> None:
    result = inproc("settings", "set", "new", text)
    assert result.code == 2
    assert where in result.err and "nothing was written" in result.err
    assert result.err.count("\n") == 1
    assert setting(api, "new") is None


def test_set_with_broken_json_in_a_subprocess(ckit, api: httpx.Client) -> None:
    result = ckit("settings", "set", "new", '{"a": 1,\n "b" 2}')
    assert result.returncode == 2
    assert result.stderr == (
        "ckit: error: VALUE is not valid JSON: line 2, column 6: Expecting ':' delimiter "
        "(near '\"b\" 2}'); nothing was written\n"
    )
    assert setting(api, "new") is None


def test_broken_json_from_a_file_or_stdin_keeps_the_old_value(
    ckit, api: httpx.Client, tmp_path: Path
) -> None:
    create(api, "old", {"keep": True})
    path = tmp_path / "broken.json"
    path.write_text('{\n  "a": 1\n  "b": 2\n}\n')
    from_file = ckit("settings", "set", "old", "--file", str(path))
    assert from_file.returncode == 2
    assert f"{path} is not valid JSON: line 3, column 3" in from_file.stderr
    from_stdin = ckit("settings", "set", "old", "-", input=path.read_text())
    assert from_stdin.returncode == 2 and "stdin is not valid JSON: line 3" in from_stdin.stderr
    assert setting(api, "old")["version"] == 1  # type: ignore[index]


def test_edit_writes_the_new_value(ckit, api: httpx.Client, editor: dict[str, str]) -> None:
    create(api, "cfg", {"a": 1})
    result = ckit("settings", "edit", "cfg", extra_env={**editor, "NEW_TEXT": '{"a": 2}'})
    assert result.returncode == 0, result.stderr
    assert json.loads(Path(editor["SEEN"]).read_text()) == {"a": 1}  # the editor saw the value
    now = setting(api, "cfg")
    assert now["value"] == {"a": 2} and now["version"] == 2  # type: ignore[index]
    assert "version 1 -> 2" in result.stderr


def test_edit_without_changes_writes_nothing(
    ckit, api: httpx.Client, editor: dict[str, str]
) -> None:
    create(api, "cfg", {"a": 1})
    result = ckit("settings", "edit", "cfg", extra_env=editor)
    assert result.returncode == 0
    assert "no changes" in result.stderr
    assert setting(api, "cfg")["version"] == 1  # type: ignore[index]


def test_edit_refuses_to_overwrite_a_concurrent_change(
    ckit, api: httpx.Client, editor: dict[str, str]
) -> None:
    create(api, "cfg", {"a": 1})
    env = {**editor, "NEW_TEXT": '{"a": "mine"}', "MEANWHILE": "cfg"}
    result = ckit("settings", "edit", "cfg", extra_env=env)
    assert result.returncode == 6
    assert "changed while you edited it (version 1 -> version 2)" in result.stderr
    assert "nothing was written" in result.stderr and "your text is in" in result.stderr
    assert setting(api, "cfg")["value"] == "changed meanwhile"  # type: ignore[index]
    kept = Path(result.stderr.rsplit("your text is in ", 1)[1].strip().rstrip(")"))
    assert json.loads(kept.read_text()) == {"a": "mine"}  # the edit is not lost
    kept.unlink()


def test_edit_with_broken_json_writes_nothing(
    ckit, api: httpx.Client, editor: dict[str, str]
) -> None:
    create(api, "cfg", {"a": 1})
    result = ckit("settings", "edit", "cfg", extra_env={**editor, "NEW_TEXT": '{"a": }'})
    assert result.returncode == 2
    assert "line 1, column 7" in result.stderr
    assert setting(api, "cfg")["version"] == 1  # type: ignore[index]
    Path(result.stderr.rsplit("your text is in ", 1)[1].strip().rstrip(")")).unlink()


def test_edit_with_a_failing_editor_writes_nothing(ckit, api: httpx.Client) -> None:
    create(api, "cfg", {"a": 1})
    result = ckit("settings", "edit", "cfg", extra_env={"EDITOR": "false"})
    assert result.returncode == 1 and "the editor exited with status 1" in result.stderr
    assert setting(api, "cfg")["version"] == 1  # type: ignore[index]


def test_rm_asks_and_refuses_when_not_interactive(ckit, api: httpx.Client) -> None:
    create(api, "cfg", 1)
    result = ckit("settings", "rm", "cfg")
    assert result.returncode == 2 and "--yes" in result.stderr
    assert setting(api, "cfg") is not None
