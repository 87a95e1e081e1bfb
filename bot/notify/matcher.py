"""Who gets what, for each change the news feed hands over.

Every change is handled in one SQLite transaction that (1) updates the local copy of the title,
(2) decides what is news against what the bot has already seen, and (3) writes the outbox rows.
A crash before the commit loses nothing (the feed hands the change over again: v2's catch-up,
v1's mark); after it, the sender has the rows.

What is a new episode:

* An episode the API keys by its own id (v1: a UUID) is news when its id was not seen playable
  before, it is playable now, and no playable episode of the same ordinal was seen or announced:
  a new id for a known ordinal is a re-upload. On a title whose ids were never recorded (a
  database made under v2) it must also be above the title's high-water mark.
* An episode keyed by number only (v2) is news when it is above the high-water mark: the newest
  episode announced, or present when the bot first saw the title.
* The first sight of a title, and a snapshot marked ``baseline``, announce nothing; nor does
  the first listing of episodes of a title the bot knew only from a list that names none (v1's
  catalogue pages and favorites): every id in it is new, none of it is news.

Several new episodes of one title make one notice that names the range.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite

from bot.anilibria import (
    Change,
    Episode,
    EpisodesReleased,
    Title,
    TitleStatus,
    Torrent,
    TorrentsChanged,
    format_ordinal,
)
from bot.notify.kinds import NoticeKind
from bot.notify.rules import NewTitles
from storage import (
    Database,
    Outbox,
    Priority,
    RuleRepo,
    SubscriptionRepo,
    TitleRecord,
    TitleRepo,
)

__all__ = ["Matcher", "record_from_title", "torrent_signature"]

log = logging.getLogger(__name__)


def torrent_signature(torrents: Iterable[Torrent] | None) -> dict[str, dict[str, Any]] | None:
    """Torrents as {"quality|episodes": {...}}: a re-upload of the same quality and range (a
    new hash, even a new id) is no news; a new quality or a longer range is."""
    if torrents is None:
        return None
    return {
        f"{torrent.quality}|{torrent.episodes}": {
            "quality": torrent.quality,
            "series": torrent.episodes,
            "size": torrent.size,
        }
        for torrent in torrents
    }


def _playable_max(episodes: Iterable[Episode]) -> float | None:
    return max((e.ordinal for e in episodes if e.playable), default=None)


def record_from_title(title: Title) -> TitleRecord:
    signature = torrent_signature(title.torrents)
    last = title.last_episode
    if title.episodes is not None:
        # A listing without a playable episode stores 0, not None: "none yet" is known, and
        # only a title never listed keeps None (TitleRepo.unlisted_in).
        last = _playable_max(title.episodes) or last or 0.0
    return TitleRecord(
        id=title.id,
        code=title.alias,
        name_ru=title.names.main,
        name_en=title.names.english,
        poster=title.poster,
        status_code=int(title.status) if title.status is not None else None,
        announce=title.announcement,
        week_day=title.publish_day,
        episodes_total=title.episodes_total,
        last_episode=last,
        torrents=None if signature is None else json.dumps(signature, ensure_ascii=False),
        updated=title.updated_at,
        created=title.created_at,
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


def _keyed(episodes: Iterable[Episode]) -> list[tuple[str, float, bool]]:
    return [(e.id, e.ordinal, e.playable) for e in episodes if e.id is not None]


class Matcher:
    def __init__(self, db: Database, *, on_queued: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.on_queued = on_queued
        # The follow rules: a new title to the chats whose rules it matches.
        self.new_titles = NewTitles(RuleRepo(db))
        self._pending = 0  # rows queued by follow_in, reported by queued()

    def _queued(self, count: int) -> int:
        if count and self.on_queued is not None:
            self.on_queued(count)
        return count

    async def handle(self, change: Change) -> int:
        """Handle one change of the news feed; returns how many outbox rows it queued."""
        if isinstance(change, EpisodesReleased):
            return await self.on_episodes(change)
        if isinstance(change, TorrentsChanged):
            return await self.on_torrents(change)
        async with self.db.transaction() as conn:
            if not await _first_time(conn, change.dedupe):
                return 0
            # v2's catch-up watermark is not moved from here: a socket event says nothing about
            # the other titles, and a pass that failed must start again where it was.
            queued = await self._snapshot(conn, change.title, baseline=change.baseline)
        return self._queued(queued)

    async def follow(self, chat_id: int, title: Title, thread_id: int | None) -> bool:
        """Store the title and subscribe the chat in one transaction (an episode between the
        two would be missed); True when the subscription is new."""
        async with self.db.transaction() as conn:
            queued = await self._snapshot(conn, title, baseline=False)
            added = await SubscriptionRepo.add_in(conn, chat_id, title.id, thread_id)
        self._queued(queued)
        return added

    async def follow_in(
        self, conn: aiosqlite.Connection, chat_id: int, title: Title, thread_id: int | None
    ) -> bool:
        """:meth:`follow` inside the caller's transaction (an import follows many at once);
        what it queues is counted when the caller calls :meth:`queued`."""
        self._pending += await self._snapshot(conn, title, baseline=False)
        return await SubscriptionRepo.add_in(conn, chat_id, title.id, thread_id)

    def queued(self) -> int:
        """Report what :meth:`follow_in` queued, once the caller's transaction committed."""
        count, self._pending = self._pending, 0
        return self._queued(count)

    async def remember(self, titles: Iterable[Title]) -> int:
        """Store titles the bot was shown (favorites): the same rules as any snapshot."""
        queued = 0
        for title in titles:
            async with self.db.transaction() as conn:
                queued += await self._snapshot(conn, title, baseline=False)
        return self._queued(queued)

    async def unlisted(self, title_ids: Iterable[int]) -> set[int]:
        """Of these stored titles, those whose episodes the bot has never seen listed: their
        first listing is a baseline, so a new episode in it could not be told apart."""
        async with self.db.transaction() as conn:
            return await TitleRepo.unlisted_in(conn, title_ids)

    # -- changes ---------------------------------------------------------------------------

    async def on_episodes(self, change: EpisodesReleased) -> int:
        ordinals = [e.ordinal for e in change.episodes if e.playable]
        async with self.db.transaction() as conn:
            record = await TitleRepo.load_in(conn, change.title_id)
            if record is None:
                # Nobody follows a title the bot has never stored (subscribing stores it), so
                # its present episodes only become the baseline.
                baseline = max(ordinals, default=0)
                await TitleRepo.save_in(
                    conn, TitleRecord(id=change.title_id, last_episode=baseline or None)
                )
                await TitleRepo.remember_episodes_in(conn, change.title_id, _keyed(change.episodes))
                return 0
            if change.reupload:
                return 0
            new = await self._new_ordinals(conn, record, change.episodes)
            queued = await self._announce(conn, record, new)
        return self._queued(queued)

    async def on_torrents(self, change: TorrentsChanged) -> int:
        async with self.db.transaction() as conn:
            if not await _first_time(conn, change.dedupe):
                return 0
            record = await TitleRepo.load_in(conn, change.title_id)
            if record is None:
                return 0
            queued = await self._torrent_news(conn, record, torrent_signature(change.torrents))
        return self._queued(queued)

    # -- rules -----------------------------------------------------------------------------

    async def _snapshot(self, conn: aiosqlite.Connection, title: Title, *, baseline: bool) -> int:
        fresh = record_from_title(title)
        old = await TitleRepo.load_in(conn, title.id)
        keyed = _keyed(title.episodes or ())
        first_listing = bool(keyed) and bool(await TitleRepo.unlisted_in(conn, [title.id]))
        if baseline and old is not None and fresh.last_episode is not None:
            await TitleRepo.raise_high_water(conn, title.id, fresh.last_episode)
        stored = await TitleRepo.save_in(conn, fresh)
        # A title new on AniLibria goes to the chats whose follow rules it matches.
        queued = await self.new_titles.after_snapshot(conn, title, stored, baseline=baseline)
        if old is None or baseline:
            # First sight, or a state to compare with later: remember it, announce no episode.
            if title.episodes is not None:
                await TitleRepo.remember_episodes_in(conn, title.id, _keyed(title.episodes))
            return queued
        if first_listing:
            # The first listing of its episodes: their baseline, like a first sight.
            await TitleRepo.remember_episodes_in(conn, title.id, keyed)
        elif title.episodes is not None:
            new = await self._new_ordinals(conn, stored, title.episodes)
            queued += await self._announce(conn, stored, new)
        if fresh.status_code == TitleStatus.FINISHED and old.status_code not in (
            TitleStatus.FINISHED,
            None,
        ):
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

    async def _new_ordinals(
        self, conn: aiosqlite.Connection, record: TitleRecord, episodes: Iterable[Episode]
    ) -> list[float]:
        """The ordinals among `episodes` that are news (see the module's docstring), and the
        episodes remembered by id."""
        episodes = list(episodes)
        new = {
            e.ordinal
            for e in episodes
            if e.id is None and e.playable and e.ordinal > record.high_water
        }
        keyed = _keyed(episodes)
        if keyed:
            known = await TitleRepo.known_episodes_in(conn, record.id)
            announced = await TitleRepo.announced_in(conn, record.id)
            told = announced | {k.ordinal for k in known.values() if k.playable}
            for key, ordinal, playable in keyed:
                before = known.get(key)
                newly_playable = playable and (before is None or not before.playable)
                if not newly_playable or ordinal in told:
                    continue
                if known or ordinal > record.high_water:
                    new.add(ordinal)
            await TitleRepo.remember_episodes_in(conn, record.id, keyed)
        return sorted(new)

    async def _announce(
        self, conn: aiosqlite.Connection, record: TitleRecord, new: list[float]
    ) -> int:
        """One notice naming the range of the new episodes."""
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
                "count": len(new),
                "detected_at": time.time(),
            },
            dedupe_key=f"ep:{record.id}:{format_ordinal(last)}",
            priority=Priority.EPISODE,
        )
        log.info(
            "title %s: episodes %s-%s are news, %d notices queued",
            record.id,
            format_ordinal(first),
            format_ordinal(last),
            queued,
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
