"""The daily digest: when, to whom, what.

A background task wakes when the earliest chat falls due (or every CHECK_SECONDS, or at once
when /digest changes a time), reads what happened in the last day once, composes every due
chat's digest from that in its language, and queues the messages in the outbox behind episode
notices. Each page of chats is written in one transaction together with the chats' next due
times and last dates, so a restart never doubles a digest: either a chat's digest is queued and
its next due time has moved on, or neither happened and the next run does it.

A digest that fell due while the bot was down goes out if it is less than LATE_LIMIT late, and
is skipped otherwise. All times come from an injectable clock; nothing sleeps until a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n

from bot.anilibria import ScheduleDay
from bot.notify.digest_compose import NEW_TITLES_SHOWN, DigestComposer, DigestSnapshot
from bot.notify.digest_schedule import LATE_LIMIT, format_hhmm, local_date, next_due, parse_date
from bot.notify.rules import BASELINE_KEY  # titles first seen before it are the catalogue
from bot.ui.clock import parse_hhmm, zone
from bot.ui.i18n import resolve_language
from bot.ui.text import TitleLinks
from storage import (
    Chat,
    ChatRepo,
    DigestRepo,
    DigestTitle,
    DigestTurn,
    DueChat,
    Priority,
    StateRepo,
)

__all__ = ["BASELINE_KEY", "DigestScheduler", "message_keys"]

log = logging.getLogger(__name__)

DAY = 86400
PAGE = 2000  # chats per transaction
CHECK_SECONDS = 30.0
SCHEDULE_TTL = 600.0  # one getSchedule serves every run within ten minutes

ScheduleFetcher = Callable[[], Awaitable[list[ScheduleDay]]]


def message_keys(day: dt.date, parts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Outbox dedupe keys: one digest per chat per local date, numbered when split."""
    if len(parts) == 1:
        return ((f"digest:{day.isoformat()}", parts[0]),)
    return tuple((f"digest:{day.isoformat()}:{n}", part) for n, part in enumerate(parts, 1))


