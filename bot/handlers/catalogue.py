"""/search, /title, /random and their buttons: result pages, cards, "More" and torrent files.

Search answers are cached for a minute (many people ask for the same few titles, and paging
back and forth should cost nothing); the query text of a result page lives in memory under a
short token, because callback data holds only 64 bytes. After a restart the tokens are gone
and an old page's arrows politely ask for a new search.
"""

from __future__ import annotations

import contextlib
import html
import logging
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.i18n import gettext as _

from bot.anilibria import AniLibriaError, ResponseShapeError, Title, Torrent
from bot.handlers.cards import (
    SEARCH_PAGE,
    display_name,
    flip_subscription_buttons,
    render_card,
    render_search_page,
    split_description,
    torrent_filename,
    torrent_label,
)
from bot.handlers.favorite_button import favorite_button_state
from bot.handlers.lookup import MAX_QUERY, TitleRef, fetch_title, parse_title_ref
from bot.handlers.services import Services
from bot.ui.callbacks import CardCb, PageCb, TorrentCb

__all__ = [
    "api_trouble",
    "cached_search",
    "redraw_subscription_button",
    "router",
    "send_card",
]

log = logging.getLogger(__name__)
router = Router(name="catalogue")


def api_trouble() -> str:
    return _("AniLibria is not answering right now. Please try again in a minute.")


def not_found() -> str:
    return _("I could not find that title.")


def normalise_query(text: str) -> str:
    return " ".join(text.split())[:MAX_QUERY]


async def cached_search(services: Services, query: str, offset: int, limit: int) -> list[Title]:
    """The catalogue's search through the minute-long cache (errors are not cached)."""

    async def fetch() -> list[Title]:
        return await services.catalogue.search(query, limit=limit, offset=offset)

    key = (query.casefold(), offset, limit)
    return await services.search.cache.get_or_fetch(key, fetch)


@dataclass(frozen=True, slots=True)
class SearchView:
    text: str
    keyboard: InlineKeyboardMarkup
    # The page's poster: the first result's, shown as the message's link preview, so that
    # paging (an edit of the text) changes the picture with it.
    poster: LinkPreviewOptions


async def _search_view(
    services: Services, chat: Chat, user_id: int | None, query: str, offset: int
) -> SearchView | None:
    """One result page, or None when the page is empty."""
    found = await cached_search(services, query, offset, SEARCH_PAGE + 1)
    if not found:
        return None
    page = found[:SEARCH_PAGE]
    favorites = {t.id: await favorite_button_state(services, chat, user_id, t.id) for t in page}
    text, keyboard = render_search_page(
        page,
        query=query,
        offset=offset,
        token=services.search.token_for(query),
        has_next=len(found) > SEARCH_PAGE,
        subscribed=await services.subscriptions.title_ids(chat.id),
        favorites=favorites,
    )
    poster = page[0].poster
    preview = (
        LinkPreviewOptions(url=poster, prefer_small_media=True, show_above_text=True)
        if poster
        else LinkPreviewOptions(is_disabled=True)
    )
    return SearchView(text, keyboard, preview)


def nothing_found(query: str) -> str:
    return _(
        "Nothing found for «{query}». Try fewer words, another spelling, or the name in "
        "English or Japanese (romaji)."
    ).format(query=html.escape(query[:100]))


async def answer_search(message: Message, services: Services, text: str) -> None:
    query = normalise_query(text)
    user_id = message.from_user.id if message.from_user else None
    try:
        view = await _search_view(services, message.chat, user_id, query, 0)
    except AniLibriaError as exc:
        log.info("search %r failed: %s", query, exc)
        await message.answer(api_trouble())
        return
    if view is None:
        await message.answer(nothing_found(query))
        return
    await message.answer(view.text, reply_markup=view.keyboard, link_preview_options=view.poster)


@router.message(Command("search"))
async def search_command(message: Message, command: CommandObject, services: Services) -> None:
    if not (command.args or "").strip():
        await message.answer(
            _("What should I look for? Send /search followed by a name, e.g. /search Texhnolyze")
        )
        return
    await answer_search(message, services, command.args or "")


@router.callback_query(PageCb.filter(F.what == "s"))
async def search_page_button(
    query: CallbackQuery, callback_data: PageCb, services: Services
) -> None:
    message = query.message
    text = services.search.query_of(callback_data.token)
    if text is None or not isinstance(message, Message) or not 0 <= callback_data.offset < 10_000:
        await query.answer(_("This search has expired. Please search again with /search."))
        return
    try:
        view = await _search_view(
            services, message.chat, query.from_user.id, text, callback_data.offset
        )
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    if view is None:
        await query.answer(_("There are no more results."))
        return
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):  # "message is not modified": a double press
        await message.edit_text(
            view.text, reply_markup=view.keyboard, link_preview_options=view.poster
        )


@dataclass(frozen=True, slots=True)
class Target:
    """Where a card goes: the chat (and forum topic) the request came from."""

    chat: Chat
    thread_id: int | None
    user_id: int | None


def _target_of_message(message: Message) -> Target:
    thread = message.message_thread_id if message.is_topic_message else None
    return Target(message.chat, thread, message.from_user.id if message.from_user else None)


