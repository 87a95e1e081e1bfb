"""/settings: language, time zone, quiet hours and kinds of notices, as one menu edited in place.

Buttons cover the common choices; ``/settings tz Area/City``, ``/settings quiet 23:00-08:00``
and ``/settings lang en`` cover the rest. In groups only admins change anything (others get a
polite refusal); in private chats the user is the admin.

Quiet hours mute, they do not hold back: a notice that falls into them is sent at once with
``disable_notification`` (no sound, no vibration), so nothing is late and nothing piles up into
a burst at the end of the night. The sender reads ``chats.quiet_start``/``quiet_end``.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import re
import zoneinfo
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.notify.kinds import NoticeKind
from bot.ui.callbacks import SettingsCb
from bot.ui.clock import parse_hhmm, zone
from bot.ui.i18n import resolve_language
from bot.ui.text import clip
from storage import Chat as ChatRecord

__all__ = ["canonical_zone", "parse_quiet", "router"]

log = logging.getLogger(__name__)
router = Router(name="settings")

# Russia west to east, neighbours, then a few far away; each shown with its current offset.
_PRESET_ZONES = [
    *("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk"),
    *("Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok"),
    *("Asia/Magadan", "Asia/Kamchatka", "Europe/Kyiv", "Europe/Minsk", "Asia/Almaty"),
    *("Asia/Tashkent", "Europe/Berlin", "Europe/London", "America/New_York", "UTC"),
]
_QUIET_PRESETS = [("22:00", "07:00"), ("23:00", "08:00"), ("00:00", "09:00"), ("01:00", "10:00")]
_LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}
_OFF_WORDS = frozenset({"off", "no", "none", "выкл", "нет", "отключить", "выключить"})
_ZONE_CHARS = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")
_QUIET_RANGE = re.compile(r"^\s*(\S+?)\s*(?:-|–|—|\s)\s*(\S+)\s*$")


# --------------------------------------------------------------------------- parsing


@functools.cache
def _known_zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def canonical_zone(text: str) -> str | None:
    """An IANA zone name as zoneinfo spells it ('europe/moscow' -> 'Europe/Moscow'), or None."""
    name = text.strip()
    if not _ZONE_CHARS.fullmatch(name) or ".." in name or name.startswith("/"):
        return None
    found = _known_zones().get(name.lower())
    if found is not None:
        return found
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


QuietHours = tuple[str | None, str | None]


def parse_quiet(text: str) -> QuietHours | None:
    """'23:00-08:00' -> ('23:00', '08:00'); 'off' -> (None, None); anything else -> None."""
    if text.strip().lower() in _OFF_WORDS:
        return None, None
    match = _QUIET_RANGE.match(text)
    if not match:
        return None
    start, end = parse_hhmm(match.group(1)), parse_hhmm(match.group(2))
    if start is None or end is None or start == end:
        return None
    return start.strftime("%H:%M"), end.strftime("%H:%M")


def _encode_quiet(start: str, end: str) -> str:
    return f"{start.replace(':', '')}-{end.replace(':', '')}"  # ':' separates callback fields


def _decode_quiet(value: str) -> QuietHours | None:
    if value == "off":
        return None, None
    start, _sep, end = value.partition("-")
    if not (len(start) == len(end) == 4 and start.isdigit() and end.isdigit()):
        return None
    return parse_quiet(f"{start[:2]}:{start[2:]}-{end[:2]}:{end[2:]}")


# --------------------------------------------------------------------------- texts


def _zone_label(name: str) -> str:
    offset = dt.datetime.now(zoneinfo.ZoneInfo(name)).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    shift = f"{sign}{hours}" + (f":{rest:02d}" if rest else "")
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    return city if name == "UTC" else f"{city} (UTC{shift})"


def _kind_names() -> dict[NoticeKind, str]:
    return {
        NoticeKind.EPISODE: _("new episodes"),
        NoticeKind.FINISHED: _("a series is finished"),
        NoticeKind.ANNOUNCE: _("announcements"),
        NoticeKind.TORRENT: _("new torrents"),
        NoticeKind.NEW_TITLE: _("new titles of /follow rules"),
        NoticeKind.VIDEO: _("AniLibria videos"),
    }


def _language_line(record: ChatRecord, user_language: str | None, default: str) -> str:
    if record.language in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[record.language]
    current = resolve_language(None, user_language, default)
    return _("automatic (now {language})").format(language=_LANGUAGE_NAMES[current])


def _quiet_hours(record: ChatRecord) -> str | None:
    if record.quiet_start and record.quiet_end:
        return f"{record.quiet_start}–{record.quiet_end}"
    return None


def _main_text(record: ChatRecord, services: Services, user_language: str | None) -> str:
    default_tz = services.settings.default_timezone
    tz = zone(record.timezone, default_tz)
    kinds = NoticeKind(record.kinds)
    wanted = [name for kind, name in _kind_names().items() if kind in kinds]
    language = _language_line(record, user_language, services.settings.default_language)
    hours = _quiet_hours(record)
    lines = [
        _("⚙️ <b>Settings of this chat</b>"),
        "",
        _("🌐 Language: {language}").format(language=html.escape(language)),
        _("🕒 Time zone: {zone} (now {time})").format(
            zone=html.escape(str(tz.key)), time=dt.datetime.now(tz).strftime("%H:%M")
        ),
        _("🌙 Quiet hours: {hours}").format(hours=hours) if hours else _("🌙 Quiet hours: off"),
        _("🔔 Notices: {kinds}").format(kinds=", ".join(wanted))
        if wanted
        else _("🔔 Notices: none"),
        "",
        _quiet_explained(),
    ]
    if not record.is_private:
        lines += ["", _("Only the group's admins can change these settings.")]
    return "\n".join(lines)


def _quiet_explained() -> str:
    return _(
        "<i>During quiet hours notices still come at once, but silently (no sound or "
        "vibration): nothing is held back. Hours are in the chat's time zone.</i>"
    )


def _button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=SettingsCb(action=action, value=value).pack()
    )


def _back_row() -> list[InlineKeyboardButton]:
    return [_button(_("« Back"), "main")]


async def _save(services: Services, chat_id: int, changes: dict[str, Any]) -> None:
    """Store the change; a new time zone also moves the next digest to the new local clock."""
    await services.chats.update(chat_id, **changes)
    if "timezone" in changes:
        await services.digest.reschedule(chat_id)


def render_view(
    view: str, record: ChatRecord, services: Services, user_language: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    """Text and buttons of one screen of the menu: main, lang, tz, quiet or kinds."""
    if view == "lang":
        marks = {code: "✅ " if record.language == code else "" for code in ("ru", "en")}
        auto_mark = "✅ " if record.language not in _LANGUAGE_NAMES else ""
        rows = [
            [
                _button(marks["ru"] + "Русский", "setlang", "ru"),
                _button(marks["en"] + "English", "setlang", "en"),
            ],
            [_button(auto_mark + _("Automatic"), "setlang", "auto")],
            _back_row(),
        ]
        text = _(
            "🌐 <b>Language</b>\n\nAutomatic: replies in the language of the asker's Telegram "
            "app; notices in the language last seen in this chat, else {language}."
        ).format(language=_LANGUAGE_NAMES[services.settings.default_language])
        return text, InlineKeyboardMarkup(inline_keyboard=rows)
    if view == "tz":
        current_zone = zone(record.timezone, services.settings.default_timezone).key
        buttons = [
            _button(("✅ " if name == current_zone else "") + _zone_label(name), "settz", name)
            for name in _preset_zones()
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [_back_row()]
        text = _(
            "🕒 <b>Time zone</b> — now {zone}\n\nPick one, or send /settings tz followed by "
            "any IANA name, e.g. <code>/settings tz Asia/Tokyo</code>."
        ).format(zone=html.escape(current_zone))
        return text, InlineKeyboardMarkup(inline_keyboard=rows)
    if view == "quiet":
        current = (record.quiet_start, record.quiet_end)
        rows = [
            [
                _button(
                    ("✅ " if current == (start, end) else "") + f"{start}–{end}",
                    "setquiet",
                    _encode_quiet(start, end),
                )
                for start, end in _QUIET_PRESETS[i : i + 2]
            ]
            for i in range(0, len(_QUIET_PRESETS), 2)
        ]
        off_mark = "✅ " if not record.quiet_start else ""
        rows += [[_button(off_mark + _("No quiet hours"), "setquiet", "off")], _back_row()]
        text = "\n\n".join(
            [
                _("🌙 <b>Quiet hours</b>: {hours}").format(hours=hours)
                if (hours := _quiet_hours(record))
                else _("🌙 <b>Quiet hours</b>: off"),
                _quiet_explained(),
                _("Other hours: <code>/settings quiet 23:30-07:30</code>."),
            ]
        )
        return text, InlineKeyboardMarkup(inline_keyboard=rows)
    if view == "kinds":
        kinds = NoticeKind(record.kinds)
        rows = [
            [_button(("✅ " if kind in kinds else "⬜ ") + name, "kind", str(int(kind)))]
            for kind, name in _kind_names().items()
        ]
        rows.append(_back_row())
        text = _("🔔 <b>Notices</b>\n\nWhat should I tell this chat about?")
        return text, InlineKeyboardMarkup(inline_keyboard=rows)
    rows = [
        [_button(_("🌐 Language"), "lang"), _button(_("🕒 Time zone"), "tz")],
        [_button(_("🌙 Quiet hours"), "quiet"), _button(_("🔔 Notices"), "kinds")],
        [_button(_("✔️ Done"), "close")],
    ]
    return _main_text(record, services, user_language), InlineKeyboardMarkup(inline_keyboard=rows)


@functools.cache
def _preset_zones() -> list[str]:
    return [name for name in _PRESET_ZONES if canonical_zone(name) == name]


# --------------------------------------------------------------------------- the command


def _usage() -> str:
    return _(
        "I did not understand that. Use the buttons of /settings, or:\n"
        "<code>/settings tz Europe/Moscow</code> — time zone\n"
        "<code>/settings quiet 23:00-08:00</code> or <code>/settings quiet off</code> — quiet "
        "hours\n"
        "<code>/settings lang ru</code>, <code>en</code> or <code>auto</code> — language"
    )


@router.message(Command("settings"))
async def settings_command(
    message: Message,
    command: CommandObject,
    services: Services,
    bot: Bot,
    chat_record: ChatRecord | None = None,
) -> None:
    chat = message.chat
    record = chat_record or await services.chats.touch(chat.id, chat.type, chat.title)
    user_language = message.from_user.language_code if message.from_user else None
    what, _sep, value = (command.args or "").strip().partition(" ")
    what, value = what.lower(), value.strip()
    if not what:
        text, keyboard = render_view("main", record, services, user_language)
        await message.answer(text, reply_markup=keyboard)
        return
    if what not in ("tz", "timezone", "quiet", "lang", "language") or not value:
        await message.answer(_usage())
        return
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(_("Only the group's admins can change this chat's settings."))
        return
    changes: dict[str, str | None]
    if what in ("tz", "timezone"):
        name = canonical_zone(value)
        if name is None:
            await message.answer(
                _(
                    "I don't know the time zone «{name}». Use an IANA name such as "
                    "Europe/Moscow or Asia/Novosibirsk, or pick one in /settings."
                ).format(name=html.escape(clip(value, 64)))
            )
            return
        changes = {"timezone": name}
    elif what == "quiet":
        hours = parse_quiet(value)
        if hours is None:
            await message.answer(
                _(
                    "Quiet hours look like <code>23:00-08:00</code> (start and end, 24-hour "
                    "clock), or <code>off</code>."
                )
            )
            return
        changes = {"quiet_start": hours[0], "quiet_end": hours[1]}
    else:
        language = value.lower()
        if language not in ("ru", "en", "auto"):
            await message.answer(_("Languages: ru, en or auto."))
            return
        changes = {"language": None if language == "auto" else language}
    await _save(services, record.id, changes)
    updated = await services.chats.get(record.id) or record
    locale = resolve_language(updated.language, user_language, services.settings.default_language)
    with services.i18n.use_locale(locale):
        text, keyboard = render_view("main", updated, services, user_language)
        await message.answer(_("✅ Saved.") + "\n\n" + text, reply_markup=keyboard)


# --------------------------------------------------------------------------- the buttons


def _apply(action: str, value: str, record: ChatRecord) -> tuple[str, dict[str, object]] | None:
    """The screen to show next and the change to store; None for a value no button sends."""
    if action == "setlang" and value in ("ru", "en", "auto"):
        return "main", {"language": None if value == "auto" else value}
    if action == "settz":
        name = canonical_zone(value)
        return None if name is None else ("main", {"timezone": name})
    if action == "setquiet":
        hours = _decode_quiet(value)
        if hours is None:
            return None
        return "main", {"quiet_start": hours[0], "quiet_end": hours[1]}
    if action == "kind" and value.isdigit() and int(value) in {int(k) for k in NoticeKind}:
        kinds = NoticeKind(record.kinds) ^ NoticeKind(int(value))
        return "kinds", {"kinds": int(kinds)}
    return None


@router.callback_query(SettingsCb.filter())
async def settings_button(
    query: CallbackQuery,
    callback_data: SettingsCb,
    services: Services,
    bot: Bot,
    chat_record: ChatRecord | None = None,
) -> None:
    message = query.message
    if not isinstance(message, Message) or chat_record is None:
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_manage(bot, message.chat, query.from_user):
        await query.answer(
            _("Only the group's admins can change this chat's settings."), show_alert=True
        )
        return
    action, value = callback_data.action, callback_data.value
    user_language = query.from_user.language_code
    if action == "close":
        await _edit(message, _main_text(chat_record, services, user_language), None)
        await query.answer()
        return
    record, saved = chat_record, False
    if action in ("main", "lang", "tz", "quiet", "kinds"):
        view = action
    else:
        applied = _apply(action, value, chat_record)
        if applied is None:
            await query.answer(_("This button is no longer valid."))
            return
        view, changes = applied
        await _save(services, chat_record.id, changes)
        record = await services.chats.get(chat_record.id) or chat_record
        saved = True
    locale = resolve_language(record.language, user_language, services.settings.default_language)
    with services.i18n.use_locale(locale):
        text, keyboard = render_view(view, record, services, user_language)
        await _edit(message, text, keyboard)
        await query.answer(_("✅ Saved.") if saved else None)


async def _edit(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.info("settings: cannot edit message %s: %s", message.message_id, exc.message)
