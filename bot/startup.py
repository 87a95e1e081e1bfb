"""Start-up checks and exit codes: nothing touches the disk until Telegram accepts the token.

``prepare`` runs first in ``app.run``. It makes every file the process creates private (umask
077), asks Telegram ``getMe`` until it answers, and then takes the database's instance lock
(``bot.instance``). A token Telegram rejects ends the process with one line and exit code 3;
an unreachable Telegram (DNS, refused, timeouts, 5xx, 429) is waited for with backoff, logged
once when it goes and once when it comes back. ``Stop`` is the process's stop signal that also
remembers why it stopped, and ``main`` turns the outcome into the exit code:

====  =====================================================================================
code  meaning
====  =====================================================================================
0     stopped by SIGTERM/SIGINT (also while still waiting for Telegram)
1     crashed: an unexpected error; the log above has the traceback
2     configuration: BOT_TOKEN unset or malformed, an invalid setting, an unusable key, or
      stored sessions that none of the configured keys opens
3     Telegram rejected BOT_TOKEN (401 Unauthorized; 404 from ``getMe``), at start or later
      on ``getUpdates``
4     another bot holds the database (``DATABASE_PATH``)
====  =====================================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from bot import instance

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import Response, TelegramType

    from bot.account.vault import SessionVault
    from bot.config import Settings
    from storage import Database

__all__ = [
    "EXIT_CONFIG",
    "EXIT_CRASH",
    "EXIT_IN_USE",
    "EXIT_OK",
    "EXIT_TOKEN",
    "StartupError",
    "Stop",
    "TokenWatch",
    "check_sessions",
    "main",
    "prepare",
    "wait_for_telegram",
]

log = logging.getLogger("bot")

T = TypeVar("T")

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_CONFIG = 2
EXIT_TOKEN = 3
EXIT_IN_USE = 4

RETRY_INITIAL = 1.0  # seconds before the second getMe; doubles up to RETRY_MAX
RETRY_MAX = 30.0
GET_ME_TIMEOUT = 10  # seconds for one getMe: a black-holed address must not stall the retries

BOT_REFUSED = (
    "Telegram rejected BOT_TOKEN (401 Unauthorized): the token is wrong or was revoked; "
    "get the current one from @BotFather (/mybots, API Token)"
)


class StartupError(Exception):
    """A reason to stop before serving, with its exit code; the message is one line."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Stop(asyncio.Event):
    """The stop signal. A signal just sets it (exit 0); ``fail`` also records why (first wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.code = EXIT_OK
        self.reason: str | None = None

    def fail(self, code: int, reason: str) -> None:
        if self.reason is None:
            self.code, self.reason = code, reason
        self.set()

    def exit_code(self) -> int:
        """The exit code; a failure's reason is printed as the process's last line."""
        if self.reason is not None:
            print(f"error: {self.reason}", file=sys.stderr, flush=True)
        return self.code


# -- Telegram ---------------------------------------------------------------------------------


async def wait_for_telegram(settings: Settings) -> bool:
    """True once Telegram accepts the token; False when stopped by a signal while waiting.

    Raises StartupError(EXIT_TOKEN) when Telegram rejects the token.
    """
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramNotFound, TelegramRetryAfter, TelegramUnauthorizedError

    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    delay = RETRY_INITIAL
    down_since: str | None = None  # the first failure's reason while Telegram is unreachable
    try:
        while True:
            try:
                me = await _unless(stopped, bot.get_me(request_timeout=GET_ME_TIMEOUT))
            except TelegramUnauthorizedError:
                raise StartupError(EXIT_TOKEN, BOT_REFUSED) from None
            except TelegramNotFound:
                raise StartupError(
                    EXIT_TOKEN,
                    f"Telegram answered 404 Not Found to getMe at {settings.telegram_api_url}: "
                    "BOT_TOKEN (or TELEGRAM_API_URL) is wrong",
                ) from None
            except Exception as exc:  # unreachable, 5xx, 429, a proxy's page: wait and retry
                if down_since is None:
                    down_since = _describe(exc)
                    log.warning(
                        "Telegram is unreachable at %s (%s); retrying with backoff until it "
                        "answers",
                        settings.telegram_api_url,
                        down_since,
                    )
                else:
                    log.debug("Telegram still unreachable: %s", _describe(exc))
                wait = delay * random.uniform(0.8, 1.2)
                if isinstance(exc, TelegramRetryAfter):
                    wait = max(wait, float(exc.retry_after))
                delay = min(delay * 2, RETRY_MAX)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), wait)
                if stopped.is_set():
                    return False
                continue
            if me is None:
                return False  # a signal while getMe was on the wire
            if down_since is not None:
                log.info("Telegram answers again")
            log.info("Telegram accepted the token: @%s (id %d)", me.username, me.id)
            return True
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await session.close()


async def _unless(stopped: asyncio.Event, work: Coroutine[Any, Any, T]) -> T | None:
    """``work``'s result, or None (work cancelled) when ``stopped`` is set first."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    return task.result()


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class TokenWatch:
    """An aiogram request middleware: a 401 on getUpdates stops the bot with exit code 3.

    aiogram's polling retries every failed getUpdates forever, so a token revoked while the
    bot runs would otherwise leave it polling in vain. Sends are the sender's business.
    """

    def __init__(self, stop: Stop) -> None:
        self.stop = stop

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        from aiogram.exceptions import TelegramUnauthorizedError

        try:
            return await make_request(bot, method)
        except TelegramUnauthorizedError:
            if method.__api_method__ in ("getUpdates", "getMe"):
                self.stop.fail(EXIT_TOKEN, BOT_REFUSED)
            raise


# -- the whole start --------------------------------------------------------------------------


async def prepare(settings: Settings) -> bool:
    """Before anything is created: private files, a token Telegram accepts, the instance lock.

    False when a signal came while waiting for Telegram (exit 0). Raises StartupError.
    """
    os.umask(0o077)  # the database, its WAL/SHM, the key, the lock, the heartbeat: owner only
    if not await wait_for_telegram(settings):
        return False
    try:
        instance.hold(settings.database_path)
    except instance.DatabaseInUse as exc:
        raise StartupError(EXIT_IN_USE, str(exc)) from None
    return True


async def check_sessions(vault: SessionVault, db: Database) -> None:
    """Refuse to start when no stored session opens with the configured keys.

    That is what a changed SECRET_KEY (or a lost key file) looks like; starting anyway would
    drop every user's session one by one as they are used. Closes ``db`` before raising.
    """
    from storage import SessionRepo

    sealed = await SessionRepo(db).sealed()
    closed = [user_id for user_id, ciphertext in sealed if not vault.opens(user_id, ciphertext)]
    if not closed:
        return
    if len(closed) < len(sealed):
        log.warning(
            "%d of %d stored AniLibria sessions open with none of the configured keys "
            "(damaged, or sealed with a key no longer listed): each is dropped when next used",
            len(closed),
            len(sealed),
        )
        return
    await db.close()
    raise StartupError(
        EXIT_CONFIG,
        f"none of the {len(sealed)} stored AniLibria sessions opens with the configured key "
        "(was SECRET_KEY or the key file changed?): list the old key after the new one, "
        "SECRET_KEY=NEW,OLD; or run `python -m bot forget-sessions` to drop them",
    )


def main(run: Callable[[Settings], Coroutine[Any, Any, int]], settings: Settings) -> int:
    """Run the bot; a StartupError is its one line and code, any other error exit code 1."""
    try:
        return asyncio.run(run(settings))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return _exit_now(exc.code)
    except Exception:
        log.exception("crashed")
        print("error: the bot crashed (the traceback is above)", file=sys.stderr, flush=True)
        return _exit_now(EXIT_CRASH)


def _exit_now(code: int) -> int:
    """The code; but a worker thread left running (an open aiosqlite connection after an error
    in the wiring) would keep the interpreter from exiting, so then leave at once."""
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        logging.shutdown()
        os._exit(code)
    return code