async def send_card(bot: Bot, services: Services, target: Target, title: Title) -> None:
    """The card as a photo with a caption; as text when Telegram refuses the photo."""
    chat_id = target.chat.id
    card = render_card(
        title,
        links=services.title_url,
        subscribed=await services.subscriptions.is_subscribed(chat_id, title.id),
        favorite=await favorite_button_state(services, target.chat, target.user_id, title.id),
    )
    if card.photo_url:
        try:
            await bot.send_photo(
                chat_id,
                card.photo_url,
                caption=card.text,
                reply_markup=card.keyboard,
                message_thread_id=target.thread_id,
            )
            return
        except TelegramBadRequest as exc:
            log.info("poster of title %s refused (%s): sending text", title.id, exc.message)
    await bot.send_message(
        chat_id, card.text, reply_markup=card.keyboard, message_thread_id=target.thread_id
    )


async def _fetch(services: Services, ref: TitleRef) -> Title | None:
    return await fetch_title(services.catalogue, ref)


@router.message(Command("title"))
async def title_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    ref = parse_title_ref(command.args or "")
    if ref is None:
        await message.answer(
            _("Which title? Send /title followed by an ID, a code or a link, e.g. /title 8700")
        )
        return
    if ref.text is not None:
        text, word = ref.text, ref.text.lower()
        if not (word.isascii() and word.replace("_", "").isalnum() and len(word) <= 128):
            await answer_search(message, services, text)
            return
        ref = TitleRef(code=word)  # one word may be a code ("texhnolyze"); else a search
    try:
        title = await _fetch(services, ref)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if title is None and ref.code is not None and "-" not in ref.code:
        await answer_search(message, services, ref.code)
        return
    if title is None:
        await message.answer(not_found() + " " + _("Try /search with its name."))
        return
    await send_card(bot, services, _target_of_message(message), title)


@router.message(Command("random"))
async def random_command(message: Message, services: Services, bot: Bot) -> None:
    try:
        title = await services.catalogue.random_title()
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    await send_card(bot, services, _target_of_message(message), title)


def _target_of_query(query: CallbackQuery) -> Target | None:
    message = query.message
    if message is None:
        return None  # a button under an inline-mode message: no chat to answer in
    thread = (
        message.message_thread_id
        if isinstance(message, Message) and message.is_topic_message
        else None
    )
    return Target(message.chat, thread, query.from_user.id)


@router.callback_query(CardCb.filter())
async def card_button(
    query: CallbackQuery, callback_data: CardCb, services: Services, bot: Bot
) -> None:
    target = _target_of_query(query)
    if target is None:
        await query.answer(_("Open me in a chat to see the card."), show_alert=True)
        return
    try:
        title = await _fetch(services, TitleRef(title_id=callback_data.title_id))
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    if title is None:
        await query.answer(not_found(), show_alert=True)
        return
    await query.answer()
    if not callback_data.more:
        await send_card(bot, services, target, title)
        return
    for chunk in split_description(title):
        await bot.send_message(target.chat.id, chunk, message_thread_id=target.thread_id)


@dataclass(frozen=True, slots=True)
class TorrentFile:
    title: Title
    torrent: Torrent
    filename: str
    data: bytes


async def _torrent_file(services: Services, torrent_id: int) -> TorrentFile | None:
    """The .torrent file and what it belongs to; None when AniLibria does not know it."""
    found = await services.catalogue.torrent(torrent_id)
    if found is None:
        return None
    title, torrent = found
    try:
        data = await services.catalogue.torrent_file(torrent)
    except ResponseShapeError:  # an HTML page, or too big: not a file to send
        return None
    return TorrentFile(title, torrent, torrent_filename(title.alias, torrent), data)


@router.callback_query(TorrentCb.filter())
async def torrent_button(
    query: CallbackQuery, callback_data: TorrentCb, services: Services, bot: Bot
) -> None:
    target = _target_of_query(query)
    if target is None:
        await query.answer(_("Open me in a chat to download torrents."), show_alert=True)
        return
    try:
        found = await _torrent_file(services, callback_data.torrent_id)
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    if found is None:
        await query.answer(_("This torrent is no longer available."), show_alert=True)
        return
    await query.answer()
    name = html.escape(display_name(found.title, 300))
    caption = f"<b>{name}</b>\n{html.escape(torrent_label(found.torrent)[:300])}"
    try:
        await bot.send_document(
            target.chat.id,
            BufferedInputFile(found.data, filename=found.filename),
            caption=caption,
            message_thread_id=target.thread_id,
        )
    except TelegramBadRequest as exc:  # e.g. a file Telegram will not take
        log.warning("torrent %s: Telegram refused the file: %s", callback_data.torrent_id, exc)
        await bot.send_message(
            target.chat.id,
            _("Telegram did not accept this torrent file. Try the link on the site."),
            message_thread_id=target.thread_id,
        )


async def redraw_subscription_button(message: Message, title_id: int, *, subscribed: bool) -> None:
    """After a subscribe button of a search page or card was pressed: show the new state.

    Called by the subscriptions handler (which owns SubCb) for ctx "s" and "c".
    """
    markup = flip_subscription_buttons(message.reply_markup, title_id, subscribed=subscribed)
    if markup is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=markup)
