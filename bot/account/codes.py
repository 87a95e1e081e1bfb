"""Linking an account by a one-time code (v1): no password ever passes through the chat.

The bot asks the API for a code bound to the user's device id, the user types it on the site
(``<site>/app/auth/otp/linkDevice``), and a watcher here asks the API every few seconds whether
the code was accepted. When it was, the token is sealed and stored like any session and the
handler is told; when the code runs out first, the handler is told that too, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.account.links import Accounts, SessionExpired
from bot.anilibria import Account, AniLibriaError, ExpiredCodeError, OneTimeCode
from storage import SessionRepo

__all__ = ["CodeLogins"]

log = logging.getLogger(__name__)

Outcome = Callable[[], Awaitable[None]]


class CodeLogins:
    def __init__(
        self,
        api: Account,
        accounts: Accounts,
        sessions: SessionRepo,
        *,
        poll_every: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.accounts = accounts
        self.sessions = sessions
        self.poll_every = poll_every
        self._clock = clock
        self._watchers: dict[int, asyncio.Task[None]] = {}

    @property
    def pending(self) -> int:
        return len(self._watchers)

    async def start(self, user_id: int, on_linked: Outcome, on_expired: Outcome) -> OneTimeCode:
        """A new code for the user (any earlier one stops being watched), and its watcher."""
        self.cancel(user_id)
        device_id = await self.sessions.device_id(user_id)
        code = await self.api.request_code(device_id)
        task = asyncio.create_task(
            self._watch(user_id, code, on_linked, on_expired), name=f"login-code-{user_id}"
        )
        self._watchers[user_id] = task
        task.add_done_callback(lambda done: self._forget(user_id, done))
        return code

    def cancel(self, user_id: int) -> bool:
        task = self._watchers.pop(user_id, None)
        if task is None:
            return False
        task.cancel()
        return True

    async def close(self) -> None:
        tasks = list(self._watchers.values())
        self._watchers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, user_id: int, done: asyncio.Task[None]) -> None:
        if self._watchers.get(user_id) is done:
            del self._watchers[user_id]

    async def _watch(
        self, user_id: int, code: OneTimeCode, on_linked: Outcome, on_expired: Outcome
    ) -> None:
        try:
            token = await self._wait_for_token(code)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not leave the user waiting without a word
            log.exception("user %s: watching a login code failed", user_id)
            token = None
        if token is None:
            await on_expired()
            return
        linked = await self.accounts.link(user_id, token, None)
        with contextlib.suppress(AniLibriaError, SessionExpired):
            await self.accounts.refresh_favorites(linked)
        await on_linked()

    async def _wait_for_token(self, code: OneTimeCode) -> str | None:
        """The token once the code is accepted; None when it expired first."""
        while self._clock() < code.expires_at:
            await asyncio.sleep(min(self.poll_every, max(code.expires_at - self._clock(), 0.0)))
            try:
                token = await self.api.redeem_code(code)
            except ExpiredCodeError:
                return None
            except AniLibriaError as exc:  # the API hiccuped: ask again until the code runs out
                log.info("login code: the API did not answer (%s); asking again", exc)
                continue
            if token is not None:
                return token
        return None
