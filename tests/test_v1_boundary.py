"""The v1 package's boundary: what it may import, what it exports, how big its modules are."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bot.anilibria.v1 as v1
from bot.anilibria.v1._redact import hide

PACKAGE = Path(v1.__file__).resolve().parent
ALLOWED_BOT = {
    "bot.anilibria._types",
    "bot.anilibria._roles",
    "bot.anilibria._lenient",
    "bot.anilibria.errors",
}
ALLOWED_THIRD_PARTY = {"httpx", "pydantic"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "bot.anilibria.v1":
                names.update(f"bot.anilibria.v1.{alias.name}" for alias in node.names)
    return names


def test_imports_only_the_stdlib_httpx_pydantic_and_the_seam() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or name in ALLOWED_BOT
                or name.startswith("bot.anilibria.v1.")
                or name == "bot.anilibria.v1"
            )
            assert allowed, f"{path.name} imports {name}"


def test_importing_it_loads_no_aiogram_storage_or_v2() -> None:
    code = (
        "import sys, bot.anilibria.v1; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('aiogram', 'storage', 'aiosqlite')"
        " or m in ('bot.anilibria.client', 'bot.anilibria.models', 'bot.anilibria.stream')"
        " or m.startswith('bot.anilibria.v2') or m in ('bot.config', 'bot.app')]; print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_public_surface() -> None:
    assert set(v1.__all__) == {
        "MARK_KEY",
        "CataloguePage",
        "V1Account",
        "V1Catalogue",
        "V1Client",
        "V1Feed",
        "open_upstream",
    }
    assert all(hasattr(v1, name) for name in v1.__all__)


def test_modules_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 400, f"{path.name}: {lines} lines"


def test_hide_covers_v1_secrets() -> None:
    text = hide(
        "GET /anime/torrents/rss?pk=abcdef0123&limit=5 Authorization: Bearer eyJpdiI6 "
        '{"token": "eyJ2YWx1ZSI6", "password": "hunter2"} passkey=0f0f'
    )
    for secret in ("abcdef0123", "eyJpdiI6", "eyJ2YWx1ZSI6", "hunter2", "0f0f"):
        assert secret not in text
    assert "limit=5" in text
