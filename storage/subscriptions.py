"""Which chat follows which title."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from storage.db import Database

__all__ = ["FollowedTitle", "SubscriptionRepo"]


@dataclass(frozen=True, slots=True)
class FollowedTitle:
    title_id: int
    code: str | None
    name_ru: str | None
    name_en: str | None
    last_episode: float | None
    episodes_total: int | None
    thread_id: int | None


class SubscriptionRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, chat_id: int, title_id: int, thread_id: int | None = None) -> bool:
        """Follow a title; True when it is new. Given again from another topic, the latest wins."""
        async with self.db.transaction() as conn:
            return await self.add_in(conn, chat_id, title_id, thread_id)

    @staticmethod
    async def add_in(
        conn: aiosqlite.Connection, chat_id: int, title_id: int, thread_id: int | None = None
    ) -> bool:
        """:meth:`add` inside the caller's transaction (with the title's snapshot)."""
        async with conn.execute(
            "SELECT 1 FROM subscriptions WHERE chat_id = ? AND title_id = ?",
            (chat_id, title_id),
        ) as cur:
            existed = await cur.fetchone() is not None
        await conn.execute(
            "INSERT INTO subscriptions (chat_id, title_id, thread_id, created_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id, title_id) DO UPDATE SET thread_id = excluded.thread_id",
            (chat_id, title_id, thread_id, int(time.time())),
        )
        return not existed

    async def remove(self, chat_id: int, title_id: int) -> bool:
        changed = await self.db.execute(
            "DELETE FROM subscriptions WHERE chat_id = ? AND title_id = ?", (chat_id, title_id)
        )
        return changed > 0

    async def is_subscribed(self, chat_id: int, title_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM subscriptions WHERE chat_id = ? AND title_id = ?", (chat_id, title_id)
        )
        return row is not None

    async def title_ids(self, chat_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT title_id FROM subscriptions WHERE chat_id = ?", (chat_id,)
        )
        return {int(row[0]) for row in rows}

    async def list_for_chat(self, chat_id: int) -> list[FollowedTitle]:
        rows = await self.db.fetchall(
            "SELECT s.title_id, t.code, t.name_ru, t.name_en, t.last_episode, t.episodes_total,"
            " s.thread_id FROM subscriptions s LEFT JOIN titles t ON t.id = s.title_id"
            " WHERE s.chat_id = ? ORDER BY COALESCE(t.name_ru, t.name_en, t.code), s.title_id",
            (chat_id,),
        )
        return [FollowedTitle(*row) for row in rows]

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT COUNT(*) FROM subscriptions"))

    async def followed_title_ids(self) -> set[int]:
        """Titles someone follows, directly or through the favorites they follow."""
        rows = await self.db.fetchall(
            "SELECT title_id FROM subscriptions"
            " UNION SELECT f.title_id FROM favorites f"
            " JOIN chats c ON c.follow_favorites_of = f.user_id"
        )
        return {int(row[0]) for row in rows}
