"""Chats the bot talks to, and their settings."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Database

__all__ = ["Chat", "ChatCounts", "ChatRepo"]


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    language: str | None
    seen_language: str | None
    timezone: str | None
    active: bool
    kinds: int
    quiet_start: str | None
    quiet_end: str | None
    follow_favorites_of: int | None
    digest_time: str | None
    digest_next_due: int | None
    digest_only: bool
    digest_when_empty: bool
    digest_last_date: str | None

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Chat:
        return cls(
            id=row["id"],
            type=row["type"],
            title=row["title"],
            language=row["language"],
            seen_language=row["seen_language"],
            timezone=row["timezone"],
            active=bool(row["active"]),
            kinds=row["kinds"],
            quiet_start=row["quiet_start"],
            quiet_end=row["quiet_end"],
            follow_favorites_of=row["follow_favorites_of"],
            digest_time=row["digest_time"],
            digest_next_due=row["digest_next_due"],
            digest_only=bool(row["digest_only"]),
            digest_when_empty=bool(row["digest_when_empty"]),
            digest_last_date=row["digest_last_date"],
        )


@dataclass(frozen=True, slots=True)
class ChatCounts:
    active: int
    inactive: int


_SETTABLE = frozenset(
    {
        "language",
        "timezone",
        "kinds",
        "quiet_start",
        "quiet_end",
        "follow_favorites_of",
        "digest_time",
        "digest_next_due",
        "digest_only",
        "digest_when_empty",
        "digest_last_date",
        "title",
    }
)


# What a chat keeps when Telegram moves it to a new id (a group upgraded to a supergroup).
_MOVED = (
    "language, timezone, kinds, quiet_start, quiet_end, follow_favorites_of, digest_time,"
    " digest_next_due, digest_only, digest_when_empty, digest_last_date"
)


class ChatRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def touch(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None = None,
        seen_language: str | None = None,
    ) -> Chat:
        """Record that the chat spoke to the bot: create it, or make it active again.

        Called for every message and button press, so it writes (and waits for the write lock)
        only when something changed; otherwise one plain read answers.
        """
        known = await self.get(chat_id)
        if (
            known is not None
            and known.active
            and known.type == chat_type
            and (title is None or known.title == title)
            and (seen_language is None or known.seen_language == seen_language)
        ):
            return known
        now = int(time.time())
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (id, type, title, seen_language, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET active = 1, type = excluded.type,"
                " title = COALESCE(excluded.title, chats.title),"
                " seen_language = COALESCE(excluded.seen_language, chats.seen_language),"
                " updated_at = excluded.updated_at"
                " WHERE chats.active = 0 OR chats.type != excluded.type"
                " OR chats.title IS NOT excluded.title"
                " OR chats.seen_language IS NOT excluded.seen_language",
                (chat_id, chat_type, title, seen_language, now, now),
            )
            async with conn.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)) as cur:
                row = await cur.fetchone()
        assert row is not None
        return Chat.from_row(row)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return None if row is None else Chat.from_row(row)

    async def update(self, chat_id: int, **fields: Any) -> None:
        async with self.db.transaction() as conn:
            await self.update_in(conn, chat_id, **fields)

    @staticmethod
    async def update_in(conn: aiosqlite.Connection, chat_id: int, **fields: Any) -> None:
        """:meth:`update` inside the caller's transaction (an import changes many things)."""
        unknown = set(fields) - _SETTABLE
        if unknown:
            raise ValueError(f"not a chat setting: {sorted(unknown)}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await conn.execute(
            f"UPDATE chats SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608 - names are whitelisted
            (*fields.values(), int(time.time()), chat_id),
        )

    async def set_active(self, chat_id: int, active: bool) -> None:
        """Deactivation also drops what was waiting for the chat: it cannot be delivered."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET active = ?, updated_at = ? WHERE id = ?",
                (int(active), int(time.time()), chat_id),
            )
            if not active:
                await conn.execute(
                    "DELETE FROM outbox WHERE chat_id = ? AND state IN ('pending', 'sending')",
                    (chat_id,),
                )

    async def migrate(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: move the chat, its subscriptions and its outbox."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (old_id,)) as cur:
                if await cur.fetchone() is None:
                    return  # already moved (Telegram tells both the old and the new chat)
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (new_id,)) as cur:
                exists = await cur.fetchone() is not None
            if exists:
                # The supergroup spoke first (its "upgraded" service message made a fresh row):
                # it takes the old chat's settings, subscriptions and queued notices.
                await conn.execute(
                    f"UPDATE chats SET ({_MOVED}) = (SELECT {_MOVED} FROM chats WHERE id = ?)"  # noqa: S608
                    " WHERE id = ?",
                    (old_id, new_id),
                )
                await conn.execute(
                    "INSERT OR IGNORE INTO subscriptions"
                    " (chat_id, title_id, thread_id, kinds, created_at)"
                    " SELECT ?, title_id, thread_id, kinds, created_at FROM subscriptions"
                    " WHERE chat_id = ?",
                    (new_id, old_id),
                )
                await conn.execute(
                    "UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
                )
                await conn.execute(
                    "UPDATE rules SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
                )
                await conn.execute(
                    "UPDATE OR IGNORE rule_hits SET chat_id = ? WHERE chat_id = ?",
                    (new_id, old_id),
                )
                await conn.execute("DELETE FROM chats WHERE id = ?", (old_id,))
            else:
                await conn.execute(
                    "UPDATE chats SET id = ?, type = 'supergroup' WHERE id = ?", (new_id, old_id)
                )

    async def forget(self, chat_id: int) -> None:
        """Delete the chat and, through the foreign keys, everything hanging off it."""
        await self.db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    async def counts(self) -> ChatCounts:
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(active), 0), COALESCE(SUM(1 - active), 0) FROM chats"
        )
        assert row is not None
        return ChatCounts(active=int(row[0]), inactive=int(row[1]))
