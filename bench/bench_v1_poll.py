"""AniLiberty v1 polling: bump-to-notice time, requests a minute at rest, a catch-up of 200 bumps.

The whole bot runs as a process (tests/harness.py BotProcess: `python -m bot`, ANILIBRIA_API=v1,
POLL_INTERVAL=2) against the loopback fake AniLiberty v1 server (tests/fakes/aniliberty.py) and
FakeTelegram (enforcing Telegram's flood limits). Its SQLite file is seeded before the start with
private chats, each following one release of the fake; the first start reads every followed
release once as the baseline (and sets the `v1.fresh_at` mark), which is waited out, with two
more polls, before anything is measured.

* `--notice` (bump-to-notice): one new episode of a followed release per bump, each release
  followed by its own chat (Telegram's 1-a-second-per-chat limit never applies). Each bump is
  made at a chosen phase after the poll the fake last saw (100 phases, one per 1/100 of the
  cycle, in a shuffled order); time = FakeTelegram's Call.at of the notice minus
  time.monotonic() just before the bump, both in this process. Target: p99 <= POLL_INTERVAL + 2 s.
* `--requests` (steady polling): nothing changes; every request the fake receives over a window
  of at least a minute, with the fake's ETags on and off. Target: <= 1.5 x 60 / POLL_INTERVAL.
* `--catchup`: the bot is stopped, 200 releases are bumped with a new episode (20 of them
  followed), the bot is started: time from the start to the last expected notice, the requests
  of the first poll cycle (everything before the second `/latest`), every notice exactly once.
  Target: <= 10 requests beyond one per changed followed release.

No flag: all three. Run: python -m bench.bench_v1_poll [--notice] [--requests] [--catchup]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import storage
from tests.fakes.aniliberty import FakeAniLiberty, Recorded
from tests.fakes.telegram import Call, FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import V1Upstream

MARK_KEY = "v1.fresh_at"  # bot.anilibria.v1.MARK_KEY, not imported: the bot stays a process
LATEST = "/anime/releases/latest"
NOTICE_MARK = "🎬"
FIRST_RELEASE = 30_000
FIRST_CHAT = 700_000_000
BASE_EPISODES = 3  # every release of the fake starts with episodes 1..3
EXTRA_LATENCY = 2.0  # seconds allowed beyond POLL_INTERVAL (bump-to-notice p99)
RATE_FACTOR = 1.5  # steady polling: at most this x 60 / POLL_INTERVAL requests a minute
CATCHUP_SLACK = 10  # catch-up: requests allowed beyond one per changed followed release


# -- shared ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def fill(fake: FakeAniLiberty, count: int) -> list[int]:
    """`count` releases with episodes 1..3 (ids from FIRST_RELEASE), the newest last."""
    ids = [FIRST_RELEASE + i for i in range(count)]
    for release_id in ids:
        fake.add_release(
            release_id,
            f"bench-{release_id}",
            f"Релиз №{release_id}",
            f"Release #{release_id}",
            episodes=BASE_EPISODES,
        )
    return ids


async def seed(path: Path, follows: Iterable[tuple[int, int]]) -> None:
    """Create the bot's file (every migration) with private chats, each following releases.
    No title rows: the first start reads every followed release once and stores it."""
    pairs = list(follows)
    now = int(time.time())
    db = await storage.connect(path)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT OR IGNORE INTO chats (id, type, language, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?, ?)",
                [(chat, "ru" if chat % 2 else "en", now, now) for chat, _ in pairs],
            )
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (?, ?, ?)",
                [(chat, release, now) for chat, release in pairs],
            )
    finally:
        await db.close()


def notices(telegram: FakeTelegram, chat_id: int | None = None) -> list[Call]:
    return [
        call
        for call in telegram.calls_of("sendMessage", chat_id=chat_id)
        if NOTICE_MARK in str(call.params.get("text"))
    ]


async def first_notice(telegram: FakeTelegram, chat_id: int, timeout: float) -> Call:
    await telegram.wait_for(
        lambda: bool(notices(telegram, chat_id)), timeout, f"the notice to chat {chat_id}"
    )
    return notices(telegram, chat_id)[0]


def endpoint(entry: Recorded) -> str:
    """The API path of a request with a release id as `{id}`."""
    path = entry.path.removeprefix("/api/v1")
    head, _, tail = path.rpartition("/")
    return f"{head}/{{id}}" if tail.isdigit() else path


def breakdown(entries: list[Recorded]) -> str:
    return ", ".join(f"{path} {n}" for path, n in Counter(map(endpoint, entries)).most_common())


class Clock:
    """The fake stamps a request with time.time(); this turns that into time.monotonic()."""

    def __init__(self) -> None:
        self.offset = time.time() - time.monotonic()

    def mono(self, entry: Recorded) -> float:
        return entry.time - self.offset


async def until(predicate: Callable[[], Any], timeout: float, what: str, step: float) -> Any:
    """harness.poll with a finer step (the phases of the poll cycle want a few ms)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)


