"""The socket's consumer: every event to the matcher, every (re)connect to the catch-up.

A catch-up also runs every ``catchup_every`` seconds while the socket stays up: it keeps the
watermark (which only a successful pass moves) close to now, retries a pass that failed, and
finds what a connected socket may have silently missed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.anilibria.events import ConnectionGreeting, ErrorFrame, SubscribeAck
from bot.anilibria.stream import EventStream, StreamConnected, StreamState
from bot.notify.catchup import WATERMARK_KEY, CatchUp
from bot.notify.matcher import Matcher

__all__ = ["CATCHUP_EVERY", "EventListener"]

log = logging.getLogger(__name__)

CATCHUP_EVERY = 900.0  # seconds between catch-up passes while the socket stays connected


class EventListener:
    def __init__(
        self,
        stream: EventStream,
        matcher: Matcher,
        catchup: CatchUp,
        *,
        catchup_every: float = CATCHUP_EVERY,
    ) -> None:
        self.stream = stream
        self.matcher = matcher
        self.catchup = catchup
        self.catchup_every = catchup_every
        self.events_handled = 0
        self.last_event_at: float | None = None
        self._catchups: set[asyncio.Task[int]] = set()

    async def run(self) -> None:
        periodic = asyncio.create_task(self._periodic_catchup(), name="catch-up-timer")
        try:
            await self._consume()
        finally:
            periodic.cancel()
            for task in self._catchups:
                task.cancel()

    async def _consume(self) -> None:
        async for event in self.stream:
            if isinstance(event, StreamConnected):
                # Read the watermark before any event of the new connection is handled.
                self._start_catchup(await self.catchup.state.get_int(WATERMARK_KEY))
                continue
            if isinstance(event, ConnectionGreeting | SubscribeAck | ErrorFrame):
                continue
            try:
                await self.matcher.handle(event)
            except Exception:
                # One event that breaks the matcher must not stop the stream; the next
                # catch-up pass gets another chance at it.
                log.exception("matcher failed on %r", event)
            self.events_handled += 1
            self.last_event_at = time.time()

    async def _periodic_catchup(self) -> None:
        while True:
            await asyncio.sleep(self.catchup_every)
            if self.stream.state is StreamState.CONNECTED and not self._catchups:
                self._start_catchup(None)  # not connected: the reconnect starts one anyway

    def _start_catchup(self, since: int | None) -> None:
        # CatchUp.run serialises passes: a reconnect during a pass queues one more after it.
        task = asyncio.create_task(self.catchup.run(since), name="catch-up")
        self._catchups.add(task)
        task.add_done_callback(self._catchups.discard)
