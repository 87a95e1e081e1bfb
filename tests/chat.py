"""A user in a chat with the bot, as the end-to-end tests drive them: messages and presses paced
like a person's, the buttons of a message, and the check that no secret reached the disk or the
log."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from tests.harness import poll

if TYPE_CHECKING:
    from tests.fakes.telegram import FakeTelegram, SentMessage
    from tests.harness import BotProcess

__all__ = ["Chat", "Pacer", "assert_no_secrets", "buttons", "datas", "urls"]


class Pacer:
    """Keeps each test user under the bot's flood guard (a burst of 5, then 1 action a second):
    a real user does not press ten buttons in a millisecond."""

    def __init__(self) -> None:
        self.buckets: dict[int, tuple[float, float]] = {}

    async def take(self, user_id: int) -> None:
        now = time.monotonic()
        tokens, last = self.buckets.get(user_id, (4.5, now))
        tokens = min(4.5, tokens + (now - last) * 0.95)
        if tokens < 1.0:
            await asyncio.sleep((1.0 - tokens) / 0.95)
            tokens, now = 1.0, time.monotonic()
        self.buckets[user_id] = (tokens - 1.0, now)


class Chat:
    """One user in one chat, speaking English."""

    def __init__(
        self, telegram: FakeTelegram, pacer: Pacer, chat_id: int, user_id: int | None = None
    ) -> None:
        self.telegram, self.pacer, self.chat_id = telegram, pacer, chat_id
        self.user_id = user_id if user_id is not None else chat_id
        self.chat_type = "private" if chat_id > 0 else "supergroup"

    def sent(self) -> list[SentMessage]:
        return self.telegram.sent(self.chat_id)

    async def say(self, text: str, *, replies: int = 1) -> tuple[int, list[SentMessage]]:
        """Send a message; wait for `replies` new bot messages; returns (message id, them)."""
        await self.pacer.take(self.user_id)
        before = len(self.sent())
        update = self.telegram.message(
            self.chat_id,
            text,
            user_id=self.user_id,
            chat_type=self.chat_type,
            language_code="en",
        )
        await self.telegram.wait_sent(self.chat_id, before + replies)
        return update["message"]["message_id"], self.sent()[before:]

    async def press(self, data: str, *, message_id: int | None = None) -> str:
        """Press a button (of the bot's last message by default); returns the answer text."""
        await self.pacer.take(self.user_id)
        answers = len(self.telegram.calls_of("answerCallbackQuery"))
        self.telegram.callback(
            self.chat_id,
            data,
            user_id=self.user_id,
            message_id=message_id,
            chat_type=self.chat_type,
            language_code="en",
        )
        await poll(
            lambda: len(self.telegram.calls_of("answerCallbackQuery")) > answers,
            message=f"an answer to {data}",
        )
        return str(self.telegram.calls_of("answerCallbackQuery")[-1].params.get("text", ""))


def buttons(message: SentMessage) -> list[dict[str, Any]]:
    markup = message.reply_markup or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def datas(message: SentMessage) -> list[str]:
    return [str(b.get("callback_data", "")) for b in buttons(message)]


def assert_no_secrets(bot: BotProcess, secrets: list[str]) -> None:
    """The raw database file, its WAL and the bot's log hold none of the secrets."""
    files = [bot.db_path, bot.db_path.with_name(bot.db_path.name + "-wal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert len(raw) > 0
    log = bot.log()
    assert log
    for secret in secrets:
        assert len(secret) >= 8
        assert secret.encode() not in raw, "a secret is in the database file"
        assert secret not in log, "a secret is in the log"


def urls(message: SentMessage) -> list[str]:
    return [str(b["url"]) for b in buttons(message) if b.get("url")]
