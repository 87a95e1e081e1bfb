"""The bot reads no library's private attributes (aiogram's `_handle_update_tasks` was one):
they change without notice between releases, and the bot tracks the current aiogram."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import REPO

ALLOWED = {("os", "_exit")}  # documented, whatever its name says


def private_reads(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Attribute):
            name, owner = node.attr, node.value
            if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
                continue
            if isinstance(owner, ast.Name) and (
                owner.id in ("self", "cls") or (owner.id, name) in ALLOWED
            ):
                continue
            found.append(f"{path.relative_to(REPO)}:{node.lineno} .{name}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
            and not str(node.args[1].value).startswith("__")
        ):
            found.append(
                f"{path.relative_to(REPO)}:{node.lineno} {node.func.id} {node.args[1].value}"
            )
    return found


def test_no_private_attributes_of_other_objects_are_read() -> None:
    found = [
        hit
        for package in ("bot", "storage")
        for path in sorted((REPO / package).rglob("*.py"))
        for hit in private_reads(path)
    ]
    assert found == []
