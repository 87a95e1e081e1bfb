"""The bot's local copy of titles: enough to write a notice without a REST call."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import aiosqlite

from storage.db import Database

__all__ = ["TitleRecord", "TitleRepo"]


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
    last_episode: int | None = None
    high_water: int = 0
    torrents: str | None = None
    updated: int | None = None
    finished_at: int | None = None
    first_seen: int = 0
    refreshed_at: int = 0

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> TitleRecord:
        return cls(**{name: row[name] for name in _COLUMNS})


_COLUMNS = tuple(field.name for field in fields(TitleRecord))
# Refreshed from the API every time; high_water, finished_at and first_seen are the bot's own.
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
    async def raise_high_water(conn: aiosqlite.Connection, title_id: int, episode: int) -> None:
        await conn.execute(
            "UPDATE titles SET high_water = MAX(high_water, ?) WHERE id = ?", (episode, title_id)
        )

    @staticmethod
    async def set_finished(conn: aiosqlite.Connection, title_id: int, at: int) -> None:
        await conn.execute(
            "UPDATE titles SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (at, title_id),
        )
