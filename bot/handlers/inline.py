"""Inline mode: "@bot name" in any chat lists titles; picking one posts its card.

A posted card is sent by the user, not by the bot, so it cannot carry callback buttons that act
for a chat: its "Subscribe" button is a deep link (/start sub_ID) that opens the bot, where
common.py subscribes. Results are paged by Telegram's `next_offset` and share the search cache.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ParseMode
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from aiogram.utils.i18n import gettext as _

from bot.anilibria import AniLibriaError, Title
from bot.handlers.cards import display_name, inline_description, render_card
from bot.handlers.catalogue import cached_search, normalise_query
from bot.handlers.services import Services
from bot.ui.text import TitleLinks

__all__ = ["INLINE_PAGE", "inline_result", "router"]

log = logging.getLogger(__name__)
router = Router(name="inline")

INLINE_PAGE = 50  # Telegram's maximum per answer
INLINE_CARD_LIMIT = 1500  # a posted card stays compact; the site link has the rest
CACHE_TIME = 30
MAX_OFFSET = 10_000


def inline_result(
    title: Title, *, links: TitleLinks, bot_username: str | None
) -> InlineQueryResultArticle:
    card = render_card(
        title, links=links, subscribed=None, limit=INLINE_CARD_LIMIT, with_buttons=False
    )
    buttons = [InlineKeyboardButton(text=_("▶️ Watch"), url=links(title.alias, title.id))]
    if bot_username:
        buttons.insert(
            0,
            InlineKeyboardButton(
                text=_("🔔 Subscribe"), url=f"https://t.me/{bot_username}?start=sub_{title.id}"
            ),
        )
    return InlineQueryResultArticle(
        id=f"t{title.id}",
        title=display_name(title, 100),
        description=inline_description(title),
        thumbnail_url=title.poster,
        input_message_content=InputTextMessageContent(
            message_text=card.text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
    )


def _offset(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) < MAX_OFFSET else 0


@router.inline_query()
async def inline_search(inline_query: InlineQuery, services: Services, bot: Bot) -> None:
    query = normalise_query(inline_query.query)
    if not query:
        await inline_query.answer(
            [],
            cache_time=CACHE_TIME,
            is_personal=False,
            button=InlineQueryResultsButton(
                text=_("Type a title's name to search AniLibria"), start_parameter="inline"
            ),
        )
        return
    offset = _offset(inline_query.offset)
    try:
        found = await cached_search(services, query, offset, INLINE_PAGE + 1)
    except AniLibriaError as exc:
        log.info("inline search %r failed: %s", query, exc)
        await inline_query.answer(
            [],
            cache_time=1,
            is_personal=False,
            button=InlineQueryResultsButton(
                text=_("AniLibria is not answering, try again later"), start_parameter="inline"
            ),
        )
        return
    me = await bot.me()
    results: list[InlineQueryResultUnion] = [
        inline_result(title, links=services.title_url, bot_username=me.username)
        for title in found[:INLINE_PAGE]
    ]
    has_next = len(found) > INLINE_PAGE
    hint = None
    if not results and offset == 0:
        hint = InlineQueryResultsButton(
            text=_("Nothing found: try another spelling"), start_parameter="inline"
        )
    await inline_query.answer(
        results,
        cache_time=CACHE_TIME,
        is_personal=False,
        next_offset=str(offset + INLINE_PAGE) if has_next else "",
        button=hint,
    )
