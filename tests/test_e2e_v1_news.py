"""News from AniLiberty v1, end to end: the bot as a process polls the fake v1 server.

The episode rules (issue 9, item 3): a new episode of a followed title is announced once; a new
id for an announced ordinal (a re-upload) is silent; an unplayable episode is silent until it
becomes playable, then announced once; a fractional ordinal is announced as given ("12.5");
several new episodes make one notice naming the range; a restart announces nothing twice; a
downtime with more than 50 releases bumped is caught up by paging the catalogue, and every
followed episode is announced once. The title news: finished (``is_in_production`` turned
false), a new announcement banner, and torrents (a new quality or range; a hash-only re-upload
is silent), with the notice kinds switched on in /settings.

Where something must stay silent, the test first makes sure the bot did read the release after
the change (the fake records every request), so the silence is the rule's, not a missed poll.
"""

from __future__ import annotations

import signal

from tests.chat import Chat, Pacer
from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

FAN = 9501
OTHER = 9502
LOUD = 9531  # announcements and torrents switched on
PLAIN = 9532  # the default kinds: episodes and finished
RULES_ID = 9510
HALF_ID = 9520
NEWS_ID = 9530
FILLERS = "/anime/releases/9000"  # bump_many's releases are 900000...


def said(telegram: FakeTelegram, chat_id: int, mark: str, name: str) -> list[str]:
    """The bot's messages to a chat that start with `mark` (🎬, 🏁, 📣, 💾) and name `name`."""
    return [
        m.text or ""
        for m in telegram.sent(chat_id)
        if (m.text or "").startswith(mark) and name in (m.text or "")
    ]


async def quiet(bot: BotProcess) -> None:
    """Everything the fake showed so far is handled and sent."""
    await bot.barrier()
    await bot.settled()


async def read_again(bot: BotProcess, fake: FakeAniLiberty, release_id: int, before: int) -> None:
    """Wait until the bot has read the release in full since `before` requests, then quiet."""
    path = f"/anime/releases/{release_id}"
    await poll(lambda: fake.count(path) > before, message=f"a read of release {release_id}")
    await quiet(bot)


