"""What a fan does, end to end, on both upstreams: each test here runs on v1 and on v2.

Follow a title and hear about its new episode once (restarts included), find it, open its card,
read the schedule, get a random title; link the AniLibria account the way the API links one
(v1: a one-time code entered on the site; v2: the login and the password), list the favorites,
add and remove them with the buttons, and follow them in the chat. The bot runs as a process
with ANILIBRIA_API set to the upstream of the run and the default everything else.
"""

from __future__ import annotations

import signal

from bot.ui.callbacks import FavCb, FollowFavCb
from tests.chat import Chat, Pacer, assert_no_secrets, datas
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import Upstream

FAN = 8101
BYSTANDER = 8102
TITLE_ID = 8100
CODE = "both-ways-show"
OTHER_ID = 8110
OTHER_CODE = "other-way-show"


def notices(telegram: FakeTelegram, chat_id: int, episode: int) -> list[str]:
    return [
        m.text or ""
        for m in telegram.sent(chat_id)
        if "🎬" in (m.text or "") and f" {episode} " in (m.text or "")
    ]


async def test_follow_a_title_and_hear_each_episode_once(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    upstream.add_title(TITLE_ID, CODE, "Оба пути <b>", "Both Ways & Co", episodes=3)
    await any_bot.start()

    telegram.message(FAN, f"/subscribe {CODE}")
    [done] = await telegram.wait_sent(FAN)
    assert "Оба пути &lt;b&gt;" in (done.text or "")
    telegram.message(BYSTANDER, "/start", language_code="en")
    await telegram.wait_sent(BYSTANDER)

    await upstream.release(TITLE_ID, 4)
    await poll(lambda: notices(telegram, FAN, 4), message="the episode notice")
    await any_bot.barrier()
    await any_bot.settled()
    [text] = notices(telegram, FAN, 4)
    assert "Оба пути &lt;b&gt;" in text and "Both Ways &amp; Co" in text
    assert upstream.title_url(CODE) in text
    assert notices(telegram, BYSTANDER, 4) == []

    # A restart announces nothing twice, and the next episode still arrives.
    assert await any_bot.stop(signal.SIGTERM) == 0
    await any_bot.start()
    await upstream.release(TITLE_ID, 5)
    await poll(lambda: notices(telegram, FAN, 5), message="the episode after a restart")
    await any_bot.barrier()
    await any_bot.settled()
    assert len(notices(telegram, FAN, 4)) == 1 and len(notices(telegram, FAN, 5)) == 1
    assert await any_bot.stop(signal.SIGINT) == 0


async def test_search_card_schedule_and_random(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    upstream.add_title(TITLE_ID, CODE, "Оба пути", "Both Ways", episodes=3)
    await any_bot.start()

    telegram.message(FAN, "/search Both Ways", language_code="en")
    [page] = await telegram.wait_sent(FAN)
    assert "Both Ways" in (page.text or "")
    buttons = [b for row in page.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert f"card:{TITLE_ID}:0" in [b.get("callback_data") for b in buttons]

    telegram.callback(FAN, f"card:{TITLE_ID}:0", language_code="en")
    [_, card] = await telegram.wait_sent(FAN, 2)
    shown = card.text or card.caption or ""
    assert "Both Ways" in shown and "Оба пути" in shown
    urls = [b.get("url", "") for row in card.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert upstream.title_url(CODE) in urls

    telegram.message(FAN, "/schedule", language_code="en")
    [*_, schedule] = await telegram.wait_sent(FAN, 3)
    assert "📅" in (schedule.text or "")

    telegram.message(FAN, "/random", language_code="en")
    await telegram.wait_sent(FAN, 4)
    assert "something went wrong" not in (telegram.sent(FAN)[-1].text or "")


async def test_log_in_and_favorites(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    upstream.add_title(TITLE_ID, CODE, "Оба пути", "Both Ways", episodes=3)
    upstream.add_title(OTHER_ID, OTHER_CODE, "Другой путь", "Other Way", episodes=2)
    upstream.add_favorites(TITLE_ID)
    await any_bot.start()
    pacer = Pacer()
    fan, bystander = Chat(telegram, pacer, FAN), Chat(telegram, pacer, BYSTANDER)
    await bystander.say("/start")

    assert "is linked" in await upstream.log_in(fan)
    assert any_bot.db("SELECT user_id FROM sessions") == [(FAN,)]

    # /favorites lists what the site holds, each with a remove button.
    _, [listing] = await fan.say("/favorites")
    assert "(1 title)" in (listing.text or "") and "Both Ways" in (listing.text or "")
    assert "— 0/" not in (listing.text or ""), "three episodes are out, not none"
    remove = FavCb(title_id=TITLE_ID, add=False).pack()
    assert remove in datas(listing)

    # A card offers to add; the press adds on the site; the list's button removes there.
    _, [card] = await fan.say(f"/title {OTHER_ID}")
    add_other = FavCb(title_id=OTHER_ID, add=True).pack()
    assert add_other in datas(card)
    assert "Added" in await fan.press(add_other, message_id=card.message_id)
    assert upstream.favorite_ids() == {TITLE_ID, OTHER_ID}
    await poll(
        lambda: FavCb(title_id=OTHER_ID, add=False).pack() in datas(card),
        message="the card's button to turn into a remove button",
    )
    assert "Removed" in await fan.press(remove, message_id=listing.message_id)
    assert upstream.favorite_ids() == {OTHER_ID}
    await poll(
        lambda: FavCb(title_id=TITLE_ID, add=True).pack() in datas(listing),
        message="the list's button to turn into an add button",
    )

    # Following the favorites here brings the next episode of one, once; not to others.
    _, [listing] = await fan.say("/favorites")
    assert "(1 title)" in (listing.text or "") and "Other Way" in (listing.text or "")
    assert "now gets a notice" in await fan.press(
        FollowFavCb(on=True).pack(), message_id=listing.message_id
    )
    assert any_bot.db("SELECT follow_favorites_of FROM chats WHERE id = ?", (FAN,)) == [(FAN,)]
    await upstream.release(OTHER_ID, 3)
    await poll(lambda: notices(telegram, FAN, 3), message="the favorite's episode notice")
    await any_bot.barrier()
    await any_bot.settled()
    [notice] = notices(telegram, FAN, 3)
    assert "Other Way" in notice and "Episode 3 is out" in notice
    assert notices(telegram, BYSTANDER, 3) == []
    assert sum("🎬" in (m.text or "") for m in telegram.sent(FAN)) == 1  # nothing older
    assert_no_secrets(any_bot, upstream.secrets())
