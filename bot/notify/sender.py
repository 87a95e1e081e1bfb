"""The delivery worker: outbox rows out to Telegram, within its limits, whatever it answers.

429: everybody waits ``retry_after`` and the row goes back unchanged. 403 (blocked, kicked,
deactivated): the chat becomes inactive and its pending rows are dropped. A migrate error moves
the chat to its new id and the row is sent again there. A vanished forum topic: sent again to
the general topic. Other 400s: parked with the error. 5xx and network errors: retried with
backoff up to MAX_ATTEMPTS, then parked and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import LinkPreviewOptions
from aiogram.utils.i18n import I18n

from bot.notify.limiter import SendLimiter
from bot.notify.render import render_notice
from bot.ui.clock import is_quiet, zone
from bot.ui.i18n import resolve_language
from bot.ui.text import TitleLinks
from storage import ChatRepo, Outbox, OutboxItem

__all__ = ["MAX_ATTEMPTS", "Sender"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
DRAIN_SECONDS = 3.0  # at stop, how long sends already on the wire may take to finish
_BACKOFF_CAP = 300.0


def retry_delay(attempts: int) -> float:
    return float(min(2.0**attempts, _BACKOFF_CAP))


class Sender:
    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        chats: ChatRepo,
        limiter: SendLimiter,
        i18n: I18n,
        *,
        links: TitleLinks,
        default_language: str,
        default_timezone: str,
        workers: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot = bot
        self.outbox = outbox
        self.chats = chats
        self.limiter = limiter
        self.i18n = i18n
        self.links = links
        self.default_language = default_language
        self.default_timezone = default_timezone
        self.workers = workers
        self._clock = clock
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[OutboxItem] = asyncio.Queue(maxsize=workers * 2)
        self._stopping = False
        self._in_flight: set[int] = set()  # chats with a row queued or being sent
        self.sent_total = 0
        self.failed_total = 0

    def wake(self, *_: object) -> None:
        """New rows were queued: look now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        released = await self.outbox.release_in_flight()
        if released:
            log.info("sender: %d rows that were in flight go out again", released)
        workers = [
            asyncio.create_task(self._work(), name=f"sender-{i}") for i in range(self.workers)
        ]
        try:
            await self._feed()
        finally:
            await self._wind_down(workers)

    async def stop(self) -> None:
        """Stop claiming; sends on the wire finish, rows not yet started go back to pending."""
        self._stopping = True
        self._wake.set()

    async def _wind_down(self, workers: list[asyncio.Task[None]]) -> None:
        """At stop: give sends already started up to DRAIN_SECONDS, then release every claim.

        A send cancelled mid-request may have reached Telegram: that row goes out again after
        the restart, which is the "at most what was in flight" the outbox promises.
        """
        while not self._queue.empty():  # claimed but not started: nothing reached Telegram
            self._queue.get_nowait()
            self._queue.task_done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), DRAIN_SECONDS)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        try:
            released = await self.outbox.release_in_flight()
        except Exception:  # the database is going away too; the next start releases them
            log.exception("sender: could not release the rows in flight")
        else:
            if released:
                log.info("sender: %d claimed rows released for the next start", released)

    async def _feed(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self._queue.maxsize - self._queue.qsize()
            items = await self.outbox.claim_due(free) if free > 0 else []
            for item in items:
                wait = self.limiter.chat_delay(item.chat_id)
                if item.chat_id in self._in_flight:
                    # One row per chat in flight: the next waits for the first one's answer
                    # (a 403 or a migration changes where, or whether, it goes).
                    wait = max(wait, 1.0)
                if wait > 0.05:
                    # This chat had its share: keep the row and let others go first.
                    await self.outbox.retry_later(item.id, self._clock() + wait, None)
                    continue
                self._in_flight.add(item.chat_id)
                await self._queue.put(item)
            if items and free > 0:
                continue
            timeout = 1.0
            next_due = await self.outbox.next_due_at()
            if next_due is not None:
                timeout = min(max(next_due - self._clock(), 0.01), 1.0)
            if free == 0:
                timeout = 0.05
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self.deliver(item)
            except Exception:
                log.exception("sender: unexpected failure on outbox row %s", item.id)
                await self.outbox.park(item.id, "internal error")
            finally:
                self._in_flight.discard(item.chat_id)
                self._queue.task_done()

    async def deliver(self, item: OutboxItem) -> None:
        language = resolve_language(item.language, item.seen_language, self.default_language)
        try:
            with self.i18n.context(), self.i18n.use_locale(language):
                rendered = render_notice(item.kind, item.payload, self.links)
        except (KeyError, ValueError, TypeError) as exc:
            log.error("sender: cannot render row %s (%s): %r", item.id, item.kind, exc)
            await self.outbox.park(item.id, f"render: {exc!r}")
            return
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        quiet = is_quiet(
            item.quiet_start, item.quiet_end, zone(item.timezone, self.default_timezone), now
        )
        try:
            await self.bot.send_message(
                chat_id=item.chat_id,
                text=rendered.text,
                reply_markup=rendered.keyboard,
                message_thread_id=item.thread_id,
                disable_notification=quiet or None,
                link_preview_options=(
                    LinkPreviewOptions(
                        url=rendered.preview_url, prefer_small_media=True, show_above_text=True
                    )
                    if rendered.preview_url
                    else LinkPreviewOptions(is_disabled=True)
                ),
            )
        except TelegramRetryAfter as exc:
            log.warning("sender: 429, waiting %ss", exc.retry_after)
            self.limiter.pause(exc.retry_after)
            await self.outbox.retry_later(item.id, self._clock() + exc.retry_after, None)
        except TelegramMigrateToChat as exc:
            log.info("sender: chat %s moved to %s", item.chat_id, exc.migrate_to_chat_id)
            await self.chats.migrate(item.chat_id, exc.migrate_to_chat_id)
            await self.outbox.move_to_chat(item.id, exc.migrate_to_chat_id)
            self.wake()
        except TelegramForbiddenError as exc:
            log.info("sender: chat %s refuses messages (%s): inactive", item.chat_id, exc.message)
            await self.chats.set_active(item.chat_id, False)
        except TelegramBadRequest as exc:
            if item.thread_id is not None and "thread not found" in exc.message.lower():
                log.info("sender: topic %s of chat %s is gone", item.thread_id, item.chat_id)
                await self.outbox.clear_thread(item.id)
                self.wake()
                return
            log.error("sender: row %s refused by Telegram: %s", item.id, exc.message)
            self.failed_total += 1
            await self.outbox.park(item.id, exc.message)
        except (TelegramServerError, TelegramNetworkError, OSError) as exc:
            attempts = item.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                log.error("sender: row %s parked after %d attempts: %r", item.id, attempts, exc)
                self.failed_total += 1
                await self.outbox.park(item.id, repr(exc))
            else:
                await self.outbox.retry_later(
                    item.id, self._clock() + retry_delay(attempts), repr(exc)[:300]
                )
        else:
            self.sent_total += 1
            await self.outbox.mark_sent(item.id)
            detected_at = item.payload.get("detected_at")
            if item.kind == "episode" and isinstance(detected_at, int | float):
                log.debug(
                    "sender: episode notice for title %s sent to chat %s %.1f ms after the event",
                    item.title_id,
                    item.chat_id,
                    (self._clock() - detected_at) * 1000,
                )
