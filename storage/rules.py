"""Follow rules: a chat's standing wishes for new titles, and which titles they have told of.

A rule is stored twice: as the chat gave it (`rules`, for listing and export) and as the terms a
title must all have (`rule_terms`, for matching). The terms are made by the caller
(``bot.notify.rules``): storage only counts them. Matching a title is one indexed read of the
rows of the title's own terms, grouped by rule, so its cost grows with the rules that share a
term with the title, not with all rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Database

__all__ = ["RuleRepo", "RuleSpec", "StoredRule"]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as the chat gave it: names as the API spells them."""

    genres: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    kind: str | None = None
    season: str | None = None
    year: int | None = None


@dataclass(frozen=True, slots=True)
class StoredRule:
    id: int
    chat_id: int
    spec: RuleSpec
    also_subscribe: bool
    thread_id: int | None
    created_at: int

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> StoredRule:
        spec = RuleSpec(
            genres=tuple(json.loads(row["genres"])),
            voices=tuple(json.loads(row["voices"])),
            kind=row["kind"],
            season=row["season"],
            year=row["year"],
        )
        return cls(
            id=row["id"],
            chat_id=row["chat_id"],
            spec=spec,
            also_subscribe=bool(row["also_subscribe"]),
            thread_id=row["thread_id"],
            created_at=row["created_at"],
        )


def _match_sql(terms: int) -> str:
    """Hits of one title with `terms` terms: rules whose every term the title has, one row per
    active chat (its first matching rule's topic, "also subscribe" if any of them says so)."""
    marks = ",".join("?" * terms)
    return (
        "INSERT OR IGNORE INTO rule_hits (title_id, chat_id, batch, subscribe, thread_id, at)"  # noqa: S608
        " SELECT ?, g.chat_id, ?, g.subscribe, f.thread_id, ? FROM ("
        " SELECT r.chat_id AS chat_id, MIN(r.id) AS first,"
        " MAX(r.also_subscribe) AS subscribe FROM ("
        f" SELECT rule_id FROM rule_terms WHERE term IN ({marks})"
        " GROUP BY rule_id HAVING COUNT(*) = MAX(terms)) h"
        " JOIN rules r ON r.id = h.rule_id GROUP BY r.chat_id) g"
        " JOIN rules f ON f.id = g.first JOIN chats c ON c.id = g.chat_id"
        " WHERE c.active = 1"
    )


class RuleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- a chat's rules ------------------------------------------------------------------------

    async def add(
        self,
        chat_id: int,
        spec: RuleSpec,
        terms: Sequence[str],
        *,
        also_subscribe: bool = False,
        thread_id: int | None = None,
        limit: int | None = None,
    ) -> tuple[StoredRule | None, bool]:
        """Store a rule; (the rule, True) when new, (the same rule given before, False), or
        (None, False) when the chat already holds `limit` rules."""
        async with self.db.transaction() as conn:
            return await self.add_in(
                conn,
                chat_id,
                spec,
                terms,
                also_subscribe=also_subscribe,
                thread_id=thread_id,
                limit=limit,
            )

    @staticmethod
    async def add_in(
        conn: aiosqlite.Connection,
        chat_id: int,
        spec: RuleSpec,
        terms: Sequence[str],
        *,
        also_subscribe: bool = False,
        thread_id: int | None = None,
        limit: int | None = None,
    ) -> tuple[StoredRule | None, bool]:
        """:meth:`add` inside the caller's transaction (an import adds many at once)."""
        unique = sorted(set(terms))
        async with conn.execute("SELECT * FROM rules WHERE chat_id = ?", (chat_id,)) as cur:
            existing = [StoredRule.from_row(row) for row in await cur.fetchall()]
        for rule in existing:
            if rule.spec == spec:
                return rule, False
        if limit is not None and len(existing) >= limit:
            return None, False
        now = int(time.time())
        cursor = await conn.execute(
            "INSERT INTO rules (chat_id, genres, voices, kind, season, year, also_subscribe,"
            " thread_id, terms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                json.dumps(list(spec.genres), ensure_ascii=False),
                json.dumps(list(spec.voices), ensure_ascii=False),
                spec.kind,
                spec.season,
                spec.year,
                int(also_subscribe),
                thread_id,
                len(unique),
                now,
            ),
        )
        rule_id = cursor.lastrowid
        assert rule_id is not None
        await conn.executemany(
            "INSERT INTO rule_terms (term, rule_id, terms) VALUES (?, ?, ?)",
            [(term, rule_id, len(unique)) for term in unique],
        )
        rule = StoredRule(rule_id, chat_id, spec, also_subscribe, thread_id, now)
        return rule, True

    async def list_for_chat(self, chat_id: int) -> list[StoredRule]:
        rows = await self.db.fetchall(
            "SELECT * FROM rules WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [StoredRule.from_row(row) for row in rows]

    async def get(self, chat_id: int, rule_id: int) -> StoredRule | None:
        row = await self.db.fetchone(
            "SELECT * FROM rules WHERE chat_id = ? AND id = ?", (chat_id, rule_id)
        )
        return None if row is None else StoredRule.from_row(row)

    async def delete(self, chat_id: int, rule_id: int) -> bool:
        """Only a rule of this chat: an id from a button never reaches another chat's."""
        return (
            await self.db.execute(
                "DELETE FROM rules WHERE chat_id = ? AND id = ?", (chat_id, rule_id)
            )
            > 0
        )

    async def set_also_subscribe(self, chat_id: int, rule_id: int, on: bool) -> bool:
        return (
            await self.db.execute(
                "UPDATE rules SET also_subscribe = ? WHERE chat_id = ? AND id = ?",
                (int(on), chat_id, rule_id),
            )
            > 0
        )

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT COUNT(*) FROM rules"))

    async def has_term_prefix(self, prefix: str) -> bool:
        """Whether some rule has a term starting with `prefix` (e.g. any voice rule)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM rule_terms WHERE term >= ? AND term < ? LIMIT 1",
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
        )
        return row is not None

    # -- matching, inside the matcher's transaction ------------------------------------------

    @staticmethod
    async def match_in(conn: aiosqlite.Connection, title_id: int, terms: Sequence[str]) -> int:
        """Record a hit of `title_id` for every active chat with a rule it matches and no hit
        of this title yet. Returns the batch that names the new hits (0: none)."""
        unique = sorted(set(terms))
        if not unique:
            return 0
        async with conn.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM rule_hits") as cur:
            row = await cur.fetchone()
        batch = int(row[0]) if row is not None else 1
        cursor = await conn.execute(
            _match_sql(len(unique)), (title_id, batch, int(time.time()), *unique)
        )
        return batch if cursor.rowcount > 0 else 0

    @staticmethod
    async def subscribe_hits_in(conn: aiosqlite.Connection, title_id: int, batch: int) -> int:
        """Subscribe the chats of a batch whose matching rules say "also subscribe"."""
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, title_id, thread_id, created_at)"
            " SELECT chat_id, title_id, thread_id, at FROM rule_hits"
            " WHERE batch = ? AND title_id = ? AND subscribe = 1",
            (batch, title_id),
        )
        return max(cursor.rowcount, 0)

    async def prune_hits(self, before: int) -> int:
        """Forget hits older than `before`: their titles are no longer new, so never matched
        again."""
        return await self.db.execute("DELETE FROM rule_hits WHERE at < ?", (before,))
