"""Groups and forum topics end to end: /cmd@botname, admin-only changes with polite refusals,
a subscription following the topic it was given in (the latest wins), and the general topic
when that topic is gone."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import BotProcess, callback_answer, poll

FORUM = -1001234500001
GROUP = -1001234500002
ADMIN = 601
MEMBER = 602
ANOTHER_MEMBER = 5309  # a second non-admin: MEMBER's flood budget is spent elsewhere
ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
TITLE_ID = 7201
BOT = "anilibria_test_bot"


async def reply(telegram: FakeTelegram, chat_id: int, text: str, **kwargs: object) -> SentMessage:
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text, chat_type="supergroup", **kwargs)  # type: ignore[arg-type]
    return (await telegram.wait_sent(chat_id, before + 1))[before]


async def answer_to(
    telegram: FakeTelegram, message: SentMessage, data: str, user_id: int
) -> dict[str, Any]:
    """Press a button of `message` as `user_id`; the parameters of this query's answer."""
    update = telegram.callback(
        message.chat_id, data, user_id=user_id, message_id=message.message_id
    )
    return await callback_answer(telegram, update)


def subscription_thread(bot: BotProcess, chat_id: int) -> list[tuple[object, ...]]:
    return bot.db(
        "SELECT thread_id FROM subscriptions WHERE chat_id = ? AND title_id = ?",
        (chat_id, TITLE_ID),
    )


async def release(anilibria: FakeAniLibria, episode: int) -> None:
    title = anilibria.rest.add_episode(TITLE_ID, episode)
    await anilibria.ws.push(playlist_update_frame(TITLE_ID, episode, "hd", player=title["player"]))


def notice(telegram: FakeTelegram, chat_id: int, episode: int) -> SentMessage | None:
    found = [
        m
        for m in telegram.sent(chat_id)
        if (m.text or "").startswith("🎬") and f" {episode} " in (m.text or "")
    ]
    return found[0] if found else None


async def forum_topics(bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria) -> None:
    """Subscriptions in a forum: admin-only, remembered per topic, general topic as fallback."""
    # A member may not subscribe the group; nothing is stored.
    refusal = await reply(
        telegram,
        FORUM,
        f"/subscribe@{BOT} {TITLE_ID}",
        user_id=MEMBER,
        message_thread_id=42,
        is_topic_message=True,
    )
    assert "только администраторы группы" in (refusal.text or "")
    assert refusal.message_thread_id == 42  # the answer stays in the topic
    assert subscription_thread(bot, FORUM) == []
    # Nor through the inline results' deep link.
    refusal = await reply(telegram, FORUM, f"/start@{BOT} sub_{TITLE_ID}", user_id=ANOTHER_MEMBER)
    assert "только администраторы группы" in (refusal.text or "")
    assert subscription_thread(bot, FORUM) == []

    # The admin subscribes from topic 42, then again from topic 77: the latest topic wins.
    done = await reply(
        telegram,
        FORUM,
        f"/subscribe@{BOT} {TITLE_ID}",
        user_id=ADMIN,
        message_thread_id=42,
        is_topic_message=True,
    )
    assert "Вы подписались на <b>Групповой</b>" in (done.text or "")
    assert subscription_thread(bot, FORUM) == [(42,)]
    again = await reply(
        telegram,
        FORUM,
        f"/subscribe {TITLE_ID}",
        user_id=ADMIN,
        message_thread_id=77,
        is_topic_message=True,
        language_code="en",
    )
    assert "You already follow <b>Group Show</b>" in (again.text or "")  # reader's language
    assert subscription_thread(bot, FORUM) == [(77,)]

    # The notice goes to topic 77.
    await release(anilibria, 3)
    third = await poll(lambda: notice(telegram, FORUM, 3), message="the notice in topic 77")
    assert third.message_thread_id == 77

    # Topic 77 is deleted: Telegram answers "message thread not found"; the general topic gets it.
    telegram.fail_next("sendMessage", 400, "Bad Request: message thread not found", chat_id=FORUM)
    await release(anilibria, 4)
    fourth = await poll(lambda: notice(telegram, FORUM, 4), message="the notice in general")
    assert fourth.message_thread_id is None
    failed = [
        c
        for c in telegram.calls_of("sendMessage", chat_id=FORUM)
        if c.params.get("message_thread_id") == 77 and " 4 " in c.params.get("text", "")
    ]
    assert len(failed) == 1  # tried the topic once, then the general topic
    await bot.settled()

    # Someone else's bot command is not ours: no answer in a group; ours with @ is answered.
    before = len(telegram.sent(FORUM))
    telegram.message(FORUM, "/help@some_other_bot", chat_type="supergroup", user_id=MEMBER)
    telegram.message(FORUM, "/frobnicate", chat_type="supergroup", user_id=MEMBER)
    help_reply = await reply(telegram, FORUM, f"/help@{BOT}", user_id=MEMBER)
    assert "/subscribe" in (help_reply.text or "")
    assert len(telegram.sent(FORUM)) == before + 1


async def group_settings(bot: BotProcess, telegram: FakeTelegram) -> None:
    """/settings in a group: everyone sees it, only admins change it."""

    menu = await reply(telegram, GROUP, f"/settings@{BOT}", user_id=MEMBER)
    assert "Менять эти настройки могут только администраторы группы." in (menu.text or "")

    # A member's press: a polite alert, nothing changed, the menu untouched.
    refused = await answer_to(telegram, menu, "set:setlang:en", MEMBER)
    assert refused["show_alert"] is True
    assert "только администраторы" in refused["text"]
    refused = await answer_to(telegram, menu, "set:kind:4", MEMBER)
    assert refused["show_alert"] is True
    assert bot.db("SELECT language, kinds FROM chats WHERE id = ?", (GROUP,)) == [(None, 3)]
    assert menu.edit_count == 0
    typed = await reply(telegram, GROUP, "/settings tz Asia/Tokyo", user_id=MEMBER)
    assert "только администраторы" in (typed.text or "")
    assert bot.db("SELECT timezone FROM chats WHERE id = ?", (GROUP,)) == [(None,)]

    # The admin, and an anonymous admin posting as the group, may.
    saved = await answer_to(telegram, menu, "set:kind:4", ADMIN)
    assert saved.get("text") == "✅ Сохранено."
    assert bot.db("SELECT kinds FROM chats WHERE id = ?", (GROUP,)) == [(7,)]
    assert menu.edit_count == 1
    await reply(telegram, GROUP, "/settings tz Asia/Tokyo", user_id=ANONYMOUS_ADMIN)
    assert bot.db("SELECT timezone FROM chats WHERE id = ?", (GROUP,)) == [("Asia/Tokyo",)]


async def test_groups_and_topics(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    anilibria.rest.add_title(
        anilibria.rest.make_title(TITLE_ID, "group-show", "Групповой", "Group Show", episodes=2)
    )
    telegram.set_chat(FORUM, chat_type="supergroup", title="Anime <club>", is_forum=True)
    telegram.set_admins(FORUM, [ADMIN])
    telegram.set_chat(GROUP, chat_type="supergroup", title="Settings group")
    telegram.set_admins(GROUP, [ADMIN])
    await bot.start()
    await asyncio.gather(forum_topics(bot, telegram, anilibria), group_settings(bot, telegram))
    assert telegram.internal_errors == []
