"""Wiring and lifecycle: build every part, start every task, stop them all on SIGTERM/SIGINT.

This is the only module that knows every other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import LinkPreviewOptions
from pydantic import ValidationError

import storage
from bot.accounts import Accounts
from bot.anilibria.client import AniLibriaClient
from bot.anilibria.stream import EventStream
from bot.commands import set_commands
from bot.config import Settings
from bot.crypto import SessionVault, VaultError
from bot.handlers import build_router
from bot.handlers.middlewares import ChatMiddleware, LocaleMiddleware, ThrottlingMiddleware
from bot.health import TelegramPulse, health_path, write_heartbeat_forever
from bot.i18n import LOCALES_DIR, PoI18n
from bot.logs import setup_logging
from bot.notify.catchup import CatchUp
from bot.notify.digest import build_digest
from bot.notify.favorites_sync import FavoritesRefresher
from bot.notify.limiter import RateLimitMiddleware, SendLimiter
from bot.notify.listener import EventListener
from bot.notify.matcher import Matcher
from bot.notify.paid import PaidBroadcast
from bot.notify.sender import Sender
from bot.services import Services

__all__ = ["main", "run"]

log = logging.getLogger("bot")

STOP_GRACE = 8.0  # seconds for tasks to wind down; the whole stop stays under 10
# Tasks that end by themselves once told to stop; every other task is cancelled at once.
WINDS_DOWN = frozenset({"sender", "listener", "polling", "digest"})
PRUNE_EVERY = 3600.0
KEEP_SENT = 7 * 86400.0
KEEP_PARKED = 30 * 86400.0


def load_settings() -> Settings | None:
    try:
        return Settings()  # BOT_TOKEN comes from the environment
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])).upper()
        reason = str(first["msg"]).removeprefix("Value error, ")
        if where == "BOT_TOKEN" and (first["type"] == "missing" or "empty" in reason):
            print("error: BOT_TOKEN is not set (see .env.example)", file=sys.stderr)
        else:
            print(f"error: invalid setting {where}: {reason}", file=sys.stderr)
        return None


async def _publish_commands(bot: Bot, i18n: PoI18n, settings: Settings) -> None:
    """The command menu in both languages; a failure is only logged."""
    try:
        await set_commands(
            bot, i18n, default_language=settings.default_language, admin_ids=settings.admin_ids
        )
    except Exception:
        log.exception("could not publish the command menu")


async def _prune_forever(services: Services) -> None:
    while True:
        now = time.time()
        removed = await services.outbox.prune(now - KEEP_SENT, now - KEEP_PARKED)
        if removed:
            log.info("pruned %d delivered outbox rows", removed)
        await asyncio.sleep(PRUNE_EVERY)


async def _guard(name: str, factory: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run a long-lived task; if it dies, log it and stop (the supervisor restarts us)."""
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s crashed; stopping", name)
        stop.set()


async def run(settings: Settings) -> int:
    setup_logging(settings.log_level, secrets=[settings.bot_token.get_secret_value()])
    if settings.uses_default_anilibria:
        log.warning(
            "ANILIBRIA_API_URL/ANILIBRIA_WS_URL point at the public v2 API, which was switched "
            "off upstream in July 2025: point them at a v2-compatible server"
        )
    try:  # the key that seals AniLibria sessions: SECRET_KEY, else a 0600 file beside the db
        vault = SessionVault.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.database_path,
        )
    except (VaultError, OSError) as exc:
        log.error("cannot load the session encryption key: %s", exc)
        return 2
    db = await storage.connect(settings.database_path)
    client = AniLibriaClient(settings.anilibria_api_url, settings.anilibria_site_url)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    paid = PaidBroadcast(
        enabled=settings.paid_broadcast,
        after=settings.paid_broadcast_after,
        rate=settings.paid_send_rate,
        max_per_day=settings.paid_broadcast_max_per_day,
    )
    limiter = SendLimiter(settings.send_rate, paid_rate=paid.rate if paid.enabled else None)
    session.middleware(RateLimitMiddleware(limiter))
    pulse = TelegramPulse()  # when Telegram last answered getUpdates: the heartbeat and /stats
    session.middleware(pulse)
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )
    i18n = PoI18n(path=LOCALES_DIR, default_locale=settings.default_language)
    matcher = Matcher(db)
    services = Services(
        settings=settings,
        db=db,
        client=client,
        i18n=i18n,
        chats=storage.ChatRepo(db),
        subscriptions=storage.SubscriptionRepo(db),
        titles=storage.TitleRepo(db),
        outbox=storage.Outbox(db),
        state=storage.StateRepo(db),
        accounts=storage.AccountRepo(db),
        matcher=matcher,
    )
    sender = Sender(
        bot,
        services.outbox,
        services.chats,
        limiter,
        i18n,
        site_url=settings.anilibria_site_url,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        paid=paid,
        admin_ids=settings.admin_ids,
    )
    matcher.on_queued = sender.wake
    services.sender = sender
    digest = build_digest(services)  # also services.extras["digest"]
    accounts = Accounts(services.accounts, vault, client, matcher, wake_sender=sender.wake)
    services.extras["vault"] = vault
    services.extras["accounts"] = accounts
    stream = EventStream(
        settings.anilibria_ws_url,
        idle_timeout=settings.ws_idle_timeout,
        backoff_initial=settings.ws_backoff_initial,
        backoff_max=settings.ws_backoff_max,
    )
    services.stream = stream
    services.extras["telegram_pulse"] = pulse
    listener = EventListener(stream, matcher, CatchUp(client, matcher, services.state))

    dp = Dispatcher(storage=MemoryStorage(), services=services)
    dp.update.outer_middleware(ThrottlingMiddleware())
    chat_middleware = ChatMiddleware()
    dp.message.outer_middleware(chat_middleware)
    dp.callback_query.outer_middleware(chat_middleware)
    LocaleMiddleware(i18n, settings.default_language).setup(dp)
    dp.include_router(build_router())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    tasks: list[asyncio.Task[None]] = []

    def start(name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        tasks.append(asyncio.create_task(_guard(name, factory, stop), name=name))

    start("sender", sender.run)
    start("listener", listener.run)
    start("polling", lambda: dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    start("prune", lambda: _prune_forever(services))
    start("digest", digest.run)
    start("favorites", FavoritesRefresher(accounts, settings.favorites_refresh_seconds).run)
    start(
        "health",
        lambda: write_heartbeat_forever(
            health_path(settings),
            settings.health_interval,
            pulse,
            stream,
            started_at=services.started_at,
        ),
    )
    start("commands", lambda: _publish_commands(bot, i18n, settings))
    log.info("bot started")
    await stop.wait()

    log.info("stopping")
    # Stop taking events and updates; the sender lets sends on the wire finish.
    await stream.close()
    with contextlib.suppress(RuntimeError):
        await dp.stop_polling()
    await sender.stop()
    await digest.stop()
    for task in tasks:
        if task.get_name() not in WINDS_DOWN:
            task.cancel()  # sleeping chores: nothing in flight worth waiting for
    # Handlers already running (aiogram runs each update as a task) get to answer.
    handlers: set[asyncio.Task[Any]] = set(getattr(dp, "_handle_update_tasks", ()))
    _done, pending = await asyncio.wait([*tasks, *handlers], timeout=STOP_GRACE / 2)
    for task in pending:
        log.warning("stop: %s did not finish in time, cancelled", task.get_name())
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    await client.aclose()
    await bot.session.close()
    await db.close()
    log.info("stopped")
    return 0


def main() -> int:
    settings = load_settings()
    if settings is None:
        return 2
    return asyncio.run(run(settings))
