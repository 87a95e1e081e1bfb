"""/start, /help, membership changes and the polite fallbacks."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    CommandStart,
)
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from bot.handlers.lookup import TitleRef
from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.handlers.subscriptions import subscribe_to

__all__ = ["help_text", "router"]

log = logging.getLogger(__name__)
router = Router(name="common")


def help_text() -> str:
    return "\n".join(
        [
            _("I tell you the moment a new AniLibria episode of a series you follow is out."),
            "",
            _("<b>Following</b>"),
            _("/subscribe ID, code, link or name — follow a title"),
            _("/unsubscribe ID or code — stop following"),
            _("/subscriptions — what this chat follows"),
            _("/follow [genre, voice, type, season or new] — hear of new titles that match"),
            _("/rules — this chat's follow rules"),
            "",
            _("<b>Catalogue</b>"),
            _("/search text — find a title"),
            _("/title ID, code or link — a title's card"),
            _("/schedule [day] — the release schedule"),
            _("/random — a random title"),
            _("/videos — AniLibria's latest videos"),
            "",
            _("<b>Your AniLibria account</b>"),
            _("/login, /logout — link your account (private chat only)"),
            _("/favorites — your AniLibria favorites"),
            _("/rss — your personal RSS link"),
            "",
            _("<b>This chat</b>"),
            _("/digest [HH:MM or off] — a daily digest"),
            _("/settings — language, time zone, quiet hours, notices"),
            _("/export [opml], /import — this chat's subscriptions, rules and settings as a file"),
            _("/forget — delete everything I keep about this chat"),
            _("/cancel — leave any dialogue"),
        ]
    )


@router.message(CommandStart(deep_link=True))
async def start_with_payload(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    payload = command.args or ""
    if payload.startswith("sub_") and payload[4:].isdigit():
        if not await may_manage(bot, message.chat, message.from_user):
            await message.answer(_("Only the group's admins can change what this chat follows."))
            return
        await subscribe_to(message, services, TitleRef(title_id=int(payload[4:])))
        return
    await message.answer(_("Hello!") + "\n\n" + help_text())


@router.message(CommandStart())
async def start(message: Message) -> None:
    await message.answer(_("Hello!") + "\n\n" + help_text())


@router.message(Command("help"))
async def help_command(message: Message) -> None:
    await message.answer(help_text())


@router.message(F.migrate_to_chat_id)
async def group_upgraded(message: Message, services: Services) -> None:
    """The group became a supergroup: move it now, not at the first failed send."""
    assert message.migrate_to_chat_id is not None
    log.info("chat %s became supergroup %s", message.chat.id, message.migrate_to_chat_id)
    await services.chats.migrate(message.chat.id, message.migrate_to_chat_id)


@router.message(F.migrate_from_chat_id)
async def supergroup_created(message: Message, services: Services) -> None:
    assert message.migrate_from_chat_id is not None
    log.info("chat %s became supergroup %s", message.migrate_from_chat_id, message.chat.id)
    await services.chats.migrate(message.migrate_from_chat_id, message.chat.id)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=IS_MEMBER >> IS_NOT_MEMBER))
async def removed_from_chat(event: ChatMemberUpdated, services: Services) -> None:
    log.info("removed from chat %s: inactive", event.chat.id)
    await services.chats.touch(event.chat.id, event.chat.type, event.chat.title)
    await services.chats.set_active(event.chat.id, False)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=IS_NOT_MEMBER >> IS_MEMBER))
async def added_to_chat(event: ChatMemberUpdated, services: Services) -> None:
    log.info("member of chat %s again: active", event.chat.id)
    await services.chats.touch(event.chat.id, event.chat.type, event.chat.title)


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    if message.chat.type != "private":
        return  # in groups, other bots' commands are not ours to answer
    await message.answer(_("I don't know that command. /help lists what I can do."))


@router.callback_query()
async def stale_callback(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid."), show_alert=False)
