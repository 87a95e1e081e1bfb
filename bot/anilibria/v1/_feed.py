"""V1Feed: the NewsFeed role on AniLiberty v1, which has no push: ``/anime/releases/latest``
is polled every ``poll_interval`` seconds.

``fresh_at`` (a release's bump time, the sort key of ``latest``) is the signal. The feed keeps
a high-water mark of it in the bot's state (``v1.fresh_at``):

* First start (no mark): the mark becomes the newest ``fresh_at`` of ``latest``, and every
  followed title is read once and handed over as ``TitleSeen(baseline=True)``; nothing is news.
* Each poll: a release is *changed* when its ``fresh_at`` passed what this process last saw of
  it (for one not seen yet: the mark) or its ``latest_episode`` changed. A changed release some
  chat follows is read in full (episodes, torrents) and handed over; one nobody follows is
  handed over as the list showed it (``episodes=None``), without a request. Oldest first.
* When every item of a full ``latest`` is newer than what was covered, the newest ``fresh_at``
  the previous poll saw (or the mark, on the first poll of a process), more may have been
  pushed out below it (the bot was down, or more than 50 releases were bumped between two
  polls): the catalogue sorted ``FRESH_AT_DESC`` is paged down to it, so nothing is missed. A
  release bumped from anywhere below is at the top of the next ``latest``, above what was
  covered: that alone pages nothing.
* The mark moves only over releases handed over without the sink raising; a release the sink
  (or a read) failed on stays pending, is retried each poll, and holds the mark below it.
* API faults never end :meth:`V1Feed.run`: a 429 waits ``max(Retry-After, poll_interval)``,
  other faults back off exponentially (capped at 10 minutes, with jitter); each change of state
  is logged once, not each failed poll. With nothing changing a poll is one request (a 304
  when the server supports ``ETag``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.anilibria._lenient import parse_list, parse_one
from bot.anilibria._roles import Interest, MarkStore
from bot.anilibria._types import FeedHealth, NewsSink, Title, TitleSeen
from bot.anilibria.errors import (
    AniLibriaError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from bot.anilibria.v1 import _convert as convert
from bot.anilibria.v1 import _models as m
from bot.anilibria.v1._catalogue import MAX_LIMIT, V1Catalogue
from bot.anilibria.v1._client import V1Client
from bot.anilibria.v1._redact import hide

__all__ = ["LATEST_LIMIT", "MARK_KEY", "MAX_BACKOFF", "V1Feed"]

_log = logging.getLogger("bot.anilibria.v1.feed")

MARK_KEY = "v1.fresh_at"
LATEST_LIMIT = MAX_LIMIT  # 51 is answered 422
MAX_BACKOFF = 600.0
MAX_RATE_LIMIT_WAIT = 3600.0
MAX_CATCHUP_PAGES = 200  # 10 000 releases, several times the whole catalogue


@dataclass(frozen=True, slots=True)
class _Seen:
    fresh: int | None
    episode: tuple[str | None, float | None] | None  # None: the answer had no latest_episode


def _fresh(release: m.Release) -> int | None:
    return convert.unix(release.fresh_at)


def _episode_key(release: m.Release) -> tuple[str | None, float | None] | None:
    if not release.has_latest_episode_key:
        return None
    latest = release.latest_episode
    return (None, None) if latest is None else (latest.id, latest.ordinal)


class V1Feed:
    def __init__(
        self,
        client: V1Client,
        catalogue: V1Catalogue,
        marks: MarkStore,
        interest: Interest,
        *,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        self._client = client
        self._catalogue = catalogue
        self._marks = marks
        self._interest = interest
        self._interval = poll_interval
        self._max_backoff = max(max_backoff, poll_interval)
        self._clock = clock
        self._closed = asyncio.Event()
        self._mark: int | None = None  # the stored mark, once read
        self._high: int | None = None  # the newest fresh_at handed over (or the mark)
        # the newest fresh_at a poll covered: whatever is bumped later is newer than it
        self._floor: int | None = None
        self._seen: dict[int, _Seen] = {}
        self._pending: dict[int, m.Release] = {}
        self._sink_failures: set[tuple[int, int | None]] = set()
        # health
        self._state = "starting"
        self._since = clock()
        self._ok_at: float | None = None
        self._changes = 0
        self._last_change_at: float | None = None
        self._last_catchup_at: float | None = None
        self._detail = ""
        self._failures = 0  # in a row, for the backoff
        self._failed_polls = 0  # since start, for /stats

    # -- the role ---------------------------------------------------------------------------

    async def run(self, sink: NewsSink) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed.is_set():
            started = loop.time()
            delay = self._interval
            try:
                await self._poll(sink)
            except RateLimitedError as exc:
                # obey the server, but a bogus date must not stop the feed for good
                wait = min(exc.retry_after or 0.0, MAX_RATE_LIMIT_WAIT)
                delay = max(wait, self._interval)
                self._failed(exc)
            except AniLibriaError as exc:  # 5xx, transport, shape, other 4xx
                delay = self._backoff()
                self._failed(exc)
            except Exception as exc:  # a bug or the mark store: log, back off, go on
                delay = self._backoff()
                self._failed(exc, unexpected=True)
            else:
                self._succeeded()
                delay = max(self._interval - (loop.time() - started), 0.0)
            await self._sleep(delay)

    async def close(self) -> None:
        self._closed.set()

    def health(self) -> FeedHealth:
        return FeedHealth(
            mode="polling",
            state=self._state,
            since=self._since,
            ok_at=self._ok_at,
            failures=self._failed_polls,
            changes=self._changes,
            last_change_at=self._last_change_at,
            last_catchup_at=self._last_catchup_at,
            detail=self._detail,
        )

    # -- states -----------------------------------------------------------------------------

    def _backoff(self) -> float:
        delay = min(self._interval * 2.0 ** (self._failures + 1), self._max_backoff)
        return min(delay * random.uniform(0.8, 1.2), self._max_backoff)

    def _set_state(self, state: str) -> bool:
        if state == self._state:
            return False
        self._state, self._since = state, self._clock()
        return True

    def _failed(self, exc: BaseException, *, unexpected: bool = False) -> None:
        self._failures += 1
        self._failed_polls += 1
        self._detail = hide(f"{type(exc).__name__}: {exc}")
        if self._set_state("failing"):
            if unexpected:
                _log.exception("AniLiberty feed failing: %s; backing off", self._detail)
            else:
                _log.warning("AniLiberty feed failing: %s; backing off", self._detail)
        else:
            _log.debug("AniLiberty feed still failing (%d): %s", self._failures, self._detail)

    def _succeeded(self) -> None:
        self._ok_at = self._clock()
        if self._set_state("ok") and self._failures:
            _log.info("AniLiberty feed recovered after %d failed polls", self._failures)
        self._failures = 0

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            return
        try:
            async with asyncio.timeout(delay):
                await self._closed.wait()
        except TimeoutError:
            pass

    # -- one poll ---------------------------------------------------------------------------

    async def _poll(self, sink: NewsSink) -> None:
        reply = await self._client.get_reply(
            "/anime/releases/latest", {"limit": LATEST_LIMIT}, revalidate=True
        )
        latest = parse_list(m.Release, reply.data, "latest releases")
        if self._mark is None:
            self._mark = await self._marks.get_int(MARK_KEY)
        if self._mark is None:
            await self._first_start(latest, sink)
            return
        if self._high is None:
            self._high = self._mark
        floor = self._floor if self._floor is not None else self._mark
        candidates = {release.id: release for release in latest}
        freshes = [_fresh(r) for r in latest]
        if len(latest) >= LATEST_LIMIT and all(f is not None and f > floor for f in freshes):
            for release in await self._catch_up(floor):
                candidates.setdefault(release.id, release)
        for release_id, release in self._pending.items():
            candidates.setdefault(release_id, release)
        changed: list[m.Release] = []
        for release in candidates.values():
            if release.id in self._pending or self._changed(release):
                changed.append(release)
                self._pending[release.id] = release
            else:
                self._remember(release)
        known = [f for f in freshes if f is not None]
        if known:
            # Not the oldest shown: a release bumped from below it would then push the oldest
            # out and look like a gap, and every such bump would page the catalogue.
            self._floor = max(floor, max(known))
        changed.sort(key=lambda r: (_fresh(r) or 0, r.id))
        try:
            await self._hand_over(changed, sink)
        finally:
            await self._commit_mark()

    def _changed(self, release: m.Release) -> bool:
        fresh = _fresh(release)
        seen = self._seen.get(release.id)
        if seen is None:
            return fresh is not None and self._mark is not None and fresh > self._mark
        if fresh is not None and (seen.fresh is None or fresh > seen.fresh):
            return True
        episode = _episode_key(release)
        return episode is not None and seen.episode is not None and episode != seen.episode

    def _remember(self, release: m.Release) -> None:
        episode = _episode_key(release)
        previous = self._seen.get(release.id)
        if episode is None and previous is not None:
            episode = previous.episode  # a catalogue item says nothing of latest_episode
        fresh = _fresh(release)
        if previous is not None and previous.fresh is not None:
            fresh = max(fresh or 0, previous.fresh)
        self._seen[release.id] = _Seen(fresh, episode)

    async def _hand_over(self, changed: list[m.Release], sink: NewsSink) -> None:
        if not changed:
            return
        followed = await self._interest.wanted([r.id for r in changed])
        for release in changed:
            if self._closed.is_set():
                return
            if release.id in followed:
                title = await self._full_title(release)
            else:
                title = convert.title(release, self._catalogue.site_url)
            if await self._give(sink, TitleSeen(title), release):
                self._pending.pop(release.id, None)
                self._remember(release)
                fresh = _fresh(release)
                if fresh is not None and (self._high is None or fresh > self._high):
                    self._high = fresh

    async def _full_title(self, release: m.Release) -> Title:
        """The release read in full; the list's view of it when the read is refused for good
        (404, a geo block, a malformed release). Transient faults propagate: retried later."""
        try:
            title = await self._catalogue.title(release.id)
        except (ServerError, RateLimitedError, TransportError):
            raise
        except AniLibriaError as exc:  # a 403 geo block, a malformed release...
            _log.warning("AniLiberty release %d could not be read: %s", release.id, exc)
            title = None
        if title is None:
            return convert.title(release, self._catalogue.site_url)
        return title

    async def _give(self, sink: NewsSink, change: TitleSeen, release: m.Release) -> bool:
        key = (release.id, _fresh(release))
        try:
            await sink(change)
        except Exception as exc:
            text = hide(f"the sink failed for release {release.id}: {type(exc).__name__}: {exc}")
            self._detail = text
            if key not in self._sink_failures:
                self._sink_failures.add(key)
                _log.exception("AniLiberty feed: %s; it stays pending", text)
            else:
                _log.debug("AniLiberty feed: %s (again)", text)
            return False
        self._sink_failures.discard(key)
        self._changes += 1
        self._last_change_at = self._clock()
        return True

    async def _commit_mark(self) -> None:
        """Raise the stored mark to the newest release handed over, but below every pending."""
        if self._high is None or self._mark is None:
            return
        target = self._high
        pending = [f for f in (_fresh(r) for r in self._pending.values()) if f is not None]
        if pending:
            target = min(target, min(pending) - 1)
        if target > self._mark:
            await self._marks.raise_to(MARK_KEY, target)
            self._mark = target

    async def _catch_up(self, floor: int) -> list[m.Release]:
        """Releases bumped after ``floor``, paging the catalogue newest first down to it."""
        found: list[m.Release] = []
        pages = 0
        for page in range(1, MAX_CATCHUP_PAGES + 1):
            params: dict[str, str | int] = {
                "f[sorting]": "FRESH_AT_DESC",
                "limit": LATEST_LIMIT,
                "page": page,
            }
            data = await self._client.get("/anime/catalog/releases", params)
            envelope = parse_one(m.ReleasePage, data, "catalogue")
            pages = page
            reached = False
            for release in envelope.data:
                fresh = _fresh(release)
                if fresh is not None and fresh <= floor:
                    reached = True
                else:
                    found.append(release)
            if reached or not envelope.data or not envelope.has_more:
                break
        self._last_catchup_at = self._clock()
        _log.info(
            "AniLiberty feed: caught up over %d catalogue page(s): %d release(s) since %d",
            pages,
            len(found),
            floor,
        )
        return found

    async def _first_start(self, latest: list[m.Release], sink: NewsSink) -> None:
        """No mark yet: what stands now is the baseline for every followed title."""
        known = [f for f in (_fresh(r) for r in latest) if f is not None]
        newest = max(known, default=int(self._clock()))
        followed = await self._interest.wanted(None)
        _log.info(
            "AniLiberty feed: first start, mark at %d, %d followed title(s) as baseline",
            newest,
            len(followed),
        )
        for title_id in sorted(followed):
            if self._closed.is_set():
                return  # the mark stays unset: the next start does it all again
            title = await self._catalogue.title(title_id)
            if title is None:
                _log.info("AniLiberty feed: followed release %d does not exist", title_id)
                continue
            key = (title_id, None)
            try:
                await sink(TitleSeen(title, baseline=True))
            except Exception as exc:
                self._detail = hide(f"baseline of release {title_id}: {type(exc).__name__}")
                if key not in self._sink_failures:
                    self._sink_failures.add(key)
                    _log.exception("AniLiberty feed: the baseline of %d failed", title_id)
                continue
            self._changes += 1
            self._last_change_at = self._clock()
        for release in latest:
            self._remember(release)
        await self._marks.raise_to(MARK_KEY, newest)
        self._mark = self._high = newest
        self._floor = newest
