"""The /follow builder: a rule put together with buttons, one message edited in place.

Genres, kinds and seasons are buttons (the API's own genre list); a voice actor is typed, then
checked against the API's list (the closest names offered when it is not there). The draft
lives in the FSM data of the user who started it, in this chat. Saving goes through
:func:`bot.handlers.rules.save_rule`, like the typed form.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.anilibria import SEASONS, AniLibriaError, TitleKind
from bot.handlers.permissions import may_manage
from bot.handlers.rule_save import refusal, save_rule
from bot.handlers.rule_text import MAX_NAME, MAX_PARTS, RuleDraft, closest, draft_of, resolve
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.ui.callbacks import FollowCb
from bot.ui.labels import describe_rule, kind_name, season_name
from bot.ui.text import clip

__all__ = ["RuleBuilder", "router", "start_builder"]

router = Router(name="rule_builder")

GENRES_PER_PAGE = 24
_STEPS = frozenset(
    {"main", "genres", "g", "kinds", "k", "seasons", "s", "y", "voice", "vpick", "sub", "clear"}
)


class RuleBuilder(StatesGroup):
    editing = State()
    voice = State()  # waiting for a voice actor's name


def _button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=FollowCb(action=action, value=value).pack()
    )


def _main_view(draft: RuleDraft) -> tuple[str, InlineKeyboardMarkup]:
    label = describe_rule(draft.genres, draft.voices, draft.kind, draft.season, draft.year)
    mark = "✅" if draft.also_subscribe else "⬜"
    text = "\n".join(
        [
            _("🧩 <b>A new rule</b>: {rule}").format(rule=html.escape(label)),
            "",
            _(
                "Add genres, voice actors, a kind or a season: a new title must match all of "
                "them. Nothing chosen means every new title."
            ),
        ]
    )
    rows = [
        [_button(_("🎭 Genre"), "genres", "0"), _button(_("🎙 Voice actor"), "voice")],
        [_button(_("📺 Kind"), "kinds"), _button(_("🗓 Season"), "seasons")],
        [_button(mark + " " + _("Also subscribe to each match"), "sub")],
        [_button(_("💾 Save"), "save"), _button(_("↩️ Start over"), "clear")],
        [_button(_("✖️ Cancel"), "cancel")],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _genres_view(draft: RuleDraft, known: list[str], page: int) -> tuple[str, InlineKeyboardMarkup]:
    start = page * GENRES_PER_PAGE
    chosen = {g.casefold() for g in draft.genres}
    buttons = [
        _button(("✅ " if name.casefold() in chosen else "") + clip(name, 30), "g", str(i))
        for i, name in enumerate(known)
    ][start : start + GENRES_PER_PAGE]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    paging = []
    if page > 0:
        paging.append(_button("«", "genres", str(page - 1)))
    if start + GENRES_PER_PAGE < len(known):
        paging.append(_button("»", "genres", str(page + 1)))
    if paging:
        rows.append(paging)
    rows.append([_button(_("« Back"), "main")])
    return _("🎭 Pick genres (a title must have every one picked):"), InlineKeyboardMarkup(
        inline_keyboard=rows
    )


def _kinds_view() -> tuple[str, InlineKeyboardMarkup]:
    kinds = [k for k in TitleKind if k is not TitleKind.OTHER]
    buttons = [_button(kind_name(k.value), "k", k.value) for k in kinds]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([_button(_("Any kind"), "k", ""), _button(_("« Back"), "main")])
    return _("📺 Which kind of title?"), InlineKeyboardMarkup(inline_keyboard=rows)


def _seasons_view() -> tuple[str, InlineKeyboardMarkup]:
    rows = [[_button(season_name(s), "s", s) for s in SEASONS]]
    rows.append([_button(_("Any season"), "s", ""), _button(_("« Back"), "main")])
    return _("🗓 Which season?"), InlineKeyboardMarkup(inline_keyboard=rows)


def _years_view() -> tuple[str, InlineKeyboardMarkup]:
    this_year = dt.date.today().year
    rows = [[_button(str(y), "y", str(y)) for y in (this_year - 1, this_year, this_year + 1)]]
    rows.append([_button(_("« Back"), "seasons")])
    return _("🗓 Of which year?"), InlineKeyboardMarkup(inline_keyboard=rows)


def _voice_prompt() -> tuple[str, InlineKeyboardMarkup]:
    text = _("🎙 Send me the voice actor's name (as AniLibria writes it).")
    return text, InlineKeyboardMarkup(inline_keyboard=[[_button(_("« Back"), "main")]])


async def start_builder(message: Message, state: FSMContext, services: Services) -> None:
    await state.set_state(RuleBuilder.editing)
    await state.update_data(draft=RuleDraft().as_dict(), genres_known=None, vchoices=None)
    text, keyboard = _main_view(RuleDraft())
    await message.answer(text, reply_markup=keyboard)


async def _edit(message: Message, view: tuple[str, InlineKeyboardMarkup | None]) -> None:
    with contextlib.suppress(TelegramBadRequest):  # "not modified" after a double press
        await message.edit_text(view[0], reply_markup=view[1])


def _toggle(names: list[str], name: str) -> None:
    folded = [n.casefold() for n in names]
    if name.casefold() in folded:
        del names[folded.index(name.casefold())]
    elif len(names) < MAX_PARTS:
        names.append(name)


async def _step(
    action: str, value: str, draft: RuleDraft, data: dict[str, Any], services: Services
) -> tuple[str, InlineKeyboardMarkup]:
    """Apply one press to the draft (in place); the view to show next."""
    if action in ("genres", "g"):
        known = data.get("genres_known")
        if not isinstance(known, list):
            known = await services.known.genres()
            data["genres_known"] = known
        page = int(value) // GENRES_PER_PAGE if action == "g" and value.isdigit() else 0
        if action == "genres":
            page = int(value) if value.isdigit() else 0
        elif value.isdigit() and int(value) < len(known):
            _toggle(draft.genres, str(known[int(value)]))
        return _genres_view(draft, [str(k) for k in known], page)
    if action == "kinds":
        return _kinds_view()
    if action == "k":
        draft.kind = value if value in TitleKind.__members__ else None
    elif action == "seasons":
        return _seasons_view()
    elif action == "s":
        draft.season = value if value in SEASONS else None
        if draft.season is None:
            draft.year = None
        else:
            return _years_view()
    elif action == "y" and value.isdigit():
        draft.year = int(value)
    elif action == "voice":
        return _voice_prompt()
    elif action == "vpick":
        choices = data.get("vchoices")
        if isinstance(choices, list) and value.isdigit() and int(value) < len(choices):
            _toggle(draft.voices, str(choices[int(value)]))
    elif action == "sub":
        draft.also_subscribe = not draft.also_subscribe
    elif action == "clear":
        draft.genres, draft.voices, draft.kind, draft.season, draft.year = [], [], None, None, None
        draft.also_subscribe = False
    return _main_view(draft)


@router.callback_query(FollowCb.filter(F.action.in_(_STEPS | {"save", "cancel"})))
async def builder_button(
    query: CallbackQuery, callback_data: FollowCb, services: Services, bot: Bot, state: FSMContext
) -> None:
    message = query.message
    data = await state.get_data()
    if not isinstance(message, Message) or await state.get_state() is None or "draft" not in data:
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, message.chat, query.from_user):
        await query.answer(refusal(), show_alert=True)
        return
    draft = draft_of(data.get("draft"))
    action = callback_data.action
    if action == "cancel":
        await state.clear()
        await query.answer()
        await _edit(message, (_("Cancelled. No rule was saved."), None))
        return
    try:
        if action == "save":
            thread = message.message_thread_id if message.is_topic_message else None
            view = await save_rule(services, message.chat.id, draft, thread, unchecked=False)
            await state.clear()
        else:
            view = await _step(action, callback_data.value, draft, data, services)
            data["draft"] = draft.as_dict()
            await state.set_data(data)
            await state.set_state(RuleBuilder.voice if action == "voice" else RuleBuilder.editing)
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    await query.answer()
    await _edit(message, view)


@router.message(RuleBuilder.voice)
async def voice_typed(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    text = (message.text or "").strip()
    if text.startswith("/"):  # another command: the builder waits, the command runs
        await state.set_state(RuleBuilder.editing)
        raise SkipHandler
    if not await may_manage(bot, message.chat, message.from_user):
        return
    if not text or len(text) > MAX_NAME:
        await message.answer(_("Please send the voice actor's name as text."))
        return
    data = await state.get_data()
    draft = draft_of(data.get("draft"))
    try:
        known = await services.known.voices()
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    found = text if known is None else resolve(text, known)
    if found is None:
        choices = closest(text, known or [])
        await state.update_data(vchoices=choices)
        rows = [[_button(clip(c, 60), "vpick", str(i))] for i, c in enumerate(choices)]
        rows.append([_button(_("« Back"), "main")])
        await state.set_state(RuleBuilder.editing)
        reply = _("AniLibria knows no voice actor «{name}».").format(
            name=html.escape(clip(text, 60))
        )
        hint = _("Did you mean one of these?") if choices else _("Send another name, or go back.")
        if not choices:
            await state.set_state(RuleBuilder.voice)
        await message.answer(
            reply + "\n" + hint, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )
        return
    _toggle(draft.voices, found)
    await state.update_data(draft=draft.as_dict())
    await state.set_state(RuleBuilder.editing)
    view = _main_view(draft)
    await message.answer(view[0], reply_markup=view[1])
