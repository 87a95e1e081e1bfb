"""Wiring and lifecycle: build every part, start every task, stop them all on SIGTERM/SIGINT.

This is the only module that knows every other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
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
from bot.account.codes import CodeLogins
from bot.account.favorites_sync import FavoritesRefresher
from bot.account.links import Accounts
from bot.account.vault import SessionVault, VaultError
from bot.anilibria import Interest, MarkStore, Upstream, UpstreamConfig
from bot.config import Settings
from bot.handlers import build_router
from bot.handlers.commands import set_commands
from bot.handlers.middlewares import (
    ChatMiddleware,
    InFlightMiddleware,
    LocaleMiddleware,
    ThrottlingMiddleware,
)
from bot.handlers.services import Services
from bot.health import TelegramPulse, health_path, write_heartbeat_forever
from bot.logs import setup_logging
from bot.notify.digest import DigestScheduler
from bot.notify.interest import FollowedTitles
from bot.notify.limiter import RateLimitMiddleware, SendLimiter
from bot.notify.matcher import Matcher
from bot.notify.paid import PaidBroadcast
from bot.notify.rules import prune_hits_forever
from bot.notify.sender import Sender
from bot.notify.videos import VideoWatch
from bot.startup import EXIT_CRASH, Stop, TokenWatch, check_sessions, prepare
from bot.startup import main as run_main
from bot.ui.i18n import LOCALES_DIR, PoI18n

__all__ = ["main", "run"]

log = logging.getLogger("bot")

STOP_GRACE = 8.0  # seconds for tasks to wind down; the whole stop stays under 10
# Tasks that end by themselves once told to stop; every other task is cancelled at once.
WINDS_DOWN = frozenset({"sender", "feed", "polling", "digest"})
PRUNE_EVERY = 3600.0
KEEP_SENT = 7 * 86400.0
KEEP_PARKED = 30 * 86400.0
POLLING_TASKS = 64  # updates handled at once; more wait in Telegram's queue, not in memory


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


async def _prune_forever(outbox: storage.Outbox) -> None:
    while True:
        now = time.time()
        removed = await outbox.prune(now - KEEP_SENT, now - KEEP_PARKED)
        if removed:
            log.info("pruned %d delivered outbox rows", removed)
        await asyncio.sleep(PRUNE_EVERY)


async def _guard(name: str, factory: Callable[[], Awaitable[None]], stop: Stop) -> None:
    """Run a long-lived task; if it dies, log it and stop with exit code 1 (for the supervisor)."""
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s crashed; stopping", name)
        stop.fail(EXIT_CRASH, f"{name} crashed (the traceback is above)")


def open_upstream(settings: Settings, marks: MarkStore, interest: Interest) -> Upstream:
    """The API ANILIBRIA_API names; only that one's package is imported."""
    config = UpstreamConfig(
        api_url=settings.anilibria_api_url,
        site_url=settings.anilibria_site_url,
        ws_url=settings.anilibria_ws_url,
        poll_interval=settings.poll_interval,
        ws_idle_timeout=settings.ws_idle_timeout,
        ws_backoff_initial=settings.ws_backoff_initial,
        ws_backoff_max=settings.ws_backoff_max,
    )
    package = importlib.import_module(f"bot.anilibria.{settings.anilibria_api}")
    opener: Callable[[UpstreamConfig, MarkStore, Interest], Upstream] = package.open_upstream
    return opener(config, marks, interest)


