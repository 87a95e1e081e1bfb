"""Linked AniLibria accounts (sessions arrive here already encrypted) and mirrored favorites."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database

__all__ = ["AccountRepo", "StoredSession"]


@dataclass(frozen=True, slots=True)
class StoredSession:
    user_id: int
    ciphertext: bytes
    login: str | None

    def __repr__(self) -> str:  # the ciphertext is no secret, but keep logs short and boring
        return f"StoredSession(user_id={self.user_id}, login={self.login!r})"


class AccountRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, user_id: int, ciphertext: bytes, login: str | None) -> None:
        await self.db.execute(
            "INSERT INTO sessions (user_id, ciphertext, login, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET ciphertext = excluded.ciphertext,"
            " login = excluded.login, created_at = excluded.created_at",
            (user_id, ciphertext, login, int(time.time())),
        )

    async def get(self, user_id: int) -> StoredSession | None:
        row = await self.db.fetchone(
            "SELECT user_id, ciphertext, login FROM sessions WHERE user_id = ?", (user_id,)
        )
        return None if row is None else StoredSession(row[0], bytes(row[1]), row[2])

    async def delete(self, user_id: int) -> bool:
        """Forget the session and its favorites; chats following them stop doing so."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            await conn.execute(
                "UPDATE chats SET follow_favorites_of = NULL WHERE follow_favorites_of = ?",
                (user_id,),
            )
            return cursor.rowcount > 0

    async def users_followed_by_chats(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT c.follow_favorites_of FROM chats c"
            " JOIN sessions s ON s.user_id = c.follow_favorites_of"
            " WHERE c.active = 1"
        )
        return [int(row[0]) for row in rows]

    async def replace_favorites(self, user_id: int, title_ids: Iterable[int]) -> None:
        ids = sorted(set(title_ids))
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM favorites WHERE user_id = ?", (user_id,))
            await conn.executemany(
                "INSERT INTO favorites (user_id, title_id) VALUES (?, ?)",
                [(user_id, title_id) for title_id in ids],
            )

    async def favorite_ids(self, user_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT title_id FROM favorites WHERE user_id = ?", (user_id,)
        )
        return {int(row[0]) for row in rows}
