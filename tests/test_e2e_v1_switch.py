"""A database made under v2 moved to v1, end to end: the bot runs on the v2 fake with chats,
subscriptions, settings and a high-water mark; it is stopped and started again on the same
database with ``ANILIBRIA_API=v1`` against the v1 fake, which has the same ids and aliases and
more episodes already out. The chats, subscriptions and settings are kept, nothing old is
announced (the first start reads every followed title once as a baseline), and the next new
episode is.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.chat import Chat, Pacer
from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import V1Upstream, V2Upstream

FAN = 9801  # English, Tokyo, a digest: follows both titles
NEIGHBOUR = 9802  # Russian by default: follows one
MOVING_ID = 9810
SECOND_ID = 9820


def episode_notices(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent(chat_id) if (m.text or "").startswith("🎬")]


def kept(bot: BotProcess) -> list[list[tuple[object, ...]]]:
    """What a move must keep: the chats with their settings, and the subscriptions."""
    return [
        bot.db(
            "SELECT id, type, language, timezone, kinds, digest_time, quiet_start, quiet_end"
            " FROM chats ORDER BY id"
        ),
        bot.db("SELECT chat_id, title_id, thread_id FROM subscriptions ORDER BY chat_id, title_id"),
    ]


async def test_a_v2_database_moves_to_v1_without_old_news(
    tmp_path: Path,
    telegram: FakeTelegram,
    anilibria: FakeAniLibria,
    aniliberty: FakeAniLiberty,
) -> None:
    rest = anilibria.rest
    rest.add_title(rest.make_title(MOVING_ID, "moving-day", "Переезд", "Moving Day", episodes=3))
    rest.add_title(rest.make_title(SECOND_ID, "second-move", "Второй", "Second Move", episodes=5))
    v2 = V2Upstream(anilibria)
    old = BotProcess(tmp_path, telegram, v2)
    await old.start()
    pacer = Pacer()
    fan = Chat(telegram, pacer, FAN)
    await fan.say("/subscribe moving-day")
    await fan.say("/subscribe second-move")
    await fan.say("/settings tz Asia/Tokyo")
    await fan.say("/settings quiet 23:00-07:00")
    await fan.say("/digest 09:30")
    telegram.message(NEIGHBOUR, "/subscribe moving-day")
    await telegram.wait_sent(NEIGHBOUR)
    await v2.release(MOVING_ID, 4)
    await poll(
        lambda: episode_notices(telegram, FAN) and episode_notices(telegram, NEIGHBOUR),
        message="episode 4 on v2",
    )
    await old.barrier()
    await old.settled()
    assert await old.stop(signal.SIGTERM) == 0
    before = kept(old)
    assert len(before[0]) == 2 and len(before[1]) == 3
    assert old.db(
        "SELECT id, high_water FROM titles WHERE id IN (?, ?) ORDER BY id",
        (
            MOVING_ID,
            SECOND_ID,
        ),
    ) == [(MOVING_ID, 4), (SECOND_ID, 5)]
    assert old.db("SELECT COUNT(*) FROM episodes") == [(0,)], "v2 keeps no episode ids"

    # The same titles on v1, with more episodes out meanwhile.
    aniliberty.add_release(MOVING_ID, "moving-day", "Переезд", "Moving Day", episodes=6)
    aniliberty.add_release(SECOND_ID, "second-move", "Второй", "Second Move", episodes=7)
    new = BotProcess(tmp_path, telegram, V1Upstream(aniliberty))
    await new.start()
    await poll(
        lambda: new.db("SELECT value FROM state WHERE key = 'v1.fresh_at'"),
        message="the v1 mark",
    )
    await new.barrier()
    await new.settled()
    assert "2 followed title(s) as baseline" in new.log()
    for title_id in (MOVING_ID, SECOND_ID):
        assert aniliberty.count(f"/anime/releases/{title_id}") >= 1, "no baseline read"
    assert (
        len(episode_notices(telegram, FAN)) == 1 and len(episode_notices(telegram, NEIGHBOUR)) == 1
    )
    assert kept(new) == before

    # The next episodes are news, once each.
    aniliberty.add_episode(MOVING_ID, 7)
    aniliberty.add_episode(SECOND_ID, 8)
    await poll(
        lambda: (
            len(episode_notices(telegram, FAN)) == 3
            and len(episode_notices(telegram, NEIGHBOUR)) == 2
        ),
        message="episodes 7 and 8 on v1",
    )
    await new.barrier()
    await new.settled()
    fan_news = episode_notices(telegram, FAN)
    assert len(fan_news) == 3 and len(episode_notices(telegram, NEIGHBOUR)) == 2
    assert any("Moving Day" in t and "Episode 7 is out" in t for t in fan_news)
    assert any("Second Move" in t and "Episode 8 is out" in t for t in fan_news)
    assert "Переезд" in episode_notices(telegram, NEIGHBOUR)[1]
    assert "Серия 7" in episode_notices(telegram, NEIGHBOUR)[1]
    assert kept(new) == before
    assert await new.stop(signal.SIGTERM) == 0
