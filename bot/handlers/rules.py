"""/follow (the typed form), /rules, and what saving a rule shows: the rule, and the current
titles it would have matched, as the API itself filters them.

The guided builder (/follow alone) is in ``rule_builder``; both end in :func:`save_rule`. A name
the API does not know is never saved: the closest known names are offered as buttons, and the
rule is saved with the one pressed. In groups only admins make or delete rules.
"""

from __future__ import annotations

import contextlib
import html
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.anilibria import AniLibriaError
from bot.handlers.permissions import may_manage
from bot.handlers.rule_builder import start_builder
from bot.handlers.rule_save import refusal, rule_label, save_rule
from bot.handlers.rule_text import (
    RuleDraft,
    RuleSyntaxError,
    closest,
    draft_of,
    parse_rule,
    resolve,
)
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.ui.callbacks import FollowCb, RuleCb
from bot.ui.text import clip
from storage import StoredRule

__all__ = ["router", "rules_view"]

log = logging.getLogger(__name__)
router = Router(name="rules")

KNOWN_SHOWN = 40  # known names listed when nothing close to a typed one exists


def _usage() -> str:
    return _(
        "Follow a rule: I tell this chat about every new title on AniLibria that matches it.\n"
        "<code>/follow genre Comedy</code> — a genre\n"
        "<code>/follow voice NAME</code> — a voice actor\n"
        "<code>/follow type TV</code> — TV, MOVIE, OVA, ONA, SPECIAL or WEB\n"
        "<code>/follow season spring 2025</code> — a season\n"
        "<code>/follow new</code> — every new title\n"
        "Parts combine: <code>/follow genre Comedy type TV</code> (both must hold). "
        "/follow alone opens a builder with buttons; /rules lists this chat's rules."
    )


def _thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


# -- the typed form --------------------------------------------------------------------------


async def _resolve_and_save(
    message: Message, state: FSMContext, services: Services, draft: RuleDraft
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Names checked one by one; the first unknown one is answered with the closest known."""
    unchecked = False
    for slot, names in (("g", draft.genres), ("v", draft.voices)):
        if not names:
            continue
        known = await services.known.genres() if slot == "g" else await services.known.voices()
        if known is None:
            unchecked = True
            continue
        for index, name in enumerate(names):
            found = resolve(name, known)
            if found is not None:
                names[index] = found
                continue
            choices = closest(name, known)
            await state.update_data(
                follow_pick={"draft": draft.as_dict(), "slot": [slot, index], "choices": choices}
            )
            return _suggestions(slot, name, choices, known)
    thread = _thread_of(message)
    return await save_rule(services, message.chat.id, draft, thread, unchecked=unchecked)


def _suggestions(
    slot: str, name: str, choices: list[str], known: list[str]
) -> tuple[str, InlineKeyboardMarkup | None]:
    shown = html.escape(clip(name, 60))
    if slot == "g":
        text = _("AniLibria has no genre «{name}».").format(name=shown)
    else:
        text = _("AniLibria knows no voice actor «{name}».").format(name=shown)
    if not choices:
        listing = ", ".join(html.escape(k) for k in known[:KNOWN_SHOWN])
        more = " …" if len(known) > KNOWN_SHOWN else ""
        return text + "\n" + _("Known names: {names}").format(names=listing + more), None
    rows = [
        [
            InlineKeyboardButton(
                text=clip(choice, 60), callback_data=FollowCb(action="pick", value=str(i)).pack()
            )
        ]
        for i, choice in enumerate(choices)
    ]
    text += "\n" + _("Did you mean one of these?")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("follow"))
async def follow_command(
    message: Message, command: CommandObject, services: Services, bot: Bot, state: FSMContext
) -> None:
    args = (command.args or "").strip()
    if args in ("help", "?"):
        await message.answer(_usage())
        return
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(refusal())
        return
    if not args:
        await start_builder(message, state, services)
        return
    try:
        draft = parse_rule(args)
    except RuleSyntaxError:
        await message.answer(_("I did not understand that rule.") + "\n\n" + _usage())
        return
    try:
        text, keyboard = await _resolve_and_save(message, state, services, draft)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(FollowCb.filter(F.action == "pick"))
async def pick_button(
    query: CallbackQuery, callback_data: FollowCb, services: Services, bot: Bot, state: FSMContext
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, message.chat, query.from_user):
        await query.answer(refusal(), show_alert=True)
        return
    pending = (await state.get_data()).get("follow_pick")
    choices = pending.get("choices") if isinstance(pending, dict) else None
    slot = pending.get("slot") if isinstance(pending, dict) else None
    index = int(callback_data.value) if callback_data.value.isdigit() else -1
    if not isinstance(choices, list) or not isinstance(slot, list) or not 0 <= index < len(choices):
        await query.answer(_("This button is no longer valid."))
        return
    draft = draft_of(pending.get("draft") if isinstance(pending, dict) else None)
    names = draft.genres if slot[0] == "g" else draft.voices
    if not isinstance(slot[1], int) or not 0 <= slot[1] < len(names):
        await query.answer(_("This button is no longer valid."))
        return
    names[slot[1]] = str(choices[index])
    await state.update_data(follow_pick=None)
    try:
        text, keyboard = await _resolve_and_save(message, state, services, draft)
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=keyboard)


# -- /rules ----------------------------------------------------------------------------------


def rules_view(rules: list[StoredRule]) -> tuple[str, InlineKeyboardMarkup | None]:
    if not rules:
        return _("This chat has no rules. /follow makes one."), None
    lines = [
        ngettext(
            "This chat follows {count} rule:", "This chat follows {count} rules:", len(rules)
        ).format(count=len(rules))
    ]
    rows = []
    for number, rule in enumerate(rules, start=1):
        label = rule_label(rule.spec)
        extra = _(" — also subscribes") if rule.also_subscribe else ""
        lines.append(f"{number}. {html.escape(label)}{extra}")
        action = "sub0" if rule.also_subscribe else "sub1"
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"🗑 {number}. {clip(label, 40)}",
                    callback_data=RuleCb(action="del", rule_id=rule.id).pack(),
                ),
                InlineKeyboardButton(
                    text="🔔" if rule.also_subscribe else "🔕",
                    callback_data=RuleCb(action=action, rule_id=rule.id).pack(),
                ),
            ]
        )
    lines += ["", _("🗑 deletes a rule; 🔔/🔕 switches «also subscribe to each match».")]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("rules"))
async def rules_command(message: Message, services: Services) -> None:
    text, keyboard = rules_view(await services.rules.list_for_chat(message.chat.id))
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(RuleCb.filter())
async def rule_button(
    query: CallbackQuery, callback_data: RuleCb, services: Services, bot: Bot
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    chat_id = message.chat.id
    action = callback_data.action
    if action != "list" and not await may_manage(bot, message.chat, query.from_user):
        await query.answer(refusal(), show_alert=True)
        return
    if action == "del":
        done = await services.rules.delete(chat_id, callback_data.rule_id)
        await query.answer(_("Rule deleted.") if done else _("Already deleted."))
    elif action in ("sub0", "sub1"):
        done = await services.rules.set_also_subscribe(
            chat_id, callback_data.rule_id, action == "sub1"
        )
        await query.answer(_("Saved.") if done else _("This button is no longer valid."))
    elif action == "list":
        await query.answer()
    else:
        await query.answer(_("This button is no longer valid."))
        return
    text, keyboard = rules_view(await services.rules.list_for_chat(chat_id))
    with contextlib.suppress(TelegramBadRequest):  # a double press: "not modified"
        await message.edit_text(text, reply_markup=keyboard)
