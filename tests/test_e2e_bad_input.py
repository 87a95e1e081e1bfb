"""Bad input and bad weather end to end: a flood, unknown commands, missing, huge and HTML
arguments, forged buttons, and an AniLibria API answering 5xx, HTML or nothing. Every time: a
clear reply within 10 seconds, nothing changed, and everyone else still served."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import BotProcess, callback_answer, poll

FLOODER = 5001
BYSTANDER = 5002
REPLY_WITHIN = 10.0
NO_BUTTON = "Эта кнопка больше не действует."
API_DOWN = "AniLibria сейчас не отвечает"


async def reply(
    telegram: FakeTelegram, chat_id: int, text: str, timeout: float = REPLY_WITHIN
) -> SentMessage:
    """The bot's next message in the chat after `text`, which must come within `timeout`."""
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text)
    return (await telegram.wait_sent(chat_id, before + 1, timeout=timeout))[before]


async def press(
    telegram: FakeTelegram, chat_id: int, message_id: int, data: str, user_id: int
) -> dict[str, Any]:
    """Press a button as `user_id`; the parameters of the bot's answer to this query."""
    update = telegram.callback(chat_id, data, user_id=user_id, message_id=message_id)
    return await callback_answer(telegram, update)


def unchanged(bot: BotProcess, chat_id: int) -> bool:
    settings = bot.db(
        "SELECT language, timezone, quiet_start, quiet_end, kinds FROM chats WHERE id = ?",
        (chat_id,),
    )
    follows = bot.db("SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", (chat_id,))
    return settings == [(None, None, None, None, 3)] and follows == [(0,)]


async def flood(bot: BotProcess, telegram: FakeTelegram) -> None:
    """Ten commands at once: five answered, one polite warning, the rest ignored."""
    ids = [telegram.message(FLOODER, "/help")["update_id"] for _ in range(10)]
    other = await reply(telegram, BYSTANDER, "/help")
    assert "/subscribe" in (other.text or "")
    flood_answered_first = len(telegram.sent(FLOODER))
    await poll(
        lambda: all(f"Update id={i} is " in bot.log() for i in ids),
        timeout=30,
        message="every update of the flood to be handled",
    )
    texts = [m.text or "" for m in telegram.sent(FLOODER)]
    assert sum("Слишком много запросов" in t for t in texts) == 1, texts
    assert 5 <= sum("/subscribe" in t for t in texts) <= 6, texts
    # The flooder's six replies take six seconds (one a second per chat): the bystander's
    # reply must not queue behind them.
    assert flood_answered_first < 6, (
        "a busy chat held back another chat's reply: SendLimiter.reserve() moves the global "
        "cursor to the busy chat's future slot (bot/notify/limiter.py)"
    )


async def bad_arguments(bot: BotProcess, telegram: FakeTelegram) -> None:
    """Each case in its own chat, all at once: each gets its clear answer, nothing is stored."""
    cases = {
        5101: ("/frobnicate", "Я не знаю такой команды"),
        5102: ("/subscribe", "Напишите, на что подписаться"),
        5103: ("/schedule " + "x" * 5000, "Я не знаю такого дня"),
        5104: ("/settings tz " + "a" * 5000, "Я не знаю часового пояса «" + "a" * 63 + "…»"),
        5105: (
            "/settings tz <script>alert(1)</script>",
            "«&lt;script&gt;alert(1)&lt;/script&gt;»",
        ),
        5106: ("/subscribe <b>bold</b> & co", "&lt;b&gt;bold&lt;/b&gt; &amp; co"),
        5107: ("/subscribe " + "я" * 5000, "ничего не нашлось"),
        5108: ("/settings quiet " + "1" * 5000, "<code>23:00-08:00</code>"),
        5109: ("/schedule <b>пн</b>", "Я не знаю такого дня"),
        5110: ("/settings lang klingon", "Языки: ru, en или auto."),
        5111: ("/settings tz", "<code>/settings tz Europe/Moscow</code>"),
    }
    sent_at = time.monotonic()
    for chat_id, (text, _expected) in cases.items():
        telegram.message(chat_id, text)
    for chat_id, (text, expected) in cases.items():
        [answer] = await telegram.wait_sent(chat_id, 1, timeout=REPLY_WITHIN)
        assert expected in (answer.text or ""), (text[:40], answer.text)
        assert len(answer.plain_text or "") <= 4096
        assert unchanged(bot, chat_id), text[:40]
    assert time.monotonic() - sent_at < REPLY_WITHIN