async def test_episode_rules_restart_and_a_long_downtime(
    v1_bot: BotProcess, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> None:
    fake = aniliberty
    fake.add_release(RULES_ID, "rules-show", "Правила", "Rules Show", episodes=3)
    fake.add_release(HALF_ID, "half-show", "Половинка", "Half Show", episodes=12)
    await v1_bot.start()
    pacer = Pacer()
    fan, other = Chat(telegram, pacer, FAN), Chat(telegram, pacer, OTHER)
    for chat, code in [(fan, "rules-show"), (fan, "half-show"), (other, "half-show")]:
        _, [done] = await chat.say(f"/subscribe {code}")
        assert "Subscribed" in (done.text or "")

    def rules() -> list[str]:
        return said(telegram, FAN, "🎬", "Rules Show")

    # A new episode: one notice.
    fake.add_episode(RULES_ID, 4)
    await poll(rules, message="episode 4")
    await quiet(v1_bot)
    [four] = rules()
    assert "Episode 4 is out" in four
    assert f"{fake.site_url}/anime/releases/release/rules-show" in four

    # A re-upload of 4 and an episode 5 not yet playable: silent, though the bot read both.
    reads = fake.count(f"/anime/releases/{RULES_ID}")
    fake.reupload(RULES_ID, 4)
    fifth = fake.add_episode(RULES_ID, 5, playable=False)
    await read_again(v1_bot, fake, RULES_ID, reads)
    await poll(
        lambda: v1_bot.db("SELECT playable FROM episodes WHERE episode_id = ?", (fifth,)),
        message="episode 5 remembered",
    )
    assert v1_bot.db("SELECT playable FROM episodes WHERE episode_id = ?", (fifth,)) == [(0,)]
    assert len(rules()) == 1

    # Episode 5 becomes playable: announced now, once.
    fake.make_playable(RULES_ID, fifth)
    await poll(lambda: len(rules()) == 2, message="episode 5 once playable")
    assert "Episode 5 is out" in rules()[1]

    # A fractional ordinal, shown as given, to both of its followers.
    fake.add_episode(HALF_ID, 12.5)
    await poll(
        lambda: said(telegram, FAN, "🎬", "Half Show") and said(telegram, OTHER, "🎬", "Half Show"),
        message="episode 12.5",
    )
    assert "Episode 12.5 is out" in said(telegram, OTHER, "🎬", "Half Show")[0]

    # Two episodes out between two polls: one notice naming the range.
    fake.add_episode(RULES_ID, 6)
    fake.add_episode(RULES_ID, 7)
    await poll(lambda: len(rules()) == 3, message="episodes 6-7")
    assert "Episodes 6–7 are out (2 episodes)" in rules()[2]
    await quiet(v1_bot)
    assert len(rules()) == 3 and said(telegram, OTHER, "🎬", "Rules Show") == []

    # A restart announces nothing twice; the next episode still comes, once.
    assert await v1_bot.stop(signal.SIGTERM) == 0
    await v1_bot.start()
    await quiet(v1_bot)
    assert len(rules()) == 3
    fake.add_episode(RULES_ID, 8)
    await poll(lambda: len(rules()) == 4, message="episode 8 after a restart")

    # Down while 60 other releases were bumped over two followed ones: /latest (50) shows only
    # the newest, so the catalogue is paged down to the mark, and both episodes come once.
    await quiet(v1_bot)
    assert await v1_bot.stop(signal.SIGTERM) == 0
    fake.add_episode(RULES_ID, 9)
    fake.add_episode(HALF_ID, 13)
    fillers = fake.bump_many(60)
    requests_before = len(fake.requests)
    await v1_bot.start()
    await poll(
        lambda: len(rules()) == 5 and len(said(telegram, FAN, "🎬", "Half Show")) == 2,
        message="the episodes out while the bot was down",
    )
    await quiet(v1_bot)
    assert "Episode 9 is out" in rules()[4]
    assert "Episode 13 is out" in said(telegram, OTHER, "🎬", "Half Show")[1]
    assert len(rules()) == 5 and len(said(telegram, OTHER, "🎬", "Half Show")) == 2
    since = fake.requests[requests_before:]
    pages = [r.query for r in since if r.path.endswith("/anime/catalog/releases")]
    assert [p.get("page") for p in pages][:2] == ["1", "2"], pages
    assert all(p.get("f[sorting]") == "FRESH_AT_DESC" for p in pages)
    assert not [r.path for r in since if FILLERS in r.path], "unfollowed releases were read"
    assert "caught up over 2 catalogue page(s)" in v1_bot.log()

    # A release the bot saw only on a catalogue page: following it announces nothing old,
    # and its next episode is news.
    oldest = fake.release(fillers[0])
    assert oldest is not None
    _, [done] = await fan.say(f"/subscribe {oldest['alias']}")
    assert "Subscribed" in (done.text or "")
    last = int(oldest["episodes"][-1]["ordinal"])
    fake.add_episode(fillers[0], last + 1)
    name = oldest["name"]["english"]
    await poll(lambda: said(telegram, FAN, "🎬", name), message="the filler's next episode")
    await quiet(v1_bot)
    [filler] = said(telegram, FAN, "🎬", name)
    assert f"Episode {last + 1} is out" in filler
    assert await v1_bot.stop(signal.SIGINT) == 0


async def set_kinds(chat: Chat, *kinds: int) -> None:
    """Switch notice kinds on in /settings, as a user presses the buttons."""
    _, [menu] = await chat.say("/settings")
    await chat.press("set:kinds:", message_id=menu.message_id)
    for kind in kinds:
        await chat.press(f"set:kind:{kind}", message_id=menu.message_id)


async def test_finished_announcement_and_torrent_news(
    v1_bot: BotProcess, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> None:
    fake = aniliberty
    fake.add_release(NEWS_ID, "news-show", "Новости", "News Show", episodes=12)
    [first_torrent] = fake.release(NEWS_ID)["torrents"]  # type: ignore[index]
    await v1_bot.start()
    pacer = Pacer()
    loud, plain = Chat(telegram, pacer, LOUD), Chat(telegram, pacer, PLAIN)
    for chat in (loud, plain):
        await chat.say("/subscribe news-show")
    await set_kinds(loud, 4, 8)  # announcements, torrents
    assert v1_bot.db("SELECT kinds FROM chats WHERE id = ?", (LOUD,)) == [(15,)]

    def loud_says(mark: str) -> list[str]:
        return said(telegram, LOUD, mark, "News Show")

    # A new announcement banner.
    fake.set_notification(NEWS_ID, "Новые серии по субботам", bump=True)
    await poll(lambda: loud_says("📣"), message="the announcement")
    assert "Новые серии по субботам" in loud_says("📣")[0]

    # A torrent of a new quality, then a longer range of the first one.
    fake.add_torrent(NEWS_ID, "720p", episodes="1-12", bump=True)
    await poll(lambda: loud_says("💾"), message="the 720p torrent")
    assert "720p" in loud_says("💾")[0] and "[1-12]" in loud_says("💾")[0]
    fake.update_torrent(first_torrent["id"], episodes="1-13", bump=True)
    await poll(lambda: len(loud_says("💾")) == 2, message="the longer range")
    assert "1080p" in loud_says("💾")[1] and "[1-13]" in loud_says("💾")[1]

    # The 720p torrent re-uploaded (a new hash, nothing else): silent, though read.
    reads = fake.count(f"/anime/releases/{NEWS_ID}")
    [_, t720] = fake.release(NEWS_ID)["torrents"]  # type: ignore[index]
    fake.update_torrent(t720["id"], hash_only=True)
    fake.bump(NEWS_ID)
    await read_again(v1_bot, fake, NEWS_ID, reads)
    assert len(loud_says("💾")) == 2

    # The dub is finished: both chats hear it (on by default).
    fake.set_in_production(NEWS_ID, False, bump=True)
    await poll(
        lambda: loud_says("🏁") and said(telegram, PLAIN, "🏁", "News Show"),
        message="the series finished",
    )
    await quiet(v1_bot)
    assert "The series is finished" in loud_says("🏁")[0]
    assert [len(loud_says(mark)) for mark in ("📣", "💾", "🏁", "🎬")] == [1, 2, 1, 0]
    assert [len(said(telegram, PLAIN, mark, "News Show")) for mark in ("📣", "💾", "🏁")] == [
        0,
        0,
        1,
    ]
    assert await v1_bot.stop(signal.SIGTERM) == 0
