"""/subscribe, /unsubscribe, /subscriptions and the subscribe/unsubscribe buttons."""

from __future__ import annotations

import contextlib
import html
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.anilibria import AniLibriaError, format_ordinal
from bot.handlers.cards import display_name
from bot.handlers.catalogue import redraw_subscription_button
from bot.handlers.lookup import TitleRef, fetch_title, parse_title_ref
from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.ui.callbacks import CardCb, SubCb
from bot.ui.text import clip, title_label

__all__ = ["api_trouble", "router", "subscribe_to"]

log = logging.getLogger(__name__)
router = Router(name="subscriptions")

LIST_LIMIT = 90  # keeps one /subscriptions message well inside 4096 characters


def api_trouble() -> str:
    return _("AniLibria is not answering right now. Please try again in a minute.")


async def _refuse_non_admin(message: Message, bot: Bot) -> bool:
    if await may_manage(bot, message.chat, message.from_user):
        return False
    await message.answer(_("Only the group's admins can change what this chat follows."))
    return True


def _thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


async def subscribe_to(message: Message, services: Services, ref: TitleRef) -> None:
    """Follow the title an id or code names, in this chat (and this forum topic)."""
    try:
        title = await fetch_title(services.catalogue, ref)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if title is None:
        await message.answer(_("I could not find that title."))
        return
    # The title is stored (its present episodes are the baseline) with the subscription.
    added = await services.matcher.follow(message.chat.id, title, _thread_of(message))
    name = html.escape(display_name(title))
    text = (
        _("Subscribed to <b>{name}</b>. I will tell you when a new episode is out.")
        if added
        else _("You already follow <b>{name}</b>.")
    ).format(name=name)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("▶️ Watch"), url=services.title_url(title.alias, title.id)
                ),
                InlineKeyboardButton(
                    text=_("🔕 Unsubscribe"),
                    callback_data=SubCb(title_id=title.id, on=False, ctx="n").pack(),
                ),
            ]
        ]
    )
    await message.answer(text, reply_markup=keyboard)


async def _offer_matches(message: Message, services: Services, text: str) -> None:
    try:
        found = await services.catalogue.search(text, limit=8)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if not found:
        await message.answer(
            _("Nothing found for «{query}». Try another spelling or the English name.").format(
                query=html.escape(clip(text, 100))
            )
        )
        return
    rows = []
    for title in found:
        year = title.year or ""
        label = display_name(title)
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"➕ {label} {year}".strip(),
                    callback_data=SubCb(title_id=title.id, on=True, ctx="s").pack(),
                )
            ]
        )
    await message.answer(
        _("Which one do you want to follow?"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.message(Command("subscribe"))
async def subscribe_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    ref = parse_title_ref(command.args or "")
    if ref is None:
        await message.answer(
            _("Tell me what to follow: /subscribe followed by an ID, a code, a link or a name.")
        )
        return
    if await _refuse_non_admin(message, bot):
        return
    if ref.text is not None:
        await _offer_matches(message, services, ref.text)
        return
    await subscribe_to(message, services, ref)


async def _resolve_followed_id(services: Services, chat_id: int, ref: TitleRef) -> int | None:
    if ref.title_id is not None:
        return ref.title_id
    if ref.code is not None:
        record = await services.titles.get_by_code(ref.code)
        if record is not None:
            return record.id
    return None


@router.message(Command("unsubscribe"))
async def unsubscribe_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    ref = parse_title_ref(command.args or "")
    if ref is None:
        await list_subscriptions(message, services)
        return
    if await _refuse_non_admin(message, bot):
        return
    title_id = await _resolve_followed_id(services, message.chat.id, ref)
    if title_id is None or not await services.subscriptions.remove(message.chat.id, title_id):
        await message.answer(_("This chat does not follow that title. See /subscriptions."))
        return
    record = await services.titles.get(title_id)
    name = (
        title_label(record.name_ru, record.name_en, record.code or str(title_id), 100)
        if record
        else str(title_id)
    )
    await message.answer(_("Unsubscribed from <b>{name}</b>.").format(name=html.escape(name)))


def _subscriptions_view(
    followed: list[tuple[int, str, float | None, int | None]],
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not followed:
        return (
            _("This chat follows nothing yet. Try /search or /subscribe."),
            None,
        )
    lines = [
        ngettext(
            "This chat follows {count} title:",
            "This chat follows {count} titles:",
            len(followed),
        ).format(count=len(followed))
    ]
    rows = []
    for title_id, label, last, total in followed[:LIST_LIMIT]:
        progress = f" — {format_ordinal(last or 0)}/{total or '?'}"
        lines.append(f"• {html.escape(label)}{progress}")
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"ℹ️ {clip(label, 40)}", callback_data=CardCb(title_id=title_id).pack()
                ),
                InlineKeyboardButton(
                    text="🔕", callback_data=SubCb(title_id=title_id, on=False, ctx="l").pack()
                ),
            ]
        )
    if len(followed) > LIST_LIMIT:
        lines.append(_("…and {count} more.").format(count=len(followed) - LIST_LIMIT))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows[:LIST_LIMIT])