class Run:
    """The fakes and one bot process over a temporary folder, as each sub-benchmark uses them."""

    def __init__(self, tmp: Path, fake: FakeAniLiberty, interval: float) -> None:
        self.fake = fake
        self.interval = interval
        self.telegram = FakeTelegram()
        self.bot = BotProcess(
            tmp,
            self.telegram,
            V1Upstream(fake),
            {"POLL_INTERVAL": f"{interval:g}", "SEND_RATE": "30", "LOG_LEVEL": "INFO"},
        )

    async def __aenter__(self) -> Run:
        await self.telegram.start()
        await self.fake.start()
        self.telegram.enforce_rate_limits(
            global_per_second=30, per_chat_per_second=1, group_per_minute=20
        )
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is not None:
                print(self.bot.log()[-4000:], file=sys.stderr)
            if self.bot.proc is not None and self.bot.proc.returncode is None:
                await self.bot.kill()
        finally:
            await self.fake.stop()
            await self.telegram.stop()

    def polls(self) -> list[Recorded]:
        return self.fake.requests_to(LATEST)

    async def next_poll(self, after: int, timeout: float | None = None) -> Recorded:
        """The first /latest request beyond the first `after` ones, once it arrives."""
        await until(
            lambda: len(self.polls()) > after,
            timeout or self.interval * 3 + 5,
            "the next poll",
            0.002,
        )
        return self.polls()[after]

    async def start_settled(self) -> float:
        """Start the bot, wait out the first start's baseline and two more polls; returns the
        seconds from the start to the mark being set."""
        started = time.monotonic()
        await self.bot.start()
        await poll(
            lambda: self.bot.db("SELECT value FROM state WHERE key = ?", (MARK_KEY,)),
            timeout=120,
            message="the first start's baseline (the v1 mark)",
        )
        baseline = time.monotonic() - started
        await self.bot.barrier(timeout=self.interval * 3 + 10)
        return baseline


# -- 1. bump-to-notice -----------------------------------------------------------------------