async def run(settings: Settings) -> int:
    setup_logging(settings.log_level, secrets=[settings.bot_token.get_secret_value()])
    if settings.uses_dead_v2:
        log.warning(
            "ANILIBRIA_API=v2 points at the public v2 API, which was switched off upstream in "
            "July 2025: point ANILIBRIA_API_URL and ANILIBRIA_WS_URL at a v2-compatible server, "
            "or use ANILIBRIA_API=v1 (the default)"
        )
    if not await prepare(settings):  # Telegram takes the token; this process holds the database
        return 0  # stopped while waiting for Telegram
    try:  # the key that seals AniLibria sessions: SECRET_KEY, else a 0600 file beside the db
        vault = SessionVault.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.database_path,
        )
    except (VaultError, OSError) as exc:
        log.error("cannot load the session encryption key: %s", exc)
        return 2
    db = await storage.connect(settings.database_path)
    await check_sessions(vault, db)  # a changed key must not silently expire every session
    subscriptions = storage.SubscriptionRepo(db)
    state = storage.StateRepo(db)
    rules = storage.RuleRepo(db)
    interest = FollowedTitles(subscriptions, rules, storage.TitleRepo(db))
    upstream = open_upstream(settings, state, interest)
    log.info(
        "AniLibria API %s at %s (%s)",
        upstream.name,
        settings.anilibria_api_url,
        "WebSocket" if upstream.name == "v2" else f"polled every {settings.poll_interval:g} s",
    )
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
    chats = storage.ChatRepo(db)
    outbox = storage.Outbox(db)
    sessions = storage.SessionRepo(db)
    links = upstream.catalogue.title_url
    sender = Sender(
        bot,
        outbox,
        chats,
        limiter,
        i18n,
        links=links,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        paid=paid,
        admin_ids=settings.admin_ids,
    )
    matcher = Matcher(db, on_queued=sender.wake)
    digest = DigestScheduler(
        storage.DigestRepo(db),
        chats,
        state,
        i18n,
        upstream.catalogue.schedule,
        links=links,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        on_queued=sender.wake,
    )
    accounts = Accounts(
        sessions,
        vault,
        upstream.account,
        matcher,
        catalogue=upstream.catalogue,
        wake_sender=sender.wake,
    )
    codes = CodeLogins(
        upstream.account, accounts, sessions, poll_every=settings.login_code_poll_seconds
    )
    services = Services(
        settings=settings,
        catalogue=upstream.catalogue,
        account_api=upstream.account,
        feed=upstream.feed,
        i18n=i18n,
        chats=chats,
        subscriptions=subscriptions,
        titles=storage.TitleRepo(db),
        outbox=outbox,
        sessions=sessions,
        matcher=matcher,
        accounts=accounts,
        codes=codes,
        digest=digest,
        sender=sender,
        telegram=pulse,
        rules=rules,
    )

    dp = Dispatcher(storage=MemoryStorage(), services=services)
    in_flight = InFlightMiddleware()  # the updates being handled, for the stop
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(ThrottlingMiddleware())
    chat_middleware = ChatMiddleware()
    dp.message.outer_middleware(chat_middleware)
    dp.callback_query.outer_middleware(chat_middleware)
    LocaleMiddleware(i18n, settings.default_language).setup(dp)
    dp.include_router(build_router())

    stop = Stop()
    session.middleware(TokenWatch(stop))  # a token revoked while polling: exit 3
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    tasks: list[asyncio.Task[None]] = []

    def start(name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        tasks.append(asyncio.create_task(_guard(name, factory, stop), name=name))

    start("sender", sender.run)
    start("feed", lambda: upstream.feed.run(matcher.handle))
    start(
        "polling",
        lambda: dp.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            tasks_concurrency_limit=POLLING_TASKS,
        ),
    )
    start("prune", lambda: _prune_forever(outbox))
    start("digest", digest.run)
    videos = VideoWatch(
        upstream.catalogue.videos, db, interval=settings.videos_poll_seconds, on_queued=sender.wake
    )
    start("videos", videos.run)
    start("rule-hits", lambda: prune_hits_forever(rules))
    start("favorites", FavoritesRefresher(accounts, settings.favorites_refresh_seconds).run)
    start(
        "health",
        lambda: write_heartbeat_forever(
            health_path(settings),
            settings.health_interval,
            pulse,
            upstream.feed,
            delivery=sender.delivery_heard_at,
            started_at=services.started_at,
        ),
    )
    start("commands", lambda: _publish_commands(bot, i18n, settings))
    log.info("bot started")
    await stop.wait()

    log.info("stopping")
    # Stop taking news and updates; the sender lets sends on the wire finish.
    await upstream.feed.close()
    await codes.close()
    with contextlib.suppress(RuntimeError):
        await dp.stop_polling()
    await sender.stop()
    await digest.stop()
    for task in tasks:
        if task.get_name() not in WINDS_DOWN:
            task.cancel()  # sleeping chores: nothing in flight worth waiting for
    # Handlers already running (aiogram runs each update as a task) get to answer.
    handlers = set(in_flight.tasks)
    _done, pending = await asyncio.wait([*tasks, *handlers], timeout=STOP_GRACE / 2)
    for task in pending:
        log.warning("stop: %s did not finish in time, cancelled", task.get_name())
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    await upstream.aclose()
    await bot.session.close()
    await db.close()
    log.info("stopped")
    return stop.exit_code()


def main() -> int:
    settings = load_settings()
    if settings is None:
        return 2
    return run_main(run, settings)
