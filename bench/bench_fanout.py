"""Fan-out: match one episode of a title with 50,000 followers among 1,000,000 subscriptions.

A temporary SQLite file (storage.connect, every migration) gets 100,000 private chats and
1,000,000 subscriptions: one "hot" title followed by 50,000 chats, the rest spread over other
titles (10 subscriptions a chat). The database is closed and opened again, as a restarted bot
would, and then the real Matcher handles a realistic playlist_update frame for a new episode of
the hot title: parse_event on the JSON text, the v2 feed's change_of (the neutral change), then
Matcher.handle, which writes one outbox row per follower in the transaction that raises the
title's high-water mark.

Figures: time to match + enqueue (target <= 0.5 s) and the process's peak RSS (target <= 150 MB),
absolute and as measured/limit. Run: python -m bench.bench_fanout [--subscriptions N ...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import storage
from bench.figures import peak_rss_mb, ratio
from bot.anilibria.v2.events import PlaylistUpdate, parse_event
from bot.anilibria.v2.feed import change_of
from bot.notify.matcher import Matcher
from tests.fakes.anilibria_ws import make_player, playlist_update_frame

MATCH_LIMIT_S = 0.5
RSS_LIMIT_MB = 150.0
HOT_TITLE = 9000
OTHER_BASE = 10_000  # other titles are OTHER_BASE .. OTHER_BASE + other_titles - 1
STRIDE = 997  # prime: chat c's j-th other title is distinct for every j < other_titles
BASE_EPISODE = 12


def subscription_rows(
    chats: int, per_chat: int, followers: int, other_titles: int, now: int
) -> Iterator[tuple[int, int, int]]:
    """(chat_id, title_id, created_at), streamed so the load itself costs no memory."""
    for index in range(chats):
        chat_id = 100_000_000 + index
        others = per_chat
        if index < followers:
            yield (chat_id, HOT_TITLE, now)
            others -= 1
        for j in range(others):
            yield (chat_id, OTHER_BASE + (index * 31 + j * STRIDE) % other_titles, now)


async def build(path: Path, args: argparse.Namespace) -> int:
    """Fill the file; returns the number of subscriptions written."""
    per_chat = args.subscriptions // args.chats
    db = await storage.connect(path)
    now = int(time.time())
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO chats (id, type, language, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?, ?)",
                ((100_000_000 + i, "ru" if i % 3 else "en", now, now) for i in range(args.chats)),
            )
            titles = [HOT_TITLE, *range(OTHER_BASE, OTHER_BASE + args.other_titles)]
            ep = BASE_EPISODE
            await conn.executemany(
                "INSERT INTO titles (id, code, name_ru, name_en, last_episode, high_water,"
                " first_seen, refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((t, f"title-{t}", f"Тайтл {t}", f"Title {t}", ep, ep, now, now) for t in titles),
            )
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (?, ?, ?)",
                subscription_rows(args.chats, per_chat, args.followers, args.other_titles, now),
            )
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(await db.scalar("SELECT COUNT(*) FROM subscriptions"))
    finally:
        await db.close()


def episode_frame(episode: int) -> str:
    """The live server's envelope, as JSON text, with a full player of 1..episode."""
    frame = playlist_update_frame(HOT_TITLE, episode, "hd", player=make_player(HOT_TITLE, episode))
    return json.dumps(frame, ensure_ascii=False)


async def measure(path: Path, episodes: int) -> list[tuple[float, float, int]]:
    """(parse seconds, match + enqueue seconds, rows queued) for each new episode in turn."""
    db = await storage.connect(path)
    try:
        matcher = Matcher(db)
        results = []
        for n in range(episodes):
            raw = episode_frame(BASE_EPISODE + 1 + n)
            started = time.perf_counter()
            event = parse_event(raw)
            parsed = time.perf_counter()
            assert isinstance(event, PlaylistUpdate), event
            change = change_of(event, "https://www.anilibria.tv")
            assert change is not None
            queued = await matcher.handle(change)
            done = time.perf_counter()
            results.append((parsed - started, done - parsed, queued))
        rows = await db.scalar("SELECT COUNT(*) FROM outbox")
        expected = sum(r[2] for r in results)
        assert rows == expected, (rows, expected)
        return results
    finally:
        await db.close()


async def sender_side(path: Path, rounds: int = 50) -> tuple[float, float]:
    """Mean seconds of the sender's feed-loop queries (claim_due(16), next_due_at) behind it."""
    db = await storage.connect(path)
    try:
        outbox = storage.Outbox(db)
        started = time.perf_counter()
        for _ in range(rounds):
            assert len(await outbox.claim_due(16)) == 16
        claimed = time.perf_counter()
        for _ in range(rounds):
            assert await outbox.next_due_at() is not None
        done = time.perf_counter()
        return (claimed - started) / rounds, (done - claimed) / rounds
    finally:
        await db.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--other-titles", type=int, default=5_000)
    parser.add_argument("--episodes", type=int, default=3, help="episodes matched in turn")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary file goes")
    parser.add_argument(
        "--import-bot",
        action="store_true",
        help="import bot.app (aiogram and all) first, so the RSS is the whole bot's",
    )
    args = parser.parse_args(argv)
    if args.import_bot:
        importlib.import_module("bot.app")
    rss_imports = peak_rss_mb()
    if args.followers > args.chats or args.subscriptions < args.chats:
        parser.error("need followers <= chats <= subscriptions")

    with tempfile.TemporaryDirectory(prefix="bench-fanout-", dir=args.dir) as tmp:
        path = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        total = await build(path, args)
        build_s = time.perf_counter() - started
        rss_built = peak_rss_mb()
        size_mb = path.stat().st_size / 2**20
        print(
            f"fan-out: {total:,} subscriptions over {args.chats:,} chats, hot title followed by"
            f" {args.followers:,}; built in {build_s:.1f} s, file {size_mb:.0f} MB"
        )
        results = await measure(path, args.episodes)
        claim_s, next_due_s = await sender_side(path)

    rss = peak_rss_mb()
    _, first_match, first_rows = results[0]
    matches = [r[1] for r in results]
    worst = max(matches)
    for n, (parse_s, match_s, rows) in enumerate(results, start=1):
        print(
            f"  episode {n}: parse {parse_s * 1000:.1f} ms, match + enqueue {match_s * 1000:.0f} ms"
            f" for {rows:,} outbox rows"
        )
    print(
        f"match + enqueue (first episode): {first_match:.3f} s"
        f" / limit {MATCH_LIMIT_S} s = ratio {ratio(first_match, MATCH_LIMIT_S)}"
    )
    print(
        f"match + enqueue (worst of {len(results)}, median {statistics.median(matches):.3f} s):"
        f" {worst:.3f} s = ratio {ratio(worst, MATCH_LIMIT_S)}"
    )
    print(
        f"sender side, {sum(r[2] for r in results):,} rows pending: claim_due(16)"
        f" {claim_s * 1000:.2f} ms, next_due_at {next_due_s * 1000:.2f} ms"
    )
    what = "bot.app (aiogram included)" if args.import_bot else "the matcher, storage"
    print(f"peak RSS after the imports ({what}): {rss_imports:.1f} MB")
    print(f"peak RSS after loading: {rss_built:.1f} MB")
    print(
        f"peak RSS: {rss:.1f} MB / limit {RSS_LIMIT_MB:.0f} MB = ratio {ratio(rss, RSS_LIMIT_MB)}"
    )
    ok = first_rows == args.followers and worst <= MATCH_LIMIT_S and rss <= RSS_LIMIT_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
