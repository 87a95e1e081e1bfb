"""Who gets what, for each event.

Every event is handled in one SQLite transaction that (1) updates the local copy of the title,
(2) decides what is news against the title's high-water mark and the hashes already seen, and
(3) writes the outbox rows. A crash before the commit loses nothing (the event is handled again
by the catch-up); after it, the sender has the rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite

from bot.anilibria.events import PlaylistUpdate, TitleUpdate, TorrentUpdate
from bot.anilibria.models import Title, Torrents
from bot.notify.kinds import NoticeKind
from storage import Database, Outbox, Priority, TitleRecord, TitleRepo

__all__ = ["Matcher", "record_from_title", "torrent_signature"]

log = logging.getLogger(__name__)


def torrent_signature(torrents: Torrents | None) -> dict[str, dict[str, Any]] | None:
    """Torrents as {"quality|series": {...}}: a swap of the same quality and range is no news."""
    if torrents is None:
        return None
    signature: dict[str, dict[str, Any]] = {}
    for torrent in torrents.list:
        quality = torrent.quality.string if torrent.quality else None
        series = torrent.series.string if torrent.series else None
        signature[f"{quality}|{series}"] = {
            "quality": quality,
            "series": series,
            "size": torrent.total_size,
        }
    return signature


def record_from_title(title: Title) -> TitleRecord:
    player = title.player
    posters = title.posters
    medium = posters.medium.url if posters and posters.medium and posters.medium.url else None
    signature = torrent_signature(title.torrents)
    return TitleRecord(
        id=title.id,
        code=title.code,
        name_ru=title.names.ru,
        name_en=title.names.en,
        poster=medium or (posters.best_url if posters else None),
        status_code=title.status.code if title.status else None,
        announce=title.announce,
        week_day=title.season.week_day if title.season else None,
        episodes_total=title.type.series if title.type else None,
        last_episode=player.last_episode if player else None,
        torrents=None if signature is None else json.dumps(signature, ensure_ascii=False),
        updated=title.updated,
    )


async def _first_time(conn: aiosqlite.Connection, event_hash: str | None) -> bool:
    """Record an event's hash; False when it was handled before (the server repeats itself)."""
    if not event_hash:
        return True
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO seen_hashes (hash, seen_at) VALUES (?, ?)",
        (event_hash, int(time.time())),
    )
    return cursor.rowcount > 0


def _names_payload(record: TitleRecord) -> dict[str, Any]:
    return {
        "title_id": record.id,
        "code": record.code,
        "name_ru": record.name_ru,
        "name_en": record.name_en,
    }