class DigestScheduler:
    def __init__(
        self,
        repo: DigestRepo,
        chats: ChatRepo,
        state: StateRepo,
        i18n: I18n,
        fetch_schedule: ScheduleFetcher,
        *,
        links: TitleLinks,
        default_language: str,
        default_timezone: str,
        on_queued: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        page_size: int = PAGE,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.repo = repo
        self.chats = chats
        self.state = state
        self.i18n = i18n
        self.fetch_schedule = fetch_schedule
        self.links = links
        self.default_language = default_language
        self.default_timezone = default_timezone
        self.on_queued = on_queued
        self.page_size = page_size
        self.check_seconds = check_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._schedule_cache: tuple[float, dict[int, frozenset[int]], list[DigestTitle]] | None
        self._schedule_cache = None
        self.runs = 0
        self.queued_total = 0

    # -- the task ------------------------------------------------------------------------------

    def wake(self) -> None:
        """A due time changed: look again now rather than at the next check."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        await self.ensure_baseline()
        first = True
        while not self._stopping:
            self._wake.clear()
            try:
                queued = await self.run_once()
                if first:  # digests that fell due while the bot was down went out just now
                    log.info("digest: first pass after start done, %d messages queued", queued)
                    first = False
                timeout = await self._idle_seconds()
            except Exception:
                log.exception("digest run failed; trying again in %ss", self.check_seconds)
                timeout = self.check_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _idle_seconds(self) -> float:
        upcoming = await self.repo.next_due_at()
        if upcoming is None:
            return self.check_seconds
        return min(max(upcoming - self._clock() + 0.01, 0.05), self.check_seconds)

    async def ensure_baseline(self) -> int:
        baseline = await self.state.get_int(BASELINE_KEY)
        if baseline is None:
            baseline = int(self._clock())
            await self.state.set(BASELINE_KEY, baseline)
        return baseline

    # -- one run -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Handle every chat due now; returns how many outbox rows were queued."""
        now = int(self._clock())
        page = await self.repo.due(now, self.page_size)
        if not page:
            return 0
        started = time.monotonic()
        composer = DigestComposer(await self.snapshot(now), self.links)
        chats = queued = 0
        while page:
            turns = await self._turns(page, composer, now)
            rows = await self.repo.commit(turns, Priority.DIGEST)
            chats += len(page)
            queued += rows
            if rows and self.on_queued is not None:
                self.on_queued()
            if len(page) < self.page_size or self._stopping:
                break  # stopping: the rest are still due, and go out after the restart
            last = page[-1]
            page = await self.repo.due(now, self.page_size, after=(last.next_due, last.id))
        self.runs += 1
        self.queued_total += queued
        log.info(
            "digest: %d chats due, %d messages queued in %.2fs",
            chats,
            queued,
            time.monotonic() - started,
        )
        return queued

    async def _turns(
        self, page: Sequence[DueChat], composer: DigestComposer, now: int
    ) -> list[DigestTurn]:
        turns: list[DigestTurn] = []
        todo: dict[str, list[tuple[DueChat, ZoneInfo, dt.time, dt.date]]] = defaultdict(list)
        for chat in page:
            at = parse_hhmm(chat.digest_time or "")
            if at is None:  # off (or garbage): stop scheduling it
                turns.append(DigestTurn(chat.id, chat.next_due, None))
                continue
            tz = zone(chat.timezone, self.default_timezone)
            last = parse_date(chat.last_date)
            day = local_date(chat.next_due, tz)
            late = now - chat.next_due
            if not chat.active or late >= LATE_LIMIT or (last is not None and day <= last):
                if chat.active and late >= LATE_LIMIT:
                    log.info("digest: chat %s is %ds late for %s: skipped", chat.id, late, day)
                upcoming, _ = next_due(at, tz, now, last)
                turns.append(DigestTurn(chat.id, chat.next_due, upcoming))
                continue
            language = resolve_language(chat.language, chat.seen_language, self.default_language)
            todo[language].append((chat, tz, at, day))
        if not todo:
            return turns
        followed = await self.repo.followed_among(
            [item[0].id for items in todo.values() for item in items],
            composer.snapshot.interesting,
        )
        upcoming_cache: dict[tuple[str, dt.time, dt.date], int] = {}
        for language, items in todo.items():
            with self.i18n.context(), self.i18n.use_locale(language):
                for chat, tz, at, day in items:
                    try:
                        parts = composer.compose(
                            followed.get(chat.id, ()),
                            day,
                            language=language,
                            when_empty=chat.when_empty,
                        )
                    except Exception:  # one odd chat must not hold back everyone's digest
                        log.exception("digest: cannot compose for chat %s; skipped", chat.id)
                        parts = []
                    key = (tz.key, at, day)  # due chats share a few settings: compute once
                    following = upcoming_cache.get(key)
                    if following is None:
                        following = upcoming_cache[key] = next_due(at, tz, now, day)[0]
                    turns.append(
                        DigestTurn(
                            chat.id,
                            chat.next_due,
                            following,
                            day.isoformat(),
                            message_keys(day, parts),
                        )
                    )
        return turns

    # -- shared data ---------------------------------------------------------------------------

    async def snapshot(self, now: int) -> DigestSnapshot:
        """What happened in the day before `now`, read once for every chat of a run."""
        since = now - DAY
        released = await self.repo.released_since(since)
        finished = await self.repo.finished_since(since)
        baseline = await self.ensure_baseline()
        new_titles, new_count = await self.repo.first_seen_since(
            max(since, baseline + 1), NEW_TITLES_SHOWN
        )
        scheduled, listed = await self._schedule(now)
        ids = set(released) | finished
        for day_ids in scheduled.values():
            ids |= day_ids
        titles = await self.repo.titles(ids)
        for title in listed:
            titles.setdefault(title.id, title)
        return DigestSnapshot(
            now=now,
            titles=titles,
            released={title_id: tuple(eps) for title_id, eps in released.items()},
            finished=frozenset(finished),
            scheduled=scheduled,
            new_titles=tuple(new_titles),
            new_count=new_count,
        )

    async def _schedule(self, now: float) -> tuple[dict[int, frozenset[int]], list[DigestTitle]]:
        """The week's schedule (weekday -> title ids): one getSchedule, or the local copy."""
        cached = self._schedule_cache
        if cached is not None and 0 <= now - cached[0] < SCHEDULE_TTL:
            return cached[1], cached[2]
        try:
            days = await self.fetch_schedule()
        except Exception as exc:  # the digest goes out anyway, with the local schedule
            log.warning("digest: getSchedule failed (%s); using the stored week days", exc)
            listed = await self.repo.scheduled_in_catalogue()
            return _by_weekday(listed), []
        listed = [
            DigestTitle(
                id=title.id,
                code=title.alias,
                name_ru=title.names.main,
                name_en=title.names.english,
                week_day=day.day,
                status_code=int(title.status) if title.status is not None else None,
            )
            for day in days
            for title in day.titles
        ]
        scheduled = _by_weekday(listed)
        self._schedule_cache = (now, scheduled, listed)
        return scheduled, listed

    # -- one chat, from /digest and /settings --------------------------------------------------

    async def preview(self, chat: Chat, language: str) -> list[str]:
        """Today's digest for `chat` as it would be now; never empty."""
        now = int(self._clock())
        composer = DigestComposer(await self.snapshot(now), self.links)
        followed = await self.repo.followed_among([chat.id], composer.snapshot.interesting)
        day = local_date(now, zone(chat.timezone, self.default_timezone))
        with self.i18n.context(), self.i18n.use_locale(language):
            return composer.compose(
                followed.get(chat.id, ()), day, language=language, when_empty=True
            )

    async def set_time(self, chat: Chat, at: dt.time) -> int:
        """Turn the digest on at `at` in the chat's zone; returns the next due time."""
        tz = zone(chat.timezone, self.default_timezone)
        due, _ = next_due(at, tz, self._clock(), parse_date(chat.digest_last_date))
        await self.repo.set_time(chat.id, format_hhmm(at), due)
        self.wake()
        return due

    async def turn_off(self, chat_id: int) -> None:
        await self.repo.turn_off(chat_id)

    async def reschedule(self, chat_id: int) -> int | None:
        """Recompute the next due time from the chat's current zone and time (a zone change)."""
        chat = await self.chats.get(chat_id)
        if chat is None or not chat.digest_time:
            return None
        at = parse_hhmm(chat.digest_time)
        if at is None:
            return None
        tz = zone(chat.timezone, self.default_timezone)
        due, _ = next_due(at, tz, self._clock(), parse_date(chat.digest_last_date))
        await self.repo.set_next_due(chat_id, due)
        self.wake()
        return due


def _by_weekday(titles: Sequence[DigestTitle]) -> dict[int, frozenset[int]]:
    days: dict[int, set[int]] = defaultdict(set)
    for title in titles:
        if title.week_day is not None and 0 <= title.week_day <= 6:
            days[title.week_day].add(title.id)
    return {day: frozenset(ids) for day, ids in days.items()}
