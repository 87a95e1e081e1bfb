"""/settings end to end: the menu edited in place in both languages, every setting stored in the
real database, bad values refused politely, and quiet hours making notices silent."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import BotProcess, poll

LANG_CHAT = 4001
EN_CHAT = 4002
TZ_CHAT = 4005
QUIET_SETTINGS_CHAT = 4006
KINDS_CHAT = 4007
QUIET_CHAT = 4003
LOUD_CHAT = 4004
TITLE_ID = 7101


async def reply(telegram: FakeTelegram, chat_id: int, text: str, **kwargs: object) -> SentMessage:
    """Send `text` as the chat's user; the bot's next message there."""
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text, **kwargs)  # type: ignore[arg-type]
    return (await telegram.wait_sent(chat_id, before + 1, timeout=10))[before]


async def press(
    telegram: FakeTelegram, chat_id: int, message: SentMessage, data: str, language: str = "ru"
) -> str:
    """Press a button; wait until this query is answered; return the answer's text."""
    update = telegram.callback(chat_id, data, message_id=message.message_id, language_code=language)
    query_id = update["callback_query"]["id"]

    def answered() -> list[dict[str, object]]:
        return [
            call.params
            for call in telegram.calls_of("answerCallbackQuery")
            if call.params.get("callback_query_id") == query_id
        ]

    [answer] = await poll(answered, message=f"the answer to {data}")
    return str(answer.get("text") or "")


def chat_row(bot: BotProcess, chat_id: int) -> tuple[object, ...]:
    [row] = bot.db(
        "SELECT language, timezone, quiet_start, quiet_end, kinds FROM chats WHERE id = ?",
        (chat_id,),
    )
    return row


async def language(bot: BotProcess, telegram: FakeTelegram) -> None:
    menu = await reply(telegram, LANG_CHAT, "/settings")
    assert "⚙️ <b>Настройки этого чата</b>" in (menu.text or "")
    assert "автоматически (сейчас Русский)" in (menu.text or "")
    assert "Europe/Moscow" in (menu.text or "")
    assert "беззвучно" in (menu.text or "")  # the quiet-hours choice is explained
    data = [b["callback_data"] for b in menu.buttons]
    assert data == ["set:lang:", "set:tz:", "set:quiet:", "set:kinds:", "set:close:"]

    # English: the menu redraws in English at once, and the chat speaks English now.
    await press(telegram, LANG_CHAT, menu, "set:lang:")
    assert "🌐 <b>Язык</b>" in (menu.text or "")
    assert await press(telegram, LANG_CHAT, menu, "set:setlang:en") == "✅ Saved."
    assert "⚙️ <b>Settings of this chat</b>" in (menu.text or "")
    assert "Language: English" in (menu.text or "")
    assert chat_row(bot, LANG_CHAT)[0] == "en"
    help_reply = await reply(telegram, LANG_CHAT, "/help", language_code="ru")
    assert "I tell you the moment" in (help_reply.text or "")
    # Back to automatic: the menu redraws in the presser's language (Russian).
    await press(telegram, LANG_CHAT, menu, "set:lang:")
    assert await press(telegram, LANG_CHAT, menu, "set:setlang:auto") == "✅ Сохранено."
    assert chat_row(bot, LANG_CHAT)[0] is None
    assert "Язык: автоматически (сейчас Русский)" in (menu.text or "")
    assert len(telegram.sent(LANG_CHAT)) == 2  # the menu was edited, never resent


async def time_zone(bot: BotProcess, telegram: FakeTelegram) -> None:
    """By button, then by name in any case; an unknown one changes nothing."""
    menu = await reply(telegram, TZ_CHAT, "/settings", language_code="en")
    await press(telegram, TZ_CHAT, menu, "set:tz:", "en")
    assert any("Vladivostok" in b["text"] for b in menu.buttons)
    await press(telegram, TZ_CHAT, menu, "set:settz:Asia/Vladivostok", "en")
    assert chat_row(bot, TZ_CHAT)[1] == "Asia/Vladivostok"
    assert "Time zone: Asia/Vladivostok" in (menu.text or "")
    saved = await reply(telegram, TZ_CHAT, "/settings tz america/new_york", language_code="en")
    assert "✅ Saved." in (saved.text or "") and "America/New_York" in (saved.text or "")
    assert chat_row(bot, TZ_CHAT)[1] == "America/New_York"
    refused = await reply(telegram, TZ_CHAT, "/settings tz Mars/Olympus_Mons", language_code="en")
    assert "I don't know the time zone «Mars/Olympus_Mons»" in (refused.text or "")
    assert chat_row(bot, TZ_CHAT)[1] == "America/New_York"


