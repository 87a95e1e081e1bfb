"""The daily digest's storage: which chats are due, what they follow, and marking them done.

Scale shapes this module: 100,000 chats can fall due in the same minute, so due chats are read
in keyset pages, what they follow is read for a whole page in one query (restricted to the few
titles that have news), and a page's messages, outbox rows and next due times are written in
one transaction. That transaction is what makes a digest happen once: the chat's next due time
and last date move forward together with its outbox rows, or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Database

__all__ = ["DigestRepo", "DigestTitle", "DigestTurn", "DueChat"]

_CHAT_COLUMNS = (
    "id, active, language, seen_language, timezone, digest_time, digest_next_due,"
    " digest_when_empty, digest_last_date"
)
_TITLE_COLUMNS = "id, code, name_ru, name_en, week_day, status_code, first_seen"


@dataclass(frozen=True, slots=True)
class DueChat:
    """What deciding and composing one chat's digest needs, and nothing more."""

    id: int
    active: bool
    language: str | None
    seen_language: str | None
    timezone: str | None
    digest_time: str | None
    next_due: int
    when_empty: bool
    last_date: str | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> DueChat:
        return cls(
            id=row[0],
            active=bool(row[1]),
            language=row[2],
            seen_language=row[3],
            timezone=row[4],
            digest_time=row[5],
            next_due=row[6],
            when_empty=bool(row[7]),
            last_date=row[8],
        )


@dataclass(frozen=True, slots=True)
class DigestTitle:
    id: int
    code: str | None
    name_ru: str | None
    name_en: str | None
    week_day: int | None = None
    status_code: int | None = None
    first_seen: int = 0

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> DigestTitle:
        return cls(*row)


@dataclass(frozen=True, slots=True)
class DigestTurn:
    """What one due chat's turn came to.

    `was_due` is the due time the chat was picked with: a chat whose settings changed in the
    meantime (a new time, /digest off) is left alone. `messages` are (dedupe key, HTML) pairs;
    `sent_date` is the local date of the digest made (None when it was skipped).
    """

    chat_id: int
    was_due: int
    next_due: int | None
    sent_date: str | None = None
    messages: tuple[tuple[str, str], ...] = ()


class DigestRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the scheduler ---------------------------------------------------------------------

    async def due(self, now: int, limit: int, after: tuple[int, int] = (-1, -1)) -> list[DueChat]:
        """Chats due at `now`, in due order, the page after (due, chat id) `after`."""
        rows = await self.db.fetchall(
            f"SELECT {_CHAT_COLUMNS} FROM chats"  # noqa: S608 - a constant column list
            " WHERE digest_next_due IS NOT NULL AND digest_next_due <= ?"
            " AND (digest_next_due, id) > (?, ?)"
            " ORDER BY digest_next_due, id LIMIT ?",
            (now, after[0], after[1], limit),
        )
        return [DueChat.from_row(row) for row in rows]

    async def next_due_at(self) -> int | None:
        value = await self.db.scalar(
            "SELECT MIN(digest_next_due) FROM chats WHERE digest_next_due IS NOT NULL"
        )
        return None if value is None else int(value)

    async def followed_among(
        self, chat_ids: Sequence[int], title_ids: Iterable[int]
    ) -> dict[int, set[int]]:
        """For each chat, which of `title_ids` it follows (directly or through favorites)."""
        wanted = sorted(set(title_ids))
        if not chat_ids or not wanted:
            return {}
        chats, titles = json.dumps(list(chat_ids)), json.dumps(wanted)
        # The chat ids drive the lookups (a few subscriptions each, by primary key); the title
        # list only filters (the unary + keeps SQLite from probing every chat x title pair).
        rows = await self.db.fetchall(
            "SELECT s.chat_id, s.title_id FROM subscriptions s"
            " WHERE s.chat_id IN (SELECT value FROM json_each(?))"
            " AND +s.title_id IN (SELECT value FROM json_each(?))"
            " UNION ALL"
            " SELECT c.id, f.title_id FROM chats c JOIN favorites f"
            " ON f.user_id = c.follow_favorites_of"
            " WHERE c.id IN (SELECT value FROM json_each(?))"
            " AND c.follow_favorites_of IS NOT NULL"
            " AND +f.title_id IN (SELECT value FROM json_each(?))",
            (chats, titles, chats, titles),
        )
        followed: dict[int, set[int]] = {}
        for chat_id, title_id in rows:
            followed.setdefault(chat_id, set()).add(title_id)
        return followed

    async def commit(self, turns: Sequence[DigestTurn], priority: int) -> int:
        """Write a page of turns in one transaction; returns how many outbox rows were queued.

        Identical texts share one `notices` row (many chats get the same digest), written with
        ids taken under the write lock so that the whole page goes out in a few executemany
        calls. Outbox rows are kind "text" (pre-rendered HTML) at `priority`.
        """
        if not turns:
            return 0
        now = time.time()
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id, digest_next_due FROM chats"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps([turn.chat_id for turn in turns]),),
            ) as cur:
                current = {row[0]: row[1] for row in await cur.fetchall()}
            valid = [turn for turn in turns if current.get(turn.chat_id) == turn.was_due]
            async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM notices") as cur:
                row = await cur.fetchone()
            next_id = int(row[0]) + 1 if row else 1
            notice_ids: dict[str, int] = {}
            notices: list[tuple[int, str, float]] = []
            outbox: list[tuple[int, int, str, int, float]] = []
            for turn in valid:
                for key, text in turn.messages:
                    notice_id = notice_ids.get(text)
                    if notice_id is None:
                        notice_id = notice_ids[text] = next_id
                        next_id += 1
                        payload = json.dumps({"html": text}, ensure_ascii=False)
                        notices.append((notice_id, payload, now))
                    outbox.append((turn.chat_id, notice_id, key, priority, now))
            if notices:
                await conn.executemany(
                    "INSERT INTO notices (id, kind, title_id, payload, created_at)"
                    " VALUES (?, 'text', NULL, ?, ?)",
                    notices,
                )
            queued = 0
            if outbox:
                cursor = await conn.executemany(
                    "INSERT OR IGNORE INTO outbox"
                    " (chat_id, notice_id, dedupe_key, priority, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    outbox,
                )
                queued = max(cursor.rowcount, 0)
            await conn.executemany(
                "UPDATE chats SET digest_next_due = ?,"
                " digest_last_date = COALESCE(?, digest_last_date) WHERE id = ?",
                [(turn.next_due, turn.sent_date, turn.chat_id) for turn in valid],
            )
        return queued

    # -- what the digest says --------------------------------------------------------------

    async def released_since(self, since: int) -> dict[int, list[int]]:
        """Episodes announced at or after `since`, by title, in order."""
        rows = await self.db.fetchall(
            "SELECT title_id, episode FROM announced WHERE announced_at >= ?"
            " ORDER BY title_id, episode",
            (since,),
        )
        released: dict[int, list[int]] = {}
        for title_id, episode in rows:
            released.setdefault(title_id, []).append(episode)
        return released

    async def finished_since(self, since: int) -> set[int]:
        rows = await self.db.fetchall("SELECT id FROM titles WHERE finished_at >= ?", (since,))
        return {int(row[0]) for row in rows}

    async def first_seen_since(self, since: int, limit: int) -> tuple[list[DigestTitle], int]:
        """Named titles the bot first saw at or after `since`: the first `limit`, and how many."""
        where = " FROM titles WHERE first_seen >= ? AND COALESCE(name_ru, name_en) IS NOT NULL"
        rows = await self.db.fetchall(
            f"SELECT {_TITLE_COLUMNS}{where} ORDER BY first_seen, id LIMIT ?",
            (since, limit),
        )
        count = await self.db.scalar(f"SELECT COUNT(*){where}", (since,))
        return [DigestTitle.from_row(row) for row in rows], int(count or 0)

    async def titles(self, title_ids: Iterable[int]) -> dict[int, DigestTitle]:
        wanted = sorted(set(title_ids))
        if not wanted:
            return {}
        rows = await self.db.fetchall(
            f"SELECT {_TITLE_COLUMNS} FROM titles"  # noqa: S608 - a constant column list
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted),),
        )
        return {row[0]: DigestTitle.from_row(row) for row in rows}

    async def scheduled_in_catalogue(self) -> list[DigestTitle]:
        """Ongoing titles with a release weekday: the schedule when the API cannot give one."""
        rows = await self.db.fetchall(
            f"SELECT {_TITLE_COLUMNS} FROM titles"  # noqa: S608 - a constant column list
            " WHERE week_day IS NOT NULL AND COALESCE(status_code, 1) = 1"
        )
        return [DigestTitle.from_row(row) for row in rows]

    # -- settings --------------------------------------------------------------------------

    async def set_time(self, chat_id: int, digest_time: str, next_due: int) -> None:
        await self.db.execute(
            "UPDATE chats SET digest_time = ?, digest_next_due = ?, updated_at = ? WHERE id = ?",
            (digest_time, next_due, int(time.time()), chat_id),
        )

    async def turn_off(self, chat_id: int) -> None:
        """No digest, and so no "digest only" either: the chat gets instant notices again."""
        await self.db.execute(
            "UPDATE chats SET digest_time = NULL, digest_next_due = NULL, digest_only = 0,"
            " updated_at = ? WHERE id = ?",
            (int(time.time()), chat_id),
        )

    async def set_next_due(self, chat_id: int, next_due: int | None) -> None:
        await self.db.execute(
            "UPDATE chats SET digest_next_due = ? WHERE id = ? AND digest_time IS NOT NULL",
            (next_due, chat_id),
        )

    async def set_options(
        self, chat_id: int, *, only: bool | None = None, when_empty: bool | None = None
    ) -> None:
        await self.db.execute(
            "UPDATE chats SET digest_only = COALESCE(?, digest_only),"
            " digest_when_empty = COALESCE(?, digest_when_empty), updated_at = ? WHERE id = ?",
            (
                None if only is None else int(only),
                None if when_empty is None else int(when_empty),
                int(time.time()),
                chat_id,
            ),
        )
