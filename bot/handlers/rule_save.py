"""Saving a follow rule (the typed form and the builder both end here): the rule stored, the
chat's new-title notices switched on with its first rule, and the current titles the rule
would have matched, as the API itself filters them (v2 ``advancedSearch``, v1 the catalogue)."""

from __future__ import annotations

import html
import logging

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.anilibria import AniLibriaError
from bot.handlers.cards import display_name
from bot.handlers.rule_text import RuleDraft, filter_of, spec_of
from bot.handlers.services import Services
from bot.notify.kinds import NoticeKind
from bot.notify.rules import rule_terms
from bot.ui.callbacks import RuleCb
from bot.ui.labels import describe_rule
from storage import RuleSpec, StoredRule

__all__ = ["MAX_RULES", "refusal", "rule_keyboard", "rule_label", "save_rule"]

log = logging.getLogger(__name__)

MAX_RULES = 20  # per chat
PREVIEW_SHOWN = 5


def rule_label(spec: RuleSpec) -> str:
    return describe_rule(spec.genres, spec.voices, spec.kind, spec.season, spec.year)


def refusal() -> str:
    return _("Only the group's admins can change what this chat follows.")


async def _preview_lines(services: Services, spec: RuleSpec) -> list[str]:
    try:
        found = await services.catalogue.preview(filter_of(spec), limit=PREVIEW_SHOWN)
    except AniLibriaError as exc:
        log.info("rules: no preview: %s", exc)
        return [_("(AniLibria did not answer, so I cannot show which titles match now.)")]
    if not found:
        return [_("No current title matches it; new ones will be told.")]
    lines = [_("Current titles it matches:")]
    for title in found[:PREVIEW_SHOWN]:
        year = f" ({title.year})" if title.year else ""
        lines.append(f"• {html.escape(display_name(title))}{year}")
    return lines


def rule_keyboard(rule: StoredRule) -> InlineKeyboardMarkup:
    sub = _("🔔 Also subscribe: on") if rule.also_subscribe else _("🔕 Also subscribe: off")
    action = "sub0" if rule.also_subscribe else "sub1"
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=sub, callback_data=RuleCb(action=action, rule_id=rule.id).pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("🗑 Delete"), callback_data=RuleCb(action="del", rule_id=rule.id).pack()
                ),
                InlineKeyboardButton(
                    text=_("📋 All rules"), callback_data=RuleCb(action="list", rule_id=0).pack()
                ),
            ],
        ]
    )


async def save_rule(
    services: Services, chat_id: int, draft: RuleDraft, thread_id: int | None, *, unchecked: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Store a rule whose names are the API's; the reply's text and buttons."""
    spec = spec_of(draft)
    had_rules = bool(await services.rules.list_for_chat(chat_id))
    rule, added = await services.rules.add(
        chat_id,
        spec,
        rule_terms(filter_of(spec)),
        also_subscribe=draft.also_subscribe,
        thread_id=thread_id,
        limit=MAX_RULES,
    )
    if rule is None:
        text = _("This chat already has {count} rules, the most it can have. See /rules.")
        return text.format(count=MAX_RULES), None
    label = html.escape(rule_label(rule.spec))
    if not added:
        lines = [_("This chat already follows the rule <b>{rule}</b>.").format(rule=label)]
    else:
        lines = [
            _("✅ Rule saved: <b>{rule}</b>").format(rule=label),
            _("I will tell this chat about every new title on AniLibria that matches it."),
        ]
        chat = await services.chats.get(chat_id)
        if chat is not None and not had_rules:
            await services.chats.update(chat_id, kinds=chat.kinds | NoticeKind.NEW_TITLE)
    if unchecked:
        lines.append(_("AniLibria cannot list voice actors, so I kept the name as you typed it."))
    lines += ["", *await _preview_lines(services, rule.spec)]
    return "\n".join(lines), rule_keyboard(rule)
