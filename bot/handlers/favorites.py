"""/favorites, the add/remove favorites buttons, and "follow my favorites" in a chat.

Each press acts with the presser's own session, looked up by their Telegram id: callback data
only names a title or a page, never a user whose session would be used. A /favorites list in a
group pages only for the user who asked, and offers no remove buttons (favorites are changed
in the private chat, where nobody else sees them).
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.account.links import SessionExpired
from bot.anilibria import AniLibriaError, NotFoundError, format_ordinal
from bot.handlers.account import private_chat_keyboard
from bot.handlers.favorite_button import favorite_button
from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.notify.render import expired_text
from bot.ui.callbacks import CardCb, FavCb, FollowFavCb, PageCb, SubCb
from bot.ui.text import clip, title_label

__all__ = ["PAGE_SIZE", "router"]

log = logging.getLogger(__name__)
router = Router(name="favorites")

PAGE_SIZE = 8


def _not_logged_in() -> str:
    return _("You are not logged in. /login links your AniLibria account.")


def _follow_button(following: bool) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🔕 Stop following my favorites here")
        if following
        else _("🔔 Follow my favorites in this chat"),
        callback_data=FollowFavCb(on=not following).pack(),
    )


async def _favorites_view(
    services: Services, chat_id: int, owner_id: int, offset: int, *, private: bool
) -> tuple[str, InlineKeyboardMarkup]:
    ids = await services.sessions.favorite_ids(owner_id)
    records = await services.titles.get_many(ids)
    entries = sorted(
        (
            (
                title_label(
                    records[i].name_ru if i in records else None,
                    records[i].name_en if i in records else None,
                    (records[i].code if i in records else None) or f"#{i}",
                ),
                i,
            )
            for i in ids
        ),
        key=lambda entry: (entry[0].casefold(), entry[1]),
    )
    subscribed = await services.subscriptions.title_ids(chat_id)
    chat = await services.chats.get(chat_id)
    following = chat is not None and chat.follow_favorites_of == owner_id
    total = len(entries)
    offset = max(0, min(offset, (total - 1) // PAGE_SIZE * PAGE_SIZE if total else 0))
    rows: list[list[InlineKeyboardButton]] = []
    if not entries:
        lines = [
            _(
                "⭐ Your AniLibria favorites are empty. Add titles on the site, or with ⭐ on a "
                "title's card in our private chat."
            )
        ]
    else:
        lines = [
            ngettext(
                "⭐ Your AniLibria favorites ({count} title):",
                "⭐ Your AniLibria favorites ({count} titles):",
                total,
            ).format(count=total)
        ]
    for number, (label, title_id) in enumerate(
        entries[offset : offset + PAGE_SIZE], start=offset + 1
    ):
        record = records.get(title_id)
        last = record.last_episode if record else None
        episodes = record.episodes_total if record else None
        line = f"{number}. {html.escape(label)}"
        if last is not None:  # v1's favorites answer names no episode: no progress then
            line += f" — {format_ordinal(last)}/{episodes or '?'}"
        lines.append(line)
        is_subscribed = title_id in subscribed
        row = [
            InlineKeyboardButton(
                text=f"ℹ️ {number}. {clip(label, 28)}",
                callback_data=CardCb(title_id=title_id).pack(),
            ),
            InlineKeyboardButton(
                text="🔕" if is_subscribed else "🔔",
                callback_data=SubCb(title_id=title_id, on=not is_subscribed, ctx="f").pack(),
            ),
        ]
        if private:
            row.append(favorite_button(title_id, True, compact=True))
        rows.append(row)
    navigation = []
    if offset > 0:
        navigation.append(
            InlineKeyboardButton(
                text="◀️",
                callback_data=PageCb(
                    what="f", offset=max(0, offset - PAGE_SIZE), token=str(owner_id)
                ).pack(),
            )
        )
    if offset + PAGE_SIZE < total:
        navigation.append(
            InlineKeyboardButton(
                text="▶️",
                callback_data=PageCb(
                    what="f", offset=offset + PAGE_SIZE, token=str(owner_id)
                ).pack(),
            )
        )
    if navigation:
        lines.append(
            _("Page {page} of {pages}").format(
                page=offset // PAGE_SIZE + 1, pages=(total - 1) // PAGE_SIZE + 1
            )
        )
        rows.append(navigation)
    if following:
        lines.append("")
        lines.append(_("🔔 This chat gets a notice for each new episode of these titles."))
    rows.append([_follow_button(following)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("favorites"))
async def favorites_command(message: Message, services: Services, bot: Bot) -> None:
    user = message.from_user
    if user is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    accounts = services.accounts
    linked = await accounts.session_of(user.id)
    if linked is None:
        if private:
            await message.answer(_not_logged_in())
        else:
            keyboard = await private_chat_keyboard(bot, _("🔐 Open the private chat"), "login")
            await message.answer(
                _("Log in in a private chat with me first; then /favorites works here too."),
                reply_markup=keyboard,
            )
        return
    try:
        await accounts.refresh_favorites(linked)
    except SessionExpired:
        if not private:  # in private, the expiry notice itself is the answer
            await message.answer(expired_text())
        return
    except AniLibriaError as exc:
        log.warning("user %s: getFavorites failed: %s", user.id, exc)
        await message.answer(api_trouble())
        return
    text, keyboard = await _favorites_view(services, message.chat.id, user.id, 0, private=private)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(PageCb.filter(F.what == "f"))
async def favorites_page(query: CallbackQuery, callback_data: PageCb, services: Services) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    if callback_data.token != str(query.from_user.id):
        await query.answer(
            _("This list belongs to someone else. Send /favorites to see yours."), show_alert=True
        )
        return
    if not await services.accounts.is_linked(query.from_user.id):
        await query.answer(_not_logged_in(), show_alert=True)
        return
    text, keyboard = await _favorites_view(
        services,
        message.chat.id,
        query.from_user.id,
        callback_data.offset,
        private=message.chat.type == ChatType.PRIVATE,
    )
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=keyboard)


def _replace_button(
    markup: InlineKeyboardMarkup | None,
    wanted: Callable[[str], bool],
    make: Callable[[InlineKeyboardButton], InlineKeyboardButton],
) -> InlineKeyboardMarkup | None:
    """The markup with every button whose callback data is `wanted` remade; None: no such."""
    if markup is None:
        return None
    changed = False
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            if button.callback_data is not None and wanted(button.callback_data):
                new_row.append(make(button))
                changed = True
            else:
                new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows) if changed else None


@router.callback_query(FavCb.filter())
async def favorite_pressed(query: CallbackQuery, callback_data: FavCb, services: Services) -> None:
    message = query.message
    chat = message.chat if message is not None else None
    if chat is None or chat.type != ChatType.PRIVATE or chat.id != query.from_user.id:
        await query.answer(
            _("Favorites can be changed only in a private chat with me."), show_alert=True
        )
        return
    accounts = services.accounts
    linked = await accounts.session_of(query.from_user.id)
    if linked is None:
        await query.answer(_not_logged_in(), show_alert=True)
        return
    try:
        await accounts.set_favorite(linked, callback_data.title_id, callback_data.add)
    except SessionExpired:
        await query.answer(_("Your AniLibria session has expired: /login again."), show_alert=True)
        return
    except NotFoundError:
        await query.answer(_("I could not find that title."), show_alert=True)
        return
    except AniLibriaError as exc:
        log.warning("user %s: a favorites change failed: %s", query.from_user.id, exc)
        await query.answer(api_trouble(), show_alert=True)
        return
    await query.answer(
        _("⭐ Added to your favorites.") if callback_data.add else _("Removed from your favorites.")
    )
    if isinstance(message, Message):
        pressed = callback_data.pack()
        markup = _replace_button(
            message.reply_markup,
            lambda data: data == pressed,
            lambda old: favorite_button(
                callback_data.title_id, callback_data.add, compact=len(old.text) <= 2
            ),
        )
        if markup is not None:
            with contextlib.suppress(TelegramBadRequest):
                await message.edit_reply_markup(reply_markup=markup)


@router.callback_query(FollowFavCb.filter())
async def follow_pressed(
    query: CallbackQuery, callback_data: FollowFavCb, services: Services, bot: Bot
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    chat, user = message.chat, query.from_user
    if chat.type == ChatType.PRIVATE and chat.id != user.id:
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, chat, user):
        await query.answer(
            _("Only the group's admins can change what this chat follows."), show_alert=True
        )
        return
    accounts = services.accounts
    if callback_data.on:
        linked = await accounts.session_of(user.id)
        if linked is None:
            await query.answer(_not_logged_in(), show_alert=True)
            return
        try:
            await accounts.refresh_favorites(linked)
        except SessionExpired:
            await query.answer(
                _("Your AniLibria session has expired: /login again."), show_alert=True
            )
            return
        except AniLibriaError:
            await query.answer(api_trouble(), show_alert=True)
            return
        await services.chats.update(chat.id, follow_favorites_of=user.id)
        # The baseline of their news where it is missing, before saying they are followed.
        await accounts.list_favorites(user.id)
        await query.answer(
            _("🔔 This chat now gets a notice for each new episode of your AniLibria favorites."),
            show_alert=True,
        )
    else:
        await services.chats.update(chat.id, follow_favorites_of=None)
        await query.answer(_("🔕 This chat no longer follows anyone's favorites."))
    markup = _replace_button(
        message.reply_markup,
        lambda data: data.startswith(f"{FollowFavCb.__prefix__}:"),
        lambda old: _follow_button(callback_data.on),
    )
    if markup is not None:
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=markup)
