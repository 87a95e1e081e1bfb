"""Delivery whatever Telegram answers: 429, 5xx, 403, migrate, other 400s, kicks, and kill -9.

Every notice goes out exactly once per chat; a chat that refuses messages is marked inactive
(and active again when it comes back); a group that became a supergroup keeps its
subscriptions; rows Telegram refuses for good are parked and shown in /stats. A `kill -9` in the
middle of a 500-chat fan-out duplicates at most the sends that were in flight.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.notify_helpers import (
    add_show,
    episode_notices,
    notice_counts,
    push_episode,
    seed_followers,
    settled_after_barrier,
    subscribe,
    wait_notice,
)

ADMIN = 4242
FAN = 5001
TITLE = 9301
OTHER_TITLE = 9302


def sends_to(telegram: FakeTelegram, chat_id: int) -> int:
    return len(telegram.calls_of("sendMessage", chat_id=chat_id))


def active(bot: BotProcess, chat_id: int) -> int | None:
    rows = bot.db("SELECT active FROM chats WHERE id = ?", (chat_id,))
    return rows[0][0] if rows else None


async def test_retry_after_server_errors_and_parking(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    bot.extra_env["ADMIN_IDS"] = str(ADMIN)
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, FAN, TITLE)

    # A burst of 429s: the bot waits retry_after each time, then delivers once.
    telegram.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=3, chat_id=FAN
    )
    calls = sends_to(telegram, FAN)
    await push_episode(anilibria, TITLE, 4)
    await wait_notice(telegram, FAN, TITLE, 4, timeout=15)
    attempts = telegram.calls_of("sendMessage", chat_id=FAN)[calls:]
    assert len(attempts) == 4
    waited = attempts[-1].at - attempts[0].at
    print(f"429 x3 with retry_after=1: delivered {waited:.2f} s after the first attempt")
    assert waited >= 2.9, "the bot must honour retry_after"

    # 5xx: retried with backoff, then delivered.
    telegram.fail_next("sendMessage", 502, "Bad Gateway", times=2, chat_id=FAN)
    calls = sends_to(telegram, FAN)
    await push_episode(anilibria, TITLE, 5)
    await wait_notice(telegram, FAN, TITLE, 5, timeout=20)
    assert sends_to(telegram, FAN) - calls == 3

    # Any other 400: parked with Telegram's words, visible to the admin.
    telegram.fail_next("sendMessage", 400, "Bad Request: message is too long", chat_id=FAN)
    calls = sends_to(telegram, FAN)
    await push_episode(anilibria, TITLE, 6)
    await settled_after_barrier(bot, timeout=15)
    assert sends_to(telegram, FAN) - calls == 1, "a 400 is not retried"
    assert episode_notices(telegram, FAN, TITLE, 6) == []
    [(state, error)] = bot.db(
        "SELECT state, last_error FROM outbox WHERE dedupe_key = ?", (f"ep:{TITLE}:6",)
    )
    assert state == "parked" and "message is too long" in error

    telegram.message(ADMIN, "/stats", language_code="en")
    [stats] = await telegram.wait_sent(ADMIN)
    text = stats.text or ""
    assert "1 parked" in text and "message is too long" in text and f"{FAN}" in text, text
    assert "Last hour: 2 sent, 1 failed" in text, text

    for episode in (4, 5):
        assert notice_counts(telegram, TITLE, episode) == {FAN: 1}
    assert telegram.too_many_requests == 0  # the 429s above were injected, not earned
    assert await bot.stop() == 0


async def test_blocked_kicked_and_migrated_chats(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    blocker, kicker = 5101, 5102
    old_group, new_group, left_group, kicked_group = -5201, -1005201, -5202, -5203
    group_admin = 5299
    add_show(anilibria, TITLE, episodes=3)
    add_show(anilibria, OTHER_TITLE, episodes=1)
    await bot.start()
    await subscribe(telegram, blocker, TITLE)
    await subscribe(telegram, blocker, OTHER_TITLE)
    await subscribe(telegram, kicker, TITLE)
    for group, kind in ((old_group, "group"), (left_group, "supergroup"), (kicked_group, "group")):
        telegram.set_admins(group, [group_admin])
        await subscribe(telegram, group, TITLE, chat_type=kind, user_id=group_admin)

    # 403: the user blocked the bot. Both notices were queued; after the first 403 the chat is
    # inactive and what was still waiting for it is dropped.
    telegram.block(blocker)
    telegram.migrate(old_group, new_group)
    telegram.my_chat_member(
        left_group, new_status="left", old_status="member", chat_type="supergroup"
    )
    telegram.my_chat_member(
        kicked_group, new_status="kicked", old_status="member", chat_type="group"
    )
    await poll(
        lambda: active(bot, left_group) == 0 and active(bot, kicked_group) == 0,
        message="removed groups inactive",
    )
    calls_to_blocker = sends_to(telegram, blocker)
    anilibria.rest.add_episode(OTHER_TITLE, 2)
    await push_episode(anilibria, OTHER_TITLE, 2, qualities=("hd",))
    await push_episode(anilibria, TITLE, 4)
    await poll(lambda: active(bot, blocker) == 0, message="the blocked chat inactive")
    await wait_notice(telegram, new_group, TITLE, 4)
    await settled_after_barrier(bot)
    assert 1 <= sends_to(telegram, blocker) - calls_to_blocker <= 2
    left_over = bot.db(
        "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND state != 'sent'", (blocker,)
    )
    assert left_over == [(0,)]
    # Removed from the groups: nothing was even tried there.
    assert sends_to(telegram, left_group) == 1 and sends_to(telegram, kicked_group) == 1

    # Migrate: the chat and its subscriptions moved, the notice went to the new id once.
    assert bot.db("SELECT id, type FROM chats WHERE id IN (?, ?)", (old_group, new_group)) == [
        (new_group, "supergroup")
    ]
    assert bot.db(
        "SELECT chat_id FROM subscriptions WHERE title_id = ? AND chat_id IN (?, ?)",
        (TITLE, old_group, new_group),
    ) == [(new_group,)]
    assert notice_counts(telegram, TITLE, 4) == {kicker: 1, new_group: 1}

    # The blocked user is inactive: nothing is tried until they speak again.
    calls_to_blocker = sends_to(telegram, blocker)
    await push_episode(anilibria, TITLE, 5)
    await wait_notice(telegram, kicker, TITLE, 5)
    await settled_after_barrier(bot)
    assert sends_to(telegram, blocker) == calls_to_blocker

    # Unblocked and speaking: active again. Kicked (blocked) through my_chat_member, then back.
    telegram.unblock(blocker)
    telegram.message(blocker, "/subscriptions", language_code="en")
    await poll(lambda: active(bot, blocker) == 1, message="the unblocked chat active again")
    telegram.my_chat_member(kicker, new_status="kicked", old_status="member")
    await poll(lambda: active(bot, kicker) == 0, message="kicked private chat inactive")
    telegram.my_chat_member(kicker, new_status="member", old_status="kicked")
    await poll(lambda: active(bot, kicker) == 1, message="a member again: active")
    telegram.my_chat_member(
        left_group, new_status="member", old_status="left", chat_type="supergroup"
    )
    await poll(lambda: active(bot, left_group) == 1, message="re-added group active again")

    await push_episode(anilibria, TITLE, 6)
    for chat in (blocker, kicker, new_group, left_group):
        await wait_notice(telegram, chat, TITLE, 6)
    await settled_after_barrier(bot)
    assert notice_counts(telegram, TITLE, 6) == {blocker: 1, kicker: 1, new_group: 1, left_group: 1}
    assert await bot.stop() == 0


def fan_out_calls(telegram: FakeTelegram, fans: range) -> list[Any]:
    """Episode notices sent (or tried) to the fans, in order."""
    return [
        c
        for c in telegram.calls_of("sendMessage")
        if c.params.get("chat_id") in fans and str(c.params.get("text", "")).startswith("🎬")
    ]


async def test_kill_9_in_the_middle_of_a_fan_out(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    fans = range(100_001, 100_501)  # 500 private chats
    bot.extra_env["SEND_RATE"] = "500"
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, fans[0], TITLE)  # the title is now stored, with its baseline
    assert await bot.stop() == 0
    seed_followers(bot.db_path, TITLE, fans)
    await bot.start()

    pushed_at = await push_episode(anilibria, TITLE, 4)
    await poll(
        lambda: len(notice_counts(telegram, TITLE, 4)) >= 150,
        timeout=20,
        message="a third of the fan-out",
    )
    await bot.kill()
    killed_at = time.monotonic()
    delivered_before_kill = len(notice_counts(telegram, TITLE, 4))
    states = dict(bot.db("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
    in_flight = states.get("sending", 0)
    first = fan_out_calls(telegram, fans)[0].at
    print(
        f"kill -9 after {delivered_before_kill} of 500 sends "
        f"({delivered_before_kill / (killed_at - first):.0f}/s, first send "
        f"{(first - pushed_at) * 1000:.0f} ms after the frame); outbox then: {states}"
    )
    assert delivered_before_kill < 500, "the fan-out finished before the kill: nothing proven"
    assert in_flight <= 8 * 2 + 8  # the sender's in-memory queue plus its workers

    calls_before_restart = len(fan_out_calls(telegram, fans))
    await bot.start()
    await poll(
        lambda: len(notice_counts(telegram, TITLE, 4)) == 500,
        timeout=30,
        message="every chat told after the restart",
    )
    await bot.settled(timeout=30)
    counts = notice_counts(telegram, TITLE, 4)
    duplicates = sum(n - 1 for n in counts.values())
    after = fan_out_calls(telegram, fans)[calls_before_restart:]
    print(
        f"after the restart: {len(after)} sends in {after[-1].at - after[0].at:.2f} s; "
        f"duplicates {duplicates} (limit: {in_flight} rows were 'sending')"
    )
    assert set(counts) == set(fans)
    assert duplicates <= in_flight
    assert await bot.stop() == 0
