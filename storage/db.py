"""Connecting to the SQLite file and migrating it.

One connection serves the whole process: aiosqlite runs every statement on one worker thread,
so statements never race, but two tasks could interleave inside one transaction. Writers go
through :meth:`Database.transaction`, which holds an asyncio lock for the whole transaction.
Plain reads do not wait for that lock, so a read may see a writer's rows before its COMMIT;
every decision that must not be undone by a rollback (what is news, what is queued) is read
inside the deciding transaction itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["Database", "MigrationError", "connect", "migrations"]

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The database is newer than this code, or a migration file is malformed."""


def migrations() -> list[tuple[int, str, str]]:
    """Every bundled migration as (version, file name, SQL), in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise MigrationError(f"migration {name} is out of sequence (expected {expected:04d})")
    return found


class Database:
    """The open SQLite file."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        async with self._write_lock:
            if self.conn.in_transaction:
                # A writer cancelled between its BEGIN and COMMIT (aiosqlite still ran the
                # statement on its thread): roll that back rather than jam every later write.
                await asyncio.shield(self.conn.rollback())
            begin = asyncio.ensure_future(self.conn.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
                yield self.conn
            except BaseException:
                # A cancel can land while BEGIN still waits its turn on aiosqlite's thread: it
                # runs anyway, so let it, then roll back, or the next writer finds it open.
                await asyncio.shield(self._roll_back_after(begin))
                raise
            else:
                await asyncio.shield(self.conn.commit())

    async def _roll_back_after(self, begin: asyncio.Future[Any]) -> None:
        await asyncio.wait([begin])
        if self.conn.in_transaction:
            await self.conn.rollback()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the number of changed rows."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def close(self) -> None:
        await self.conn.close()


async def _migrate(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    bundled = migrations()
    if current > len(bundled):
        raise MigrationError(
            f"database schema version {current} is newer than this code ({len(bundled)})"
        )
    for version, name, sql in bundled[current:]:
        log.info("applying migration %s", name)
        # executescript commits implicitly, so the version bump rides inside the script itself.
        await conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
    return len(bundled)


def _private_files(path: Path) -> None:
    """The database, its WAL and SHM readable by the owner only (mode 0600).

    SQLite creates the WAL and SHM with the database file's own mode, so the file is created
    0600 here before SQLite sees it (an empty file is an empty database); files left wider by
    an older version are narrowed.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(each.stat().st_mode)
            if mode & 0o077:
                log.warning("%s was readable by others (mode %o): set to 0600", each, mode)
                each.chmod(0o600)


async def connect(path: Path | str) -> Database:
    """Open (creating the folder and a 0600 file if needed) and migrate to the newest schema."""
    path = Path(path)
    if str(path) != ":memory:":
        _private_files(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    try:
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        await _migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return Database(conn, path)
