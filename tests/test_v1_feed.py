"""V1Feed: the polling rules, against MockAniLiberty over httpx.MockTransport.

Poll intervals are tiny (0.05 s); tests wait for conditions with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.anilibria._roles import NewsFeed, UpstreamConfig
from bot.anilibria._types import Change, TitleSeen
from bot.anilibria.errors import TransportError
from bot.anilibria.v1 import MARK_KEY, V1Catalogue, V1Client, V1Feed, open_upstream
from tests.fakes.aniliberty_mock import API, SITE, MockAniLiberty

T = 1_790_000_000
INTERVAL = 0.05
LATEST = "/anime/releases/latest"
CATALOGUE = "/anime/catalog/releases"


class Marks:
    def __init__(self, mark: int | None = None) -> None:
        self.values: dict[str, int] = {} if mark is None else {MARK_KEY: mark}
        self.raises: list[int] = []

    async def get_int(self, key: str) -> int | None:
        return self.values.get(key)

    async def raise_to(self, key: str, value: int) -> None:
        self.raises.append(value)
        self.values[key] = max(self.values.get(key, value), value)

    @property
    def mark(self) -> int | None:
        return self.values.get(MARK_KEY)


class Followed:
    def __init__(self, *ids: int) -> None:
        self.ids = set(ids)
        self.calls: list[list[int] | None] = []
        self.fail_next = 0

    async def wanted(self, title_ids: Collection[int] | None) -> set[int]:
        self.calls.append(None if title_ids is None else sorted(title_ids))
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("database is locked")
        return set(self.ids) if title_ids is None else self.ids & set(title_ids)


class Sink:
    """Records what it was handed; ``fail(change)`` True makes it raise for that change."""

    def __init__(self, fail: Callable[[Change], bool] | None = None) -> None:
        self.fail = fail
        self.changes: list[TitleSeen] = []
        self.attempts: list[int] = []

    async def __call__(self, change: Change) -> int:
        assert isinstance(change, TitleSeen)
        self.attempts.append(change.title.id)
        if self.fail is not None and self.fail(change):
            raise RuntimeError(f"cannot store {change.title.id}")
        self.changes.append(change)
        return 1

    @property
    def ids(self) -> list[int]:
        return [c.title.id for c in self.changes]


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.005)


async def polls(fake: MockAniLiberty, more: int) -> None:
    """Wait until the feed has polled ``latest`` ``more`` more times."""
    target = fake.count(LATEST) + more
    await eventually(lambda: fake.count(LATEST) >= target)


def catalogue_with(fake: MockAniLiberty, count: int, *, first: int = 1) -> None:
    for n in range(first, first + count):
        fake.add(n, T + n)


@asynccontextmanager
async def running(
    fake: MockAniLiberty,
    marks: Marks,
    interest: Followed,
    sink: Sink,
    *,
    interval: float = INTERVAL,
) -> AsyncIterator[V1Feed]:
    client = V1Client(
        API, SITE, transport=fake.transport, retries=0, backoff=0.01, short_retry_after=0
    )
    feed = V1Feed(client, V1Catalogue(client, SITE), marks, interest, poll_interval=interval)
    task = asyncio.create_task(feed.run(sink))
    try:
        yield feed
        assert not task.done(), "run() ended before close()"
    finally:
        await feed.close()
        await asyncio.wait_for(task, 2.0)
        await client.aclose()


def test_feed_implements_the_role() -> None:
    client = V1Client(API, SITE)
    feed: NewsFeed = V1Feed(client, V1Catalogue(client, SITE), Marks(), Followed(), poll_interval=1)
    assert feed.health().mode == "polling"
    assert feed.health().state == "starting"


# -- first start ------------------------------------------------------------------------------


async def test_first_start_is_a_baseline_of_followed_titles() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(), Sink()
    catalogue_with(fake, 5)
    interest = Followed(3, 2, 99)  # 99 does not exist
    async with running(fake, marks, interest, sink):
        await eventually(lambda: marks.mark is not None)
        assert marks.mark == T + 5  # the newest fresh_at of latest
        assert sink.ids == [2, 3]
        assert all(c.baseline for c in sink.changes)
        assert all(c.title.episodes is not None for c in sink.changes)
        assert interest.calls == [None]
        assert fake.paths()[:4] == [
            LATEST,
            "/anime/releases/2",
            "/anime/releases/3",
            "/anime/releases/99",
        ]
        await polls(fake, 3)
        assert len(sink.changes) == 2  # nothing else was news
        assert set(fake.paths()[4:]) == {LATEST}


async def test_first_start_retries_when_a_baseline_read_fails() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(), Sink()
    catalogue_with(fake, 3)
    fake.routes[("GET", "/anime/releases/2")] = lambda r: httpx.Response(503)
    async with running(fake, marks, Followed(2), sink) as feed:
        await eventually(lambda: feed.health().state == "failing")
        assert marks.mark is None and sink.changes == []
        del fake.routes[("GET", "/anime/releases/2")]
        await eventually(lambda: marks.mark is not None)
        assert sink.ids == [2] and sink.changes[0].baseline
        assert marks.mark == T + 3


# -- each poll --------------------------------------------------------------------------------


async def test_followed_bump_is_read_once_unfollowed_is_not_read() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(2), sink):
        await polls(fake, 1)
        fake.bump(2, T + 10)  # a new episode 4 of a followed title
        fake.bump(4, T + 11)  # nobody follows 4
        await eventually(lambda: len(sink.changes) == 2)
        followed, other = sink.changes
        assert [followed.title.id, other.title.id] == [2, 4]  # oldest first
        assert not followed.baseline and not other.baseline
        assert followed.title.episodes is not None and len(followed.title.episodes) == 4
        assert followed.title.last_episode == 4.0 and followed.title.torrents is not None
        assert other.title.episodes is None  # the list item, no extra request
        assert other.title.last_episode == 4.0  # from latest_episode
        assert fake.count("/anime/releases/2") == 1
        assert fake.count("/anime/releases/4") == 0
        await eventually(lambda: marks.mark == T + 11)
        await polls(fake, 3)
        assert len(sink.changes) == 2
        assert fake.count("/anime/releases/2") == 1


async def test_a_new_latest_episode_without_a_bump_is_a_change() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(), sink):
        await polls(fake, 1)
        fake.bump(3, T + 3)  # fresh_at unchanged, one more episode
        await eventually(lambda: sink.ids == [3])
        assert sink.changes[0].title.last_episode == 4.0
        assert marks.raises == []  # the mark did not move: nothing newer than it


async def test_downtime_pages_the_catalogue_down_to_the_mark() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 40), Sink()
    catalogue_with(fake, 120)  # 41..120 were bumped while the bot was down
    interest = Followed(45, 100, 10)
    async with running(fake, marks, interest, sink) as feed:
        await eventually(lambda: marks.mark == T + 120)
        assert sink.ids == list(range(41, 121))  # none missed, none extra, oldest first
        full = {c.title.id for c in sink.changes if c.title.episodes is not None}
        assert full == {45, 100}  # 45 was only in the catalogue pages, not in latest
        catalogue_pages = [s.params for s in fake.requests if s.path == CATALOGUE]
        assert [p["page"] for p in catalogue_pages] == ["1", "2"]
        assert all(p["limit"] == "50" for p in catalogue_pages)
        assert fake.count("/anime/releases/10") == 0
        assert feed.health().last_catchup_at is not None
        await polls(fake, 3)
        assert fake.count(CATALOGUE) == 2  # caught up: no more paging
        assert len(sink.changes) == 80


async def test_more_than_50_bumps_between_polls_are_caught_up() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 60), Sink()
    catalogue_with(fake, 60)
    async with running(fake, marks, Followed(), sink):
        await polls(fake, 1)
        for n in range(1, 56):  # 55 bumps at once: latest shows only 50 of them
            fake.bump(n, T + 100 + n, new_episode=False)
        await eventually(lambda: len(sink.changes) == 55)
        assert sink.ids == list(range(1, 56))
        assert fake.count(CATALOGUE) == 2
        await eventually(lambda: marks.mark == T + 155)


@pytest.mark.parametrize("first_start", [True, False])
async def test_bumps_from_below_a_full_latest_page_nothing(first_start: bool) -> None:
    """A release bumped from below the 50 that latest showed is at the top of the next latest:
    nothing was pushed out, so no catalogue page is read, however long the feed has run (after
    a first start, or after more than 50 bumps a few at a time)."""
    fake, sink = MockAniLiberty(), Sink()
    marks = Marks() if first_start else Marks(T + 80)
    catalogue_with(fake, 80)  # latest shows 31..80
    async with running(fake, marks, Followed(3), sink):
        await polls(fake, 1)
        stamp = itertools.count(T + 100)
        if not first_start:
            for batch in range(12):  # 60 bumps over 12 polls: the oldest shown moves up
                for n in range(31 + batch * 5, 36 + batch * 5):
                    fake.bump(n if n <= 80 else n - 50, next(stamp), new_episode=False)
                await polls(fake, 1)
        handed = len(sink.changes)
        fake.bump(3, next(stamp))  # followed, from below the 50 shown
        await eventually(lambda: sink.ids[handed:] == [3])
        fake.bump(5, next(stamp))  # not followed
        await eventually(lambda: sink.ids[handed:] == [3, 5])
        await polls(fake, 2)
        assert fake.count(CATALOGUE) == 0
        assert fake.count("/anime/releases/3") == (2 if first_start else 1)  # + the baseline
        assert fake.count("/anime/releases/5") == 0


async def test_a_sink_failure_keeps_the_mark_below_it_until_handed_over() -> None:
    failures = {2: 2}

    def fail(change: Change) -> bool:
        assert isinstance(change, TitleSeen)
        left = failures.get(change.title.id, 0)
        failures[change.title.id] = left - 1
        return left > 0

    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink(fail)
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(), sink):
        await polls(fake, 1)
        fake.bump(2, T + 10)
        fake.bump(3, T + 11)
        await eventually(lambda: sorted(sink.ids) == [2, 3])
        assert sink.attempts.count(2) == 3  # two failures, retried by the next polls
        assert sink.attempts.count(3) == 1
        assert all(value < T + 10 for value in marks.raises[:-1])
        await eventually(lambda: marks.mark == T + 11)


async def test_a_sink_that_keeps_failing_holds_the_mark_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.anilibria.v1")
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink(lambda c: c.title.id == 2)
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(), sink) as feed:
        await polls(fake, 1)
        fake.bump(2, T + 10)
        fake.bump(3, T + 11)
        await eventually(lambda: 3 in sink.ids)
        fake.bump(4, T + 20)
        await eventually(lambda: 4 in sink.ids)
        await polls(fake, 3)
        assert sink.ids == [3, 4]
        assert sink.attempts.count(2) >= 4
        assert marks.mark == T + 9  # below 2's fresh_at, whatever came after
        assert "release 2" in feed.health().detail
        assert feed.health().state == "ok"  # the API is fine
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "stays pending" in errors[0].getMessage()


# -- cost ---------------------------------------------------------------------------------------


async def test_steady_state_is_one_request_per_poll() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(1, 2), sink):
        await polls(fake, 6)
    assert set(fake.paths()) == {LATEST}
    assert all(s.params == {"limit": "50"} for s in fake.requests)
    # Polls keep a fixed rate (a slow answer shortens the wait after it), so count them:
    # one request per interval, never a burst.
    times = [s.at for s in fake.requests]
    assert len(times) - 1 <= (times[-1] - times[0]) / INTERVAL + 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gaps) / len(gaps) >= INTERVAL * 0.8
    assert all(gap > 0.005 for gap in gaps)
    assert sink.changes == [] and marks.raises == []


async def test_steady_state_with_etag_is_a_304_per_poll() -> None:
    fake, marks, sink = MockAniLiberty(etag=True), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(1), sink):
        await polls(fake, 5)
        assert fake.not_modified >= 4
        assert all("if-none-match" in s.headers for s in fake.requests[1:])
        fake.bump(1, T + 30)
        await eventually(lambda: sink.ids == [1])  # a changed body is a 200 again
    assert sink.changes[0].title.episodes is not None


# -- faults -------------------------------------------------------------------------------------


async def test_rate_limit_waits_retry_after() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    fake.faults.append(httpx.Response(429, headers={"Retry-After": "0.4"}))
    async with running(fake, marks, Followed(), sink) as feed:
        await eventually(lambda: feed.health().state == "failing")
        assert "429" in feed.health().detail
        await polls(fake, 1)
        await eventually(lambda: feed.health().state == "ok")
    first, second = fake.requests[0].at, fake.requests[1].at
    assert second - first >= 0.4 * 0.9


async def test_faults_back_off_log_once_and_recover(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.anilibria.v1")
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    fake.faults.extend(
        [
            httpx.Response(503, text="<html>down</html>", headers={"content-type": "text/html"}),
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"not": "a list"}),
            httpx.Response(502),
        ]
    )
    async with running(fake, marks, Followed(), sink) as feed:
        await eventually(lambda: feed.health().state == "failing")
        failing_since = feed.health().since
        await eventually(lambda: feed.health().state == "ok", timeout=10)
        health = feed.health()
        assert health.since >= failing_since and health.ok_at is not None
        assert health.detail  # the last error is kept
    times = [s.at for s in fake.requests[:5]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= INTERVAL * 2 * 0.7  # doubling from the poll interval
    assert gaps[3] > gaps[0] * 2
    warnings = [r for r in caplog.records if "feed failing" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(warnings) == 1 and len(recovered) == 1


async def test_an_unexpected_error_does_not_end_the_feed() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    interest = Followed(1)
    interest.fail_next = 1
    async with running(fake, marks, interest, sink) as feed:
        await polls(fake, 1)
        fake.bump(1, T + 10)
        await eventually(lambda: sink.ids == [1], timeout=5)
        assert "database is locked" in feed.health().detail
        assert sink.changes[0].title.episodes is not None


async def test_close_stops_a_sleeping_poller_at_once() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 2)
    client = V1Client(API, SITE, transport=fake.transport)
    feed = V1Feed(client, V1Catalogue(client, SITE), marks, Followed(), poll_interval=60)
    task = asyncio.create_task(feed.run(sink))
    await polls(fake, 1)
    await eventually(lambda: feed.health().state == "ok")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await feed.close()
    await asyncio.wait_for(task, 1.0)
    assert loop.time() - started < 0.5
    assert fake.count(LATEST) == 1
    await feed.run(sink)  # after close, run returns at once
    await client.aclose()


async def test_health_counts_changes() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 5)
    async with running(fake, marks, Followed(), sink) as feed:
        await eventually(lambda: feed.health().state == "ok")
        assert feed.health().changes == 0 and feed.health().last_change_at is None
        fake.bump(5, T + 9)
        await eventually(lambda: feed.health().changes == 1)
        health = feed.health()
        assert health.mode == "polling" and health.last_change_at is not None
        assert health.ok_at is not None and health.last_catchup_at is None


async def test_open_upstream_wires_the_roles() -> None:
    fake, marks, sink = MockAniLiberty(), Marks(T + 5), Sink()
    catalogue_with(fake, 3)
    config = UpstreamConfig(api_url=API, site_url=SITE, poll_interval=INTERVAL, user_agent="ua/1")
    upstream = open_upstream(config, marks, Followed(), transport=fake.transport)
    assert upstream.name == "v1"
    title = await upstream.catalogue.title(2)
    assert title is not None and title.id == 2
    assert fake.requests[0].headers["user-agent"] == "ua/1"
    task = asyncio.create_task(upstream.feed.run(sink))
    await polls(fake, 1)
    await upstream.aclose()  # stops the feed, closes the client
    await asyncio.wait_for(task, 1.0)
    with pytest.raises(TransportError):  # not httpx's RuntimeError
        await upstream.catalogue.title(2)
