"""/stats for the operators listed in ADMIN_IDS: is the bot keeping up, and what went wrong?

One message answers the questions an operator has when fans say "the bot is silent": are the
chats there, is the news feed (the socket, or polling) working and hearing anything, is the
outbox draining, did Telegram refuse anything lately (parked rows, with Telegram's own words).
Anyone else gets a polite refusal in private and silence in groups (other bots there may have a
/stats of their own).
"""

from __future__ import annotations

import html
import time

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.anilibria import FeedHealth
from bot.handlers.services import Services
from bot.ui.text import TEXT_LIMIT, clip

__all__ = ["PARKED_SHOWN", "ago", "duration", "is_admin", "render_stats", "router"]

router = Router(name="admin")

PARKED_SHOWN = 5


def is_admin(services: Services, user_id: int | None) -> bool:
    return user_id is not None and user_id in services.settings.admin_ids


def duration(seconds: float) -> str:
    """A short, language-aware duration (unit abbreviations need no plural forms)."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return _("{n} s").format(n=int(seconds))
    if seconds < 7200:
        return _("{n} min").format(n=int(seconds // 60))
    if seconds < 172800:
        return _("{n} h").format(n=int(seconds // 3600))
    return _("{n} d").format(n=int(seconds // 86400))


def ago(seconds: float) -> str:
    return _("{duration} ago").format(duration=duration(seconds))


def _feed_line(health: FeedHealth, now: float) -> str:
    states = {
        "connecting": _("connecting"),
        "connected": _("connected"),
        "disconnected": _("disconnected"),
        "closed": _("closed"),
        "starting": _("starting"),
        "ok": _("working"),
        "failing": _("failing"),
    }
    state = states.get(health.state, health.state)
    if health.mode == "socket":
        line = _("Socket: {state}").format(state=state)
        failures = _("reconnects: {n}").format(n=health.failures)
    else:
        line = _("Polling: {state}").format(state=state)
        failures = _("failed polls: {n}").format(n=health.failures)
    last = (
        _("last event {ago}").format(ago=ago(now - health.last_change_at))
        if health.last_change_at is not None
        else _("no events yet")
    )
    return f"{line}, {last}, {failures}"


async def render_stats(services: Services, now: float | None = None) -> str:
    now = time.time() if now is None else now
    chats = await services.chats.counts()
    subscriptions = await services.subscriptions.count()
    outbox = await services.outbox.stats(now)
    parked = await services.outbox.parked(PARKED_SHOWN)
    telegram_at = services.telegram.last_ok_at
    telegram_line = (
        _("Telegram: last answered {ago}").format(ago=ago(now - telegram_at))
        if telegram_at is not None
        else _("Telegram: no answer yet")
    )
    lines = [
        _("<b>Bot status</b>"),
        _("Up for {duration}").format(duration=duration(now - services.started_at)),
        _("Chats: {active} active, {inactive} inactive").format(
            active=chats.active, inactive=chats.inactive
        ),
        _("Subscriptions: {n}").format(n=subscriptions),
        _feed_line(services.feed.health(), now),
        telegram_line,
        _("Outbox: {pending} waiting, {sending} being sent, {parked} parked").format(
            pending=outbox.pending, sending=outbox.sending, parked=outbox.parked
        ),
        _("Last hour: {sent} sent, {failed} failed").format(
            sent=outbox.sent_last_hour, failed=outbox.failed_last_hour
        ),
    ]
    if parked:
        lines += ["", _("<b>Parked</b> (newest first):")]
        for row_id, chat_id, key, error in parked:
            lines.append(
                "• #{id} chat <code>{chat}</code> {key}: {error}".format(
                    id=row_id,
                    chat=chat_id,
                    key=html.escape(clip(key, 40)),
                    error=html.escape(clip(error or "?", 200)),
                )
            )
    return "\n".join(lines)[:TEXT_LIMIT]


@router.message(Command("stats"))
async def stats(message: Message, services: Services) -> None:
    user_id = message.from_user.id if message.from_user else None
    if not is_admin(services, user_id):
        if message.chat.type == "private":
            await message.answer(_("This command is only for the bot's administrators."))
        return
    await message.answer(await render_stats(services))
