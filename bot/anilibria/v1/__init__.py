"""The AniLiberty API v1 upstream: the Catalogue, Account and NewsFeed roles.

``open_upstream`` is all the bot needs::

    upstream = open_upstream(config, marks, interest)
    ...
    await upstream.aclose()

This package imports only the stdlib, httpx, pydantic and the seam (``bot.anilibria._types``,
``_roles``, ``errors``); nothing outside it sees v1's models.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from bot.anilibria._roles import Interest, MarkStore, Upstream, UpstreamConfig
from bot.anilibria.v1._account import V1Account
from bot.anilibria.v1._catalogue import CataloguePage, V1Catalogue
from bot.anilibria.v1._client import V1Client
from bot.anilibria.v1._feed import MARK_KEY, V1Feed

__all__ = [
    "MARK_KEY",
    "CataloguePage",
    "V1Account",
    "V1Catalogue",
    "V1Client",
    "V1Feed",
    "open_upstream",
]


def open_upstream(
    config: UpstreamConfig,
    marks: MarkStore,
    interest: Interest,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Upstream:
    """The v1 upstream over one HTTP client; ``aclose`` stops the feed and closes the client."""
    client = V1Client(
        config.api_url,
        config.site_url,
        user_agent=config.user_agent,
        transport=transport,
        clock=clock,
    )
    catalogue = V1Catalogue(client, config.site_url)
    account = V1Account(client, config.site_url, clock=clock)
    feed = V1Feed(
        client, catalogue, marks, interest, poll_interval=config.poll_interval, clock=clock
    )

    async def aclose() -> None:
        await feed.close()
        await client.aclose()

    return Upstream(name="v1", catalogue=catalogue, account=account, feed=feed, aclose=aclose)
