"""AniLibria's own videos (trailers, announcements, reviews) as notices of the kind "videos".

Neither API pushes them: the latest are polled every ``VIDEOS_POLL_SECONDS`` (v2 ``getYouTube``,
v1 ``/media/videos``). The mark is the newest ``created_at`` seen, with the ids seen at that
very second (two videos of one second must not hide each other), kept in the state table. At the
first start the mark is set to what is there: no old video is news. A video is told once
(dedupe key ``video:ID``) to every chat that switched the kind on (it is off by default). After
a long pause only the newest few of the last days are told, not a burst of everything missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

from bot.anilibria import AniLibriaError, Video
from bot.notify.kinds import NoticeKind
from storage import Database, Outbox, Priority, StateRepo

__all__ = ["MARK_KEY", "VIDEO_KIND", "VideoWatch"]

log = logging.getLogger(__name__)

MARK_KEY = "videos.mark"
VIDEO_KIND = "video"
FETCHED = 20  # videos read per poll
TOLD_AT_ONCE = 5  # at most this many notices per poll
MAX_AGE = 7 * 86400  # older videos are never news, however they reached the list

VideoFetcher = Callable[[int], Awaitable[list[Video]]]


def _parse_mark(raw: str) -> tuple[int, set[str]] | None:
    try:
        data = json.loads(raw)
        return int(data["at"]), {str(i) for i in data["ids"]}
    except (ValueError, KeyError, TypeError):
        return None


def _mark(videos: list[Video], at: int, ids: set[str]) -> str:
    newest = max((v.created_at or 0 for v in videos), default=0)
    if newest > at:
        at, ids = newest, set()
    ids |= {v.id for v in videos if v.created_at == at}
    return json.dumps({"at": at, "ids": sorted(ids)})


class VideoWatch:
    def __init__(
        self,
        fetch: VideoFetcher,
        db: Database,
        *,
        interval: float,
        on_queued: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetch = fetch
        self.db = db
        self.interval = interval
        self.on_queued = on_queued
        self._clock = clock
        self._stop = asyncio.Event()

    async def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.poll_once()
            except AniLibriaError as exc:
                log.info("videos: the API did not answer (%s); next try in %ss", exc, self.interval)
            except Exception:
                log.exception("videos: a poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def poll_once(self) -> int:
        """Read the latest videos once; returns how many outbox rows were queued."""
        videos = [v for v in await self.fetch(FETCHED) if v.created_at is not None]
        now = int(self._clock())
        queued = 0
        async with self.db.transaction() as conn:
            raw = await StateRepo.get_in(conn, MARK_KEY)
            mark = _parse_mark(raw) if raw is not None else None
            if mark is None:
                await StateRepo.set_in(conn, MARK_KEY, _mark(videos, now, set()))
                log.info("videos: first look, %d videos are the baseline", len(videos))
                return 0
            at, ids = mark
            fresh = [
                v
                for v in videos
                if (v.created_at or 0) > at or (v.created_at == at and v.id not in ids)
            ]
            fresh.sort(key=lambda v: (v.created_at or 0, v.id))
            told = [v for v in fresh if (v.created_at or 0) >= now - MAX_AGE][-TOLD_AT_ONCE:]
            for video in told:
                queued += await Outbox.enqueue_for_kind(
                    conn,
                    kind=VIDEO_KIND,
                    kind_bit=NoticeKind.VIDEO,
                    payload={
                        "video_id": video.id,
                        "title": video.title,
                        "url": video.url,
                        "image": video.image,
                    },
                    dedupe_key=f"video:{video.id}",
                    priority=Priority.MESSAGE,
                )
            if fresh:
                await StateRepo.set_in(conn, MARK_KEY, _mark(fresh, at, ids))
                log.info(
                    "videos: %d new, %d told, %d notices queued", len(fresh), len(told), queued
                )
        if queued and self.on_queued is not None:
            self.on_queued()
        return queued
