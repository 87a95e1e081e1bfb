"""The daily digest: due times, the scheduler's runs and the composed text, on a real SQLite file.

The scheduler runs with an injected clock (nothing sleeps until a time) against a real database
and a real AniLibriaClient talking to the fake AniLibria server over loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import storage
from bot.anilibria.v2 import V2Catalogue
from bot.anilibria.v2._convert import title_url
from bot.anilibria.v2.client import AniLibriaClient
from bot.notify.digest import DigestScheduler
from bot.notify.digest_compose import PART_LIMIT, episode_ranges, pack_lines
from bot.notify.digest_schedule import LATE_LIMIT, next_due
from bot.ui.i18n import LOCALES_DIR, PoI18n
from storage import ChatRepo, DigestRepo, DigestTurn, TitleRecord, TitleRepo
from tests.fakes.anilibria import FakeAniLibria
from tests.harness import poll

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


class Clock:
    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[storage.Database]:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
async def client(anilibria: FakeAniLibria) -> AsyncIterator[V2Catalogue]:
    api = AniLibriaClient(anilibria.api_url, anilibria.site_url, retries=0, backoff=0)
    yield V2Catalogue(api)
    await api.aclose()


@pytest.fixture
def i18n() -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale="ru")


SITE = "https://www.anilibria.test"


def make_scheduler(
    db: storage.Database,
    i18n: PoI18n,
    client: V2Catalogue,
    clock: Clock,
    **kwargs: Any,
) -> DigestScheduler:
    return DigestScheduler(
        DigestRepo(db),
        ChatRepo(db),
        storage.StateRepo(db),
        i18n,
        client.schedule,
        links=functools.partial(title_url, SITE),
        default_language="ru",
        default_timezone="Europe/Moscow",
        clock=clock,
        **kwargs,
    )


async def add_chat(
    db: storage.Database,
    scheduler: DigestScheduler,
    chat_id: int,
    at: str | None,
    *,
    timezone: str | None = None,
    language: str = "ru",
    when_empty: bool = True,
) -> storage.Chat:
    chats = ChatRepo(db)
    await chats.touch(chat_id, "private", seen_language=language)
    if timezone:
        await chats.update(chat_id, timezone=timezone)
    await DigestRepo(db).set_options(chat_id, when_empty=when_empty)
    chat = await chats.get(chat_id)
    assert chat is not None
    if at is not None:
        hour, minute = map(int, at.split(":"))
        await scheduler.set_time(chat, dt.time(hour, minute))
    chat = await chats.get(chat_id)
    assert chat is not None
    return chat


async def outbox(db: storage.Database) -> list[tuple[int, str, int, str, str]]:
    rows = await db.fetchall(
        "SELECT o.chat_id, o.dedupe_key, o.priority, n.kind, n.payload"
        " FROM outbox o JOIN notices n ON n.id = o.notice_id ORDER BY o.id"
    )
    return [(r[0], r[1], r[2], r[3], json.loads(r[4])["html"]) for r in rows]


async def due_of(db: storage.Database, chat_id: int) -> tuple[int | None, str | None]:
    row = await db.fetchone(
        "SELECT digest_next_due, digest_last_date FROM chats WHERE id = ?", (chat_id,)
    )
    assert row is not None
    return row[0], row[1]


# -- due times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "at", "after", "expected"),
    [
        # New York, March 2024: clocks jump 02:00 -> 03:00 on Sunday the 10th (23-hour day).
        (NEW_YORK, "09:00", ts(2024, 3, 9, 12), [ts(2024, 3, 9, 14), ts(2024, 3, 10, 13)]),
        # New York, November 2024: clocks go back 02:00 -> 01:00 on Sunday the 3rd (25 hours).
        (NEW_YORK, "09:00", ts(2024, 11, 2, 12), [ts(2024, 11, 2, 13), ts(2024, 11, 3, 14)]),
        # 02:30 does not exist on 10 March: an hour later on the wall clock (03:30 EDT).
        (NEW_YORK, "02:30", ts(2024, 3, 9, 12), [ts(2024, 3, 10, 7, 30), ts(2024, 3, 11, 6, 30)]),
        # 01:30 happens twice on 3 November: the first one only, then the next day.
        (NEW_YORK, "01:30", ts(2024, 11, 2, 12), [ts(2024, 11, 3, 5, 30), ts(2024, 11, 4, 6, 30)]),
        # Moscow has no daylight saving: 06:00 UTC around the European change dates.
        (MOSCOW, "09:00", ts(2024, 3, 30, 12), [ts(2024, 3, 31, 6), ts(2024, 4, 1, 6)]),
        (MOSCOW, "09:00", ts(2024, 10, 26, 12), [ts(2024, 10, 27, 6), ts(2024, 10, 28, 6)]),
        # Berlin does: 08:00 UTC in winter, 07:00 in summer.
        (BERLIN, "09:00", ts(2024, 3, 30, 0), [ts(2024, 3, 30, 8), ts(2024, 3, 31, 7)]),
        (BERLIN, "09:00", ts(2024, 10, 26, 0), [ts(2024, 10, 26, 7), ts(2024, 10, 27, 8)]),
    ],
)
def test_next_due_keeps_the_wall_clock_across_dst(
    tz: ZoneInfo, at: str, after: int, expected: list[int]
) -> None:
    hour, minute = map(int, at.split(":"))
    first, day = next_due(dt.time(hour, minute), tz, after)
    second, _ = next_due(dt.time(hour, minute), tz, first, day)
    assert [first, second] == expected
    assert dt.datetime.fromtimestamp(first, tz).date() == day


def test_next_due_is_once_per_local_date() -> None:
    # Sent today at 09:00 Moscow; asked again at 08:00 the same local day: tomorrow, not today.
    first, day = next_due(dt.time(9, 0), MOSCOW, ts(2024, 3, 1, 5))
    assert first == ts(2024, 3, 1, 6)
    again, _ = next_due(dt.time(10, 0), MOSCOW, ts(2024, 3, 1, 6, 30), day)
    assert again == ts(2024, 3, 2, 7)
    # A time equal to now is not "after now".
    assert next_due(dt.time(9, 0), MOSCOW, ts(2024, 3, 1, 6))[0] == ts(2024, 3, 2, 6)


def test_episode_ranges_and_packing() -> None:
    assert episode_ranges([7, 1, 2, 3, 5, 8]) == "1–3, 5, 7–8"
    assert episode_ranges([4]) == "4"
    lines = ["header", ""] + [f"• line {i} " + "x" * 200 for i in range(60)]
    parts = pack_lines(lines)
    assert len(parts) > 1 and all(len(part) <= PART_LIMIT for part in parts)
    assert "\n".join(parts).count("• line") == 60


# -- the scheduler -----------------------------------------------------------------------------


async def test_scheduler_follows_dst_day_by_day(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 8, 16))  # 11:00 EST, Friday
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 1, "09:00", timezone="America/New_York")
    dues = []
    for _ in range(3):
        due, _last = await due_of(db, 1)
        assert due is not None
        dues.append(due)
        clock.now = due
        assert await scheduler.run_once() == 1
    assert dues == [ts(2024, 3, 9, 14), ts(2024, 3, 10, 13), ts(2024, 3, 11, 13)]
    keys = [row[1] for row in await outbox(db)]
    assert keys == ["digest:2024-03-09", "digest:2024-03-10", "digest:2024-03-11"]
    assert await due_of(db, 1) == (ts(2024, 3, 12, 13), "2024-03-11")


async def test_timezone_switch_moves_the_next_digest(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue, anilibria: FakeAniLibria
) -> None:
    clock = Clock(ts(2024, 3, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 1, "09:00")  # the default zone: Moscow
    assert (await due_of(db, 1))[0] == ts(2024, 3, 1, 6)
    await ChatRepo(db).update(1, timezone="America/New_York")
    assert await scheduler.reschedule(1) == ts(2024, 3, 1, 14)  # 09:00 EST

    await ChatRepo(db).update(1, timezone="Asia/Tokyo")
    due = await scheduler.reschedule(1)
    assert due is not None
    assert dt.datetime.fromtimestamp(due, ZoneInfo("Asia/Tokyo")).time() == dt.time(9, 0)

    # Sent on 1 March in Moscow, then moved west the same day: the next one is on 2 March.
    await ChatRepo(db).update(1, timezone=None)
    await scheduler.reschedule(1)
    clock.now = ts(2024, 3, 1, 6)
    assert await scheduler.run_once() == 1
    clock.now = ts(2024, 3, 1, 7)
    await ChatRepo(db).update(1, timezone="America/New_York")
    assert await scheduler.reschedule(1) == ts(2024, 3, 2, 14)


async def test_no_double_after_restart(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue, tmp_path: Path
) -> None:
    clock = Clock(ts(2024, 5, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 1, "09:00")
    await add_chat(db, scheduler, 2, "09:00")
    clock.now = ts(2024, 5, 1, 6, 0) + 20
    assert await scheduler.run_once() == 2
    assert await scheduler.run_once() == 0  # the same process again

    # A restart: a new connection and a new scheduler on the same file, at the same moment.
    again = await storage.connect(tmp_path / "bot.sqlite3")
    try:
        restarted = make_scheduler(again, i18n, client, clock)
        assert await restarted.run_once() == 0
    finally:
        await again.close()
    rows = await outbox(db)
    assert [(r[0], r[1]) for r in rows] == [(1, "digest:2024-05-01"), (2, "digest:2024-05-01")]
    assert all(r[2] == storage.Priority.DIGEST and r[3] == "text" for r in rows)
    assert await due_of(db, 1) == (ts(2024, 5, 2, 6), "2024-05-01")
    # Identical digests share one notice row.
    assert await db.scalar("SELECT COUNT(DISTINCT notice_id) FROM outbox") == 1


async def test_late_digest_rule(db: storage.Database, i18n: PoI18n, client: V2Catalogue) -> None:
    clock = Clock(ts(2024, 3, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 5, "09:00")  # due 06:00 UTC: 5 hours late at 11:00
    await add_chat(db, scheduler, 6, "08:00")  # due 05:00 UTC: exactly 6 hours late
    await add_chat(db, scheduler, 7, "07:00")  # due 04:00 UTC: 7 hours late
    clock.now = ts(2024, 3, 1, 11)  # the bot was down all morning
    assert LATE_LIMIT == 6 * 3600
    assert await scheduler.run_once() == 1
    assert [r[0] for r in await outbox(db)] == [5]
    assert await due_of(db, 5) == (ts(2024, 3, 2, 6), "2024-03-01")
    assert await due_of(db, 6) == (ts(2024, 3, 2, 5), None)
    assert await due_of(db, 7) == (ts(2024, 3, 2, 4), None)


async def test_empty_digest_setting(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 1, "09:00", when_empty=False)
    await add_chat(db, scheduler, 2, "09:00", when_empty=True)
    await add_chat(db, scheduler, 3, "09:00", when_empty=True, language="en")
    clock.now = ts(2024, 3, 1, 6)
    assert await scheduler.run_once() == 2
    rows = await outbox(db)
    assert [r[0] for r in rows] == [2, 3]
    assert "\n" not in rows[0][4] and "ничего нового" in rows[0][4] and "1 марта" in rows[0][4]
    assert "nothing new" in rows[1][4] and "1 March" in rows[1][4]
    # The silent chat's day is done too: no retry, the next one tomorrow.
    assert await due_of(db, 1) == (ts(2024, 3, 2, 6), "2024-03-01")


async def test_inactive_off_and_changed_chats(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 1, "09:00")
    await add_chat(db, scheduler, 2, "09:00")
    await ChatRepo(db).set_active(1, False)  # blocked the bot: no digest, but keep scheduling
    await DigestRepo(db).set_options(2, only=True)
    await scheduler.turn_off(2)
    row = await db.fetchone(
        "SELECT digest_time, digest_next_due, digest_only FROM chats WHERE id=2"
    )
    assert row is not None and tuple(row) == (None, None, 0)  # off brings instant notices back
    clock.now = ts(2024, 3, 1, 6)
    assert await scheduler.run_once() == 0
    assert await due_of(db, 1) == (ts(2024, 3, 2, 6), None)

    # A chat whose time changed between reading and writing keeps the new time.
    repo = DigestRepo(db)
    await add_chat(db, scheduler, 3, "10:00")
    old_due = (await due_of(db, 3))[0]
    assert old_due is not None
    await repo.set_time(3, "11:00", old_due + 3600)
    turn = DigestTurn(3, old_due, old_due + 86400, "2024-03-02", (("digest:2024-03-02", "x"),))
    assert await repo.commit([turn], storage.Priority.DIGEST) == 0
    assert await due_of(db, 3) == (old_due + 3600, None)


async def test_pages_share_one_schedule_request(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue, anilibria: FakeAniLibria
) -> None:
    clock = Clock(ts(2024, 3, 1, 0))
    scheduler = make_scheduler(db, i18n, client, clock, page_size=3)
    for chat_id in range(1, 8):
        await add_chat(db, scheduler, chat_id, "09:00", language="ru" if chat_id % 2 else "en")
    before = anilibria.rest.count("getSchedule")
    clock.now = ts(2024, 3, 1, 6)
    assert await scheduler.run_once() == 7
    assert anilibria.rest.count("getSchedule") - before == 1
    assert sorted(r[0] for r in await outbox(db)) == list(range(1, 8))


# -- what a digest says ------------------------------------------------------------------------


async def save_title(
    db: storage.Database, title_id: int, code: str, ru: str, en: str, **fields: Any
) -> None:
    await TitleRepo(db).save(TitleRecord(id=title_id, code=code, name_ru=ru, name_en=en, **fields))


async def announce(db: storage.Database, title_id: int, episodes: list[int], at: int) -> None:
    await db.executemany(
        "INSERT INTO announced (title_id, episode, announced_at) VALUES (?, ?, ?)",
        [(title_id, episode, at) for episode in episodes],
    )


async def test_digest_content_in_both_languages(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue, anilibria: FakeAniLibria
) -> None:
    start = ts(2024, 3, 4, 12)  # Monday 4 March 2024, after that day's 09:00 in Moscow
    clock = Clock(start)
    scheduler = make_scheduler(db, i18n, client, clock)
    await scheduler.ensure_baseline()
    due = ts(2024, 3, 5, 6)  # Tuesday 09:00 Moscow: weekday 1
    old = dict(first_seen=start - 86400 * 30, status_code=1)
    await save_title(db, 1, "three-eps", "Три <серии>", "Three & Eps", **old)
    await save_title(db, 2, "stale", "Старое", "Stale", **old)
    await save_title(db, 3, "the-end", "Конец", "The End", **old)
    await save_title(db, 4, "on-tuesday", "Вторничный", "Tuesday Show", **old)
    await save_title(db, 5, "five-eps", "Пять", "Five", **old)
    await save_title(db, 6, "brand-new", "Новинка", "Brand New", first_seen=due - 3600)
    await save_title(db, 7, "catalogue", "Каталожный", "Catalogue", first_seen=start - 10)
    await announce(db, 1, [5, 6, 7], due - 3600)
    await announce(db, 2, [3], due - 26 * 3600)  # more than a day ago: not in this digest
    await announce(db, 5, [1, 2, 3, 4, 5], due - 7200)
    async with db.transaction() as conn:
        await TitleRepo.set_finished(conn, 3, due - 7200)
    # The schedule comes from getSchedule: title 4 on Tuesdays.
    anilibria.rest.add_title(
        anilibria.rest.make_title(4, "on-tuesday", "Вторничный", "Tuesday Show", week_day=1)
    )
    anilibria.rest.add_title(anilibria.rest.make_title(2, "stale", "Старое", "Stale", week_day=3))
    subscriptions = storage.SubscriptionRepo(db)
    await add_chat(db, scheduler, 10, "09:00", language="ru")
    await add_chat(db, scheduler, 11, "09:00", language="en")
    for chat_id in (10, 11):
        for title_id in (1, 2, 3, 4, 5):
            await subscriptions.add(chat_id, title_id)

    clock.now = due
    assert await scheduler.run_once() == 2
    [(_, key_ru, _, _, ru), (_, _, _, _, en)] = await outbox(db)
    assert key_ru == "digest:2024-03-05"
    assert ru.startswith("📰 <b>Сводка за день</b> · вторник, 5 марта")
    assert f'<a href="{SITE}/release/three-eps.html">Три &lt;серии&gt;</a> — 3 серии: 5–7' in ru
    assert "Пять</a> — 5 серий: 1–5" in ru
    assert "Сегодня по расписанию" in ru and "Вторничный" in ru
    assert "Завершились" in ru and f'{SITE}/release/the-end.html">Конец</a>' in ru
    assert "Старое" not in ru  # released 26 h ago, scheduled on Thursdays
    assert "✨ Новое на AniLibria: Новинка" in ru and "Каталожный" not in ru
    assert en.startswith("📰 <b>Daily digest</b> · Tuesday, 5 March")
    assert "Three &amp; Eps</a> — 3 episodes: 5–7" in en
    assert "Expected today" in en and "Tuesday Show" in en
    assert "Finished series" in en and "New on AniLibria: Brand New" in en


async def test_schedule_failure_uses_stored_week_days(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue, anilibria: FakeAniLibria
) -> None:
    clock = Clock(ts(2024, 3, 4, 12))
    scheduler = make_scheduler(db, i18n, client, clock)
    await save_title(db, 4, "on-tuesday", "Вторничный", "Tuesday", week_day=1, status_code=1)
    await add_chat(db, scheduler, 10, "09:00", when_empty=False)
    await storage.SubscriptionRepo(db).add(10, 4)
    anilibria.rest.fail("getSchedule", 500, {"error": {"code": 500, "message": "down"}}, times=9)
    clock.now = ts(2024, 3, 5, 6)
    assert await scheduler.run_once() == 1
    [row] = await outbox(db)
    assert "Вторничный" in row[4]


async def test_long_digest_is_split(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 4, 12))
    scheduler = make_scheduler(db, i18n, client, clock)
    await add_chat(db, scheduler, 10, "09:00")
    due = ts(2024, 3, 5, 6)
    subscriptions = storage.SubscriptionRepo(db)
    for title_id in range(100, 220):
        name = f"Очень длинное название номер {title_id} " + "«&»" * 30
        await save_title(db, title_id, f"long-{title_id}", name, None)
        await announce(db, title_id, [1, 2], due - 60)
        await subscriptions.add(10, title_id)
    clock.now = due
    queued = await scheduler.run_once()
    rows = await outbox(db)
    assert queued == len(rows) > 1
    assert [r[1] for r in rows] == [f"digest:2024-03-05:{n}" for n in range(1, len(rows) + 1)]
    assert all(len(r[4]) <= 4096 for r in rows)
    text = "\n".join(r[4] for r in rows)
    assert all(f"long-{title_id}.html" in text for title_id in range(100, 220))


async def test_preview_always_says_something(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 4, 12))
    scheduler = make_scheduler(db, i18n, client, clock)
    chat = await add_chat(db, scheduler, 10, None, when_empty=False)
    [text] = await scheduler.preview(chat, "en")
    assert "nothing new" in text and "4 March" in text
    assert await outbox(db) == []  # a preview queues nothing


async def test_the_task_wakes_when_told_and_stops(
    db: storage.Database, i18n: PoI18n, client: V2Catalogue
) -> None:
    clock = Clock(ts(2024, 3, 4, 12))
    scheduler = make_scheduler(db, i18n, client, clock, check_seconds=30.0)
    task = asyncio.create_task(scheduler.run())
    await add_chat(db, scheduler, 10, "09:00")  # set_time wakes the task: nothing due yet
    clock.now = ts(2024, 3, 5, 6)
    scheduler.wake()  # e.g. /digest, or simply the due time: it does not wait 30 s
    await poll(lambda: scheduler.queued_total == 1, timeout=5, message="the digest run")
    await scheduler.stop()
    await asyncio.wait_for(task, 5)
    assert [r[1] for r in await outbox(db)] == ["digest:2024-03-05"]
