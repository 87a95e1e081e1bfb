"""The bot's local copy of titles: enough to write a notice without a REST call."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, fields

import aiosqlite

from storage.db import Database

__all__ = ["KnownEpisode", "TitleRecord", "TitleRepo"]


@dataclass(frozen=True, slots=True)
class KnownEpisode:
    """An episode the bot has seen, by the API's own id."""

    ordinal: float
    playable: bool


@dataclass(frozen=True, slots=True)
class TitleRecord:
    id: int
    code: str | None = None
    name_ru: str | None = None
    name_en: str | None = None
    poster: str | None = None
    status_code: int | None = None
    announce: str | None = None
    week_day: int | None = None
    episodes_total: int | None = None
    last_episode: float | None = None
    high_water: float = 0
    torrents: str | None = None
    updated: int | None = None
    finished_at: int | None = None
    first_seen: int = 0
    refreshed_at: int = 0
    created: int | None = None  # when the API says the title was added (v1), or None
    novelty: int | None = None  # None: not judged yet; 0: the catalogue; 1: new on AniLibria

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> TitleRecord:
        return cls(**{name: row[name] for name in _COLUMNS})


_COLUMNS = tuple(field.name for field in fields(TitleRecord))
# Refreshed from the API every time; high_water, finished_at, first_seen and novelty are the
# bot's own.
_API_COLUMNS = (
    "code",
    "name_ru",
    "name_en",
    "poster",
    "status_code",
    "announce",
    "week_day",
    "episodes_total",
    "last_episode",
    "torrents",
    "updated",
    "created",
)


class TitleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, title_id: int) -> TitleRecord | None:
        row = await self.db.fetchone("SELECT * FROM titles WHERE id = ?", (title_id,))
        return None if row is None else TitleRecord.from_row(row)

    async def get_by_code(self, code: str) -> TitleRecord | None:
        row = await self.db.fetchone("SELECT * FROM titles WHERE code = ?", (code,))
        return None if row is None else TitleRecord.from_row(row)

    async def get_many(self, title_ids: set[int]) -> dict[int, TitleRecord]:
        if not title_ids:
            return {}
        marks = ",".join("?" * len(title_ids))
        rows = await self.db.fetchall(
            f"SELECT * FROM titles WHERE id IN ({marks})",  # noqa: S608 - only placeholders
            tuple(title_ids),
        )
        return {row["id"]: TitleRecord.from_row(row) for row in rows}

    async def new_or_unknown(self, title_ids: set[int], since: int) -> set[int]:
        """Those of `title_ids` the bot has never judged (never stored, or stored without a
        full snapshot) or judged new on AniLibria and first seen at `since` or later."""
        if not title_ids:
            return set()
        marks = ",".join("?" * len(title_ids))
        rows = await self.db.fetchall(
            f"SELECT id FROM titles WHERE id IN ({marks})"  # noqa: S608 - only placeholders
            " AND (novelty = 0 OR (novelty = 1 AND first_seen < ?))",
            (*title_ids, since),
        )
        return title_ids - {int(row[0]) for row in rows}

    async def save(self, record: TitleRecord) -> TitleRecord:
        async with self.db.transaction() as conn:
            return await self.save_in(conn, record)

    @staticmethod
    async def load_in(conn: aiosqlite.Connection, title_id: int) -> TitleRecord | None:
        async with conn.execute("SELECT * FROM titles WHERE id = ?", (title_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else TitleRecord.from_row(row)

    @staticmethod
    async def save_in(conn: aiosqlite.Connection, record: TitleRecord) -> TitleRecord:
        """Upsert inside the caller's transaction.

        A title seen for the first time takes what it already has as its baseline
        (high_water = last_episode): the catalogue as it stands is not news.
        """
        now = int(time.time())
        values = [getattr(record, name) for name in _API_COLUMNS]
        baseline = record.high_water or record.last_episode or 0
        updates = ", ".join(
            f"{name} = COALESCE(excluded.{name}, titles.{name})" for name in _API_COLUMNS
        )
        await conn.execute(
            f"INSERT INTO titles (id, {', '.join(_API_COLUMNS)}, high_water, first_seen,"  # noqa: S608
            f" refreshed_at) VALUES (?, {', '.join('?' * len(_API_COLUMNS))}, ?, ?, ?)"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, refreshed_at = excluded.refreshed_at",
            (record.id, *values, baseline, record.first_seen or now, now),
        )
        stored = await TitleRepo.load_in(conn, record.id)
        assert stored is not None
        return stored

    @staticmethod
    async def known_episodes_in(
        conn: aiosqlite.Connection, title_id: int
    ) -> dict[str, KnownEpisode]:
        async with conn.execute(
            "SELECT episode_id, ordinal, playable FROM episodes WHERE title_id = ?", (title_id,)
        ) as cur:
            rows = await cur.fetchall()
        return {row[0]: KnownEpisode(row[1], bool(row[2])) for row in rows}

    @staticmethod
    async def remember_episodes_in(
        conn: aiosqlite.Connection, title_id: int, episodes: Iterable[tuple[str, float, bool]]
    ) -> None:
        """Store (id, ordinal, playable) of each episode; a known id takes the new values."""
        now = int(time.time())
        await conn.executemany(
            "INSERT INTO episodes (title_id, episode_id, ordinal, playable, seen_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (title_id, episode_id) DO UPDATE SET"
            " ordinal = excluded.ordinal, playable = excluded.playable",
            [(title_id, key, ordinal, int(playable), now) for key, ordinal, playable in episodes],
        )

    @staticmethod
    async def unlisted_in(conn: aiosqlite.Connection, title_ids: Iterable[int]) -> set[int]:
        """Of these stored titles, those whose episodes were never listed: stored from a list
        answer that named neither episodes nor a latest one (v1's catalogue pages and
        favorites), so no episode id, no newest episode and no high-water mark is known."""
        ids = sorted(set(title_ids))
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        async with conn.execute(
            f"SELECT id FROM titles WHERE id IN ({marks}) AND last_episode IS NULL"  # noqa: S608
            " AND high_water = 0"
            " AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.title_id = titles.id)",
            ids,
        ) as cur:
            return {int(row[0]) for row in await cur.fetchall()}

    @staticmethod
    async def announced_in(conn: aiosqlite.Connection, title_id: int) -> set[float]:
        async with conn.execute(
            "SELECT episode FROM announced WHERE title_id = ?", (title_id,)
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    @staticmethod
    async def raise_high_water(conn: aiosqlite.Connection, title_id: int, episode: float) -> None:
        await conn.execute(
            "UPDATE titles SET high_water = MAX(high_water, ?) WHERE id = ?", (episode, title_id)
        )

    @staticmethod
    async def set_novelty(conn: aiosqlite.Connection, title_id: int, novelty: int) -> None:
        await conn.execute("UPDATE titles SET novelty = ? WHERE id = ?", (novelty, title_id))

    @staticmethod
    async def set_finished(conn: aiosqlite.Connection, title_id: int, at: int) -> None:
        await conn.execute(
            "UPDATE titles SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (at, title_id),
        )
