"""Episodes released while the socket, or the whole bot, was down are announced once it is back.

The catch-up (getUpdates since the stored watermark, at start and after every reconnect) and
the socket share the matcher's high-water marks, so neither repeats what the other announced.
"""

from __future__ import annotations

import signal
import time

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import title_update_frame
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.notify_helpers import (
    add_show,
    episode_notices,
    notice_counts,
    push_episode,
    settled_after_barrier,
    subscribe,
    wait_notice,
)

FAN = 3001
OTHER_FAN = 3002
TITLE = 9201


def catchup_passes(bot: BotProcess) -> int:
    return bot.log().count("catch-up: ")


async def catchup_after(bot: BotProcess, passes_before: int) -> None:
    await poll(lambda: catchup_passes(bot) > passes_before, timeout=10, message="a catch-up pass")


async def test_released_while_the_socket_was_down(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    ws = anilibria.ws
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, FAN, TITLE)
    await subscribe(telegram, OTHER_FAN, TITLE)
    watermark = int(bot.db("SELECT value FROM state WHERE key = 'catchup.since'")[0][0])
    assert watermark > 0

    # The socket is refused; episode 4 comes out, visible only over REST.
    ws.refuse = True
    connections = ws.total_connections
    await ws.drop_all()
    await poll(lambda: "cannot connect (HTTP 503)" in bot.log(), message="a refused handshake")
    anilibria.rest.add_episode(TITLE, 4)
    passes = catchup_passes(bot)
    ws.refuse = False
    await ws.wait_for_connections(connections + 1, timeout=5)
    await wait_notice(telegram, FAN, TITLE, 4)
    await wait_notice(telegram, OTHER_FAN, TITLE, 4)
    await catchup_after(bot, passes)

    # The socket's late frames of the same episode change nothing.
    await push_episode(anilibria, TITLE, 4)
    await settled_after_barrier(bot)
    assert notice_counts(telegram, TITLE, 4) == {FAN: 1, OTHER_FAN: 1}

    # The other way round: the socket announces 5, then a reconnect's catch-up sees it in REST.
    await push_episode(anilibria, TITLE, 5)
    await wait_notice(telegram, FAN, TITLE, 5)
    passes = catchup_passes(bot)
    rest_calls = anilibria.rest.count("getUpdates")
    connections = ws.total_connections
    await ws.drop_all()
    await ws.wait_for_connections(connections + 1, timeout=5)
    await catchup_after(bot, passes)
    assert anilibria.rest.count("getUpdates") > rest_calls
    await settled_after_barrier(bot)
    assert notice_counts(telegram, TITLE, 5) == {FAN: 1, OTHER_FAN: 1}

    # The watermark only moves forward.
    newer = int(bot.db("SELECT value FROM state WHERE key = 'catchup.since'")[0][0])
    assert newer >= watermark
    assert await bot.stop() == 0


async def test_released_while_the_bot_was_down(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, FAN, TITLE)
    assert await bot.stop(signal.SIGTERM) == 0

    # Two episodes come out while the bot is stopped: one notice naming the range.
    anilibria.rest.add_episode(TITLE, 4)
    anilibria.rest.add_episode(TITLE, 5)
    await bot.start()
    await poll(
        lambda: [m for m in telegram.sent(FAN) if "Episodes 4–5" in (m.text or "")],
        message="the catch-up notice of episodes 4-5",
    )
    # The socket then sends what it had (a late frame): nothing new.
    await push_episode(anilibria, TITLE, 5)
    await settled_after_barrier(bot)
    ranges = [m for m in telegram.sent(FAN) if "Episodes 4–5" in (m.text or "")]
    assert len(ranges) == 1
    assert notice_counts(telegram, TITLE, 5) == {}  # 5 went out inside the 4-5 notice

    # Restarting with nothing new (the catch-up re-reads an overlap): no repeats.
    assert await bot.stop(signal.SIGINT) == 0
    messages = len(telegram.sent(FAN))
    passes = catchup_passes(bot)
    await bot.start()
    await catchup_after(bot, passes)
    await settled_after_barrier(bot)
    assert len(telegram.sent(FAN)) == messages
    assert await bot.stop() == 0


async def test_a_failed_catch_up_is_not_forgotten(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    """REST fails during the catch-up after a reconnect while the socket works again.

    The socket's news of other titles must not move the catch-up past what it still owes: the
    next pass, after the next reconnect, announces the episode the outage hid.
    """
    ws = anilibria.ws
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, FAN, TITLE)

    ws.refuse = True
    connections = ws.total_connections
    await ws.drop_all()
    await poll(lambda: "cannot connect (HTTP 503)" in bot.log(), message="a refused handshake")
    anilibria.rest.add_episode(TITLE, 4)
    failure = {"error": {"code": 500, "message": "Internal Server Error"}}
    anilibria.rest.fail("getUpdates", 500, failure, times=3)  # one pass: a try and 2 retries
    ws.refuse = False
    await ws.wait_for_connections(connections + 1, timeout=5)
    await poll(lambda: "catch-up failed" in bot.log(), message="the failed catch-up")

    # Meanwhile the socket tells of another title, updated an hour later (or an hour passes).
    later = anilibria.rest.make_title(
        9298, "show-9298", "Другой", "Other", episodes=2, updated=int(time.time()) + 3600
    )
    await ws.push(title_update_frame(later, hash="other-title-later"))
    await bot.barrier()
    assert episode_notices(telegram, FAN, TITLE, 4) == []

    passes = catchup_passes(bot)
    connections = ws.total_connections
    await ws.drop_all()
    await ws.wait_for_connections(connections + 1, timeout=5)
    await catchup_after(bot, passes)
    await wait_notice(telegram, FAN, TITLE, 4)
    await settled_after_barrier(bot)
    assert notice_counts(telegram, TITLE, 4) == {FAN: 1}
    assert await bot.stop() == 0
