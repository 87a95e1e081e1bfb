"""/export, /export opml and /import: a chat's subscriptions, rules and settings as a file, and
back into this or another chat (or another bot).

/import takes the file attached to the command (the caption), the file the command replies to,
or the next file sent after a bare /import. The file is read and checked whole before anything
changes (transfer_format); titles this bot has never stored are read from the API first, and
then everything is written in one transaction: a bad file, or an API that does not answer,
changes nothing. Imported subscriptions and rules are added to what the chat has; settings are
replaced. In groups only admins import.

/export opml lists one torrent RSS feed per followed title (v1 only: v2 has no such feeds),
personalised with the user's passkey in a private chat when an account is linked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import io
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, Document, Message
from aiogram.utils.i18n import gettext as _

from bot.account.links import SessionExpired
from bot.anilibria import AniLibriaError, Title
from bot.handlers.permissions import may_manage
from bot.handlers.rule_save import MAX_RULES, refusal
from bot.handlers.rule_text import filter_of
from bot.handlers.services import Services
from bot.handlers.settings import canonical_zone
from bot.handlers.subscriptions import api_trouble
from bot.handlers.transfer_format import (
    MAX_BYTES,
    ExportFile,
    ImportError_,
    build_export,
    kinds_of,
    read_export,
)
from bot.handlers.transfer_opml import build_opml
from bot.notify.rules import rule_terms
from bot.ui.clock import parse_hhmm
from bot.ui.i18n import resolve_language
from bot.ui.text import title_label
from storage import ChatRepo, RuleRepo, RuleSpec, SubscriptionRepo

__all__ = ["router"]

log = logging.getLogger(__name__)
router = Router(name="transfer")

FETCHES_AT_ONCE = 4


class ImportForm(StatesGroup):
    file = State()  # a bare /import waits for the file


def _thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


# -- /export ---------------------------------------------------------------------------------


@router.message(Command("export"))
async def export_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    what = (command.args or "").strip().lower()
    if what == "opml":
        await _export_opml(message, services)
        return
    if what:
        await message.answer(_("Use /export for a JSON file, or /export opml for torrent feeds."))
        return
    chat = await services.chats.touch(message.chat.id, message.chat.type, message.chat.title)
    followed = await services.subscriptions.list_for_chat(chat.id)
    named = [
        (item, title_label(item.name_ru, item.name_en, item.code or f"#{item.title_id}", 200))
        for item in followed
    ]
    rules = await services.rules.list_for_chat(chat.id)
    data = build_export(chat, named, rules, upstream=services.settings.anilibria_api)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    document = BufferedInputFile(data, filename=f"anilibria-bot-{stamp}.json")
    caption = _(
        "📦 This chat's {subs} subscriptions, {rules} rules and settings. Send this file with "
        "/import (as the caption) in any chat to restore them there."
    ).format(subs=len(followed), rules=len(rules))
    await message.answer_document(document, caption=caption)


async def _export_opml(message: Message, services: Services) -> None:
    followed = await services.subscriptions.list_for_chat(message.chat.id)
    if not followed:
        await message.answer(_("This chat follows nothing yet, so there are no feeds to export."))
        return
    user = message.from_user
    personal = message.chat.type == "private" and user is not None
    linked = await services.accounts.session_of(user.id) if personal and user else None
    ids = [item.title_id for item in followed]
    api = services.account_api
    try:
        if linked is not None:
            urls = await services.accounts.call(
                linked, lambda token: api.title_feed_urls(token, ids)
            )
        else:
            urls = await api.title_feed_urls(None, ids)
    except SessionExpired:
        linked, urls = None, await api.title_feed_urls(None, ids)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if not urls:
        await message.answer(
            _(
                "Sorry: this AniLibria API (v2) has no torrent feed per title, so there is "
                "nothing to put into an OPML file. /export gives your subscriptions as JSON."
            )
        )
        return
    entries = [
        (
            title_label(item.name_ru, item.name_en, item.code or f"#{item.title_id}", 200),
            urls[item.title_id],
            services.title_url(item.code, item.title_id),
        )
        for item in followed
        if item.title_id in urls
    ]
    data = build_opml(_("AniLibria torrents"), entries)
    caption = (
        _("🧲 Torrent feeds of {count} titles, personalised with your passkey: keep it private.")
        if linked is not None
        else _("🧲 Torrent feeds of {count} titles. /login in a private chat adds your passkey.")
    ).format(count=len(entries))
    document = BufferedInputFile(data, filename="anilibria-torrents.opml")
    await message.answer_document(document, caption=caption)


# -- /import ---------------------------------------------------------------------------------


def _refused(error: ImportError_) -> str:
    reasons = {
        "size": _("This file is too big for an export of this bot (at most {kb} KB).").format(
            kb=MAX_BYTES // 1024
        ),
        "json": _("This file is not a JSON export of this bot: it is not JSON at all."),
        "foreign": _("This file is not an export of this bot (/export makes one)."),
        "newer": _("This file was made by a newer version of the bot; I cannot read it."),
        "invalid": _("This export is damaged: the field «{field}» is wrong.").format(
            field=html.escape(error.detail)
        ),
    }
    return reasons.get(error.reason, reasons["invalid"]) + "\n" + _("Nothing was changed.")


async def _download(bot: Bot, document: Document) -> bytes | None:
    """The file's bytes; None when it is larger than any export."""
    if document.file_size is not None and document.file_size > MAX_BYTES:
        return None
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    data = buffer.getvalue()
    return None if len(data) > MAX_BYTES else data


