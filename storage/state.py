"""A small key-value table for process-wide facts (catch-up watermark, baseline)."""

from __future__ import annotations

import aiosqlite

from storage.db import Database

__all__ = ["StateRepo"]


class StateRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        value = await self.db.scalar("SELECT value FROM state WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def get_int(self, key: str) -> int | None:
        value = await self.get(key)
        return None if value is None else int(value)

    async def set(self, key: str, value: str | int) -> None:
        await self.db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    async def raise_to(self, key: str, value: int) -> None:
        """Store value unless a larger one is already stored (a watermark never goes back)."""
        await self.db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            " WHERE CAST(state.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            (key, str(value)),
        )

    @staticmethod
    async def get_in(conn: aiosqlite.Connection, key: str) -> str | None:
        """:meth:`get` inside the caller's transaction."""
        async with conn.execute("SELECT value FROM state WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    async def set_in(conn: aiosqlite.Connection, key: str, value: str | int) -> None:
        await conn.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )
