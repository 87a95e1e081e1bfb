"""Delivery at scale (issue 12), the bot as a process against the fake Telegram's flood control.

* A 10-chat notice queued a second into a 1,000-chat fan-out is delivered within 3 seconds,
  not after the fan-out (28 minutes at 30/s for 50,000 chats).
* Command replies during that fan-out come within 2 seconds.
* Paid broadcast (opt-in): used only while the backlog at the free rate would take longer than
  PAID_BROADCAST_AFTER, stopped at PAID_BROADCAST_MAX_PER_DAY, and switched off by Telegram's
  refusal for lack of Stars, with an admin told once; nothing lost, nothing doubled.

The 3 s and 2 s bounds are the issue's own, deliberately generous; the figures are printed
(bench/README.md has the benchmarks).
"""

from __future__ import annotations

import time

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import Call, FakeTelegram
from tests.harness import BotProcess, poll
from tests.notify_helpers import (
    add_show,
    notice_counts,
    push_episode,
    seed_followers,
    subscribe,
)

BIG, SMALL = 9601, 9602
ADMIN = 4646
STORED_COUNT = "SELECT value FROM state WHERE key = 'paid_broadcast_day'"


async def prepare(
    bot: BotProcess,
    telegram: FakeTelegram,
    anilibria: FakeAniLibria,
    follows: dict[int, range],
) -> None:
    """Titles stored (through /subscribe), then their followers written into the stopped file."""
    for title in follows:
        add_show(anilibria, title, episodes=3)
    await bot.start()
    for title, chats in follows.items():
        await subscribe(telegram, chats[0], title)
    assert await bot.stop() == 0
    for title, chats in follows.items():
        seed_followers(bot.db_path, title, chats)
    await bot.start()


def notice_calls(telegram: FakeTelegram, chats: range) -> list[Call]:
    """Notice sends (tried or not) to these chats, in order."""
    return [
        call
        for call in telegram.calls_of("sendMessage")
        if call.params.get("chat_id") in chats and str(call.params.get("text")).startswith("🎬")
    ]


def exactly_once(telegram: FakeTelegram, title: int, episode: int, chats: range) -> None:
    counts = notice_counts(telegram, title, episode)
    assert set(counts) == set(chats), f"{len(set(chats) - set(counts))} chats without the notice"
    assert set(counts.values()) == {1}, "a notice went out twice"


async def test_a_small_notice_is_not_stuck_behind_a_big_fan_out(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    big, small = range(700_001, 701_001), range(710_001, 710_011)
    telegram.enforce_rate_limits()
    await prepare(bot, telegram, anilibria, {BIG: big, SMALL: small})

    await push_episode(anilibria, BIG, 4)
    await poll(
        lambda: len(notice_counts(telegram, BIG, 4)) >= 30,
        timeout=15,
        message="the big fan-out under way (about a second of it)",
    )
    pushed_at = await push_episode(anilibria, SMALL, 4)
    await poll(
        lambda: len(notice_counts(telegram, SMALL, 4)) == len(small),
        timeout=15,
        message="the small notice in all of its chats",
    )
    last = max(call.at for call in notice_calls(telegram, small))
    big_so_far = len(notice_counts(telegram, BIG, 4))
    print(
        f"10-chat notice behind a 1,000-chat fan-out: delivered {last - pushed_at:.2f} s after"
        f" its frames ({big_so_far} of the big one sent by then)"
    )
    assert last - pushed_at <= 3.0, "the small notice waited behind the big fan-out"
    assert big_so_far < len(big), "the big fan-out was over: nothing was proven"
    exactly_once(telegram, SMALL, 4, small)
    assert telegram.too_many_requests == 0
    assert await bot.stop() == 0


async def test_command_replies_during_a_fan_out(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    big, users = range(720_001, 721_001), range(730_001, 730_011)
    telegram.enforce_rate_limits()
    telegram.set_star_balance(12.5)
    bot.extra_env["ADMIN_IDS"] = str(ADMIN)
    await prepare(bot, telegram, anilibria, {BIG: big})

    await push_episode(anilibria, BIG, 4)
    await poll(
        lambda: len(notice_counts(telegram, BIG, 4)) >= 30,
        timeout=15,
        message="the big fan-out under way",
    )
    waits = []
    for user in users:
        asked_at = time.monotonic()
        telegram.message(user, "/help", language_code="en")
        await telegram.wait_sent(user, timeout=10)
        [reply] = telegram.calls_of("sendMessage", chat_id=user)
        waits.append(reply.at - asked_at)
    sent = len(notice_counts(telegram, BIG, 4))
    print(
        f"/help during a 1,000-chat fan-out at 30/s: replies in {min(waits):.2f}-"
        f"{max(waits):.2f} s ({sent} notices sent by then)"
    )
    assert max(waits) <= 2.0, waits
    assert sent < len(big), "the fan-out was over: nothing was proven"

    # /stats, a reply too: the depth, the rate, the time to drain, the biggest fan-out.
    telegram.message(ADMIN, "/stats", language_code="en")
    [stats] = await telegram.wait_sent(ADMIN, timeout=5)
    text = stats.text or ""
    delivery = next(line for line in text.splitlines() if line.startswith("Delivery: "))
    rate = float(delivery.removeprefix("Delivery: ").split("/s")[0])
    depth, eta = delivery.split(" now, ")[1].split(" waiting, drained in about ")
    assert 15 <= rate <= 31 and int(depth) > 500, delivery
    assert eta.endswith(" s") and abs(int(eta[:-2]) - int(depth) / rate) <= 2, delivery
    assert "Paid broadcast: off" in text
    assert "Stars balance: 12.5" in text
    assert "<b>Largest fan-outs waiting</b>:" in text and f"Show {BIG} (episode): " in text
    assert telegram.too_many_requests == 0
    assert await bot.stop() == 0


def paid_env(bot: BotProcess, **extra: str) -> None:
    # A free rate of 90/s (the fake allows 100: room for a busy test machine's jitter) keeps
    # the test short; the threshold is 1 s of it (87 rows).
    bot.extra_env.update(
        {
            "SEND_RATE": "90",
            "PAID_BROADCAST": "true",
            "PAID_BROADCAST_AFTER": "1",
            "PAID_SEND_RATE": "1000",
            "LOG_LEVEL": "INFO",
            **extra,
        }
    )


def paid_flags(telegram: FakeTelegram, chats: range) -> list[bool]:
    """For each notice send to these chats that went out, whether it was paid."""
    return [
        bool(m.params.get("allow_paid_broadcast"))
        for m in telegram.sent()
        if m.chat_id in chats and (m.text or "").startswith("🎬")
    ]


async def test_paid_broadcast_only_while_the_backlog_is_above_the_threshold(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    small, big = range(740_001, 740_061), range(750_001, 750_801)
    telegram.enforce_rate_limits(global_per_second=100, paid_per_second=1000)
    paid_env(bot)
    await prepare(bot, telegram, anilibria, {SMALL: small, BIG: big})

    await push_episode(anilibria, SMALL, 4)
    await poll(lambda: len(notice_counts(telegram, SMALL, 4)) == len(small), timeout=15)
    assert not any(paid_flags(telegram, small)), "paid for a backlog under the threshold"

    started = time.monotonic()
    await push_episode(anilibria, BIG, 4)
    await poll(lambda: len(notice_counts(telegram, BIG, 4)) == len(big), timeout=30)
    took = time.monotonic() - started
    flags = paid_flags(telegram, big)
    paid = sum(flags)
    print(
        f"800-chat fan-out, threshold 87 rows: {paid} paid, {len(flags) - paid} free,"
        f" {took:.2f} s from the frames"
    )
    assert 500 <= paid <= len(big) - 50, "paid broadcast used outside the backlog's excess"
    assert not any(flags[-50:]), "the tail under the threshold went out paid"
    assert telegram.paid_messages == paid
    exactly_once(telegram, BIG, 4, big)
    exactly_once(telegram, SMALL, 4, small)
    assert telegram.too_many_requests == 0
    assert await bot.stop() == 0


async def test_paid_broadcast_stops_at_the_daily_cap(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    big = range(760_001, 760_601)
    telegram.enforce_rate_limits(global_per_second=100, paid_per_second=1000)
    paid_env(bot, PAID_BROADCAST_MAX_PER_DAY="150", ADMIN_IDS=str(ADMIN))
    await prepare(bot, telegram, anilibria, {BIG: big})

    await push_episode(anilibria, BIG, 4)
    await poll(lambda: len(notice_counts(telegram, BIG, 4)) == len(big), timeout=30)
    flags = paid_flags(telegram, big)
    print(f"600-chat fan-out, cap 150: {sum(flags)} paid, {len(flags) - sum(flags)} free")
    assert sum(flags) == telegram.paid_messages == 150
    exactly_once(telegram, BIG, 4, big)
    assert telegram.too_many_requests == 0
    await poll(  # written with the rows' group commit
        lambda: [(value,) for (value,) in bot.db(STORED_COUNT) if value.endswith(" 150")],
        message="today's paid messages stored",
    )

    telegram.message(ADMIN, "/stats", language_code="en")
    [stats] = await telegram.wait_sent(ADMIN)
    assert "150 of 150 paid messages today" in (stats.text or ""), stats.text
    assert await bot.stop() == 0


async def test_a_stars_refusal_switches_to_the_free_rate(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    big = range(770_001, 770_501)
    telegram.enforce_rate_limits(global_per_second=100, paid_per_second=1000)
    telegram.set_star_balance(10)  # 100 paid messages
    paid_env(bot, ADMIN_IDS=str(ADMIN))
    await prepare(bot, telegram, anilibria, {BIG: big})

    await push_episode(anilibria, BIG, 4)
    await poll(lambda: len(notice_counts(telegram, BIG, 4)) == len(big), timeout=30)
    paid_calls = sum(
        1 for call in notice_calls(telegram, big) if call.params.get("allow_paid_broadcast")
    )
    refused = paid_calls - telegram.paid_messages
    flags = paid_flags(telegram, big)
    print(
        f"500-chat fan-out, Stars for 100: {sum(flags)} paid, {len(flags) - sum(flags)} free,"
        f" {refused} paid sends refused and sent again for free"
    )
    assert sum(flags) == telegram.paid_messages == 100
    assert refused > 0, "Telegram never refused: nothing was proven"
    exactly_once(telegram, BIG, 4, big)
    assert telegram.too_many_requests == 0
    assert bot.log().count("for lack of Stars") == 1
    [notice] = await telegram.wait_sent(ADMIN)  # in DEFAULT_LANGUAGE: the admin never spoke
    assert "Платная рассылка выключена" in (notice.text or "")
    await poll(  # paid-rate workers do not wait for their rows' commit: it comes just after
        lambda: bot.db("SELECT state, COUNT(*) FROM outbox GROUP BY state") == [("sent", len(big))],
        message="every row marked sent, none left to send again",
    )
    assert await bot.stop() == 0