class Matcher:
    def __init__(self, db: Database, *, on_queued: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.on_queued = on_queued

    def _queued(self, count: int) -> int:
        if count and self.on_queued is not None:
            self.on_queued(count)
        return count

    async def handle(self, event: object) -> int:
        """Dispatch one parsed event; returns how many outbox rows it queued."""
        if isinstance(event, PlaylistUpdate):
            return await self.on_playlist_update(event)
        if isinstance(event, TitleUpdate):
            return await self.on_title_update(event)
        if isinstance(event, TorrentUpdate):
            return await self.on_torrent_update(event)
        return 0  # encode progress and the like: interesting, but not news

    # -- events ----------------------------------------------------------------------------

    async def on_playlist_update(self, event: PlaylistUpdate) -> int:
        present: set[int] = set(event.player.playlist) if event.player else set()
        if event.episode is not None:
            present.add(event.episode)
        async with self.db.transaction() as conn:
            record = await TitleRepo.load_in(conn, event.title_id)
            if record is None:
                # Nobody follows a title the bot has never stored (subscribing stores it), so
                # its present episodes only become the baseline.
                baseline = max(present, default=0)
                await TitleRepo.save_in(
                    conn, TitleRecord(id=event.title_id, last_episode=baseline or None)
                )
                return 0
            if event.reupload:
                return 0
            queued = await self._announce(conn, record, present)
        return self._queued(queued)

    async def on_title_update(self, event: TitleUpdate) -> int:
        async with self.db.transaction() as conn:
            if not await _first_time(conn, event.hash):
                return 0
            # The catch-up watermark is not moved from here: a socket event says nothing about
            # the other titles, and a pass that failed must start again where it was.
            queued = await self._snapshot(conn, event.title)
        return self._queued(queued)

    async def on_torrent_update(self, event: TorrentUpdate) -> int:
        if event.torrents is None:
            return 0
        async with self.db.transaction() as conn:
            if not await _first_time(conn, event.hash):
                return 0
            record = await TitleRepo.load_in(conn, event.title_id)
            if record is None:
                return 0
            queued = await self._torrent_news(conn, record, torrent_signature(event.torrents))
        return self._queued(queued)

    async def on_title_snapshot(self, title: Title) -> int:
        """A title as REST returned it (catch-up, refresh): the same rules as a title_update."""
        async with self.db.transaction() as conn:
            queued = await self._snapshot(conn, title)
        return self._queued(queued)

    # -- rules -----------------------------------------------------------------------------

    async def _snapshot(self, conn: aiosqlite.Connection, title: Title) -> int:
        fresh = record_from_title(title)
        old = await TitleRepo.load_in(conn, title.id)
        stored = await TitleRepo.save_in(conn, fresh)
        if old is None:
            return 0  # first sight: the baseline, not news
        queued = 0
        if title.player is not None:
            queued += await self._announce(conn, stored, set(title.player.playlist))
        if fresh.status_code == 2 and old.status_code not in (2, None):
            await TitleRepo.set_finished(conn, title.id, int(time.time()))
            queued += await Outbox.enqueue_for_followers(
                conn,
                kind="finished",
                kind_bit=NoticeKind.FINISHED,
                title_id=title.id,
                payload=_names_payload(stored),
                dedupe_key=f"fin:{title.id}",
                priority=Priority.TITLE_NEWS,
            )
        if fresh.announce and old.announce is not None and fresh.announce != old.announce:
            digest = hashlib.sha1(fresh.announce.encode(), usedforsecurity=False).hexdigest()[:12]
            queued += await Outbox.enqueue_for_followers(
                conn,
                kind="announce",
                kind_bit=NoticeKind.ANNOUNCE,
                title_id=title.id,
                payload={**_names_payload(stored), "announce": fresh.announce},
                dedupe_key=f"ann:{title.id}:{digest}",
                priority=Priority.TITLE_NEWS,
            )
        if old.torrents is not None:
            queued += await self._torrent_news(
                conn, old, torrent_signature(title.torrents), update=False
            )
        return queued

    async def _announce(
        self, conn: aiosqlite.Connection, record: TitleRecord, present: Iterable[int]
    ) -> int:
        """Episodes above the high-water mark are news: one notice naming the range."""
        new = sorted(episode for episode in present if episode > record.high_water)
        if not new:
            return 0
        first, last = new[0], new[-1]
        now = int(time.time())
        await conn.executemany(
            "INSERT OR IGNORE INTO announced (title_id, episode, announced_at) VALUES (?, ?, ?)",
            [(record.id, episode, now) for episode in new],
        )
        await TitleRepo.raise_high_water(conn, record.id, last)
        await conn.execute(
            "UPDATE titles SET last_episode = MAX(COALESCE(last_episode, 0), ?) WHERE id = ?",
            (last, record.id),
        )
        queued = await Outbox.enqueue_for_followers(
            conn,
            kind="episode",
            kind_bit=NoticeKind.EPISODE,
            title_id=record.id,
            # detected_at lets the sender log how long the news took from event to Telegram.
            payload={
                **_names_payload(record),
                "first": first,
                "last": last,
                "detected_at": time.time(),
            },
            dedupe_key=f"ep:{record.id}:{last}",
            priority=Priority.EPISODE,
        )
        log.info(
            "title %s: episodes %s-%s are news, %d notices queued", record.id, first, last, queued
        )
        return queued

    async def _torrent_news(
        self,
        conn: aiosqlite.Connection,
        record: TitleRecord,
        signature: dict[str, dict[str, Any]] | None,
        *,
        update: bool = True,
    ) -> int:
        if signature is None:
            return 0
        old: dict[str, Any] = json.loads(record.torrents) if record.torrents else {}
        if update:
            await conn.execute(
                "UPDATE titles SET torrents = ? WHERE id = ?",
                (json.dumps(signature, ensure_ascii=False), record.id),
            )
        if not record.torrents:
            return 0  # nothing to compare with: the baseline
        added = [value for key, value in signature.items() if key not in old]
        if not added:
            return 0
        key = ",".join(sorted(k for k in signature if k not in old))
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]
        return await Outbox.enqueue_for_followers(
            conn,
            kind="torrent",
            kind_bit=NoticeKind.TORRENT,
            title_id=record.id,
            payload={**_names_payload(record), "torrents": added},
            dedupe_key=f"tor:{record.id}:{digest}",
            priority=Priority.TITLE_NEWS,
        )
