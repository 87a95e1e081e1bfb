"""`python -m bot backup PATH`: a consistent copy of the live database, private, one file."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import storage
from tests.harness import REPO


def run_cli(tmp_path: Path, *args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "SECRET_KEY")}
    env.update({"PYTHONPATH": str(REPO), "DATABASE_PATH": str(database)})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_backup_of_a_live_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    db = await storage.connect(database)  # stays open, as the running bot's would
    try:
        chats = storage.ChatRepo(db)
        for chat_id in range(1, 201):
            await chats.touch(chat_id, "private", None, "ru")
        assert Path(f"{database}-wal").stat().st_size > 0  # the rows are still in the WAL

        target = tmp_path / "backups" / "bot-backup.sqlite3"
        done = run_cli(tmp_path, "backup", str(target), database=database)
        assert done.returncode == 0, done.stderr
        [line] = done.stdout.splitlines()
        assert line.startswith(f"backed up {database} to {target}")

        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert not Path(f"{target}-wal").exists()
        copy = sqlite3.connect(target)
        try:
            assert copy.execute("SELECT COUNT(*) FROM chats").fetchone() == (200,)
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            copy.close()
        await chats.touch(999, "private")  # the bot's connection still writes

        again = run_cli(tmp_path, "backup", str(target), database=database)
        assert again.returncode == 2
        assert again.stderr.startswith("error:") and "exists" in again.stderr
    finally:
        await db.close()


def test_backup_without_a_database_and_unknown_commands(tmp_path: Path) -> None:
    missing = run_cli(tmp_path, "backup", "x.sqlite3", database=tmp_path / "none.sqlite3")
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "x.sqlite3").exists()
    unknown = run_cli(tmp_path, "restore", database=tmp_path / "none.sqlite3")
    assert unknown.returncode == 2 and unknown.stderr.startswith("usage:")
