"""``python -m bot [COMMAND]``: the bot itself, or one of the operator's commands.

    python -m bot                    run the bot
    python -m bot backup PATH        copy the live database to PATH (SQLite's online backup)
    python -m bot forget-sessions    drop the stored AniLibria sessions no configured key opens

The commands read DATABASE_PATH and SECRET_KEY as the bot does (environment, then ``.env``)
and need no BOT_TOKEN. Exit codes are the bot's (``bot.startup``): 0 done, 2 a usage or
configuration error, 4 the bot is running (forget-sessions only).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from bot.config import Settings

__all__ = ["backup", "main"]

USAGE = """usage: python -m bot [backup PATH | forget-sessions]

  (no command)      run the bot
  backup PATH       copy the live database to a new file PATH, consistently, while the bot runs
  forget-sessions   drop the stored AniLibria sessions that no configured key opens (the bot
                    must be stopped); their users are told to /login again
"""


class StoreSettings(BaseSettings):
    """The settings the commands need: where the database is, and the session keys."""

    model_config = Settings.model_config
    database_path: Path = Settings.model_fields["database_path"].default
    secret_key: SecretStr | None = None


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def backup(database: Path, target: Path) -> str:
    """Copy ``database`` into the new file ``target`` (0600) with SQLite's online backup.

    One read transaction sees one consistent state; in WAL mode it does not hold up the
    running bot's writes. Raises FileExistsError, FileNotFoundError or sqlite3.Error.
    """
    if not database.is_file():
        raise FileNotFoundError(f"no database at {database}")
    if target.exists():
        raise FileExistsError(f"{target} exists: give a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step: one snapshot, never restarted
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            checked = copy.execute("PRAGMA quick_check").fetchone()[0]
            version = copy.execute("PRAGMA user_version").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if checked != "ok":
        partial.unlink(missing_ok=True)
        raise sqlite3.DatabaseError(f"the copy failed its check: {checked}")
    os.replace(partial, target)
    size = target.stat().st_size
    return f"backed up {database} to {target} ({size:,} bytes, schema version {version})"


async def forget_sessions(settings: StoreSettings) -> str:
    """Expire every stored session no configured key opens (their users are told)."""
    import storage
    from bot.account.vault import SessionVault
    from bot.notify.render import EXPIRED_NOTICE_KIND

    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    vault = SessionVault.from_settings(secret, settings.database_path)
    db = await storage.connect(settings.database_path)
    try:
        repo = storage.SessionRepo(db)
        sealed = await repo.sealed()
        dropped = 0
        for user_id, ciphertext in sealed:
            if not vault.opens(user_id, ciphertext):
                await repo.expire(
                    user_id,
                    ciphertext,
                    notice_kind=EXPIRED_NOTICE_KIND,
                    dedupe_key=f"expired:{time.time_ns()}",
                )
                dropped += 1
    finally:
        await db.close()
    return (
        f"dropped {dropped} of {len(sealed)} stored AniLibria sessions (no configured key "
        "opens them); their users will be asked to /login again"
    )


def main(argv: list[str]) -> int:
    if not argv:
        from bot.app import main as run_bot

        return run_bot()
    command, *rest = argv
    if command in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if command not in ("backup", "forget-sessions") or len(rest) != (command == "backup"):
        print(USAGE, end="", file=sys.stderr)
        return 2
    os.umask(0o077)  # a backup holds every chat and sealed session: owner only
    try:
        settings = StoreSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        return _fail(f"invalid setting {'.'.join(map(str, first['loc'])).upper()}: {first['msg']}")
    if command == "backup":
        try:
            print(backup(settings.database_path, Path(rest[0])))
        except (OSError, sqlite3.Error) as exc:
            return _fail(str(exc))
        return 0
    from bot import instance
    from bot.account.vault import VaultError

    try:
        instance.hold(settings.database_path)
    except instance.DatabaseInUse as exc:
        return _fail(f"{exc}: stop it first", 4)
    try:
        print(asyncio.run(forget_sessions(settings)))
    except (OSError, VaultError, sqlite3.Error) as exc:
        return _fail(str(exc))
    return 0
