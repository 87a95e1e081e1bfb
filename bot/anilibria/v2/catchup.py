"""Recovery of what was missed while the socket (or the whole bot) was down.

The feed keeps the newest `updated` timestamp a successful pass has seen. At start, after every
reconnect and every few minutes (see :class:`~bot.anilibria.v2.feed.V2Feed`) it pages through
getUpdates since then and hands every title to the sink, whose high-water marks make the socket
and the catch-up agree: an episode is announced once, by whichever of the two saw it first.
Only a pass that completed moves the watermark (socket events never do), so a pass that failed
is not skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.anilibria._roles import MarkStore
from bot.anilibria._types import NewsSink, TitleSeen
from bot.anilibria.errors import AniLibriaError
from bot.anilibria.v2._convert import title_from_v2
from bot.anilibria.v2.client import AniLibriaClient

__all__ = ["WATERMARK_KEY", "CatchUp"]

log = logging.getLogger(__name__)

WATERMARK_KEY = "catchup.since"
PAGE = 50
MAX_PAGES = 200  # 10,000 titles: more than the whole AniLibria catalogue
OVERLAP = 120  # seconds re-read before the watermark: clocks and pages shift a little


class CatchUp:
    def __init__(self, client: AniLibriaClient, marks: MarkStore) -> None:
        self.client = client
        self.marks = marks
        self._lock = asyncio.Lock()
        self.last_run_at: float | None = None

    async def run(self, sink: NewsSink, since: int | None = None) -> int:
        """One pass; returns the number of notices it queued. Never raises for the API.

        `since` is the watermark as it stood when the socket (re)connected: events of the new
        connection raise the stored one at once, and reading it later would skip the titles
        changed while the socket was down.
        """
        async with self._lock:  # a reconnect during a pass waits for it rather than racing
            try:
                return await self._run(sink, since)
            except AniLibriaError as exc:
                # The watermark did not move: the next pass starts where this one did.
                log.warning("catch-up failed, the next pass retries from %s: %s", since, exc)
                return 0
            except Exception:  # a bug must not kill the task silently; the next pass retries
                log.exception("catch-up failed")
                return 0

    async def _run(self, sink: NewsSink, since: int | None) -> int:
        if since is None:
            since = await self.marks.get_int(WATERMARK_KEY)
        if since is None:
            # First start: the catalogue as it stands is the baseline, not news.
            latest = await self.client.get_updates(limit=1, filter=["id", "updated"])
            mark = max((t.updated or 0 for t in latest), default=0) or int(time.time())
            await self.marks.raise_to(WATERMARK_KEY, mark)
            log.info("catch-up: first start, baseline at %s", mark)
            return 0
        queued = 0
        newest = since
        seen = 0
        for page in range(MAX_PAGES):
            titles = await self.client.get_updates(
                since=max(since - OVERLAP, 0), limit=PAGE, after=page * PAGE
            )
            for title in titles:
                queued += await sink(TitleSeen(title_from_v2(title, self.client.site_url)))
                newest = max(newest, title.updated or 0)
            seen += len(titles)
            if len(titles) < PAGE:
                break
        else:
            # Pages come newest first: stopping here would leave the oldest changes unread, so
            # the watermark stays and the next pass reads from the same point again.
            log.warning("catch-up: more than %d titles changed since %s; will retry", seen, since)
            return queued
        await self.marks.raise_to(WATERMARK_KEY, newest)
        self.last_run_at = time.time()
        log.info("catch-up: %d titles updated since %s, %d notices queued", seen, since, queued)
        return queued
