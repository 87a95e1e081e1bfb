"""Follow rules: a chat's standing wishes for new titles, and which titles they have told of.

A rule is stored twice: as the chat gave it (`rules`, for listing and export) and as the terms a
title must all have (`rule_terms`). The terms are made by the caller (``bot.notify.rules``):
storage only compares them. Which rules a title matches is decided in memory
(:class:`~storage.rule_index.RuleIndex`, one per open database, kept in step with the table);
which chats that means, and the hits, are then written in SQL in the matcher's transaction.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Database
from storage.rule_index import RuleIndex, Told, current_version

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


_INDEXES: weakref.WeakKeyDictionary[Database, RuleIndex] = weakref.WeakKeyDictionary()

# One hit per chat told (active chats only; a chat told of this title before keeps its row).
_HITS_SQL = (
    "INSERT OR IGNORE INTO rule_hits (title_id, chat_id, batch, subscribe, thread_id, at)"
    " SELECT :title, c.id, :batch, 0, NULL, :now FROM json_each(:chats) j"
    " JOIN chats c ON c.id = j.value WHERE c.active = 1"
)


def index_of(db: Database) -> RuleIndex:
    """The rules index of this open database (one for the whole process)."""
    index = _INDEXES.get(db)
    if index is None:
        index = _INDEXES[db] = RuleIndex()
    return index


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
            before = await current_version(conn)
            rule, added = await self.add_in(
                conn,
                chat_id,
                spec,
                terms,
                also_subscribe=also_subscribe,
                thread_id=thread_id,
                limit=limit,
            )
        if rule is not None and added:
            index_of(self.db).added(
                before, rule.id, chat_id, terms, subscribe=also_subscribe, thread=thread_id
            )
        return rule, added

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
            "INSERT INTO rule_terms (rule_id, term) VALUES (?, ?)",
            [(rule_id, term) for term in unique],
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
        async with self.db.transaction() as conn:
            before = await current_version(conn)
            cursor = await conn.execute(
                "DELETE FROM rules WHERE chat_id = ? AND id = ?", (chat_id, rule_id)
            )
            deleted = cursor.rowcount > 0
        if deleted:
            index_of(self.db).removed(before, [rule_id])
        return deleted

    async def set_also_subscribe(self, chat_id: int, rule_id: int, on: bool) -> bool:
        changed = (
            await self.db.execute(
                "UPDATE rules SET also_subscribe = ? WHERE chat_id = ? AND id = ?",
                (int(on), chat_id, rule_id),
            )
            > 0
        )
        if changed:
            index_of(self.db).set_subscribe(rule_id, on)
        return changed

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT COUNT(*) FROM rules"))

    async def has_voice_rules(self) -> bool:
        """Whether some rule names a voice actor (a partial index answers)."""
        row = await self.db.fetchone("SELECT 1 FROM rules WHERE voices != '[]' LIMIT 1")
        return row is not None

    # -- matching, inside the matcher's transaction ------------------------------------------

    async def told(self, conn: aiosqlite.Connection, terms: Sequence[str]) -> Told:
        """The chats whose rules a title with these terms matches (inside the caller's
        transaction: a stale index is reloaded first)."""
        index = index_of(self.db)
        await index.ensure(conn)
        return index.told(terms)

    async def match_in(
        self, conn: aiosqlite.Connection, title_id: int, terms: Sequence[str]
    ) -> int:
        """Record a hit of `title_id` for every active chat with a rule it matches and no hit
        of this title yet. Returns the batch that names the new hits (0: none)."""
        told = await self.told(conn, terms)
        if not told.chats:
            return 0
        async with conn.execute(
            "SELECT COALESCE(MAX(batch), 0) + 1 FROM rule_hits WHERE title_id = ?", (title_id,)
        ) as cur:
            row = await cur.fetchone()
        batch = int(row[0]) if row is not None else 1
        params = {"title": title_id, "batch": batch, "now": int(time.time())}
        cursor = await conn.execute(_HITS_SQL, {**params, "chats": json.dumps(told.chats)})
        if cursor.rowcount <= 0:
            return 0
        special = told.subscribe | set(told.threads)
        await conn.executemany(
            "UPDATE rule_hits SET subscribe = ?, thread_id = ?"
            " WHERE title_id = ? AND chat_id = ? AND batch = ?",
            [
                (int(chat in told.subscribe), told.threads.get(chat), title_id, chat, batch)
                for chat in special
            ],
        )
        return batch

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