async def bench_notice(args: argparse.Namespace) -> bool:
    interval = args.interval
    total = args.warmup + args.bumps
    fake = FakeAniLiberty()
    # the followed ones are the oldest: each bump lifts a release from below the 50 of latest
    releases = fill(fake, max(args.releases, total))[:total]
    chats = [FIRST_CHAT + i for i in range(total)]
    # phase k/N + 1/(2N) of the cycle for each counted bump, in a shuffled (fixed) order
    phases = [(k + 0.5) / args.bumps * interval for k in range(args.bumps)]
    random.Random(9).shuffle(phases)
    phases = [interval / 2] * args.warmup + phases
    latencies: list[float] = []
    after_poll: list[float] = []  # notice - arrival of the first poll after the bump
    actual_phases: list[float] = []
    clock = Clock()
    counted_from = 0
    with tempfile.TemporaryDirectory(prefix="bench-v1-notice-") as tmp:
        async with Run(Path(tmp), fake, interval) as run:
            await seed(run.bot.db_path, zip(chats, releases, strict=True))
            baseline = await run.start_settled()
            for index, (release, chat, phase) in enumerate(
                zip(releases, chats, phases, strict=True)
            ):
                # the bump goes `phase` after the last poll the fake saw, or after the next one
                # when that moment has passed
                seen = len(run.polls())
                last = run.polls()[-1]
                if clock.mono(last) + phase < time.monotonic() + 0.002:
                    last = await run.next_poll(seen)
                target = clock.mono(last) + phase
                await asyncio.sleep(max(0.0, target - time.monotonic()))
                polls_before = len(run.polls())
                bumped_at = time.monotonic()
                fake.add_episode(release, BASE_EPISODES + 1)
                notice = await first_notice(run.telegram, chat, interval * 2 + 10)
                if index < args.warmup:
                    counted_from = len(fake.requests)
                    continue
                latencies.append(notice.at - bumped_at)
                # the phase as it came out: after the last poll that arrived before the bump
                actual_phases.append(bumped_at - clock.mono(run.polls()[polls_before - 1]))
                first_after = run.polls()[polls_before]
                after_poll.append(notice.at - clock.mono(first_after))
            while_bumping = fake.requests[counted_from:]
            await run.bot.barrier(timeout=interval * 3 + 10)
            await run.bot.settled()
            exit_code = await run.bot.stop(signal.SIGTERM)
            counts = Counter(call.params.get("chat_id") for call in notices(run.telegram))
            too_many = run.telegram.too_many_requests
            cycles = [clock.mono(b) - clock.mono(a) for a, b in itertools.pairwise(run.polls())]

    targets = set(chats)
    extra = sum(n - 1 for n in counts.values() if n > 1) + sum(
        n for chat, n in counts.items() if chat not in targets
    )
    lost = sum(1 for chat in chats if counts[chat] == 0)
    limit = interval + EXTRA_LATENCY
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"bump-to-notice: POLL_INTERVAL={interval:g} s, {len(latencies)} bumps"
        f" (+{args.warmup} warm-up), one followed release -> one chat each;"
        f" baseline of {total} releases {baseline:.1f} s after the start"
    )
    print(
        f"  phases after the last poll: {min(actual_phases):.3f}-{max(actual_phases):.3f} s"
        f" (mean {statistics.fmean(actual_phases):.3f} s); poll cycle {min(cycles):.3f}-"
        f"{max(cycles):.3f} s, mean {statistics.fmean(cycles):.4f} s"
    )
    print(
        f"  min {min(latencies):.3f} s, mean {statistics.fmean(latencies):.3f} s,"
        f" max {max(latencies):.3f} s"
    )
    print(
        "  from the poll that saw the bump to its notice: p50"
        f" {percentile(after_poll, 50) * 1000:.1f} ms, p99 {percentile(after_poll, 99) * 1000:.1f}"
        f" ms, max {max(after_poll) * 1000:.1f} ms"
    )
    print(f"  requests while bumping: {breakdown(while_bumping)}")
    print(f"  429s {too_many}, lost {lost}, extra messages {extra}")
    print(f"p50: {p50:.3f} s (POLL_INTERVAL / 2 = {interval / 2:g} s)")
    print(f"p99: {p99:.3f} s / limit {limit:g} s = ratio {p99 / limit:.3f}")
    print(f"bot exit code after SIGTERM: {exit_code}")
    ok = p99 <= limit and lost == 0 and extra == 0 and exit_code == 0
    print("PASS" if ok else "FAIL")
    return ok


# -- 2. requests a minute at rest ------------------------------------------------------------


async def steady_rate(args: argparse.Namespace, etags: bool) -> tuple[bool, float]:
    interval = args.interval
    fake = FakeAniLiberty()
    fake.etags = etags
    releases = fill(fake, args.releases)
    followed = releases[:: max(1, len(releases) // args.followed)][: args.followed]
    chats = [FIRST_CHAT + i for i in range(len(followed))]
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="bench-v1-requests-") as tmp:
        async with Run(Path(tmp), fake, interval) as run:
            await seed(run.bot.db_path, zip(chats, followed, strict=True))
            await run.start_settled()
            # the window starts and ends at moments of our own, not at polls
            before = len(fake.requests)
            opened = time.monotonic()
            await asyncio.sleep(args.window)
            closed = time.monotonic()
            window = [r for r in fake.requests[before:] if clock.mono(r) <= closed]
            exit_code = await run.bot.stop(signal.SIGTERM)
            sent = len(notices(run.telegram))
    span = closed - opened
    per_minute = len(window) * 60 / span
    limit = RATE_FACTOR * 60 / interval
    stamps = [clock.mono(r) for r in window if r.path.endswith(LATEST)]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    every = f"; a poll every {statistics.fmean(gaps):.4f} s" if gaps else ""
    statuses = Counter(r.status for r in window)
    print(
        f"  ETags {'on ' if etags else 'off'}: {len(window)} requests in {span:.1f} s"
        f" = {per_minute:.1f} a minute / limit {limit:g} = ratio {per_minute / limit:.3f}"
    )
    print(
        f"    {breakdown(window)}; statuses "
        + ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items(), key=str))
        + f"{every}; notices sent {sent}; exit code {exit_code}"
    )
    ok = per_minute <= limit and exit_code == 0 and sent == 0
    return ok, per_minute


async def bench_requests(args: argparse.Namespace) -> bool:
    print(
        f"steady polling: POLL_INTERVAL={args.interval:g} s, nothing changing,"
        f" {args.releases} releases on the fake, {args.followed} followed;"
        f" window {args.window:g} s after the start-up settled"
    )
    ok = True
    for etags in (True, False):
        passed, _ = await steady_rate(args, etags)
        ok = ok and passed
    print("PASS" if ok else "FAIL")
    return ok


# -- 3. catch-up after 200 bumps -------------------------------------------------------------


