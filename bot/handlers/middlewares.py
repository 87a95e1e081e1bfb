"""Middlewares every feature relies on: who is speaking, in which language, not too often."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineQuery,
    Message,
    TelegramObject,
    Update,
    User,
)
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.handlers.services import Services
from bot.ui.i18n import resolve_language
from storage import Chat as ChatRecord

__all__ = ["ChatMiddleware", "InFlightMiddleware", "LocaleMiddleware", "ThrottlingMiddleware"]

log = logging.getLogger(__name__)


class InFlightMiddleware(BaseMiddleware):
    """The updates being handled right now (as the tasks that handle them), so that a stop
    can let them answer. Registered first on ``dp.update``; aiogram's own set is private."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if task is None:
            return await handler(event, data)
        self.tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self.tasks.discard(task)


class ChatMiddleware(BaseMiddleware):
    """Record the chat (a chat that speaks is active again) and hand it on as `chat_record`."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        services: Services = data["services"]
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if chat is not None and isinstance(event, Message | CallbackQuery):
            language = user.language_code if user is not None and chat.type == "private" else None
            data["chat_record"] = await services.chats.touch(
                chat.id, chat.type, chat.title, language
            )
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The chat's own language, then the user's Telegram language, then DEFAULT_LANGUAGE."""

    def __init__(self, i18n: I18n, default_language: str) -> None:
        super().__init__(i18n)
        self.default_language = default_language

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        record: ChatRecord | None = data.get("chat_record")
        user: User | None = data.get("event_from_user")
        return resolve_language(
            record.language if record else None,
            user.language_code if user else None,
            self.default_language,
        )


class ThrottlingMiddleware(BaseMiddleware):
    """A user who floods the bot is slowed down politely: told once, then ignored for a while.

    Each user has a small bucket (`burst` actions refilled at `rate` per second).
    """

    def __init__(self, rate: float = 1.0, burst: int = 5) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[int, tuple[float, float, bool]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        # Registered on dp.update: the event is the Update around the message or query.
        inner = event.event if isinstance(event, Update) else event
        if user is None or not isinstance(inner, Message | CallbackQuery | InlineQuery):
            return await handler(event, data)
        if isinstance(inner, Message) and data.get("raw_state") is not None:
            # A dialogue's answer (the /login password) must reach its handler, which
            # deletes it; dropping it would leave a password on screen.
            return await handler(event, data)
        now = time.monotonic()
        tokens, last, warned = self._buckets.get(user.id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[user.id] = (tokens - 1.0, now, False)
            if len(self._buckets) > 50_000:
                self._buckets.clear()
            return await handler(event, data)
        self._buckets[user.id] = (tokens, now, True)
        if not warned:
            text = await self._warning(data)
            if isinstance(inner, Message):
                await inner.answer(text)
            elif isinstance(inner, CallbackQuery):
                await inner.answer(text, show_alert=False)
        elif isinstance(inner, CallbackQuery):
            await inner.answer()  # stop the button's spinner, silently
        log.debug("throttled user %s", user.id)
        return None

    @staticmethod
    async def _warning(data: dict[str, Any]) -> str:
        """The warning in the chat's language (this runs before the locale middleware)."""
        services: Services = data["services"]
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        record = await services.chats.get(chat.id) if chat is not None else None
        locale = resolve_language(
            record.language if record else None,
            user.language_code if user else None,
            services.settings.default_language,
        )
        with services.i18n.context(), services.i18n.use_locale(locale):
            return _("Too many requests at once. Please wait a few seconds.")
