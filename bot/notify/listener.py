"""The socket's consumer: every event to the matcher, every (re)connect to the catch-up."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.anilibria.events import ConnectionGreeting, ErrorFrame, SubscribeAck
from bot.anilibria.stream import EventStream, StreamConnected
from bot.notify.catchup import WATERMARK_KEY, CatchUp
from bot.notify.matcher import Matcher

__all__ = ["EventListener"]

log = logging.getLogger(__name__)


class EventListener:
    def __init__(self, stream: EventStream, matcher: Matcher, catchup: CatchUp) -> None:
        self.stream = stream
        self.matcher = matcher
        self.catchup = catchup
        self.events_handled = 0
        self.last_event_at: float | None = None
        self._catchups: set[asyncio.Task[int]] = set()

    async def run(self) -> None:
        async for event in self.stream:
            if isinstance(event, StreamConnected):
                # Read the watermark before any event of the new connection can raise it.
                self._start_catchup(await self.catchup.state.get_int(WATERMARK_KEY))
                continue
            if isinstance(event, ConnectionGreeting | SubscribeAck | ErrorFrame):
                continue
            try:
                await self.matcher.handle(event)
            except Exception:
                # One event that breaks the matcher must not stop the stream; the catch-up
                # after the next reconnect gets another chance at it.
                log.exception("matcher failed on %r", event)
            self.events_handled += 1
            self.last_event_at = time.time()
        for task in self._catchups:
            task.cancel()

    def _start_catchup(self, since: int | None) -> None:
        # CatchUp.run serialises passes: a reconnect during a pass queues one more after it.
        task = asyncio.create_task(self.catchup.run(since), name="catch-up")
        self._catchups.add(task)
        task.add_done_callback(self._catchups.discard)
