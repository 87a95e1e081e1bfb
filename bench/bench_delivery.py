"""Delivery: one episode to 3,000 chats through the fake Telegram server's flood control.

The whole bot runs as a process (tests/harness.py BotProcess: `python -m bot`, SEND_RATE=30, the
real Sender, SendLimiter, aiogram Bot and AiohttpSession) against FakeAniLibria and a
FakeTelegram that enforces Telegram's limits (30 messages a second overall, 1 a second per chat,
20 a minute per group; it answers 429 beyond them). Its SQLite file is seeded before the start
with N private chats that follow one title; then one new episode of that title arrives over the
socket (the live server's three playlist_update frames, sd/hd/fhd), the bot's Matcher queues N
outbox rows and the Sender drains them.

Figures: achieved rate (delivered messages between the first and the last notice) as a ratio of
the limit (target >= 0.95), 429s received (0), chats without the notice (lost, 0) and extra
copies (duplicated, 0). Run: python -m bench.bench_delivery [--chats N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import storage
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import make_player, playlist_update_frame
from tests.fakes.telegram import Call, FakeTelegram
from tests.harness import BotProcess, poll

RATE_TARGET = 0.95
FIRST_CHAT = 500_000_000
BASE_EPISODE = 12
NOTICE_MARK = "🎬"


async def seed(path: Path, follows: Iterable[tuple[int, int]], high_water: int) -> None:
    """Create the bot's file (every migration) with private chats following stored titles."""
    pairs = list(follows)
    now, hw = int(time.time()), high_water
    db = await storage.connect(path)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT OR IGNORE INTO chats (id, type, language, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?, ?)",
                [(chat, "ru" if chat % 2 else "en", now, now) for chat, _ in pairs],
            )
            await conn.executemany(
                "INSERT OR IGNORE INTO titles (id, code, name_ru, name_en, last_episode,"
                " high_water, first_seen, refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t, f"title-{t}", f"Тайтл №{t}", f"Title #{t}", hw, hw, now, now)
                    for t in sorted({title for _, title in pairs})
                ],
            )
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (?, ?, ?)",
                [(chat, title, now) for chat, title in pairs],
            )
    finally:
        await db.close()


def episode_frames(title_id: int, episode: int) -> list[dict[str, object]]:
    """The live server's three playlist_update envelopes (one per quality) of one new episode."""
    player = make_player(title_id, episode, host="cache.libria.fun")
    return [
        playlist_update_frame(title_id, episode, quality, player=player)
        for quality in ("sd", "hd", "fhd")
    ]


def notice_calls(telegram: FakeTelegram, chats: set[int]) -> list[Call]:
    return [
        call
        for call in telegram.calls_of("sendMessage")
        if call.params.get("chat_id") in chats and NOTICE_MARK in str(call.params.get("text"))
    ]


def delivered(telegram: FakeTelegram, chats: set[int]) -> Counter[int]:
    return Counter(
        m.chat_id for m in telegram.sent() if m.chat_id in chats and NOTICE_MARK in (m.text or "")
    )


def busiest_second(stamps: list[float]) -> int:
    """The most sends inside any 1-second sliding window (the fake admits rate + 1)."""
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process in MB (Linux /proc), None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def start_load(count: int) -> list[subprocess.Popen[bytes]]:
    """`--stress N`: N CPU-bound busy loops competing with the bot and the fakes for the cores."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


async def run(args: argparse.Namespace) -> int:
    title = 7000
    send_rate = args.send_rate or args.rate
    load: list[subprocess.Popen[bytes]] = []
    chats = [FIRST_CHAT + i for i in range(args.chats)]
    targets = set(chats)
    telegram, anilibria = FakeTelegram(), FakeAniLibria()
    await telegram.start()
    await anilibria.start()
    telegram.enforce_rate_limits(
        global_per_second=args.rate, per_chat_per_second=1, group_per_minute=20
    )
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        bot = BotProcess(
            Path(tmp), telegram, anilibria, {"SEND_RATE": str(send_rate), "LOG_LEVEL": "INFO"}
        )
        try:
            await seed(bot.db_path, [(chat, title) for chat in chats], BASE_EPISODE)
            await bot.start()
            assert bot.proc is not None
            cpu_at_start = cpu_seconds(bot.proc.pid)
            load = start_load(args.stress)
            pushed_at = time.monotonic()
            for frame in episode_frames(title, BASE_EPISODE + 1):
                await anilibria.ws.push(frame)
            budget = args.chats / args.rate * 1.5 + 30
            await poll(
                lambda: len(delivered(telegram, targets)) >= args.chats,
                timeout=budget,
                message=f"{args.chats} notices",
            )
            await bot.barrier()
            await bot.settled(timeout=30)
            cpu_at_end = cpu_seconds(bot.proc.pid)
            bot_rss = peak_rss_mb(bot.proc.pid)
            exit_code = await bot.stop(signal.SIGTERM)
        except BaseException:
            print(bot.log()[-4000:], file=sys.stderr)
            raise
        finally:
            for burner in load:
                burner.kill()
                burner.wait()
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()
            await anilibria.stop()
            await telegram.stop()

    counts = delivered(telegram, targets)
    calls = notice_calls(telegram, targets)
    stamps = sorted(call.at for call in calls)
    lost = sum(1 for chat in chats if counts[chat] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    total = sum(counts.values())
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    rate = (len(stamps) - 1) / span if span > 0 else 0.0
    overall = total / (stamps[-1] - pushed_at) if stamps else 0.0
    ratio = rate / args.rate
    print(
        f"delivery: {args.chats:,} chats, SEND_RATE={send_rate:g}, fake enforcing {args.rate:g}/s"
        + (f", {args.stress} CPU burners running" if args.stress else "")
    )
    print(f"  first notice {(stamps[0] - pushed_at) * 1000:.0f} ms after the frames")
    print(
        f"  {len(stamps):,} sendMessage calls over {span:.2f} s; busiest 1-s window:"
        f" {busiest_second(stamps)} (fake admits {int(args.rate) + 1})"
    )
    print(
        f"achieved rate: {rate:.2f} msg/s / limit {args.rate:g} = ratio {ratio:.3f}"
        f" (push to last notice: {overall:.2f} msg/s = {overall / args.rate:.3f})"
    )
    if cpu_at_start is not None and cpu_at_end is not None:
        cpu = cpu_at_end - cpu_at_start
        print(
            f"  bot process CPU from the push to the drained outbox: {cpu:.1f} s,"
            f" {cpu / total * 1000:.1f} ms a message ({cpu / span * 100:.0f} % of a core)"
        )
    if bot_rss is not None:
        print(f"  bot process peak RSS: {bot_rss:.1f} MB")
    print(f"429s received: {telegram.too_many_requests}")
    print(f"lost: {lost}  duplicated: {duplicated}  delivered: {total:,}")
    print(f"bot exit code after SIGTERM: {exit_code}")
    ok = (
        ratio >= RATE_TARGET
        and telegram.too_many_requests == 0
        and lost == 0
        and duplicated == 0
        and exit_code == 0
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=3000, help="subscribed chats (default 3000)")
    parser.add_argument("--rate", type=float, default=30.0, help="the fake's limit (default 30)")
    parser.add_argument("--send-rate", type=float, default=None, help="SEND_RATE (default: --rate)")
    parser.add_argument(
        "--stress", type=int, default=0, help="CPU-bound processes to run during the delivery"
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