async def quiet_hours(bot: BotProcess, telegram: FakeTelegram) -> None:
    """A preset button, a typed range, a bad range, off."""
    menu = await reply(telegram, QUIET_SETTINGS_CHAT, "/settings")
    await press(telegram, QUIET_SETTINGS_CHAT, menu, "set:quiet:")
    await press(telegram, QUIET_SETTINGS_CHAT, menu, "set:setquiet:2200-0700")
    assert chat_row(bot, QUIET_SETTINGS_CHAT)[2:4] == ("22:00", "07:00")
    assert "Тихие часы: 22:00–07:00" in (menu.text or "")
    await reply(telegram, QUIET_SETTINGS_CHAT, "/settings quiet 23:30-7:15")
    assert chat_row(bot, QUIET_SETTINGS_CHAT)[2:4] == ("23:30", "07:15")
    bad = await reply(telegram, QUIET_SETTINGS_CHAT, "/settings quiet 25:00-08:00")
    assert "<code>23:00-08:00</code>" in (bad.text or "")
    assert chat_row(bot, QUIET_SETTINGS_CHAT)[2:4] == ("23:30", "07:15")
    await reply(telegram, QUIET_SETTINGS_CHAT, "/settings quiet off")
    assert chat_row(bot, QUIET_SETTINGS_CHAT)[2:4] == (None, None)


async def kinds(bot: BotProcess, telegram: FakeTelegram) -> None:
    """Toggles on the chats.kinds bit set (default: episodes + finished)."""
    menu = await reply(telegram, KINDS_CHAT, "/settings", language_code="en")
    await press(telegram, KINDS_CHAT, menu, "set:kinds:", "en")
    assert chat_row(bot, KINDS_CHAT)[4] == 3
    await press(telegram, KINDS_CHAT, menu, "set:kind:4", "en")
    assert chat_row(bot, KINDS_CHAT)[4] == 7
    assert "✅ announcements" in [b["text"] for b in menu.buttons]
    await press(telegram, KINDS_CHAT, menu, "set:kind:1", "en")
    assert chat_row(bot, KINDS_CHAT)[4] == 6
    assert "⬜ new episodes" in [b["text"] for b in menu.buttons]
    await press(telegram, KINDS_CHAT, menu, "set:close:", "en")
    assert menu.buttons == []
    assert "Notices: a series is finished, announcements" in (menu.text or "")


async def english(telegram: FakeTelegram) -> None:
    """English from the start, a word the command does not know, then Russian by command."""
    menu = await reply(telegram, EN_CHAT, "/settings", language_code="en")
    assert "automatic (now English)" in (menu.text or "")
    usage = await reply(telegram, EN_CHAT, "/settings colour blue", language_code="en")
    assert "<code>/settings tz Europe/Moscow</code>" in (usage.text or "")
    lang = await reply(telegram, EN_CHAT, "/settings lang ru", language_code="en")
    assert "✅ Сохранено." in (lang.text or "") and "Настройки этого чата" in (lang.text or "")


async def silent_notices(telegram: FakeTelegram, anilibria: FakeAniLibria) -> None:
    """Quiet hours around now: the notice comes at once, with disable_notification."""
    now = dt.datetime.now(ZoneInfo("Asia/Tokyo"))
    start = (now - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (now + dt.timedelta(hours=1)).strftime("%H:%M")
    for chat_id in (QUIET_CHAT, LOUD_CHAT):
        await reply(telegram, chat_id, f"/subscribe {TITLE_ID}")
    await reply(telegram, QUIET_CHAT, "/settings tz Asia/Tokyo")
    await reply(telegram, QUIET_CHAT, f"/settings quiet {start}-{end}")
    await reply(telegram, LOUD_CHAT, "/settings tz Asia/Tokyo")

    title = anilibria.rest.add_episode(TITLE_ID, 3)
    await anilibria.ws.push(playlist_update_frame(TITLE_ID, 3, "hd", player=title["player"]))

    def notice(chat_id: int) -> SentMessage | None:
        found = [m for m in telegram.sent(chat_id) if (m.text or "").startswith("🎬")]
        return found[0] if found else None

    quiet = await poll(lambda: notice(QUIET_CHAT), message="the quiet chat's notice")
    loud = await poll(lambda: notice(LOUD_CHAT), message="the other chat's notice")
    assert quiet.disable_notification is True
    assert loud.disable_notification is False
    assert "Серия 3 вышла" in (quiet.text or "")


async def test_settings(bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria) -> None:
    """Each part in its own private chat, all at once (one person: 5 quick actions, then 1/s)."""
    anilibria.rest.add_title(
        anilibria.rest.make_title(TITLE_ID, "quiet-show", "Тихий сериал", "Quiet Show", episodes=2)
    )
    await bot.start()
    await asyncio.gather(
        language(bot, telegram),
        time_zone(bot, telegram),
        quiet_hours(bot, telegram),
        kinds(bot, telegram),
        english(telegram),
        silent_notices(telegram, anilibria),
    )
    assert telegram.internal_errors == []

    # The command menu, published at start: Russian by default and for "ru", English for "en".
    await poll(lambda: len(telegram.calls_of("setMyCommands")) >= 3, message="setMyCommands")
    menus = {code: telegram.commands(language_code=code) for code in ("", "ru", "en")}
    names = [c["command"] for c in menus["en"]]
    assert {"start", "search", "schedule", "subscribe", "settings", "forget"} <= set(names)
    assert [c["command"] for c in menus["ru"]] == names == [c["command"] for c in menus[""]]
    english_menu = {c["command"]: c["description"] for c in menus["en"]}
    russian_menu = {c["command"]: c["description"] for c in menus["ru"]}
    assert english_menu["settings"] == "Language, time zone, quiet hours, notices"
    assert russian_menu["settings"] == "Язык, часовой пояс, тихие часы, уведомления"
    assert menus[""] == menus["ru"]
