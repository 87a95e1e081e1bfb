"""Who may change a chat's subscriptions and settings: anyone in private, admins in groups."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, User

__all__ = ["may_manage"]

_MANAGERS = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR}


async def may_manage(bot: Bot, chat: Chat, user: User | None) -> bool:
    if chat.type == ChatType.PRIVATE:
        return True
    if user is None:
        return False
    if user.id == 1087968824:  # GroupAnonymousBot: an anonymous admin speaking for the group
        return True
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramAPIError:
        return False
    return member.status in _MANAGERS
