"""/schedule end to end, in Russian and English: days, buttons edited in place, followed titles
marked, the "only followed" toggle, the chat's time zone for "today", and one API call a week."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import BotProcess, poll

RU_CHAT = 3001
EN_CHAT = 3002
TZ_CHAT = 3003
TZ_CHAT_2 = 3005
DEFAULT_TZ_CHAT = 3004
MONDAY_TITLE = 7001  # ours, beside the fixture's Monday titles (Texhnolyze 8700, Aoashi 9182...)
RU_SHORT = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
RU_DAYS = ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"]


def weekday_in(zone: str) -> int:
    return dt.datetime.now(ZoneInfo(zone)).weekday()


async def reply(telegram: FakeTelegram, chat_id: int, text: str, **kwargs: object) -> SentMessage:
    """Send `text` as the user and wait for the bot's next message in that chat."""
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text, **kwargs)  # type: ignore[arg-type]
    return (await telegram.wait_sent(chat_id, before + 1, timeout=10))[before]


async def press(
    telegram: FakeTelegram, chat_id: int, message: SentMessage, data: str, language: str = "ru"
) -> str:
    """Press a button of `message`; wait for the edit; return the new text."""
    edits = message.edit_count
    answers = len(telegram.calls_of("answerCallbackQuery"))
    telegram.callback(chat_id, data, message_id=message.message_id, language_code=language)
    await poll(lambda: message.edit_count > edits, message=f"an edit after pressing {data}")
    await poll(lambda: len(telegram.calls_of("answerCallbackQuery")) > answers)
    return message.text or ""


def button_data(message: SentMessage) -> list[str]:
    return [b["callback_data"] for b in message.buttons if "callback_data" in b]


async def russian(telegram: FakeTelegram) -> None:
    # A day by number: names escaped, episodes with Russian plurals, 7 days + toggle.
    monday = await reply(telegram, RU_CHAT, "/schedule 0")
    text = monday.text or ""
    assert "📅 <b>Понедельник</b>" in text
    assert "<b>Технолайз</b> — 2 из 22 серий" in text
    assert "<b>Расписание &lt;b&gt;пн&lt;/b&gt;</b> — 1 из 21 серии" in text
    assert "Летнее время" not in text  # a Tuesday title
    data = button_data(monday)
    assert data[:7] == [f"sch:{day}:0" for day in range(7)] and data[7] == "sch:0:1"
    assert all(len(d.encode()) <= 64 for d in data)

    # Follow Texhnolyze: it is marked, and the toggle keeps only it.
    await reply(telegram, RU_CHAT, "/subscribe 8700")
    marked = await reply(telegram, RU_CHAT, "/schedule понедельник")
    assert "★ <b>Технолайз</b>" in (marked.text or "")
    assert "• <b>Аой Ашито</b>" in (marked.text or "")
    assert "★ — подписки этого чата" in (marked.text or "")
    only = await press(telegram, RU_CHAT, marked, "sch:0:1")
    assert "★ <b>Технолайз</b>" in only and "Аой Ашито" not in only
    assert "только подписки этого чата" in only
    assert marked.buttons[-1]["callback_data"] == "sch:0:0"  # the toggle flips back
    # Another day, still only followed: nothing of ours on Thursday.
    thursday = await press(telegram, RU_CHAT, marked, "sch:3:1")
    assert "📅 <b>Четверг</b>" in thursday
    assert "ничего из того, на что подписан этот чат" in thursday
    # Back to all titles on Sunday.
    sunday = await press(telegram, RU_CHAT, marked, "sch:6:0")
    assert "Воскресенье" in sunday and "Рандеву с Жизнью 4" in sunday
    # The same message was edited each time: no new message.
    assert len([m for m in telegram.sent(RU_CHAT) if "📅" in (m.text or "")]) == 2
    unknown_ru = await reply(telegram, RU_CHAT, "/schedule 7")
    assert "Я не знаю такого дня" in (unknown_ru.text or "")


async def english(telegram: FakeTelegram) -> None:
    # English names, English plurals, English day names.
    monday = await reply(telegram, EN_CHAT, "/schedule Monday", language_code="en")
    assert "📅 <b>Monday</b>" in (monday.text or "")
    assert "<b>Texhnolyze</b> — 2 of 22 episodes" in (monday.text or "")
    assert "<b>Schedule &amp; Mon</b> — 1 of 21 episodes" in (monday.text or "")
    empty = await press(telegram, EN_CHAT, monday, "sch:4:0", "en")
    assert "📅 <b>Friday</b>" in empty and "Nothing is scheduled for this day." in empty
    unknown = await reply(telegram, EN_CHAT, "/schedule someday", language_code="en")
    assert "I don't know that day" in (unknown.text or "")


async def today_in_default_zone(telegram: FakeTelegram) -> None:
    before = weekday_in("Europe/Moscow")  # DEFAULT_TIMEZONE
    today = await reply(telegram, DEFAULT_TZ_CHAT, "/schedule")
    expected = {RU_DAYS[before], RU_DAYS[weekday_in("Europe/Moscow")]}
    assert any(f"<b>{day}</b> (сегодня)" in (today.text or "") for day in expected)


async def today_in_chat_zone(telegram: FakeTelegram, chat_id: int, zone: str) -> str:
    """/schedule without a day after /settings tz: today there. Returns the day shown."""
    await reply(telegram, chat_id, f"/settings tz {zone}")
    before = weekday_in(zone)
    today = await reply(telegram, chat_id, "/schedule")
    [day] = [
        d
        for d in {before, weekday_in(zone)}
        if f"<b>{RU_DAYS[d]}</b> (сегодня)" in (today.text or "")
    ]
    assert f"📍{RU_SHORT[day]}" in str(today.buttons), zone
    return RU_DAYS[day]


async def test_schedule_in_both_languages(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    anilibria.rest.add_title(
        anilibria.rest.make_title(
            MONDAY_TITLE,
            "sched-mon",
            "Расписание <b>пн</b>",
            "Schedule & Mon",
            episodes=1,
            series_total=21,
            week_day=0,
        )
    )
    await bot.start()
    results = await asyncio.gather(
        russian(telegram),
        english(telegram),
        today_in_default_zone(telegram),
        today_in_chat_zone(telegram, TZ_CHAT, "Pacific/Kiritimati"),
        today_in_chat_zone(telegram, TZ_CHAT_2, "Pacific/Pago_Pago"),
    )
    kiritimati, pago_pago = results[3], results[4]
    # UTC+14 and UTC-11 are never on the same weekday: the chat's zone did decide "today".
    assert kiritimati != pago_pago

    # One getSchedule call served every day, chat and language (the week is cached).
    assert anilibria.rest.count("getSchedule") == 1
    assert telegram.internal_errors == []
