"""The v2 news feed: the WebSocket's events and the REST catch-up, as neutral changes.

Every event goes to the sink as it arrives; every (re)connect starts a catch-up pass, and one
runs every ``catchup_every`` seconds while the socket stays up: it keeps the watermark (which
only a successful pass moves) close to now, retries a pass that failed, and finds what a
connected socket may have silently missed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.anilibria._roles import MarkStore
from bot.anilibria._types import (
    Change,
    Episode,
    EpisodesReleased,
    FeedHealth,
    NewsSink,
    TitleSeen,
    TorrentsChanged,
)
from bot.anilibria.v2._convert import title_from_v2, torrents_from_v2
from bot.anilibria.v2.catchup import WATERMARK_KEY, CatchUp
from bot.anilibria.v2.client import AniLibriaClient
from bot.anilibria.v2.events import Event, PlaylistUpdate, TitleUpdate, TorrentUpdate
from bot.anilibria.v2.stream import EventStream, StreamConnected, StreamState

__all__ = ["CATCHUP_EVERY", "V2Feed", "change_of"]

log = logging.getLogger(__name__)

CATCHUP_EVERY = 900.0  # seconds between catch-up passes while the socket stays connected


def change_of(event: Event, site_url: str) -> Change | None:
    """The neutral change a socket event stands for; None when it is not news material."""
    if isinstance(event, PlaylistUpdate):
        present: set[int] = set(event.player.playlist) if event.player else set()
        if event.episode is not None:
            present.add(event.episode)
        return EpisodesReleased(
            event.title_id,
            tuple(Episode(ordinal=number) for number in sorted(present)),
            reupload=event.reupload,
        )
    if isinstance(event, TitleUpdate):
        return TitleSeen(title_from_v2(event.title, site_url), dedupe=event.hash)
    if isinstance(event, TorrentUpdate):
        torrents = torrents_from_v2(event.torrents, site_url)
        if torrents is None:
            return None
        return TorrentsChanged(event.title_id, torrents, dedupe=event.hash)
    return None  # encode progress, greetings and the like: interesting, but not news


class V2Feed:
    def __init__(
        self,
        client: AniLibriaClient,
        stream: EventStream,
        marks: MarkStore,
        *,
        catchup_every: float = CATCHUP_EVERY,
    ) -> None:
        self.client = client
        self.stream = stream
        self.marks = marks
        self.catchup = CatchUp(client, marks)
        self.catchup_every = catchup_every
        self.changes = 0
        self.last_change_at: float | None = None
        self._catchups: set[asyncio.Task[int]] = set()
        self._state_since = time.time()
        self._last_state = stream.state
        self._ok_at: float | None = None  # the last moment the socket was seen connected

    async def run(self, sink: NewsSink) -> None:
        periodic = asyncio.create_task(self._periodic_catchup(sink), name="catch-up-timer")
        try:
            await self._consume(sink)
        finally:
            periodic.cancel()
            pending = [periodic, *self._catchups]
            for task in self._catchups:
                task.cancel()
            # A pass writes through the sink: let it end before the database closes.
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        await self.stream.close()

    async def _consume(self, sink: NewsSink) -> None:
        async for event in self.stream:
            if isinstance(event, StreamConnected):
                # Read the watermark before any event of the new connection is handled.
                self._start_catchup(sink, await self.marks.get_int(WATERMARK_KEY))
                continue
            change = change_of(event, self.client.site_url)
            if change is None:
                continue
            try:
                await sink(change)
            except Exception:
                # One event that breaks the matcher must not stop the stream; the next
                # catch-up pass gets another chance at it.
                log.exception("handling %r failed", event)
            self.changes += 1
            self.last_change_at = time.time()

    async def _periodic_catchup(self, sink: NewsSink) -> None:
        while True:
            await asyncio.sleep(self.catchup_every)
            if self.stream.state is StreamState.CONNECTED and not self._catchups:
                self._start_catchup(sink, None)  # not connected: the reconnect starts one anyway

    def _start_catchup(self, sink: NewsSink, since: int | None) -> None:
        # CatchUp.run serialises passes: a reconnect during a pass queues one more after it.
        task = asyncio.create_task(self.catchup.run(sink, since), name="catch-up")
        self._catchups.add(task)
        task.add_done_callback(self._catchups.discard)

    def health(self) -> FeedHealth:
        now = time.time()
        state = self.stream.state
        if state is not self._last_state:
            self._last_state, self._state_since = state, now
        connected = state is StreamState.CONNECTED
        if connected:
            self._ok_at = now
        detail = f"API {self.stream.api_version}" if self.stream.api_version else ""
        return FeedHealth(
            mode="socket",
            state=state.value,
            since=self._state_since,
            ok_at=self._ok_at,
            failures=self.stream.reconnects,
            changes=self.changes,
            last_change_at=self.stream.last_event_at,
            last_catchup_at=self.catchup.last_run_at,
            detail=detail,
        )
