"""Small helpers the end-to-end tests of rules, videos and export share: say something and get
the bot's reply, press a button and get its answer, find the notices of a kind."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import callback_answer, poll

__all__ = ["ask", "button_data", "edited", "new_title_notices", "press", "send_file", "texts"]


async def ask(
    telegram: FakeTelegram, chat_id: int, text: str, *, timeout: float = 10, **kwargs: Any
) -> SentMessage:
    """Send `text` as the chat's user; the bot's next message there."""
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text, **kwargs)
    return (await telegram.wait_sent(chat_id, before + 1, timeout=timeout))[before]


async def send_file(
    telegram: FakeTelegram, chat_id: int, data: bytes, name: str, **kwargs: Any
) -> SentMessage:
    """Send a file as the chat's user; the bot's next message there."""
    before = len(telegram.sent(chat_id))
    telegram.document(chat_id, data, name, **kwargs)
    return (await telegram.wait_sent(chat_id, before + 1, timeout=15))[before]


async def press(
    telegram: FakeTelegram, message: SentMessage, data: str, **kwargs: Any
) -> dict[str, Any]:
    """Press a button of `message`; the parameters of the bot's answer to the press."""
    update = telegram.callback(message.chat_id, data, message_id=message.message_id, **kwargs)
    return await callback_answer(telegram, update)


async def edited(message: SentMessage, count: int) -> None:
    await poll(lambda: message.edit_count >= count, message="the message to be edited")


def button_data(message: SentMessage, text_part: str) -> str:
    """The callback data of the first button whose text contains `text_part`."""
    for button in message.buttons:
        if text_part in button.get("text", "") and "callback_data" in button:
            return str(button["callback_data"])
    raise AssertionError(f"no button with {text_part!r} in {message.buttons}")


def new_title_notices(telegram: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in telegram.sent(chat_id) if (m.text or "").startswith("🆕")]


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent(chat_id)]
