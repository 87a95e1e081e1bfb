"""Every error answered: an unexpected failure inside a handler is logged once, the user gets a
short apology, a pressed button is always answered, and the bot goes on serving."""

from __future__ import annotations

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, callback_answer, poll

USER = 7101
TITLE_ID = 7102


async def test_a_failing_handler_apologises_and_the_bot_goes_on(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    anilibria.rest.add_title(
        anilibria.rest.make_title(TITLE_ID, "apology-show", "Извинение", "Apology", episodes=2)
    )
    await bot.start()

    # Telegram fails the card's photo with a 500: nothing in the handler expects that (it falls
    # back to text only for a 400), so it reaches the error handler.
    telegram.fail_next("sendPhoto", 500, "Internal Server Error", times=1)
    telegram.message(USER, f"/title {TITLE_ID}", language_code="en")
    [reply] = await telegram.wait_sent(USER)
    assert "something went wrong" in (reply.text or "")

    # A day button whose edit Telegram fails with a 500 before the press is answered: the
    # press is answered anyway, with the apology.
    telegram.message(USER, "/schedule 0", language_code="en")
    await telegram.wait_sent(USER, 2)
    telegram.fail_next("editMessageText", 500, "Internal Server Error", times=1)
    press = telegram.callback(USER, "sch:3:0", language_code="en")
    answer = await callback_answer(telegram, press)
    assert "something went wrong" in answer.get("text", "")
    assert answer.get("show_alert") is True

    # Still serving, and the failure was logged once per update.
    telegram.message(USER, "/help", language_code="en")
    await poll(lambda: len(telegram.sent(USER)) >= 3, message="the next reply")
    assert bot.log().count("unhandled TelegramServerError") == 2
    assert bot.proc is not None and bot.proc.returncode is None
