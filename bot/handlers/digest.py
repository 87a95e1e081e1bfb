"""/digest: a chat's daily digest time and options, and a preview of today's digest.

`/digest HH:MM` turns it on at that time in the chat's zone, `/digest off` turns it off, and
`/digest` alone shows the setting with two switches (digest instead of instant notices; one
line or nothing on an empty day) and sends today's digest as it would be now. Changes are for
a group's admins; anyone may look.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.ui.callbacks import DigestCb
from bot.ui.clock import parse_hhmm, zone
from bot.ui.text import clip
from storage import Chat

__all__ = ["OFF_WORDS", "digest_view", "router"]

log = logging.getLogger(__name__)
router = Router(name="digest")

OFF_WORDS = frozenset({"off", "выкл", "выключить", "stop", "none"})


def _admins_only() -> str:
    return _("Only the group's admins can change the digest.")


def digest_view(chat: Chat, default_timezone: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The setting as text, with the option switches when the digest is on."""
    if not chat.digest_time:
        return (
            "🗞 "
            + _("The daily digest is off.")
            + "\n"
            + _("Turn it on with /digest HH:MM, for example /digest 09:00."),
            None,
        )
    tz = zone(chat.timezone, default_timezone)
    lines = [
        "🗞 "
        + _("Daily digest: every day at <b>{time}</b> ({timezone}).").format(
            time=html.escape(chat.digest_time), timezone=html.escape(tz.key)
        )
    ]
    if chat.digest_next_due:
        upcoming = dt.datetime.fromtimestamp(chat.digest_next_due, tz)
        lines.append(_("Next one: {when}.").format(when=upcoming.strftime("%d.%m %H:%M")))
    lines.append(
        _("Instant notices: off, only the digest.")
        if chat.digest_only
        else _("Instant notices: on, as well as the digest.")
    )
    lines.append(_("/digest HH:MM changes the time, /digest off turns it off."))
    only_label = ("✅ " if chat.digest_only else "⬜ ") + _("Digest only (no instant notices)")
    empty_label = (
        _("📭 On a quiet day: one line")
        if chat.digest_when_empty
        else _("🔇 On a quiet day: no message")
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=only_label,
                    callback_data=DigestCb(
                        action="only", value="0" if chat.digest_only else "1"
                    ).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=empty_label,
                    callback_data=DigestCb(
                        action="empty", value="0" if chat.digest_when_empty else "1"
                    ).pack(),
                )
            ],
        ]
    )
    return "\n".join(lines), keyboard


async def _chat(services: Services, message: Message) -> Chat:
    chat = await services.chats.get(message.chat.id)
    if chat is None:  # the chat middleware records every chat; this is only a fallback
        chat = await services.chats.touch(message.chat.id, message.chat.type, message.chat.title)
    return chat


@router.message(Command("digest"))
async def digest_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    args = (command.args or "").strip()
    scheduler = services.digest
    default_tz = services.settings.default_timezone
    if not args:
        chat = await _chat(services, message)
        text, keyboard = digest_view(chat, default_tz)
        await message.answer(
            text + "\n\n" + _("Today's digest as it would be now:"), reply_markup=keyboard
        )
        for part in await scheduler.preview(chat, services.i18n.current_locale):
            await message.answer(part)
        return
    if args.casefold() in OFF_WORDS:
        if not await may_manage(bot, message.chat, message.from_user):
            await message.answer(_admins_only())
            return
        await scheduler.turn_off(message.chat.id)
        await message.answer(
            _("The daily digest is off. New episodes are announced the moment they are out.")
        )
        return
    at = parse_hhmm(args)
    if at is None:
        await message.answer(
            _(
                "I did not understand «{text}». Send /digest HH:MM (for example /digest 09:00) "
                "or /digest off."
            ).format(text=html.escape(clip(args, 40)))
        )
        return
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(_admins_only())
        return
    await scheduler.set_time(await _chat(services, message), at)
    text, keyboard = digest_view(await _chat(services, message), default_tz)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=keyboard)


@router.callback_query(DigestCb.filter())
async def digest_button(
    query: CallbackQuery, callback_data: DigestCb, services: Services, bot: Bot
) -> None:
    message = query.message
    if not isinstance(message, Message) or callback_data.action not in ("only", "empty"):
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, message.chat, query.from_user):
        await query.answer(_admins_only(), show_alert=True)
        return
    chat = await services.chats.get(message.chat.id)
    if chat is None or not chat.digest_time:
        await query.answer(
            _("The daily digest is off. Turn it on with /digest HH:MM first."), show_alert=True
        )
        return
    on = callback_data.value == "1"
    repo = services.digest.repo
    if callback_data.action == "only":
        await repo.set_options(chat.id, only=on)
        await query.answer(
            _("Only the digest from now on: no instant notices.")
            if on
            else _("Instant notices are back on.")
        )
    else:
        await repo.set_options(chat.id, when_empty=on)
        await query.answer(
            _("On a quiet day you get one line.") if on else _("On a quiet day you get nothing.")
        )
    fresh = await services.chats.get(chat.id)
    if fresh is None:
        return
    text, keyboard = digest_view(fresh, services.settings.default_timezone)
    with contextlib.suppress(TelegramBadRequest):  # "message is not modified" and the like
        await message.edit_text(text, reply_markup=keyboard)
