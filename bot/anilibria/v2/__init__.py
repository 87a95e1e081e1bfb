"""The AniLibria API v2: REST client, WebSocket events and stream, catch-up over getUpdates.

Switched off upstream in July 2025 and kept complete for v2-compatible servers. Everything
outside this package sees it through :func:`open_upstream` and the neutral types of
:mod:`bot.anilibria`.
"""

from __future__ import annotations

import httpx

from bot.anilibria._roles import Interest, MarkStore, Upstream, UpstreamConfig
from bot.anilibria.v2._catalogue import V2Account, V2Catalogue
from bot.anilibria.v2.client import AniLibriaClient
from bot.anilibria.v2.feed import V2Feed
from bot.anilibria.v2.stream import EventStream

__all__ = ["V2Account", "V2Catalogue", "V2Feed", "open_upstream"]


def open_upstream(
    config: UpstreamConfig,
    marks: MarkStore,
    interest: Interest,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Upstream:
    """The v2 roles over one REST client and one socket. `interest` is unused: the socket
    tells about every title and the matcher ignores those nobody follows."""
    client = AniLibriaClient(
        config.api_url, config.site_url, transport=transport, user_agent=config.user_agent
    )
    stream = EventStream(
        config.ws_url,
        idle_timeout=config.ws_idle_timeout,
        backoff_initial=config.ws_backoff_initial,
        backoff_max=config.ws_backoff_max,
    )
    feed = V2Feed(client, stream, marks)

    async def aclose() -> None:
        await feed.close()
        await client.aclose()

    return Upstream(
        name="v2",
        catalogue=V2Catalogue(client),
        account=V2Account(client),
        feed=feed,
        aclose=aclose,
    )
