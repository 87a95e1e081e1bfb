"""Which titles some chat follows: what the news feed reads in full (v1 polls only those)."""

from __future__ import annotations

from collections.abc import Collection

from storage import SubscriptionRepo

__all__ = ["FollowedTitles"]


class FollowedTitles:
    """The feed's :class:`~bot.anilibria.Interest`: titles followed directly or through the
    AniLibria favorites a chat follows."""

    def __init__(self, subscriptions: SubscriptionRepo) -> None:
        self.subscriptions = subscriptions

    async def wanted(self, title_ids: Collection[int] | None) -> set[int]:
        followed = await self.subscriptions.followed_title_ids()
        return followed if title_ids is None else followed & set(title_ids)
