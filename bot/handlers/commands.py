"""The command menu Telegram shows next to the input field, in Russian and English.

setMyCommands is called for the default list (DEFAULT_LANGUAGE, for users of any other
language) and for language_code "ru" and "en". /stats is listed only in the private chats of
ADMIN_IDS. A failure is logged and never stops the bot: the menu is a convenience.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.ui.i18n import LANGUAGES

__all__ = ["command_list", "set_commands"]

log = logging.getLogger(__name__)


def command_list(*, admin: bool = False) -> list[BotCommand]:
    """Every public command with its description in the current locale."""
    described = [
        ("start", _("Greeting and what I can do")),
        ("help", _("The list of commands")),
        ("search", _("Find a title")),
        ("title", _("A title's card by ID, code or link")),
        ("subscribe", _("Follow a title")),
        ("unsubscribe", _("Stop following a title")),
        ("subscriptions", _("What this chat follows")),
        ("follow", _("Hear of new titles by genre, voice, kind or season")),
        ("rules", _("This chat's follow rules")),
        ("schedule", _("The release schedule for a day")),
        ("random", _("A random title")),
        ("videos", _("AniLibria's latest videos")),
        ("favorites", _("Your AniLibria favorites")),
        ("login", _("Link your AniLibria account")),
        ("logout", _("Unlink your AniLibria account")),
        ("rss", _("Your personal RSS link")),
        ("digest", _("A daily digest: time or off")),
        ("settings", _("Language, time zone, quiet hours, notices")),
        ("export", _("Subscriptions, rules and settings as a file")),
        ("import", _("Restore them from such a file")),
        ("forget", _("Delete everything I keep about this chat")),
        ("cancel", _("Leave the current dialogue")),
    ]
    if admin:
        described.append(("stats", _("Bot statistics (operators only)")))
    return [BotCommand(command=name, description=text) for name, text in described]


async def set_commands(
    bot: Bot,
    i18n: I18n | None = None,
    *,
    default_language: str = "ru",
    admin_ids: Iterable[int] = (),
) -> None:
    """Publish the menu; uses `i18n` (or the current one) for the translations."""
    i18n = i18n or I18n.get_current(no_error=False)
    with i18n.context():
        for language in ("", *LANGUAGES):
            locale = language or default_language
            with i18n.use_locale(locale):
                commands = command_list()
            try:
                await bot.set_my_commands(
                    commands, scope=BotCommandScopeDefault(), language_code=language or None
                )
            except TelegramAPIError as exc:
                log.warning("setMyCommands (%s) failed: %s", language or "default", exc)
        for admin_id in admin_ids:
            with i18n.use_locale(default_language):
                commands = command_list(admin=True)
            try:
                await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=admin_id))
            except TelegramAPIError as exc:
                log.info("setMyCommands for admin %s failed (no chat yet?): %s", admin_id, exc)
