"""Delivery: one episode to thousands of chats through the fake Telegram server's flood control.

The whole bot runs as a process (tests/harness.py BotProcess: `python -m bot`, the real Sender,
SendLimiter, aiogram Bot and AiohttpSession) against FakeAniLibria and a FakeTelegram that
enforces Telegram's limits (30 messages a second overall, 1 a second per chat, 20 a minute per
group, and 1000 a second for sends with allow_paid_broadcast; it answers 429 beyond them). Its
SQLite file is seeded before the start with N private chats that follow one title; then one new
episode of that title arrives over the socket (the live server's three playlist_update frames,
sd/hd/fhd), the bot's Matcher queues N outbox rows and the Sender drains them.

Free rate (default, 3,000 chats): achieved rate as a ratio of the 30/s limit (target >= 0.97),
and -- unless --behind 0 -- the time until a 10-chat notice of another title, pushed a second
into the fan-out, has reached all of its chats (target <= 3 s; it is not stuck behind the big
one).

Paid (--paid, 20,000 chats): PAID_BROADCAST on, the achieved rate as a ratio of the 1000/s paid
limit (target >= 0.5 from one process on a 2-core machine), and the CPU seconds the bot process
spent per 1,000 messages.

Both: 429s received (0), chats without the notice (lost, 0) and extra copies (duplicated, 0).
Run: python -m bench.bench_delivery [--chats N] [--behind N] [--paid] [--stress N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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

RATE_TARGET = 0.97
PAID_RATE_TARGET = 0.5
BEHIND_LIMIT = 3.0
FIRST_CHAT = 500_000_000
SMALL_FIRST_CHAT = 600_000_000
BASE_EPISODE = 12
NOTICE_MARK = "🎬"
TITLE, SMALL_TITLE = 7000, 7001


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


async def push(anilibria: FakeAniLibria, title_id: int) -> float:
    pushed_at = time.monotonic()
    for frame in episode_frames(title_id, BASE_EPISODE + 1):
        await anilibria.ws.push(frame)
    return pushed_at


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


class Progress:
    """Counts the fake's sent messages incrementally: polling must not cost the fake its CPU."""

    def __init__(self, telegram: FakeTelegram, chats: set[int]) -> None:
        self.telegram = telegram
        self.chats = chats
        self.seen = 0
        self.count = 0

    def __call__(self) -> int:
        sent = self.telegram._sent
        for message in sent[self.seen :]:
            if message.chat_id in self.chats:
                self.count += 1
        self.seen = len(sent)
        return self.count


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


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    paid = args.paid
    chats_n = args.chats or (20_000 if paid else 3_000)
    limit = args.paid_rate if paid else args.rate
    send_rate = args.send_rate or args.rate
    behind = 0 if paid else args.behind
    load: list[subprocess.Popen[bytes]] = []
    chats = [FIRST_CHAT + i for i in range(chats_n)]
    small = [SMALL_FIRST_CHAT + i for i in range(behind)]
    targets, small_targets = set(chats), set(small)
    telegram, anilibria = FakeTelegram(), FakeAniLibria()
    await telegram.start()
    await anilibria.start()
    telegram.enforce_rate_limits(
        global_per_second=args.rate,
        per_chat_per_second=1,
        group_per_minute=20,
        paid_per_second=args.paid_rate,
    )
    env = {"SEND_RATE": str(send_rate), "LOG_LEVEL": "INFO"}
    if paid:
        env.update(
            {
                "PAID_BROADCAST": "true",
                "PAID_SEND_RATE": str(args.paid_rate),
                "PAID_BROADCAST_AFTER": "0",
                "PAID_BROADCAST_MAX_PER_DAY": str(chats_n * 2),
            }
        )
    small_latency: float | None = None
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        bot = BotProcess(Path(tmp), telegram, anilibria, env)
        try:
            follows = [(chat, TITLE) for chat in chats] + [(chat, SMALL_TITLE) for chat in small]
            await seed(bot.db_path, follows, BASE_EPISODE)
            await bot.start()
            assert bot.proc is not None
            load = start_load(args.stress)
            cpu_at_start = cpu_seconds(bot.proc.pid)
            own_at_start = own_cpu_seconds()
            progress = Progress(telegram, targets | small_targets)
            pushed_at = await push(anilibria, TITLE)
            if behind:
                await poll(lambda: progress() >= 30, timeout=30, message="the fan-out under way")
                small_pushed_at = await push(anilibria, SMALL_TITLE)
                small_progress = Progress(telegram, small_targets)
                await poll(lambda: small_progress() >= behind, timeout=120, message="small one")
                small_latency = (
                    max(call.at for call in notice_calls(telegram, small_targets)) - small_pushed_at
                )
            budget = chats_n / (limit * (0.3 if paid else 1.0)) * 1.5 + 30
            await poll(
                lambda: progress() >= chats_n + behind,
                timeout=budget,
                message=f"{chats_n + behind} notices",
            )
            cpu_at_end = cpu_seconds(bot.proc.pid)
            own_at_end = own_cpu_seconds()
            await bot.barrier()
            await bot.settled(timeout=30)
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

    everyone = targets | small_targets
    counts = delivered(telegram, everyone)
    calls = notice_calls(telegram, everyone)
    stamps = sorted(call.at for call in calls)
    lost = sum(1 for chat in everyone if counts[chat] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    total = sum(counts.values())
    paid_sent = telegram.paid_messages
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    rate = (len(stamps) - 1) / span if span > 0 else 0.0
    overall = total / (stamps[-1] - pushed_at) if stamps else 0.0
    ratio = rate / limit
    print(
        f"delivery: {chats_n:,} chats"
        + (f" + a {behind}-chat notice pushed a second in" if behind else "")
        + (
            f", PAID_BROADCAST on (PAID_SEND_RATE={args.paid_rate:g})"
            if paid
            else f", SEND_RATE={send_rate:g}"
        )
        + f", fake enforcing {args.rate:g}/s free, {args.paid_rate:g}/s paid"
        + (f", {args.stress} CPU burners running" if args.stress else "")
    )
    print(f"  machine load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print(f"  first notice {(stamps[0] - pushed_at) * 1000:.0f} ms after the frames")
    print(
        f"  {len(stamps):,} sendMessage calls over {span:.2f} s ({paid_sent:,} paid);"
        f" busiest 1-s window: {busiest_second(stamps)}"
    )
    print(
        f"achieved rate: {rate:.2f} msg/s / limit {limit:g} = ratio {ratio:.3f}"
        f" (push to last notice: {overall:.2f} msg/s = {overall / limit:.3f})"
    )
    if small_latency is not None:
        print(
            f"{behind}-chat notice behind the {chats_n:,}-chat fan-out: all delivered"
            f" {small_latency:.2f} s after its frames / limit {BEHIND_LIMIT:g} s"
            f" = ratio {small_latency / BEHIND_LIMIT:.3f}"
        )
    if cpu_at_start is not None and cpu_at_end is not None:
        cpu = cpu_at_end - cpu_at_start
        own = own_at_end - own_at_start
        print(
            f"  bot process CPU from the push to the last notice: {cpu:.1f} s ="
            f" {cpu / total * 1000:.2f} s per 1,000 messages ({cpu / span * 100:.0f} % of a"
            f" core); the benchmark process (fake servers): {own:.1f} s"
            f" ({own / span * 100:.0f} % of a core)"
        )
    if bot_rss is not None:
        print(f"  bot process peak RSS: {bot_rss:.1f} MB")
    print(f"429s received: {telegram.too_many_requests}")
    print(f"lost: {lost}  duplicated: {duplicated}  delivered: {total:,}")
    print(f"bot exit code after SIGTERM: {exit_code}")
    ok = (
        ratio >= (PAID_RATE_TARGET if paid else RATE_TARGET)
        and (small_latency is None or small_latency <= BEHIND_LIMIT)
        and telegram.too_many_requests == 0
        and lost == 0
        and duplicated == 0
        and exit_code == 0
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--chats", type=int, default=0, help="subscribed chats (default 3000, 20000 with --paid)"
    )
    parser.add_argument("--rate", type=float, default=30.0, help="the fake's free limit (30)")
    parser.add_argument("--send-rate", type=float, default=None, help="SEND_RATE (default: --rate)")
    parser.add_argument("--paid", action="store_true", help="PAID_BROADCAST on (see the docstring)")
    parser.add_argument(
        "--paid-rate", type=float, default=1000.0, help="the fake's paid limit and PAID_SEND_RATE"
    )
    parser.add_argument(
        "--behind", type=int, default=10, help="chats of the notice pushed into the fan-out"
    )
    parser.add_argument(
        "--stress", type=int, default=0, help="CPU-bound processes to run during the delivery"
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
