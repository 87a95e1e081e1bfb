"""Daily digest: compose and queue 100,000 digests that fall due in the same minute.

A temporary SQLite file (storage.connect, every migration) gets 100,000 private chats with a
digest due at the same UTC minute (09:00 Moscow, 08:00 Kaliningrad, 11:00 Yekaterinburg; 70 %
Russian, 30 % English; half of them want a line on an empty day), about 1,000,000 subscriptions
over 3,000 titles with a skewed popularity, 60 titles with episodes announced in the last day,
5 that finished, 12 new to the bot, and a week's schedule of 150 titles. The file is closed and
opened again, as a restarted bot would, and the real DigestScheduler.run_once handles the minute:
one snapshot of the shared data, every chat's digest composed in its language, and the outbox
rows, next due times and last dates written page by page.

Figures: time to compose + queue 100,000 digests (target < 30 s) and the memory the digest
itself takes: the process's peak RSS minus its RSS once the imports (aiogram and all) are done
(target <= 40 MB, the bot's own budget; the libraries' weight is not ours to cap), absolute and as
measured/limit. Run: python -m bench.bench_digest [--chats N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import storage
from bench.figures import peak_rss_mb, ratio
from bot.anilibria import Names, ScheduleDay, Title, TitleStatus
from bot.anilibria.v2._convert import title_url
from bot.notify.digest import DigestScheduler
from bot.ui.i18n import LOCALES_DIR, PoI18n
from storage import ChatRepo, DigestRepo, DigestTurn, StateRepo

COMPOSE_LIMIT_S = 30.0
OWN_RSS_LIMIT_MB = 40.0
TITLES = 3_000
RELEASED = 60
FINISHED = 5
NEW_TITLES = 12
SCHEDULED = 150
DUE = 1_717_221_600  # 2024-06-01 06:00 UTC, a Saturday: 09:00 in Moscow
ZONES = [(None, "09:00", 8), ("Europe/Kaliningrad", "08:00", 1), ("Asia/Yekaterinburg", "11:00", 1)]


def chat_rows(chats: int) -> Iterator[tuple[object, ...]]:
    zones = [zone for zone in ZONES for _ in range(zone[2])]
    for index in range(chats):
        timezone, at, _weight = zones[index % len(zones)]
        language = "en" if index % 10 < 3 else "ru"
        yield (index + 1, language, timezone, at, DUE, index % 2, DUE - 86400)


def subscription_rows(chats: int, per_chat: int, rng: random.Random) -> Iterator[tuple[int, int]]:
    """Skewed popularity: title t is followed about 1/t as often as title 1."""
    weights = [1.0 / rank for rank in range(1, TITLES + 1)]
    titles = list(range(1, TITLES + 1))
    for chat_id in range(1, chats + 1):
        count = rng.randint(1, 2 * per_chat - 1)
        for title_id in set(rng.choices(titles, weights, k=count)):
            yield (chat_id, title_id)


async def build(path: Path, chats: int, per_chat: int) -> int:
    """Fill the file; returns the number of subscriptions written."""
    rng = random.Random(20240601)
    db = await storage.connect(path)
    now = DUE - 600
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO titles (id, code, name_ru, name_en, status_code, week_day,"
                " first_seen, refreshed_at, finished_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    (
                        t,
                        f"title-{t}",
                        f"Тайтл номер {t}",
                        f"Title number {t}",
                        t % 7,
                        now - (3600 if t > TITLES - NEW_TITLES else 90 * 86400),
                        now,
                        now - 7200 if t % 97 == 0 and t // 97 <= FINISHED else None,
                    )
                    for t in range(1, TITLES + 1)
                ),
            )
            announced = [
                (t, episode, now - rng.randint(60, 86000))
                for t in rng.sample(range(1, 400), RELEASED)
                for episode in range(5, 5 + rng.randint(1, 3))
            ]
            await conn.executemany(
                "INSERT INTO announced (title_id, episode, announced_at) VALUES (?, ?, ?)",
                announced,
            )
            await conn.executemany(
                "INSERT INTO chats (id, type, seen_language, timezone, digest_time,"
                " digest_next_due, digest_when_empty, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?, ?, ?, ?, ?, ?)",
                ((*row, row[-1]) for row in chat_rows(chats)),
            )
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (?, ?, 0)",
                subscription_rows(chats, per_chat, rng),
            )
            await conn.execute(
                "INSERT INTO state (key, value) VALUES ('digest.baseline', ?)",
                (str(now - 30 * 86400),),
            )
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(await db.scalar("SELECT COUNT(*) FROM subscriptions"))
    finally:
        await db.close()


def week_schedule() -> list[ScheduleDay]:
    """What the catalogue's schedule answers (fetched once per run; here without a socket)."""
    days: dict[int, list[Title]] = {}
    for t in range(1, SCHEDULED + 1):
        days.setdefault(t % 7, []).append(
            Title(
                id=t,
                alias=f"title-{t}",
                names=Names(f"Тайтл номер {t}", f"Title number {t}"),
                publish_day=t % 7,
                status=TitleStatus.ONGOING,
            )
        )
    return [ScheduleDay(d, tuple(days[d])) for d in sorted(days)]