async def _fetch_titles(services: Services, ids: list[int]) -> tuple[list[Title], list[int]]:
    """The titles this bot has not stored, read from the API; (found, unknown to the API)."""
    gate = asyncio.Semaphore(FETCHES_AT_ONCE)

    async def one(title_id: int) -> Title | None:
        async with gate:
            return await services.catalogue.title(title_id)

    results = await asyncio.gather(*(one(i) for i in ids))
    found = [t for t in results if t is not None]
    missing = [i for i, t in zip(ids, results, strict=True) if t is None]
    return found, missing


def _settings_changes(parsed: ExportFile) -> dict[str, object]:
    settings = parsed.settings
    quiet = settings.quiet_hours
    hhmm = {
        value: t.strftime("%H:%M")
        for value in ([quiet.start, quiet.end] if quiet else [])
        if (t := parse_hhmm(value)) is not None
    }
    return {
        "language": settings.language,
        "timezone": canonical_zone(settings.timezone) if settings.timezone else None,
        "quiet_start": hhmm[quiet.start] if quiet else None,
        "quiet_end": hhmm[quiet.end] if quiet else None,
        "kinds": kinds_of(settings.notices),
        "digest_only": int(settings.digest.only),
        "digest_when_empty": int(settings.digest.when_empty),
    }


async def _apply(message: Message, services: Services, parsed: ExportFile) -> str:
    chat_id = message.chat.id
    if parsed.settings.timezone and canonical_zone(parsed.settings.timezone) is None:
        raise ImportError_("invalid", "settings.timezone")
    wanted = list(dict.fromkeys(s.id for s in parsed.subscriptions))
    stored = await services.titles.get_many(set(wanted))
    found, missing = await _fetch_titles(services, [i for i in wanted if i not in stored])
    thread = _thread_of(message)
    added_subs = added_rules = 0
    matcher = services.matcher
    async with matcher.db.transaction() as conn:
        for title in found:
            added_subs += await matcher.follow_in(conn, chat_id, title, thread)
        for title_id in wanted:
            if title_id in stored:
                added_subs += await SubscriptionRepo.add_in(conn, chat_id, title_id, thread)
        for rule in parsed.rules:
            spec = RuleSpec(
                tuple(rule.genres), tuple(rule.voices), rule.type, rule.season, rule.year
            )
            _rule, new = await RuleRepo.add_in(
                conn,
                chat_id,
                spec,
                rule_terms(filter_of(spec)),
                also_subscribe=rule.also_subscribe,
                thread_id=thread,
                limit=MAX_RULES,
            )
            added_rules += new
        await ChatRepo.update_in(conn, chat_id, **_settings_changes(parsed))
    matcher.queued()
    chat = await services.chats.get(chat_id)
    at = parse_hhmm(parsed.settings.digest.time or "")
    if chat is not None and at is not None:
        await services.digest.set_time(chat, at)
    elif chat is not None:
        await services.digest.turn_off(chat_id)
    user = message.from_user
    language = resolve_language(
        chat.language if chat else None,
        user.language_code if user else None,
        services.settings.default_language,
    )
    with services.i18n.use_locale(language):  # the reply speaks the imported language
        lines = [
            _(
                "✅ Imported: {subs} new subscriptions, {rules} new rules; settings restored."
            ).format(subs=added_subs, rules=added_rules)
        ]
        if missing:
            ids = ", ".join(str(i) for i in missing[:20])
            lines.append(_("AniLibria does not know these titles any more: {ids}.").format(ids=ids))
        lines.append(_("See /subscriptions, /rules and /settings."))
    return "\n".join(lines)


async def _import(message: Message, services: Services, bot: Bot, document: Document) -> None:
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(refusal())
        return
    try:
        raw = await _download(bot, document)
        if raw is None:
            raise ImportError_("size")
        parsed = read_export(raw)
        text = await _apply(message, services, parsed)
    except ImportError_ as exc:
        await message.answer(_refused(exc))
        return
    except AniLibriaError:
        await message.answer(api_trouble() + "\n" + _("Nothing was changed."))
        return
    except TelegramAPIError as exc:
        log.info("import: cannot download the file: %s", exc)
        await message.answer(_("I could not download that file. Please send it again."))
        return
    await message.answer(text)


def _attached(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


@router.message(Command("import"))
async def import_command(message: Message, services: Services, bot: Bot, state: FSMContext) -> None:
    document = _attached(message)
    if document is not None:
        await _import(message, services, bot, document)
        return
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(refusal())
        return
    await state.set_state(ImportForm.file)
    await message.answer(_("Send me the file /export made (or /cancel)."))


@router.message(ImportForm.file, F.document)
async def import_file(message: Message, services: Services, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    assert message.document is not None
    await _import(message, services, bot, message.document)


@router.message(ImportForm.file, ~F.text.startswith("/"))
async def import_not_a_file(message: Message) -> None:
    await message.answer(_("That is not a file. Send the file /export made, or /cancel."))