async def bench_catchup(args: argparse.Namespace) -> bool:
    interval = args.interval
    fake = FakeAniLiberty()
    releases = fill(fake, args.releases)
    if args.bumped > len(releases):
        raise SystemExit("--bumped must not exceed --releases")
    # the bumped ones: the oldest `bumped` releases, every (bumped / changed)-th of them
    # followed; plus as many followed releases that are not bumped (no notice expected)
    bumped = releases[: args.bumped]
    step = max(1, args.bumped // args.changed)
    changed = bumped[::step][: args.changed]
    quiet = releases[args.bumped :][: args.changed]
    followed = changed + quiet
    chats = [FIRST_CHAT + i for i in range(len(followed))]
    chat_of = dict(zip(followed, chats, strict=True))
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="bench-v1-catchup-") as tmp:
        async with Run(Path(tmp), fake, interval) as run:
            await seed(run.bot.db_path, [(chat_of[r], r) for r in followed])
            await run.start_settled()
            exit_first = await run.bot.stop(signal.SIGTERM)
            # the bot is down: 200 releases get a new episode, the followed ones among them
            rng = random.Random(3)
            order = list(bumped)
            rng.shuffle(order)
            for release in order:
                fake.add_episode(release, BASE_EPISODES + 1)
            polls_before = len(run.polls())
            requests_before = len(fake.requests)
            notices_before = len(notices(run.telegram))
            started = time.monotonic()
            await run.bot.start()
            expected = {chat_of[r] for r in changed}

            def arrived() -> bool:
                got = {c.params.get("chat_id") for c in notices(run.telegram)[notices_before:]}
                return expected <= got

            await poll(arrived, timeout=120, message=f"{len(expected)} notices")
            # the second poll after the start begins the steady state: the catch-up is what
            # came before it; two more polls give a late double its chance to show
            second = await run.next_poll(polls_before + 1)
            await run.next_poll(polls_before + 3)
            await run.bot.settled()
            exit_code = await run.bot.stop(signal.SIGTERM)
            new_notices = notices(run.telegram)[notices_before:]
            first_poll = clock.mono(run.polls()[polls_before])
            cycle = [
                r for r in fake.requests[requests_before:] if clock.mono(r) < clock.mono(second)
            ]
            log = run.bot.log()
            too_many = run.telegram.too_many_requests

    counts = Counter(call.params.get("chat_id") for call in new_notices)
    lost = sum(1 for chat in expected if counts[chat] == 0)
    doubled = sum(n - 1 for chat, n in counts.items() if chat in expected and n > 1)
    unexpected = sum(n for chat, n in counts.items() if chat not in expected)
    last_notice = max(call.at for call in new_notices if call.params.get("chat_id") in expected)
    allowance = len(changed) + CATCHUP_SLACK
    caught = [line for line in log.splitlines() if "caught up over" in line]
    print(
        f"catch-up: POLL_INTERVAL={interval:g} s, {args.releases} releases on the fake;"
        f" bot stopped, {len(bumped)} releases bumped with a new episode, {len(changed)} of them"
        f" followed ({len(followed)} followed, one chat each); bot started"
    )
    print(
        f"  start -> first poll {first_poll - started:.2f} s (process start-up);"
        f" first poll -> last notice {last_notice - first_poll:.2f} s"
    )
    if caught:
        print("  bot: " + caught[-1].split(": ", 1)[-1])
    print(f"  requests of the first poll cycle: {breakdown(cycle)}")
    print(f"time from start to the last notice: {last_notice - started:.2f} s")
    print(
        f"requests: {len(cycle)} / allowance {allowance} ({len(changed)} changed followed"
        f" + {CATCHUP_SLACK}) = ratio {len(cycle) / allowance:.3f}"
    )
    print(f"lost: {lost}  doubled: {doubled}  unexpected: {unexpected}  429s: {too_many}")
    print(f"bot exit codes after SIGTERM: {exit_first}, {exit_code}")
    ok = (
        len(cycle) <= allowance
        and lost == 0
        and doubled == 0
        and unexpected == 0
        and exit_first == 0
        and exit_code == 0
    )
    print("PASS" if ok else "FAIL")
    return ok


# -- main ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    chosen = [args.notice, args.requests, args.catchup]
    if not any(chosen):
        chosen = [True, True, True]
    results: list[bool] = []
    for wanted, bench in zip(chosen, (bench_notice, bench_requests, bench_catchup), strict=True):
        if wanted:
            results.append(await bench(args))
    ok = all(results)
    if len(results) > 1:
        print("ALL PASS" if ok else "SOME FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notice", action="store_true", help="bump-to-notice p50/p99")
    parser.add_argument("--requests", action="store_true", help="requests a minute at rest")
    parser.add_argument("--catchup", action="store_true", help="catch-up after 200 bumps")
    parser.add_argument("--interval", type=float, default=2.0, help="POLL_INTERVAL (default 2)")
    parser.add_argument("--bumps", type=int, default=100, help="counted bumps (default 100)")
    parser.add_argument("--warmup", type=int, default=3, help="bumps not counted (default 3)")
    parser.add_argument(
        "--window", type=float, default=60.0, help="seconds of steady polling (default 60)"
    )
    parser.add_argument(
        "--releases", type=int, default=300, help="releases on the fake (default 300)"
    )
    parser.add_argument(
        "--followed", type=int, default=20, help="followed releases at rest (default 20)"
    )
    parser.add_argument("--bumped", type=int, default=200, help="catch-up: bumped (default 200)")
    parser.add_argument(
        "--changed", type=int, default=20, help="catch-up: followed among the bumped (default 20)"
    )
    args = parser.parse_args(argv)
    if args.window < 60:
        parser.error("--window must be at least 60 seconds")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
