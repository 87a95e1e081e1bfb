"""Keeps the mirror of followed users' AniLibria favorites fresh, so "follow my favorites" works.

The matcher finds a chat that follows a user's favorites through the local favorites table, and
a favorite title's news through the local titles table; both come from getFavorites. Every
FAVORITES_REFRESH_SECONDS (15 minutes) each user whose favorites some active chat follows is
refreshed: added titles are stored (their present episodes are the baseline), removed ones
stop matching. A session the API refuses is deleted and its owner told once (Accounts).
"""

from __future__ import annotations

import asyncio
import logging

from bot.account.links import Accounts

__all__ = ["FavoritesRefresher"]

log = logging.getLogger(__name__)


class FavoritesRefresher:
    def __init__(self, accounts: Accounts, interval: float) -> None:
        self.accounts = accounts
        self.interval = interval

    async def run(self) -> None:
        """Refresh at start (the mirror may be old after downtime), then every `interval`."""
        while True:
            try:
                refreshed = await self.accounts.refresh_followed()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad round must not stop the next one
                log.exception("favorites refresh round failed")
            else:
                if refreshed:
                    log.info("refreshed the favorites of %d followed users", refreshed)
            await asyncio.sleep(self.interval)
