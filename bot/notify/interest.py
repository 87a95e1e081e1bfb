"""Which titles the news feed should read in full: what some chat follows, and, while some
follow rule names a voice actor, the titles that may be new (v1's lists carry genres but not
the voice actors: a title that is new, or not yet judged, is read once more so that voice rules
see its members)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from bot.notify.rules import NEW_WINDOW
from storage import RuleRepo, SubscriptionRepo, TitleRepo

__all__ = ["FollowedTitles"]


class FollowedTitles:
    """The feed's :class:`~bot.anilibria.Interest`: titles followed directly or through the
    AniLibria favorites a chat follows, and titles a voice rule may want to see in full."""

    def __init__(
        self,
        subscriptions: SubscriptionRepo,
        rules: RuleRepo | None = None,
        titles: TitleRepo | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscriptions = subscriptions
        self.rules = rules
        self.titles = titles
        self._clock = clock

    async def wanted(self, title_ids: Collection[int] | None) -> set[int]:
        followed = await self.subscriptions.followed_title_ids()
        if title_ids is None:  # the feed's first start: the followed ones are its baseline
            return followed
        wanted = followed & set(title_ids)
        rest = set(title_ids) - wanted
        if (
            rest
            and self.rules is not None
            and self.titles is not None
            and await self.rules.has_voice_rules()
        ):
            since = int(self._clock()) - NEW_WINDOW
            wanted |= await self.titles.new_or_unknown(rest, since)
        return wanted
