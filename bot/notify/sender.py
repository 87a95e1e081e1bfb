"""The delivery worker: outbox rows out to Telegram, within its limits, whatever it answers.

The outbox decides the order (episode news first, fan-outs interleaved, a chat's notices in
order and one at a time, see storage/outbox.py); the feed claims due rows as the workers' queue
empties, and holds in memory the few whose chat must wait a moment (one message a second per
chat, twenty a minute per group), so that they keep their place in line. Sends are marked done
in groups (one transaction for every send that finished while the last one was written).

What Telegram answers:

* 429: that lane waits ``retry_after``; the row is held and goes again, unchanged.
* 403 (blocked, kicked, deactivated): the chat becomes inactive, its pending rows are dropped.
* A migrate error: the chat moves to its new id and the row is sent again there.
* A vanished forum topic: sent again to the general topic.
* 401 (the token was revoked) or 404 (the token or the API URL is wrong): nothing is parked;
  delivery pauses with one log line, every row stays due, and a getMe every few seconds (up to
  30) finds out when the token works again; then each row goes out once.
* 409 (another process uses the token): retried in a few seconds, no attempt counted.
* Stars refusal of a paid send: paying stops (one log line, a message to ADMIN_IDS), the row
  goes back in line and out at the free rate.
* Other 400s, and other API errors: parked with the error.
* 5xx, network errors, and answers that are not the Bot API's JSON (a proxy's error page): retried
  with backoff up to MAX_ATTEMPTS, then parked and logged.

A failure inside that error handling (the database refusing the park) is logged and the row is
released later; a worker never dies of it, and the feed replaces any worker that does end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import Response
from aiogram.types import LinkPreviewOptions, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.notify.limiter import PACE, SendLimiter, bulk_sends
from bot.notify.paid import PaidBroadcast, PaidBudget, is_out_of_stars
from bot.notify.render import Rendered, render_notice
from bot.ui.clock import is_quiet, zone
from bot.ui.i18n import resolve_language
from bot.ui.text import TitleLinks
from storage import ChatRepo, Outbox, OutboxItem, StateRepo
from storage.outbox import PendingFanOut

__all__ = ["MAX_ATTEMPTS", "DeliveryStatus", "Sender"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
DRAIN_SECONDS = 3.0  # at stop, how long sends already on the wire may take to finish
_BACKOFF_CAP = 300.0
PAID_WORKERS = 64  # concurrent sends when paid broadcasts are on (1000/s x tens of ms)
HOLD_MAX = 5.0  # a row whose chat must wait longer goes back to the database instead
HOLD_CAP = 1000  # rows held in memory at most
BACKLOG_EVERY = 0.5  # seconds between two counts of the backlog (for paid broadcasts)
BACKLOG_SOON = 0.1  # ... when new rows were queued since the last count
RATE_WINDOW = 10  # seconds the current rate is measured over
CONFLICT_RETRY = 5.0
PROBE_FIRST, PROBE_MAX = 1.0, 30.0  # getMe backoff while Telegram refuses the token
_RENDERED_KEPT = 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# aiogram parses every answer as Response[Message]; pydantic keeps parametrized generics in a
# weak, per-context cache, so under load the class was rebuilt hundreds of times (0.4 ms a send
# on average at 500/s). Built here, at import, it is held and every task's context shares it.
_SEND_RESPONSE = Response[Message]


def retry_delay(attempts: int) -> float:
    return float(min(2.0**attempts, _BACKOFF_CAP))


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """What /stats tells an operator about delivery."""

    rate: float  # messages a second over the last RATE_WINDOW seconds
    paid_enabled: bool
    paid_active: bool
    paid_today: int
    paid_cap: int
    out_of_stars_at: float | None
    halted: bool  # Telegram refuses the token: delivery paused

    def drain_seconds(self, depth: int, expected_rate: float) -> float | None:
        """Time to send `depth` rows: at the measured rate, else at the expected one."""
        if depth <= 0:
            return 0.0
        rate = self.rate if self.rate > 0 else expected_rate
        return None if rate <= 0 or self.halted else depth / rate


class _RateMeter:
    """Sends per second over the last few seconds (per-second buckets)."""

    def __init__(self, window: int, clock: Callable[[], float]) -> None:
        self.window = window
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [second, count]

    def add(self) -> None:
        second = int(self._clock())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([second, 1])
            while self._buckets and self._buckets[0][0] <= second - self.window:
                self._buckets.popleft()

    def rate(self) -> float:
        """Over the window, or since the first send in it (a fan-out just begun is not slow)."""
        now = self._clock()
        recent = [(second, n) for second, n in self._buckets if second > now - self.window]
        if not recent:
            return 0.0
        span = min(max(now - recent[0][0], 1.0), float(self.window))
        return sum(n for _, n in recent) / span


class _SentBatch:
    """Group commit of sent rows: one transaction for every send that finished meanwhile.

    A caller either waits for its row's commit (``wait=True``: the row is 'sent' when it goes
    on) or hands the row over and goes on; a failed commit is then retried every second, the
    rows staying 'sending' (their chats' next rows wait, a restart sends them again).
    """

    def __init__(
        self,
        outbox: Outbox,
        state: Callable[[], tuple[str, str] | None],
        flushed: Callable[[], None],
    ) -> None:
        self.outbox = outbox
        self.state = state
        self.flushed = flushed  # rows of those chats may be claimed now
        self._waiting: list[tuple[int, asyncio.Future[None] | None]] = []
        self._task: asyncio.Task[None] | None = None

    async def mark(self, item_id: int, *, wait: bool = True) -> None:
        future = asyncio.get_running_loop().create_future() if wait else None
        self._waiting.append((item_id, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="sender-marks")
        if future is not None:
            await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self.outbox.mark_sent_many([item for item, _ in batch], state=self.state())
            except Exception as exc:
                log.exception("sender: could not mark %d sent rows", len(batch))
                for item, future in batch:
                    if future is None:
                        self._waiting.append((item, None))  # retried below
                    elif not future.done():
                        future.set_exception(exc)  # the caller decides
                if self._waiting:
                    await asyncio.sleep(1.0)
            else:
                for _, future in batch:
                    if future is not None and not future.done():
                        future.set_result(None)
                self.flushed()

    async def drain(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, DRAIN_SECONDS)


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
        workers: int | None = None,
        paid: PaidBroadcast | None = None,
        admin_ids: Iterable[int] = (),
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
        self.paid = PaidBudget(paid or PaidBroadcast(), clock=clock)
        if self.paid.config.enabled and limiter.paid is None:
            raise ValueError("paid broadcasts need a SendLimiter with a paid_rate")
        self.workers = workers or (PAID_WORKERS if self.paid.config.enabled else 8)
        self.admin_ids = tuple(admin_ids)
        self._clock = clock
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[OutboxItem] = asyncio.Queue(maxsize=self.workers * 2)
        self._stopping = False
        self._busy: set[int] = set()  # chats with a row queued, held or being sent
        self._held: list[tuple[float, int, OutboxItem]] = []  # (ready at, seq, row)
        self._held_seq = 0
        self._to_release: set[int] = set()  # rows an error path could not settle
        self._tasks: list[asyncio.Task[None]] = []
        self._chores: set[asyncio.Task[None]] = set()
        self._halted = False
        self.progress_at = clock()  # the last row settled (sent or parked): the health check
        self._idle_at = self.progress_at  # the last time the health check saw nothing to do
        self._conflict_logged_at = 0.0
        self._backlog = 0
        self._backlog_at = 0.0
        self._recount = True
        self._rendered: dict[tuple[int, str], Rendered] = {}
        self._meter = _RateMeter(RATE_WINDOW, time.monotonic)
        self._marks = _SentBatch(outbox, self._paid_state, self._wake.set)
        self.sent_total = 0
        self.failed_total = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def wake(self, *_: object) -> None:
        """New rows were queued: look now rather than at the next tick (and count them)."""
        self._recount = True
        self._wake.set()

    async def run(self) -> None:
        released = await self.outbox.release_in_flight()
        if released:
            log.info("sender: %d rows that were in flight go out again", released)
        if self.paid.config.enabled:
            self.paid.load(await StateRepo(self.outbox.db).get(self.paid.state()[0]))
        self._tasks = [self._spawn(i) for i in range(self.workers)]
        try:
            await self._feed()
        finally:
            await self._wind_down()

    async def stop(self) -> None:
        """Stop claiming; sends on the wire finish, rows not yet started go back to pending."""
        self._stopping = True
        self._wake.set()

    def _spawn(self, index: int) -> asyncio.Task[None]:
        return asyncio.create_task(self._work(), name=f"sender-{index}")

    def _chore(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _wind_down(self) -> None:
        """At stop: give sends already started up to DRAIN_SECONDS, then release every claim.

        A send cancelled mid-request may have reached Telegram: that row goes out again after
        the restart, which is the "at most what was in flight" the outbox promises.
        """
        while not self._queue.empty():  # claimed but not started: nothing reached Telegram
            self._queue.get_nowait()
            self._queue.task_done()
        self._held.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), DRAIN_SECONDS)
        for task in [*self._tasks, *self._chores]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._chores, return_exceptions=True)
        await self._marks.drain()
        try:
            released = await self.outbox.release_in_flight()
        except Exception:  # the database is going away too; the next start releases them
            log.exception("sender: could not release the rows in flight")
        else:
            if released:
                log.info("sender: %d claimed rows released for the next start", released)

    def _supervise(self) -> None:
        """Replace any worker that ended: the feed never waits on a dead pool."""
        for index, task in enumerate(self._tasks):
            if not task.done():
                continue
            error = None if task.cancelled() else task.exception()
            log.error("sender: worker %d ended (%r); starting another", index, error)
            self._tasks[index] = self._spawn(index)

    # -- the feed ----------------------------------------------------------------------------

    async def _feed(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._supervise()
            if self._to_release:
                await self._settle_later()
            if self._halted:
                await self._release_all_held()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            await self._count_backlog()
            self._release_held()
            free = self._queue.maxsize - self._queue.qsize()
            paused = self.limiter.paused_for(paid=self.paid.active)
            if paused > 0:
                # Telegram said 429: claiming now would only hold rows until the pause ends.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), paused)
                continue
            timeout = 1.0
            if free >= max(1, self._queue.maxsize // 2):
                items = await self.outbox.claim_due(free)
                await self._dispatch(items)
                if len(items) == free:
                    continue  # there is more: claim again as soon as there is room
                # All that can go now is claimed (the rest waits for a chat or a time): sleep
                # until a row falls due, a held row is ready, or a worker or new rows wake us.
                next_due = await self.outbox.next_due_after(self._clock())
                if next_due is not None:
                    timeout = min(timeout, max(next_due - self._clock(), 0.01))
            # else: the queue is more than half full; a worker wakes us when it is not.
            if self._held:
                timeout = min(timeout, max(self._held[0][0] - time.monotonic(), 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _dispatch(self, items: list[OutboxItem]) -> None:
        back: list[int] = []
        for item in items:
            if item.chat_id in self._busy:
                # A second row of a chat in one claim (a digest claimed beside an episode):
                # back in line untouched, it is claimed again once the first is done.
                back.append(item.id)
                continue
            wait = self.limiter.chat_delay(item.chat_id)
            if wait > 0.05:
                if wait <= HOLD_MAX and len(self._held) < HOLD_CAP:
                    self._hold(item, wait)
                else:
                    await self.outbox.retry_later(item.id, self._clock() + wait, None)
                continue
            self._busy.add(item.chat_id)
            self._queue.put_nowait(item)
        if back:
            await self.outbox.release(back)

    def _hold(self, item: OutboxItem, seconds: float) -> None:
        """Keep a claimed row in memory until its chat may receive it (it keeps its place)."""
        self._busy.add(item.chat_id)
        self._held_seq += 1
        heapq.heappush(self._held, (time.monotonic() + seconds, self._held_seq, item))
        self._wake.set()

    def _release_held(self) -> None:
        now = time.monotonic()
        while self._held and self._held[0][0] <= now and not self._queue.full():
            _, _, item = heapq.heappop(self._held)
            self._queue.put_nowait(item)

    async def _release_all_held(self) -> None:
        """Paused: the rows held for their chat go back in line, where they are kept."""
        if not self._held:
            return
        items = [item for _, _, item in self._held]
        self._held.clear()
        for item in items:
            self._busy.discard(item.chat_id)
        try:
            await self.outbox.release([item.id for item in items])
        except Exception:
            log.exception("sender: could not release the held rows; they go back later")
            self._to_release.update(item.id for item in items)

    async def _count_backlog(self) -> None:
        """Recount the due rows now and then; between counts each finished row takes one off."""
        if not self.paid.config.enabled:
            return  # only paid broadcasts need it (/stats counts the outbox itself)
        now = time.monotonic()
        if now - self._backlog_at < (BACKLOG_SOON if self._recount else BACKLOG_EVERY):
            return
        self._backlog_at, self._recount = now, False
        self._backlog = await self.outbox.due_count() + self._queue.qsize() + len(self._held)
        self._decide_paid()

    def _row_done(self) -> None:
        self._backlog = max(self._backlog - 1, 0)
        self._decide_paid()

    def _decide_paid(self) -> None:
        """Pay while the rows behind would take longer than the threshold at the free rate."""
        if not self.paid.config.enabled:
            return
        was = self.paid.active
        self.paid.want(self._backlog, self.limiter.rate * PACE)
        if self.paid.active != was:
            log.info(
                "sender: paid broadcast %s (%d rows waiting, %d paid today of %d)",
                "on" if self.paid.active else "off",
                self._backlog,
                self.paid.sent_today,
                self.paid.config.max_per_day,
            )

    async def _settle_later(self) -> None:
        """Rows an error path could not settle go back in line (retried every turn)."""
        rows = list(self._to_release)
        try:
            await self.outbox.release(rows)
        except Exception:
            log.exception("sender: still cannot release rows %s", rows[:10])
            await asyncio.sleep(1.0)
        else:
            self._to_release.difference_update(rows)

    # -- the workers -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            held = False
            try:
                held = await self.deliver(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender: unexpected failure on outbox row %s", item.id)
                await self._park_safely(item, "internal error")
            finally:
                if not held:
                    self._busy.discard(item.chat_id)
                    self._row_done()
                self._queue.task_done()
                if self._queue.qsize() <= self._queue.maxsize // 2:
                    self._wake.set()

    async def _park_safely(self, item: OutboxItem, error: str) -> None:
        """Park a row; if even that fails, log it and release the row later."""
        self.failed_total += 1
        self.progress_at = self._clock()
        try:
            await self.outbox.park(item.id, error)
        except Exception:
            log.exception("sender: could not park row %s; it goes back in line", item.id)
            self._to_release.add(item.id)

    def _render(self, item: OutboxItem, language: str) -> Rendered:
        key = (item.notice_id, language)
        rendered = self._rendered.get(key) if item.notice_id else None
        if rendered is None:
            with self.i18n.context(), self.i18n.use_locale(language):
                rendered = render_notice(item.kind, item.payload, self.links)
            if item.notice_id:
                if len(self._rendered) >= _RENDERED_KEPT:
                    self._rendered.clear()
                self._rendered[key] = rendered
        return rendered

    async def deliver(self, item: OutboxItem) -> bool:
        """Send one row and settle it; True when the row is held to go again shortly."""
        if self._halted:
            await self.outbox.release([item.id])
            return False
        language = resolve_language(item.language, item.seen_language, self.default_language)
        try:
            rendered = self._render(item, language)
        except (KeyError, ValueError, TypeError) as exc:
            log.error("sender: cannot render row %s (%s): %r", item.id, item.kind, exc)
            await self._park_safely(item, f"render: {exc!r}")
            return False
        quiet = False
        if item.quiet_start and item.quiet_end:
            moment = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
            tz = zone(item.timezone, self.default_timezone)
            quiet = is_quiet(item.quiet_start, item.quiet_end, tz, moment)
        paid = self.paid.take()
        sent = False
        try:
            with bulk_sends():
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
                        else NO_PREVIEW
                    ),
                    allow_paid_broadcast=True if paid else None,
                )
            sent = True
        except TelegramRetryAfter as exc:
            log.warning("sender: 429, waiting %ss", exc.retry_after)
            self.limiter.pause(exc.retry_after, paid=paid)
            self._hold(item, float(exc.retry_after))
            return True
        except TelegramMigrateToChat as exc:
            log.info("sender: chat %s moved to %s", item.chat_id, exc.migrate_to_chat_id)
            await self.chats.migrate(item.chat_id, exc.migrate_to_chat_id)
            await self.outbox.move_to_chat(item.id, exc.migrate_to_chat_id)
            self.wake()
        except TelegramForbiddenError as exc:
            log.info("sender: chat %s refuses messages (%s): inactive", item.chat_id, exc.message)
            await self.chats.set_active(item.chat_id, False)
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            self._halt(exc)
            await self.outbox.release([item.id])
        except TelegramConflictError as exc:
            now = time.monotonic()
            if now - self._conflict_logged_at > 60:
                self._conflict_logged_at = now
                log.warning(
                    "sender: Telegram answers 409 (%s): another process uses this bot token;"
                    " rows are retried",
                    exc.message,
                )
            await self.outbox.retry_later(item.id, self._clock() + CONFLICT_RETRY, None)
        except TelegramBadRequest as exc:
            if paid and is_out_of_stars(exc.message):
                self._out_of_stars(exc.message)
                await self.outbox.release([item.id])
                return False
            if item.thread_id is not None and "thread not found" in exc.message.lower():
                log.info("sender: topic %s of chat %s is gone", item.thread_id, item.chat_id)
                await self.outbox.clear_thread(item.id)
                self.wake()
                return False
            log.error("sender: row %s refused by Telegram: %s", item.id, exc.message)
            await self._park_safely(item, exc.message)
        except (TelegramServerError, TelegramNetworkError, ClientDecodeError, OSError) as exc:
            await self._retry_or_park(item, exc)
        except TelegramAPIError as exc:  # a status the Bot API does not document for sends
            log.error("sender: row %s refused by Telegram: %s", item.id, exc.message)
            await self._park_safely(item, exc.message)
        finally:
            if paid:
                self.paid.settle(sent=sent)
        if sent:
            await self._sent(item)
        return False

    async def _retry_or_park(self, item: OutboxItem, exc: Exception) -> None:
        attempts = item.attempts + 1
        error = repr(exc)[:300]
        if attempts >= MAX_ATTEMPTS:
            log.error("sender: row %s parked after %d attempts: %s", item.id, attempts, error)
            await self._park_safely(item, error)
            return
        delay = retry_delay(attempts)
        log.info("sender: row %s failed (%s), retrying in %.0f s", item.id, error, delay)
        await self.outbox.retry_later(item.id, self._clock() + delay, error)

    async def _sent(self, item: OutboxItem) -> None:
        self.sent_total += 1
        self._meter.add()
        self.progress_at = self._clock()
        try:
            # With paid broadcasts (64 workers) a worker does not wait for the commit: at
            # 1000/s the commits would pace the sends. Otherwise it does, which keeps the rows
            # 'sending' at any moment to the queue and the workers (what a kill -9 resends).
            await self._marks.mark(item.id, wait=not self.paid.config.enabled)
        except Exception:
            # Sent, but not recorded: the row stays 'sending' (a restart would send it again).
            log.exception("sender: row %s was sent but could not be marked", item.id)
            return
        detected_at = item.payload.get("detected_at")
        if item.kind == "episode" and isinstance(detected_at, int | float):
            log.debug(
                "sender: episode notice for title %s sent to chat %s %.1f ms after the event",
                item.title_id,
                item.chat_id,
                (self._clock() - detected_at) * 1000,
            )

    def _paid_state(self) -> tuple[str, str] | None:
        return self.paid.state() if self.paid.config.enabled else None

    # -- Telegram refusing the token, or the Stars ------------------------------------------

    def _halt(self, exc: TelegramAPIError) -> None:
        if self._halted:
            return
        self._halted = True
        log.error(
            "sender: Telegram refuses the bot token (%s: %s); delivery paused, every notice"
            " stays queued, retrying getMe until the token works",
            type(exc).__name__,
            exc.message,
        )
        self._chore(self._probe(), "sender-probe")

    async def _probe(self) -> None:
        delay = PROBE_FIRST
        while True:
            await asyncio.sleep(delay)
            try:
                await self.bot.get_me()
            except (TelegramUnauthorizedError, TelegramNotFound):
                delay = min(delay * 2, PROBE_MAX)
                continue
            except Exception as exc:  # Telegram unreachable: no verdict on the token yet
                log.debug("sender: getMe failed while paused: %r", exc)
                delay = min(delay * 2, PROBE_MAX)
                continue
            log.warning("sender: Telegram accepts the bot token again; delivery resumes")
            self._halted = False
            self.wake()
            return

    def _out_of_stars(self, message: str) -> None:
        if not self.paid.out_of_stars():
            return
        log.warning(
            "sender: Telegram refused a paid broadcast for lack of Stars (%s): paid broadcast"
            " is off until the bot restarts, notices go on at the free rate",
            message,
        )
        if self.admin_ids:
            self._chore(self._tell_admins_stars_ran_out(), "sender-stars-notice")

    async def _tell_admins_stars_ran_out(self) -> None:
        for admin in self.admin_ids:
            chat = await self.chats.get(admin)
            language = resolve_language(
                chat.language if chat else None,
                chat.seen_language if chat else None,
                self.default_language,
            )
            with self.i18n.context(), self.i18n.use_locale(language):
                text = _(
                    "⚠️ Paid broadcast is off: Telegram refused a paid message for lack of"
                    " Stars. Notices go on at the free rate; nothing is lost. Top up the"
                    " bot's Stars and restart it to pay again."
                )
            try:
                await self.bot.send_message(admin, text)
            except TelegramAPIError as exc:
                log.warning("sender: could not tell admin %s that Stars ran out: %s", admin, exc)

    # -- /stats ------------------------------------------------------------------------------

    def status(self) -> DeliveryStatus:
        return DeliveryStatus(
            rate=self._meter.rate(),
            paid_enabled=self.paid.config.enabled,
            paid_active=self.paid.active,
            paid_today=self.paid.today,
            paid_cap=self.paid.config.max_per_day,
            out_of_stars_at=self.paid.out_of_stars_at,
            halted=self._halted,
        )

    async def delivery_heard_at(self, now: float) -> float:
        """For the health check: `now` while nothing is due or being sent, else when a row was
        last settled. A sender that stalls (a hung proxy, a long flood wait, a dead worker pool)
        stops this clock; a long fan-out that keeps sending does not."""
        if not await self.outbox.has_work(now):
            self._idle_at = now
            return now
        # Work that came after a quiet spell is measured from the end of that spell.
        return max(self.progress_at, self._idle_at)

    def expected_rate(self) -> float:
        """The rate the backlog drains at when nothing was measured yet."""
        lane = self.limiter.paid if self.paid.active and self.limiter.paid else self.limiter.free
        return 1.0 / lane.interval

    async def largest_fan_outs(self, limit: int = 5) -> list[PendingFanOut]:
        return await self.outbox.largest_pending(limit)
