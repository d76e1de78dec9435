"""``ckit settings ls | get | set | edit | rm``."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import CloudomationError, PreconditionFailedError, ResourceNotFoundError
from ._common import CliError, Exit, exit_code_for, make_client
from ._output import (
    dump_json,
    is_terminal,
    local_time,
    parse_json,
    print_json,
    table,
    value_preview,
)

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Setting

__all__ = ["add_parser"]

FIELDS = ("value", "name", "id", "description", "version", "created_at", "modified_at")


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    p = commands.add_parser(
        "settings",
        help="list, read, write, edit and delete settings",
        description="Settings: named records holding any JSON value.",
    )
    sub = p.add_subparsers(dest="settings_command", metavar="COMMAND", required=True)

    ls = sub.add_parser(
        "ls",
        parents=[common],
        help="list settings",
        description="List settings: name, value preview, version and last change.",
    )
    ls.add_argument(
        "--filter",
        metavar="JSON",
        help='a Cloudomation filter, e.g. \'{"field": "name", "op": "like", "value": "vm-%%"}\'',
    )
    ls.add_argument(
        "--like", metavar="PATTERN", help="names like PATTERN (%% any text, _ one character)"
    )
    ls.add_argument("--json", action="store_true", help="print the settings as a JSON list")
    ls.set_defaults(handler=cmd_ls)

    get = sub.add_parser(
        "get",
        parents=[common],
        help="print a setting as JSON",
        description="Print a setting as JSON (pipe it to jq). --field picks one field.",
    )
    get.add_argument("name", metavar="NAME", help="the setting's name (or id)")
    get.add_argument("--field", "-f", choices=FIELDS, help="print only this field, as JSON")
    get.add_argument(
        "--raw", "-r", action="store_true", help="print a string result without JSON quotes"
    )
    get.set_defaults(handler=cmd_get)

    put = sub.add_parser(
        "set",
        parents=[common],
        help="create or update a setting's value",
        description=(
            "Create or update a setting. VALUE is JSON: '42', '\"text\"', '{\"a\": [1, 2]}'. "
            "Use - (or --file F) to read it from stdin (or a file). Invalid JSON writes nothing."
        ),
    )
    put.add_argument("name", metavar="NAME", help="the setting's name (or id)")
    put.add_argument("value", metavar="VALUE", nargs="?", help="the value as JSON; - reads stdin")
    put.add_argument("--file", metavar="F", type=Path, help="read the JSON value from file F")
    put.add_argument("--description", metavar="TEXT", help="set the description too")
    put.set_defaults(handler=cmd_set)

    edit = sub.add_parser(
        "edit",
        parents=[common],
        help="edit a setting's value in $EDITOR",
        description=(
            "Open the value as JSON in $EDITOR (else $VISUAL, else vi). On save it is validated "
            "and written only if nobody changed the setting meanwhile (If-Match)."
        ),
    )
    edit.add_argument("name", metavar="NAME", help="the setting's name (or id)")
    edit.set_defaults(handler=cmd_edit)

    rm = sub.add_parser(
        "rm",
        parents=[common],
        help="delete a setting",
        description="Delete a setting. Asks first, unless --yes (needed when not interactive).",
    )
    rm.add_argument("name", metavar="NAME", help="the setting's name (or id)")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask")
    rm.set_defaults(handler=cmd_rm)


def _note(message: str) -> None:
    print(f"ckit: {message}", file=sys.stderr)


# -- ls ------------------------------------------------------------------------------------------


def cmd_ls(args: argparse.Namespace) -> int:
    flt = None
    if args.filter is not None:
        try:
            flt = parse_json(args.filter, "--filter")
        except ValueError as exc:
            raise CliError(str(exc), Exit.USAGE) from exc
        if not isinstance(flt, dict):
            raise CliError('--filter must be a JSON object: {"field", "op", "value"}', Exit.USAGE)
    with make_client(args) as client:
        settings = client.settings.list(flt, name_like=args.like).all()
    if args.json:
        print_json([s.model_dump(mode="json") for s in settings])
        return Exit.OK
    if not settings:
        _note("no settings match" if flt or args.like else "no settings")
        return Exit.OK
    rows = [
        [s.name, value_preview(s.value, 60), str(s.version), local_time(s.modified_at)]
        for s in settings
    ]
    print(table(["NAME", "VALUE", "VERSION", "MODIFIED"], rows, stretch=1))
    return Exit.OK


# -- get -----------------------------------------------------------------------------------------


def cmd_get(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        setting = client.settings.get(args.name)
    record = setting.model_dump(mode="json")
    result: Any = record if args.field is None else record.get(args.field)
    if args.raw and isinstance(result, str):
        sys.stdout.write(result + "\n")
    else:
        print_json(result)
    return Exit.OK


# -- set -----------------------------------------------------------------------------------------


def _read_value(args: argparse.Namespace) -> tuple[bool, Any]:
    """``(given, value)`` from VALUE, ``-`` or ``--file``; invalid JSON is a usage error."""
    if args.file is not None and args.value is not None:
        raise CliError("give VALUE or --file, not both", Exit.USAGE)
    if args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.file}: {exc}", Exit.USAGE) from exc
        source = str(args.file)
    elif args.value == "-":
        text, source = sys.stdin.read(), "stdin"
    elif args.value is not None:
        text, source = args.value, "VALUE"
    else:
        return False, None
    try:
        return True, parse_json(text, source)
    except ValueError as exc:
        raise CliError(f"{exc}; nothing was written", Exit.USAGE) from exc


def cmd_set(args: argparse.Namespace) -> int:
    given, value = _read_value(args)
    if not given and args.description is None:
        raise CliError("give a VALUE (JSON), - for stdin, or --file F", Exit.USAGE)
    with make_client(args) as client:
        fields: dict[str, Any] = {}
        if given:
            fields["value"] = value
        if args.description is not None:
            fields["description"] = args.description
        try:
            setting = client.settings.update(args.name, **fields)
            verb = "updated"
        except ResourceNotFoundError:
            if not given:
                raise
            setting = client.settings.create(args.name, value, args.description)
            verb = "created"
    _note(f"{verb} setting {setting.name!r} (version {setting.version})")
    return Exit.OK


# -- edit ----------------------------------------------------------------------------------------


def _editor() -> list[str]:
    command = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CliError(f"cannot parse the editor command {command!r}: {exc}", Exit.USAGE) from exc
    if not words:
        raise CliError("$EDITOR is blank", Exit.USAGE)
    return words


def _run_editor(path: Path) -> None:
    command = [*_editor(), str(path)]
    # Ctrl-C belongs to the editor (vi uses it); ckit must not die of it meanwhile. A Python
    # handler, unlike SIG_IGN, is reset for the editor when it starts.
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        status = subprocess.run(command, check=False).returncode
    except OSError as exc:
        raise CliError(f"cannot run the editor {command[0]!r}: {exc}", Exit.NOT_DONE) from exc
    finally:
        signal.signal(signal.SIGINT, previous)
    if status < 0:
        raise CliError(f"the editor was killed by signal {-status}; nothing was written")
    if status != 0:
        raise CliError(f"the editor exited with status {status}; nothing was written")


def _ask(question: str, default: bool) -> bool:
    sys.stderr.write(f"{question} ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return default if not answer else answer in ("y", "yes")


def _parse_edited(path: Path, name: str) -> Any:
    """Parse the edited file; while it is not JSON, re-open the editor (only when interactive)."""
    while True:
        try:
            return parse_json(path.read_text(encoding="utf-8"), f"the edited value of {name!r}")
        except ValueError as exc:
            interactive = is_terminal(sys.stdin) and is_terminal(sys.stderr)
            if not interactive:
                raise CliError(f"{exc}; nothing was written", Exit.USAGE) from exc
            _note(str(exc))
            if not _ask("Edit again? [Y/n]", default=True):
                raise CliError("nothing was written", Exit.NOT_DONE) from exc
            _run_editor(path)


def cmd_edit(args: argparse.Namespace) -> int:
    # No connection stays open while a person edits: one client reads, another writes.
    with make_client(args) as client:
        setting = client.settings.get(args.name)
    fd, name = tempfile.mkstemp(prefix=f"ckit-{_safe(setting.name)}-", suffix=".json")
    path = Path(name)
    edited = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_json(setting.value) + "\n")
        _run_editor(path)
        edited = True
        value = _parse_edited(path, setting.name)
        if value == setting.value and type(value) is type(setting.value):
            path.unlink(missing_ok=True)
            _note(f"no changes to {setting.name!r}; nothing was written")
            return Exit.OK
        with make_client(args) as client:
            written = _write_edit(client, setting, value)
    except CliError as exc:
        if edited:
            exc.message += f" (your text is in {path})"
        else:
            path.unlink(missing_ok=True)
        raise
    except CloudomationError as exc:
        raise CliError(
            f"{exc}; nothing was written (your text is in {path})", exit_code_for(exc)
        ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    _note(f"updated setting {written.name!r} (version {setting.version} -> {written.version})")
    return Exit.OK


def _write_edit(client: Client, setting: Setting, value: Any) -> Setting:
    try:
        return client.settings.update(setting.id, value=value, if_version=setting.version)
    except PreconditionFailedError as exc:
        try:
            now = f"version {client.settings.get(setting.id).version}"
        except ResourceNotFoundError:
            now = "deleted"
        raise CliError(
            f"setting {setting.name!r} changed while you edited it (version {setting.version} "
            f"-> {now}); nothing was written",
            Exit.CONFLICT,
        ) from exc
    except ResourceNotFoundError as exc:
        raise CliError(
            f"setting {setting.name!r} was deleted while you edited it; nothing was written",
            Exit.CONFLICT,
        ) from exc


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]


# -- rm ------------------------------------------------------------------------------------------


def cmd_rm(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        setting = client.settings.get(args.name)
    if not args.yes:
        if not is_terminal(sys.stdin):
            raise CliError(
                f"not deleting {setting.name!r} without --yes (stdin is not a terminal)",
                Exit.USAGE,
            )
        preview = value_preview(setting.value, 50)
        question = f"Delete setting {setting.name!r} (version {setting.version}: {preview})?"
        if not _ask(f"{question} [y/N]", default=False):
            raise CliError("not deleted", Exit.NOT_DONE)
    with make_client(args) as client:
        try:
            # Delete what was shown: a change made meanwhile is refused (If-Match).
            client.settings.delete(setting.id, if_version=setting.version)
        except PreconditionFailedError as exc:
            raise CliError(
                f"setting {setting.name!r} changed since it was read; not deleted", Exit.CONFLICT
            ) from exc
    _note(f"deleted setting {setting.name!r}")
    return Exit.OK