async def _followed(
    services: Services, chat_id: int
) -> list[tuple[int, str, float | None, int | None]]:
    return [
        (
            item.title_id,
            title_label(item.name_ru, item.name_en, item.code or f"#{item.title_id}"),
            item.last_episode,
            item.episodes_total,
        )
        for item in await services.subscriptions.list_for_chat(chat_id)
    ]


@router.message(Command("subscriptions"))
async def list_subscriptions(message: Message, services: Services) -> None:
    text, keyboard = _subscriptions_view(await _followed(services, message.chat.id))
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(SubCb.filter())
async def subscription_button(
    query: CallbackQuery, callback_data: SubCb, services: Services, bot: Bot
) -> None:
    message = query.message
    if message is None or not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, message.chat, query.from_user):
        await query.answer(
            _("Only the group's admins can change what this chat follows."), show_alert=True
        )
        return
    chat_id = message.chat.id
    if callback_data.on:
        try:
            title = await fetch_title(services.catalogue, TitleRef(title_id=callback_data.title_id))
        except AniLibriaError:
            await query.answer(api_trouble(), show_alert=True)
            return
        if title is None:
            await query.answer(_("I could not find that title."), show_alert=True)
            return
        thread = message.message_thread_id if message.is_topic_message else None
        await services.matcher.follow(chat_id, title, thread)
        await query.answer(_("Subscribed."))
    else:
        removed = await services.subscriptions.remove(chat_id, callback_data.title_id)
        await query.answer(_("Unsubscribed.") if removed else _("Already unsubscribed."))
    if callback_data.ctx == "l":
        text, keyboard = _subscriptions_view(await _followed(services, chat_id))
        with contextlib.suppress(TelegramBadRequest):  # a double press: "not modified"
            await message.edit_text(text, reply_markup=keyboard)
    elif callback_data.ctx == "n" and not callback_data.on:
        # A notice: flip its last button so it can be undone.
        await _flip_notice_button(message, callback_data.title_id, subscribed=False)
    elif callback_data.ctx == "n":
        await _flip_notice_button(message, callback_data.title_id, subscribed=True)
    elif callback_data.ctx in ("s", "c", "f"):  # search page, card (catalogue.py), /favorites
        await redraw_subscription_button(
            message, callback_data.title_id, subscribed=callback_data.on
        )


async def _flip_notice_button(message: Message, title_id: int, *, subscribed: bool) -> None:
    markup = message.reply_markup
    if markup is None:
        return
    rows = [list(row) for row in markup.inline_keyboard]
    for row_index, row in enumerate(rows):
        for index, button in enumerate(row):
            if button.callback_data and button.callback_data.startswith(f"{SubCb.__prefix__}:"):
                rows[row_index][index] = InlineKeyboardButton(
                    text=_("🔕 Unsubscribe") if subscribed else _("🔔 Subscribe again"),
                    callback_data=SubCb(title_id=title_id, on=not subscribed, ctx="n").pack(),
                )
    with contextlib.suppress(TelegramBadRequest):  # a double press: "not modified"
        await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
