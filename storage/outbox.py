"""The outbox: one row per (chat, notice) waiting to be sent, sent, or parked.

The matcher fills it in the same transaction that marks an event handled; the sender claims due
rows, sends them and marks them done. A crash loses nothing: rows claimed but not finished are
released at start, so at most the sends that were in flight go out twice.

Fair queues without a scheduler of their own: within one priority (episode news before title
news, messages and digests) rows are claimed in ``not_before`` order, and a fan-out's rows get
``not_before`` values one FAIR_STEP apart starting at the head of that priority's due backlog
(start-time fair queueing, with ``not_before`` as the virtual time; with no backlog, an hour in
the past). A 10-chat notice queued behind a 50,000-chat one therefore interleaves with it row
by row instead of waiting for all of it, and every row is due at once. A row put back for later
(a retry) gets a real time and so goes behind the backlog of its priority. Within one chat, a
row is only claimed once every older row of its priority is done, and never while another row
of the chat is being sent, so a chat's notices keep their order and only one is in flight.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Database

__all__ = ["FAIR_STEP", "Outbox", "OutboxItem", "OutboxStats", "PendingFanOut", "Priority"]

# Virtual seconds between two rows of one fan-out (see the module docstring): 50,000 rows span
# half a second, and 1e-5 is still ~40 float steps at today's epoch seconds.
FAIR_STEP = 1e-5
# Where a fan-out starts when its priority has no due backlog: far enough in the past that all
# its rows (up to 360 million) are due at once.
FAIR_LEAD = 3600.0
_PAYLOADS_KEPT = 512  # parsed notice payloads kept (one per notice, shared by its rows)


class Priority:
    EPISODE = 0
    TITLE_NEWS = 10
    MESSAGE = 20
    DIGEST = 50


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    chat_id: int
    chat_type: str
    language: str | None
    seen_language: str | None
    timezone: str | None
    quiet_start: str | None
    quiet_end: str | None
    thread_id: int | None
    kind: str
    title_id: int | None
    payload: dict[str, Any]
    dedupe_key: str
    priority: int
    attempts: int
    notice_id: int = 0  # rows of one notice share payload (and so rendering)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    sending: int
    parked: int
    sent_last_hour: int
    failed_last_hour: int


@dataclass(frozen=True, slots=True)
class PendingFanOut:
    """One notice with rows still waiting (for /stats: the largest fan-outs)."""

    notice_id: int
    kind: str
    title_id: int | None
    name_ru: str | None
    name_en: str | None
    code: str | None
    pending: int
    created_at: float


async def _insert_notice(
    conn: aiosqlite.Connection, kind: str, title_id: int | None, payload: Mapping[str, Any]
) -> int:
    cursor = await conn.execute(
        "INSERT INTO notices (kind, title_id, payload, created_at) VALUES (?, ?, ?, ?)",
        (kind, title_id, json.dumps(payload, ensure_ascii=False), time.time()),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def _fair_start(conn: aiosqlite.Connection, priority: int, now: float) -> float:
    """The virtual time a new fan-out of `priority` starts at: the head of its due backlog."""
    async with conn.execute(
        "SELECT MIN(not_before) FROM outbox INDEXED BY outbox_due"
        " WHERE state = 'pending' AND priority = ? AND not_before <= ?",
        (priority, now),
    ) as cur:
        row = await cur.fetchone()
    head = row[0] if row is not None else None
    return now - FAIR_LEAD if head is None else float(head)


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._payloads: dict[int, dict[str, Any]] = {}

    # -- writing, inside the caller's transaction ------------------------------------------

    @staticmethod
    async def enqueue_for_followers(
        conn: aiosqlite.Connection,
        *,
        kind: str,
        kind_bit: int,
        title_id: int,
        payload: Mapping[str, Any],
        dedupe_key: str,
        priority: int,
        instant: bool = True,
    ) -> int:
        """Queue a notice for every active chat that follows the title and wants this kind.

        Followers are direct subscribers (in their forum topic) and chats following a user's
        favorites that hold the title; a chat that is both gets one row (UNIQUE + OR IGNORE,
        direct subscriptions first so their topic wins). Instant notices skip chats that chose
        the digest instead. The rows' not_before are one FAIR_STEP apart from the head of the
        priority's backlog, so that they interleave with fan-outs already waiting. Returns how
        many rows were queued.
        """
        notice_id = await _insert_notice(conn, kind, title_id, payload)
        now = time.time()
        start = await _fair_start(conn, priority, now)
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox"
            " (chat_id, notice_id, dedupe_key, priority, thread_id, not_before, created_at)"
            " SELECT chat_id, :notice, :key, :priority, thread_id,"
            " :start + (ROW_NUMBER() OVER () - 1) * :step, :now FROM ("
            " SELECT s.chat_id AS chat_id, s.thread_id AS thread_id"
            " FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
            " WHERE s.title_id = :title AND c.active = 1"
            " AND (COALESCE(s.kinds, c.kinds) & :bit) != 0 AND (:instant = 0 OR c.digest_only = 0)"
            " UNION ALL"
            " SELECT c.id, NULL"
            " FROM favorites f JOIN chats c ON c.follow_favorites_of = f.user_id"
            " WHERE f.title_id = :title AND c.active = 1"
            " AND (c.kinds & :bit) != 0 AND (:instant = 0 OR c.digest_only = 0))",
            {
                "notice": notice_id,
                "key": dedupe_key,
                "priority": priority,
                "now": now,
                "start": start,
                "step": FAIR_STEP,
                "title": title_id,
                "bit": kind_bit,
                "instant": int(instant),
            },
        )
        return max(cursor.rowcount, 0)

    @staticmethod
    async def enqueue_for_chat(
        conn: aiosqlite.Connection,
        *,
        chat_id: int,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str,
        priority: int,
        title_id: int | None = None,
        thread_id: int | None = None,
        not_before: float = 0.0,
    ) -> bool:
        notice_id = await _insert_notice(conn, kind, title_id, payload)
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox (chat_id, notice_id, dedupe_key, priority, thread_id,"
            " not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (chat_id, notice_id, dedupe_key, priority, thread_id, not_before, time.time()),
        )
        return cursor.rowcount > 0

    @staticmethod
    async def enqueue_for_rule_hits(
        conn: aiosqlite.Connection,
        *,
        batch: int,
        title_id: int,
        subscribed: bool,
        kind: str,
        kind_bit: int,
        payload: Mapping[str, Any],
        dedupe_key: str,
        priority: int,
    ) -> int:
        """Queue a notice for the chats of one batch of follow-rule hits (storage.rules) that
        were (`subscribed`) or were not subscribed by it, where they want this kind and take
        instant notices; spaced like every fan-out (see enqueue_for_followers). Returns how
        many rows were queued."""
        notice_id = await _insert_notice(conn, kind, title_id, payload)
        now = time.time()
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox"
            " (chat_id, notice_id, dedupe_key, priority, thread_id, not_before, created_at)"
            " SELECT chat_id, :notice, :key, :priority, thread_id,"
            " :start + (ROW_NUMBER() OVER () - 1) * :step, :now FROM ("
            " SELECT h.chat_id AS chat_id, h.thread_id AS thread_id FROM rule_hits h"
            " JOIN chats c ON c.id = h.chat_id"
            " WHERE h.batch = :batch AND h.title_id = :title AND h.subscribe = :subscribed"
            " AND c.active = 1 AND (c.kinds & :bit) != 0 AND c.digest_only = 0)",
            {
                "notice": notice_id,
                "key": dedupe_key,
                "priority": priority,
                "now": now,
                "start": await _fair_start(conn, priority, now),
                "step": FAIR_STEP,
                "batch": batch,
                "title": title_id,
                "subscribed": int(subscribed),
                "bit": kind_bit,
            },
        )
        return max(cursor.rowcount, 0)

    @staticmethod
    async def enqueue_for_kind(
        conn: aiosqlite.Connection,
        *,
        kind: str,
        kind_bit: int,
        payload: Mapping[str, Any],
        dedupe_key: str,
        priority: int,
    ) -> int:
        """Queue a notice about no title in particular (AniLibria's videos) for every active
        chat that switched this kind on and takes instant notices; spaced like every fan-out."""
        notice_id = await _insert_notice(conn, kind, None, payload)
        now = time.time()
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox"
            " (chat_id, notice_id, dedupe_key, priority, thread_id, not_before, created_at)"
            " SELECT c.id, :notice, :key, :priority, NULL,"
            " :start + (ROW_NUMBER() OVER () - 1) * :step, :now FROM chats c"
            " WHERE c.active = 1 AND (c.kinds & :bit) != 0 AND c.digest_only = 0",
            {
                "notice": notice_id,
                "key": dedupe_key,
                "priority": priority,
                "now": now,
                "start": await _fair_start(conn, priority, now),
                "step": FAIR_STEP,
                "bit": kind_bit,
            },
        )
        return max(cursor.rowcount, 0)

    # -- the sender's side ---------------------------------------------------------------------

    async def release_in_flight(self) -> int:
        """At start: rows a previous process claimed but never finished go back to pending."""
        return await self.db.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")

    async def claim_due(self, limit: int, now: float | None = None) -> list[OutboxItem]:
        """Take up to `limit` due rows, most urgent and earliest first, and mark them as being sent.

        A row is skipped while its chat has a row being sent, or an older pending row of the
        same priority: a chat's notices go out one at a time, in order. (A more urgent row of
        the chat comes earlier in the same claim anyway; the sender sends it first and puts
        the other back.)
        """
        now = time.time() if now is None else now
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT o.id, o.chat_id, c.type, c.language, c.seen_language, c.timezone,"
                " c.quiet_start, c.quiet_end, o.thread_id, n.kind, n.title_id, o.notice_id,"
                " o.dedupe_key, o.priority, o.attempts"
                # INDEXED BY: left to itself SQLite takes outbox_by_state_time and sorts every
                # pending row, 30 ms a claim behind a 50,000-row fan-out instead of 0.2 ms.
                " FROM outbox o INDEXED BY outbox_due JOIN notices n ON n.id = o.notice_id"
                " JOIN chats c ON c.id = o.chat_id"
                " WHERE o.state = 'pending' AND o.not_before <= ?"
                " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.chat_id = o.chat_id"
                " AND p.id != o.id AND (p.state = 'sending' OR (p.state = 'pending'"
                " AND p.priority = o.priority AND p.id < o.id)))"
                " ORDER BY o.priority, o.not_before, o.id LIMIT ?",
                (now, limit),
            ) as cur:
                rows = list(await cur.fetchall())
            if rows:
                await conn.executemany(
                    "UPDATE outbox SET state = 'sending' WHERE id = ?", [(row[0],) for row in rows]
                )
            payloads = await self._payloads_of(conn, {row[11] for row in rows})
        return [
            OutboxItem(
                id=row[0],
                chat_id=row[1],
                chat_type=row[2],
                language=row[3],
                seen_language=row[4],
                timezone=row[5],
                quiet_start=row[6],
                quiet_end=row[7],
                thread_id=row[8],
                kind=row[9],
                title_id=row[10],
                payload=payloads[row[11]],
                dedupe_key=row[12],
                priority=row[13],
                attempts=row[14],
                notice_id=row[11],
            )
            for row in rows
        ]

    async def _payloads_of(
        self, conn: aiosqlite.Connection, notice_ids: set[int]
    ) -> dict[int, dict[str, Any]]:
        """Parsed payloads: a notice's rows share one (a notice's payload never changes)."""
        missing = [notice for notice in notice_ids if notice not in self._payloads]
        if missing:
            marks = ",".join("?" * len(missing))
            async with conn.execute(
                f"SELECT id, payload FROM notices WHERE id IN ({marks})",  # noqa: S608 - marks only
                missing,
            ) as cur:
                found = list(await cur.fetchall())
            if len(self._payloads) + len(found) > _PAYLOADS_KEPT:
                self._payloads.clear()
            for notice, payload in found:
                self._payloads[notice] = json.loads(payload)
        return {notice: self._payloads[notice] for notice in notice_ids}

    async def next_due_at(self) -> float | None:
        """The earliest not_before among pending rows."""
        return await self._earliest_pending()

    async def has_work(self, now: float) -> bool:
        """Whether a row is being sent or due to be: what a working sender must move."""
        sending = await self.db.scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'sending')"
        )
        if sending:
            return True
        due = await self.next_due_at()
        return due is not None and due <= now

    async def next_due_after(self, now: float) -> float | None:
        """The earliest not_before still in the future: when the next row falls due.

        Rows already due but held back (their chat has one in flight) do not count: a sender
        learns about those when that row is done.
        """
        return await self._earliest_pending(after=now)

    async def _earliest_pending(self, after: float | None = None) -> float | None:
        """The earliest not_before among pending rows (later than `after`, when given).

        A skip-scan of outbox_due: the first entry of each priority holds that priority's
        earliest row, so this reads a few index entries where a plain MIN(not_before) reads
        every pending row (13 ms behind a 50,000-row fan-out, and the sender asks often).
        """
        value = await self.db.scalar(
            "WITH RECURSIVE p (priority) AS ("
            " SELECT MIN(priority) FROM outbox INDEXED BY outbox_due WHERE state = 'pending'"
            " UNION ALL"
            " SELECT (SELECT MIN(priority) FROM outbox INDEXED BY outbox_due"
            " WHERE state = 'pending' AND priority > p.priority)"
            " FROM p WHERE p.priority IS NOT NULL)"
            " SELECT MIN((SELECT MIN(not_before) FROM outbox INDEXED BY outbox_due"
            " WHERE state = 'pending' AND priority = p.priority"
            " AND (?1 IS NULL OR not_before > ?1))) FROM p",
            (after,),
        )
        return None if value is None else float(value)

    async def mark_sent(self, item_id: int) -> None:
        await self.mark_sent_many([item_id])

    async def mark_sent_many(
        self, item_ids: list[int], *, state: tuple[str, str] | None = None
    ) -> None:
        """Mark rows sent in one transaction (the sender commits its sends in groups).

        `state`: a (key, value) of the state table written in the same transaction, so that a
        counter of what was sent (paid messages today) never disagrees with the rows.
        """
        now = time.time()
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET state = 'sent', done_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE id = ?",
                [(now, item_id) for item_id in item_ids],
            )
            if state is not None:
                await conn.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    state,
                )

    async def release(self, item_ids: list[int]) -> None:
        """Claimed rows go back to pending untouched: same place in line, no attempt counted."""
        await self.db.executemany(
            "UPDATE outbox SET state = 'pending' WHERE id = ? AND state = 'sending'",
            [(item_id,) for item_id in item_ids],
        )

    async def retry_later(self, item_id: int, not_before: float, error: str | None) -> None:
        """Back to pending; a counted attempt only when `error` says something failed."""
        await self.db.execute(
            "UPDATE outbox SET state = 'pending', not_before = ?,"
            " attempts = attempts + (? IS NOT NULL), last_error = COALESCE(?, last_error)"
            " WHERE id = ?",
            (not_before, error, error, item_id),
        )

    async def park(self, item_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'parked', done_at = ?, attempts = attempts + 1,"
            " last_error = ? WHERE id = ?",
            (time.time(), error[:500], item_id),
        )

    async def move_to_chat(self, item_id: int, new_chat_id: int) -> None:
        # not_before is kept: the row was due, and keeps its place in line.
        await self.db.execute(
            "UPDATE OR IGNORE outbox SET chat_id = ?, state = 'pending' WHERE id = ?",
            (new_chat_id, item_id),
        )

    # -- operations ----------------------------------------------------------------------------

    async def stats(self, now: float | None = None) -> OutboxStats:
        now = time.time() if now is None else now
        row = await self.db.fetchone(
            "SELECT"
            " (SELECT COUNT(*) FROM outbox WHERE state = 'pending'),"
            " (SELECT COUNT(*) FROM outbox WHERE state = 'sending'),"
            " (SELECT COUNT(*) FROM outbox WHERE state = 'parked'),"
            " (SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND done_at >= ?),"
            " (SELECT COUNT(*) FROM outbox WHERE state = 'parked' AND done_at >= ?)",
            (now - 3600, now - 3600),
        )
        assert row is not None
        return OutboxStats(*(int(value) for value in row))

    async def due_count(self, now: float | None = None) -> int:
        """Pending rows already due: the backlog the sender has in front of it."""
        now = time.time() if now is None else now
        value = await self.db.scalar(
            "SELECT COUNT(*) FROM outbox INDEXED BY outbox_due"
            " WHERE state = 'pending' AND not_before <= ?",
            (now,),
        )
        return int(value or 0)

    async def largest_pending(self, limit: int = 5) -> list[PendingFanOut]:
        """The notices with the most rows still waiting, largest first."""
        rows = await self.db.fetchall(
            "SELECT w.notice_id, n.kind, n.title_id, t.name_ru, t.name_en, t.code, w.pending,"
            " n.created_at FROM (SELECT notice_id, COUNT(*) AS pending"
            " FROM outbox INDEXED BY outbox_due WHERE state = 'pending' GROUP BY notice_id"
            " ORDER BY pending DESC LIMIT ?) w JOIN notices n ON n.id = w.notice_id"
            " LEFT JOIN titles t ON t.id = n.title_id ORDER BY w.pending DESC, w.notice_id",
            (limit,),
        )
        return [PendingFanOut(*row) for row in rows]

    async def parked(self, limit: int = 10) -> list[tuple[int, int, str, str | None]]:
        rows = await self.db.fetchall(
            "SELECT id, chat_id, dedupe_key, last_error FROM outbox WHERE state = 'parked'"
            " ORDER BY done_at DESC LIMIT ?",
            (limit,),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def prune(self, sent_before: float, parked_before: float) -> int:
        """Forget delivered rows (and parked ones much later) so the file does not grow forever.

        Pruning a sent row is safe: the title's high-water mark, not the outbox, is what keeps
        an old episode from being news again.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM outbox WHERE (state = 'sent' AND done_at < ?)"
                " OR (state = 'parked' AND done_at < ?)",
                (sent_before, parked_before),
            )
            removed = cursor.rowcount
            await conn.execute(
                "DELETE FROM notices WHERE NOT EXISTS"
                " (SELECT 1 FROM outbox o WHERE o.notice_id = notices.id)"
            )
            await conn.execute("DELETE FROM seen_hashes WHERE seen_at < ?", (int(sent_before),))
        return removed

    async def clear_thread(self, item_id: int) -> None:
        """The forum topic is gone: send this row, and later notices, to the general topic."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET thread_id = NULL WHERE (chat_id, thread_id) ="
                " (SELECT chat_id, thread_id FROM outbox WHERE id = ?)",
                (item_id,),
            )
            await conn.execute(
                "UPDATE outbox SET thread_id = NULL, state = 'pending' WHERE id = ?", (item_id,)
            )
