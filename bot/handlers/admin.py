"""/stats for the operators listed in ADMIN_IDS: is the bot keeping up, and what went wrong?

One message answers the questions an operator has when fans say "the bot is silent": are the
chats there, is the news feed (the socket, or polling) working and hearing anything, is the
outbox draining (its depth, the rate right now and the time to drain it, paid broadcasts and the
Stars left, the largest fan-outs still waiting), did Telegram refuse anything lately (parked
rows, with Telegram's own words). Anyone else gets a polite refusal in private and silence in
groups (other bots there may have a /stats of their own).
"""

from __future__ import annotations

import asyncio
import html
import time

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.anilibria import FeedHealth
from bot.handlers.services import Services
from bot.ui.text import TEXT_LIMIT, clip

__all__ = [
    "FAN_OUTS_SHOWN",
    "PARKED_SHOWN",
    "ago",
    "duration",
    "is_admin",
    "render_stats",
    "router",
    "star_balance",
]

router = Router(name="admin")

PARKED_SHOWN = 5
FAN_OUTS_SHOWN = 5
STARS_TIMEOUT = 3.0


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


async def star_balance(bot: Bot) -> float | None:
    """The bot's Stars, when the Bot API offers getMyStarBalance (None otherwise)."""
    try:
        amount = await asyncio.wait_for(bot.get_my_star_balance(), STARS_TIMEOUT)
    except Exception:  # an older Bot API server, or no answer: the line is left out
        return None
    return amount.amount + (amount.nanostar_amount or 0) / 1_000_000_000


def _stars(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


async def _delivery_lines(services: Services, depth: int, now: float) -> list[str]:
    sender = services.sender
    status = sender.status()
    if status.halted:
        lines = [_("Delivery: paused, Telegram refuses the bot token")]
    elif depth == 0:
        lines = [_("Delivery: {rate}/s now, nothing waiting").format(rate=f"{status.rate:.1f}")]
    else:
        seconds = status.drain_seconds(depth, sender.expected_rate())
        lines = [
            _("Delivery: {rate}/s now, {depth} waiting, drained in about {duration}").format(
                rate=f"{status.rate:.1f}",
                depth=depth,
                duration=duration(seconds or 0.0),
            )
        ]
    if not status.paid_enabled:
        lines.append(_("Paid broadcast: off"))
    elif status.out_of_stars_at is not None:
        lines.append(
            _("Paid broadcast: stopped {ago}, Telegram refused it for lack of Stars").format(
                ago=ago(now - status.out_of_stars_at)
            )
        )
    elif status.paid_active:
        lines.append(
            _("Paid broadcast: paying now, {sent} of {cap} paid messages today").format(
                sent=status.paid_today, cap=status.paid_cap
            )
        )
    else:
        lines.append(
            _("Paid broadcast: on when needed, {sent} of {cap} paid messages today").format(
                sent=status.paid_today, cap=status.paid_cap
            )
        )
    return lines


async def _fan_out_lines(services: Services) -> list[str]:
    sender = services.sender
    fan_outs = await sender.largest_fan_outs(FAN_OUTS_SHOWN)
    if not fan_outs:
        return []
    lines = ["", _("<b>Largest fan-outs waiting</b>:")]
    for fan_out in fan_outs:
        name = fan_out.name_en or fan_out.name_ru or fan_out.code
        label = name if name else f"#{fan_out.title_id or fan_out.notice_id}"
        waiting = ngettext("{count} chat waiting", "{count} chats waiting", fan_out.pending).format(
            count=fan_out.pending
        )
        lines.append(f"• {html.escape(clip(label, 60))} ({html.escape(fan_out.kind)}): {waiting}")
    return lines


async def render_stats(
    services: Services, now: float | None = None, *, stars: float | None = None
) -> str:
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
        *await _delivery_lines(services, outbox.pending + outbox.sending, now),
    ]
    if stars is not None:
        lines.append(_("Stars balance: {stars}").format(stars=_stars(stars)))
    lines += await _fan_out_lines(services)
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
    stars = await star_balance(message.bot) if message.bot is not None else None
    await message.answer(await render_stats(services, stars=stars))
