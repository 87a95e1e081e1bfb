"""/schedule [DAY] and its day buttons: what comes out on a weekday, followed titles marked.

The whole week is fetched with one call and kept in a TTL cache shared by every chat
(``services.schedule_cache``): a day button, another chat or another day cost no API call for a
few minutes. Days count from 0 = Monday, as in the API (and Python's
``weekday()``); "today" is today in the chat's time zone.
"""

from __future__ import annotations

import datetime as dt
import html
import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.anilibria import AniLibriaError, ScheduleDay, Title
from bot.handlers.cards import display_name, episodes_text
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.ui.callbacks import ScheduleCb
from bot.ui.clock import zone
from bot.ui.text import TEXT_LIMIT
from storage import Chat as ChatRecord

__all__ = ["parse_day", "router", "week_schedule"]

log = logging.getLogger(__name__)
router = Router(name="schedule")

_TEXT_BUDGET = TEXT_LIMIT - 200  # room for the "…and N more" line

# Day names a user may type, Russian and English, full and short (lower case).
_DAY_WORDS_BY_DAY = [
    "понедельник пн пон monday mon mo",
    "вторник вт вто tuesday tue tues tu",
    "среда среду ср сре wednesday wed we",
    "четверг чт чет thursday thu thur thurs th",
    "пятница пятницу пт пят friday fri fr",
    "суббота субботу сб суб saturday sat sa",
    "воскресенье вс вос воскр sunday sun su",
]
_DAY_WORDS = {word: day for day, words in enumerate(_DAY_WORDS_BY_DAY) for word in words.split()}
_RELATIVE = {"сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "вчера": -1, "yesterday": -1}


def parse_day(text: str, today: int) -> int | None:
    """'3', 'чт', 'Thursday', 'завтра' -> 0..6 (0 = Monday); anything else -> None."""
    word = text.strip().lower().rstrip(".")
    if word.isdigit() and len(word) == 1 and int(word) <= 6:
        return int(word)
    if word in _DAY_WORDS:
        return _DAY_WORDS[word]
    if word in _RELATIVE:
        return (today + _RELATIVE[word]) % 7
    return None


def day_name(day: int) -> str:
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ][day]


def day_short(day: int) -> str:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][day]


def today_in(record: ChatRecord | None, services: Services) -> int:
    tz = zone(record.timezone if record else None, services.settings.default_timezone)
    return dt.datetime.now(tz).weekday()


async def week_schedule(services: Services) -> dict[int, list[Title]]:
    """The whole week, {day: titles}, from the shared cache or one call."""

    async def fetch() -> list[ScheduleDay]:
        return await services.catalogue.schedule()

    week: dict[int, list[Title]] = {}
    for entry in await services.schedule_cache.get_or_fetch("week", fetch):
        if 0 <= entry.day <= 6:
            week.setdefault(entry.day, []).extend(entry.titles)
    return week


def render_day(
    day: int, today: int, titles: list[Title], followed: set[int], only_followed: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """The text of one day's schedule and its buttons (days, the "only followed" toggle)."""
    title_line = _("📅 <b>{day}</b>").format(day=day_name(day))
    if day == today:
        title_line += " " + _("(today)")
    if only_followed:
        title_line += " — " + _("only titles this chat follows")
    shown = [t for t in titles if t.id in followed] if only_followed else titles
    lines = [title_line, ""]
    if not shown:
        if only_followed:
            lines.append(_("None of the titles this chat follows comes out on this day."))
        else:
            lines.append(_("Nothing is scheduled for this day."))
    else:
        length = sum(len(line) + 1 for line in lines)
        for index, title in enumerate(shown):
            mark = "★" if title.id in followed else "•"
            line = f"{mark} <b>{html.escape(display_name(title, 80))}</b> — {episodes_text(title)}"
            if length + len(line) + 1 > _TEXT_BUDGET:
                lines.append(_("…and {count} more.").format(count=len(shown) - index))
                break
            lines.append(line)
            length += len(line) + 1
        if not only_followed and any(t.id in followed for t in shown):
            lines += ["", _("★ — titles this chat follows")]
    return "\n".join(lines), _keyboard(day, today, only_followed)


def _keyboard(day: int, today: int, only_followed: bool) -> InlineKeyboardMarkup:
    def button(index: int) -> InlineKeyboardButton:
        label = day_short(index)
        if index == today:
            label = "📍" + label
        if index == day:
            label = f"· {label} ·"
        return InlineKeyboardButton(
            text=label, callback_data=ScheduleCb(day=index, only_followed=only_followed).pack()
        )

    toggle = InlineKeyboardButton(
        text=_("📋 Show all titles") if only_followed else _("★ Only the ones we follow"),
        callback_data=ScheduleCb(day=day, only_followed=not only_followed).pack(),
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(i) for i in range(4)],
            [button(i) for i in range(4, 7)],
            [toggle],
        ]
    )


def _help() -> str:
    return _(
        "I don't know that day. Try /schedule with a day name (monday, пн, tomorrow) or a "
        "number from 0 (Monday) to 6 (Sunday); without a day you get today."
    )


async def _view(
    services: Services, chat_id: int, day: int, today: int, only_followed: bool
) -> tuple[str, InlineKeyboardMarkup]:
    week = await week_schedule(services)
    followed = await services.subscriptions.title_ids(chat_id)
    return render_day(day, today, week.get(day, []), followed, only_followed)


@router.message(Command("schedule"))
async def schedule_command(
    message: Message,
    command: CommandObject,
    services: Services,
    chat_record: ChatRecord | None = None,
) -> None:
    today = today_in(chat_record, services)
    day = today if not (command.args or "").strip() else parse_day(command.args or "", today)
    if day is None:
        await message.answer(_help())
        return
    try:
        text, keyboard = await _view(services, message.chat.id, day, today, only_followed=False)
    except AniLibriaError as exc:
        log.warning("schedule: %r", exc)
        await message.answer(api_trouble())
        return
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ScheduleCb.filter())
async def schedule_button(
    query: CallbackQuery,
    callback_data: ScheduleCb,
    services: Services,
    chat_record: ChatRecord | None = None,
) -> None:
    message = query.message
    if not isinstance(message, Message) or not 0 <= callback_data.day <= 6:
        await query.answer(_("This button is no longer valid."))
        return
    today = today_in(chat_record, services)
    try:
        text, keyboard = await _view(
            services, message.chat.id, callback_data.day, today, callback_data.only_followed
        )
    except AniLibriaError as exc:
        log.warning("schedule: %r", exc)
        await query.answer(api_trouble(), show_alert=True)
        return
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.info("schedule: cannot edit message %s: %s", message.message_id, exc.message)
            await query.answer(_("This button is no longer valid."))
            return
    await query.answer()