async def api_trouble(telegram: FakeTelegram, anilibria: FakeAniLibria) -> None:
    """502 with an HTML page, 200 with HTML, no answer at all; then the API is back."""
    anilibria.rest.fail("getSchedule", 502, "<html><body>502 Bad Gateway</body></html>", times=3)
    assert API_DOWN in ((await reply(telegram, 5301, "/schedule")).text or "")
    anilibria.rest.fail("getSchedule", 200, "<html><body>maintenance</body></html>")
    assert API_DOWN in ((await reply(telegram, 5302, "/schedule 1")).text or "")

    # No answer: the reply still comes within 10 s, and another chat is served meanwhile.
    anilibria.rest.delay("getSchedule", 12, times=2)
    started = time.monotonic()
    telegram.message(5303, "/schedule 2")
    helped = await reply(telegram, 5304, "/help", timeout=5)
    assert "/subscribe" in (helped.text or "") and telegram.sent(5303) == []
    [late] = await telegram.wait_sent(5303, 1, timeout=REPLY_WITHIN)
    assert API_DOWN in (late.text or "")
    assert time.monotonic() - started < REPLY_WITHIN

    # Back: errors were not cached.
    back = await reply(telegram, 5305, "/schedule@anilibria_test_bot ср")
    assert "📅 <b>Среда</b>" in (back.text or "")


async def test_bad_input_and_bad_weather(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    await bot.start()
    outcomes = await asyncio.gather(
        flood(bot, telegram),
        bad_arguments(bot, telegram),
        api_trouble(telegram, anilibria),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    for chat_id in (5301, 5302, 5303, 5305):
        assert unchanged(bot, chat_id)

    # Forged and stale buttons: a polite answer, no edit, nothing stored.
    schedule = await reply(telegram, 5201, "/schedule 0")
    menu = await reply(telegram, 5202, "/settings")
    forged = [
        (schedule, ["sch:9:0", "sch:-1:1", "sch:abc:0", "sch:1:maybe", "sch:1", "sch:1:0:0"]),
        (
            menu,
            [
                "set:bogus:",
                "set:settz:Mars/Base",
                "set:settz:..",
                "set:settz:",
                "set:setlang:xx",
                "set:kind:64",  # 16 and 32 are the new-title and video kinds
                "set:kind:abc",
                "set:setquiet:9999-0000",
                "set:setquiet:garbage",
                "x" * 64,
                ":::",
            ],
        ),
    ]
    presser = 6000
    for message, datas in forged:
        for data in datas:
            presser += 1  # a different person each time: the flood guard is not what answers
            answer = await press(telegram, message.chat_id, message.message_id, data, presser)
            assert answer.get("text") == NO_BUTTON, (data, answer)
    assert schedule.edit_count == 0 and menu.edit_count == 0
    assert unchanged(bot, 5202)

    # A button of a message Telegram no longer shows (inaccessible): polite too.
    assert (await press(telegram, 5201, 999, "sch:3:0", 5201)).get("text") == NO_BUTTON
    assert telegram.internal_errors == []
    assert "Traceback" not in bot.log()
    if failures:  # raised last, so that one broken part does not hide the others
        raise failures[0] if len(failures) == 1 else ExceptionGroup("bad input", failures)