class TimedRepo(DigestRepo):
    """The real repository, timing the transactions that write the outbox."""

    write_s = 0.0

    async def commit(self, turns: Sequence[DigestTurn], priority: int) -> int:
        started = time.perf_counter()
        try:
            return await super().commit(turns, priority)
        finally:
            self.write_s += time.perf_counter() - started


async def measure(path: Path) -> tuple[float, float, int, int, int]:
    """(run seconds, of which writing, rows queued, chats done, distinct notices)."""
    db = await storage.connect(path)
    try:
        repo = TimedRepo(db)
        schedule = week_schedule()

        async def fetch_schedule() -> list[ScheduleDay]:
            return schedule

        scheduler = DigestScheduler(
            repo,
            ChatRepo(db),
            StateRepo(db),
            PoI18n(path=LOCALES_DIR, default_locale="ru"),
            fetch_schedule,
            links=functools.partial(title_url, "https://www.anilibria.tv"),
            default_language="ru",
            default_timezone="Europe/Moscow",
            clock=lambda: DUE + 20.0,
        )
        started = time.perf_counter()
        queued = await scheduler.run_once()
        elapsed = time.perf_counter() - started
        done = await db.scalar("SELECT COUNT(*) FROM chats WHERE digest_last_date = '2024-06-01'")
        notices = await db.scalar("SELECT COUNT(*) FROM notices")
        assert await scheduler.run_once() == 0  # nothing is due twice
        return elapsed, repo.write_s, queued, int(done), int(notices)
    finally:
        await db.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--per-chat", type=int, default=10, help="mean subscriptions a chat")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary file goes")
    args = parser.parse_args(argv)
    rss_imported = peak_rss_mb()  # mostly aiogram, which the bot imports anyway: not ours

    with tempfile.TemporaryDirectory(prefix="bench-digest-", dir=args.dir) as tmp:
        path = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        total = await build(path, args.chats, args.per_chat)
        build_s = time.perf_counter() - started
        rss_built = peak_rss_mb()
        size_mb = path.stat().st_size / 2**20
        print(
            f"digest: {args.chats:,} chats due in the same minute, {total:,} subscriptions over"
            f" {TITLES:,} titles; built in {build_s:.1f} s, file {size_mb:.0f} MB"
        )
        elapsed, write_s, queued, done, notices = await measure(path)

    rss = peak_rss_mb()
    print(
        f"  {done:,} chats done, {queued:,} outbox rows queued ({args.chats - queued:,} empty"
        f" days left silent), {notices:,} distinct texts; writing took {write_s:.2f} s"
    )
    print(
        f"compose + queue {args.chats:,} digests: {elapsed:.2f} s / limit {COMPOSE_LIMIT_S:.0f} s"
        f" = ratio {ratio(elapsed, COMPOSE_LIMIT_S)}"
    )
    print(f"peak RSS after imports: {rss_imported:.1f} MB, after loading: {rss_built:.1f} MB")
    own = rss - rss_imported
    print(
        f"peak RSS {rss:.1f} MB; the digest's own (peak minus after imports): {own:.1f} MB"
        f" / limit {OWN_RSS_LIMIT_MB:.0f} MB = ratio {ratio(own, OWN_RSS_LIMIT_MB)}"
    )
    ok = done == args.chats and elapsed < COMPOSE_LIMIT_S and own <= OWN_RSS_LIMIT_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
