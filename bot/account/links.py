"""The one place that turns a Telegram user into their AniLibria session, and back.

Handlers, the favorites refresher and the card/search buttons all go through :class:`Accounts`,
so that the rules hold everywhere: a session is only ever looked up by the id of the Telegram
user who acts (never taken from callback data or a message), it is stored sealed by the vault,
the log filter learns it before anything could print it, and when the API refuses it the
stale session is deleted and the user told once, through the outbox, in their private chat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.account.vault import SessionVault, VaultError
from bot.anilibria import Account, AniLibriaError, Catalogue, Title, UnauthorizedError
from bot.logs import add_secret
from bot.notify.matcher import Matcher
from bot.notify.render import EXPIRED_NOTICE_KIND
from storage import SessionRepo

__all__ = ["Accounts", "LinkedSession", "SessionExpired"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LinkedSession:
    """A user's decrypted session, for the length of one action. Its repr shows no secret."""

    user_id: int
    session: str = field(repr=False)
    ciphertext: bytes = field(repr=False)
    login: str | None = None


class SessionExpired(Exception):
    """The API refused the session: it is deleted and the user has been told (once)."""


class Accounts:
    def __init__(
        self,
        repo: SessionRepo,
        vault: SessionVault,
        api: Account,
        matcher: Matcher,
        *,
        catalogue: Catalogue | None = None,
        wake_sender: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repo = repo
        self.vault = vault
        self.api = api
        self.matcher = matcher
        self.catalogue = catalogue
        self.wake_sender = wake_sender
        self._clock = clock
        self._refreshed_at: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def _learned(self, session: str) -> None:
        """Teach the log filter this session before any code path could print it."""
        add_secret(session)  # the filter keeps the most recent sessions: refresh this one

    # -- the session ---------------------------------------------------------------------------

    async def session_of(self, user_id: int) -> LinkedSession | None:
        stored = await self.repo.get(user_id)
        if stored is None:
            return None
        try:
            session = self.vault.open(user_id, stored.ciphertext)
        except VaultError:
            # Another key (SECRET_KEY changed) or a tampered row: useless, treat as expired.
            log.warning("user %s: the stored session does not decrypt; dropping it", user_id)
            await self._expire(user_id, stored.ciphertext)
            return None
        self._learned(session)
        if self.vault.needs_reseal(stored.ciphertext):  # opened with an older key: the newest
            stored = await self.repo.reseal(stored, self.vault.seal(user_id, session))
        return LinkedSession(user_id, session, stored.ciphertext, stored.login)

    async def is_linked(self, user_id: int) -> bool:
        return await self.repo.get(user_id) is not None

    async def link(self, user_id: int, session: str, login: str | None) -> LinkedSession:
        self._learned(session)
        ciphertext = self.vault.seal(user_id, session)
        await self.repo.save(user_id, ciphertext, login)
        self._refreshed_at.pop(user_id, None)
        log.info("user %s linked an AniLibria account", user_id)
        return LinkedSession(user_id, session, ciphertext, login)

    async def unlink(self, user_id: int) -> bool:
        self._refreshed_at.pop(user_id, None)
        removed = await self.repo.delete(user_id)
        if removed:
            log.info("user %s unlinked their AniLibria account", user_id)
        return removed

    async def _expire(self, user_id: int, ciphertext: bytes) -> bool:
        told = await self.repo.expire(
            user_id,
            ciphertext,
            notice_kind=EXPIRED_NOTICE_KIND,
            dedupe_key=f"expired:{time.time_ns()}",
        )
        self._refreshed_at.pop(user_id, None)
        if told:
            log.info("user %s: AniLibria refused the session; deleted it", user_id)
            if self.wake_sender is not None:
                self.wake_sender()
        return told

    async def call(self, linked: LinkedSession, action: Callable[[str], Awaitable[T]]) -> T:
        """Run one user method with this session; a refused session becomes SessionExpired."""
        try:
            return await action(linked.session)
        except UnauthorizedError:
            await self._expire(linked.user_id, linked.ciphertext)
            raise SessionExpired from None

    async def validate(self, session: str) -> list[Title]:
        """A pasted session is kept only if the API accepts it (raises UnauthorizedError)."""
        self._learned(session)
        return await self.api.favorites(session)

    # -- favorites -----------------------------------------------------------------------------

    def _lock(self, user_id: int) -> asyncio.Lock:
        return self._locks.setdefault(user_id, asyncio.Lock())

    async def store_favorites(self, user_id: int, titles: list[Title]) -> None:
        """Keep the titles (first sight is the baseline) and mirror the ids for the matcher."""
        await self.matcher.remember(titles)
        await self.repo.replace_favorites(user_id, [title.id for title in titles])
        self._refreshed_at[user_id] = self._clock()
        if user_id in await self.repo.users_followed_by_chats():
            await self.list_favorites(user_id)

    async def list_favorites(self, user_id: int) -> None:
        """Read in full, once, each favorite of the user whose episodes the bot never saw
        listed (v1's favorites answer names none): that listing is the baseline the favorite's
        next episode is news against. Called while a chat follows the user's favorites."""
        if self.catalogue is None:
            return
        unlisted = await self.matcher.unlisted(await self.repo.favorite_ids(user_id))
        for title_id in sorted(unlisted):
            try:
                title = await self.catalogue.title(title_id)
            except AniLibriaError as exc:  # the next refresh tries again
                log.info("user %s: favorite %s could not be read: %s", user_id, title_id, exc)
                continue
            if title is not None:
                await self.matcher.remember([title])

    async def refresh_favorites(self, linked: LinkedSession) -> list[Title]:
        async with self._lock(linked.user_id):
            titles = await self.call(linked, self.api.favorites)
            await self.store_favorites(linked.user_id, titles)
        return titles

    async def set_favorite(self, linked: LinkedSession, title_id: int, add: bool) -> None:
        """Add or remove, then the mirror is refreshed from the API's answer."""
        await self.call(linked, lambda token: self.api.set_favorite(token, title_id, add))
        try:
            await self.refresh_favorites(linked)
        except AniLibriaError as exc:  # the change is made; the mirror catches up later
            log.warning("user %s: favorites refresh after a change failed: %s", linked.user_id, exc)

    async def favorite_ids(self, user_id: int, max_age: float) -> set[int] | None:
        """The user's favorites (None: not linked), from the mirror unless it is stale."""
        linked = await self.session_of(user_id)
        if linked is None:
            return None
        refreshed = self._refreshed_at.get(user_id)
        if refreshed is None or self._clock() - refreshed > max_age:
            try:
                await self.refresh_favorites(linked)
            except SessionExpired:
                return None
            except AniLibriaError as exc:
                log.info("user %s: favorites refresh failed (%s); using the mirror", user_id, exc)
        return await self.repo.favorite_ids(user_id)

    async def refresh_followed(self) -> int:
        """Refresh every user whose favorites some chat follows; returns how many succeeded."""
        done = 0
        for user_id in await self.repo.users_followed_by_chats():
            linked = await self.session_of(user_id)
            if linked is None:
                continue
            try:
                await self.refresh_favorites(linked)
            except SessionExpired:
                continue
            except AniLibriaError as exc:
                log.warning("user %s: favorites refresh failed: %s", user_id, exc)
                continue
            done += 1
        return done
