"""Latency: socket frame to the first sendMessage, p50 and p99 over 200 events, on loopback.

The whole bot runs as a process (tests/harness.py BotProcess) against FakeAniLibria and
FakeTelegram (enforcing Telegram's flood limits). Its SQLite file is seeded with 200 titles,
each followed by one distinct private chat, so the 1-a-second-per-chat limit never applies.
One playlist_update (the live server's envelope, a new episode) is pushed per title, in turn;
the next one goes when the previous notice has arrived and at least `--spacing` seconds after
it, so the global 30/s pacing (one slot every 33 ms) never delays a notice either: what is
measured is the bot's own path (socket, parse, match + outbox transaction, sender wake-up,
claim, render, limiter, HTTP).

latency = FakeTelegram's Call.at of the notice (time.monotonic, taken when the request reaches
the fake) minus time.monotonic just before the push, both in this process. A few warm-up events
on other titles go first and are not counted (the first send opens the HTTP connection).
Targets: p50 <= 50 ms, p99 <= 250 ms. Run: python -m bench.bench_latency [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_delivery import seed
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import make_player, playlist_update_frame
from tests.fakes.telegram import Call, FakeTelegram
from tests.harness import BotProcess

P50_LIMIT_MS = 50.0
P99_LIMIT_MS = 250.0
FIRST_TITLE = 20_000
FIRST_CHAT = 600_000_000
BASE_EPISODE = 3
NOTICE_MARK = "🎬"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def first_notice(telegram: FakeTelegram, chat_id: int) -> Call | None:
    for call in telegram.calls_of("sendMessage", chat_id=chat_id):
        if NOTICE_MARK in str(call.params.get("text")):
            return call
    return None


async def one_event(
    telegram: FakeTelegram, anilibria: FakeAniLibria, title: int, chat: int, timeout: float
) -> float:
    """Push one new episode of `title`; returns seconds until its notice reached the fake."""
    frame = playlist_update_frame(
        title, BASE_EPISODE + 1, "hd", player=make_player(title, BASE_EPISODE + 1, host="cache")
    )
    pushed_at = time.monotonic()
    if await anilibria.ws.push(frame) != 1:
        raise RuntimeError("the bot's socket is not connected")
    await telegram.wait_for(
        lambda: first_notice(telegram, chat) is not None, timeout, f"notice to chat {chat}"
    )
    call = first_notice(telegram, chat)
    assert call is not None
    return call.at - pushed_at


async def run(args: argparse.Namespace) -> int:
    total = args.warmup + args.events
    pairs = [(FIRST_CHAT + i, FIRST_TITLE + i) for i in range(total)]
    telegram, anilibria = FakeTelegram(), FakeAniLibria()
    await telegram.start()
    await anilibria.start()
    telegram.enforce_rate_limits(global_per_second=30, per_chat_per_second=1, group_per_minute=20)
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        bot = BotProcess(Path(tmp), telegram, anilibria, {"SEND_RATE": "30", "LOG_LEVEL": "INFO"})
        try:
            await seed(bot.db_path, pairs, BASE_EPISODE)
            await bot.start()
            await bot.barrier()  # the start-up catch-up and the greeting are behind us
            for index, (chat, title) in enumerate(pairs):
                seconds = await one_event(telegram, anilibria, title, chat, args.timeout)
                if index >= args.warmup:
                    latencies.append(seconds)
                notice = first_notice(telegram, chat)
                assert notice is not None
                pause = notice.at + args.spacing - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
            await bot.settled()
            exit_code = await bot.stop(signal.SIGTERM)
        except BaseException:
            print(bot.log()[-4000:], file=sys.stderr)
            raise
        finally:
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()
            await anilibria.stop()
            await telegram.stop()

    ms = [value * 1000 for value in latencies]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    extra = sum(
        max(0, len([c for c in telegram.calls_of("sendMessage", chat_id=chat)]) - 1)
        for chat, _ in pairs
    )
    print(
        f"latency: {len(ms)} events (+{args.warmup} warm-up), one title -> one chat each,"
        f" spacing >= {args.spacing * 1000:.0f} ms after each notice"
    )
    print(
        f"  min {min(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms, max {max(ms):.1f} ms;"
        f" 429s {telegram.too_many_requests}, extra messages {extra}"
    )
    print(f"p50: {p50:.1f} ms / limit {P50_LIMIT_MS:.0f} ms = ratio {p50 / P50_LIMIT_MS:.3f}")
    print(f"p99: {p99:.1f} ms / limit {P99_LIMIT_MS:.0f} ms = ratio {p99 / P99_LIMIT_MS:.3f}")
    print(f"bot exit code after SIGTERM: {exit_code}")
    ok = p50 <= P50_LIMIT_MS and p99 <= P99_LIMIT_MS and extra == 0 and exit_code == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--spacing", type=float, default=0.05, help="seconds after a notice before the next push"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per event, seconds")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
