"""The upstream: what the bot knows of AniLibria, whichever API serves it.

The seam is this package's top: neutral types (:class:`Title`, :class:`Episode`,
:class:`Torrent`, :class:`ScheduleDay`...), one protocol per role (:class:`Catalogue`,
:class:`NewsFeed`, :class:`Account`) and one error hierarchy (:mod:`bot.anilibria.errors`).
``v1`` (AniLiberty, polled; the default) and ``v2`` (the WebSocket API) implement it and never
import each other; nothing outside them imports their models. This package knows nothing of
Telegram or storage.
"""

from bot.anilibria._roles import (
    Account,
    Catalogue,
    Interest,
    MarkStore,
    NewsFeed,
    Upstream,
    UpstreamConfig,
)
from bot.anilibria._types import (
    Change,
    Episode,
    EpisodesReleased,
    FeedHealth,
    FeedLink,
    Names,
    NewsSink,
    OneTimeCode,
    ScheduleDay,
    Title,
    TitleKind,
    TitleSeen,
    TitleStatus,
    Torrent,
    TorrentsChanged,
    Video,
    format_ordinal,
)
from bot.anilibria.errors import (
    AniLibriaError,
    ApiError,
    ExpiredCodeError,
    LoginError,
    NotFoundError,
    RateLimitedError,
    ResponseShapeError,
    ServerError,
    TransportError,
    UnauthorizedError,
)

__all__ = [
    "Account",
    "AniLibriaError",
    "ApiError",
    "Catalogue",
    "Change",
    "Episode",
    "EpisodesReleased",
    "ExpiredCodeError",
    "FeedHealth",
    "FeedLink",
    "Interest",
    "LoginError",
    "MarkStore",
    "Names",
    "NewsFeed",
    "NewsSink",
    "NotFoundError",
    "OneTimeCode",
    "RateLimitedError",
    "ResponseShapeError",
    "ScheduleDay",
    "ServerError",
    "Title",
    "TitleKind",
    "TitleSeen",
    "TitleStatus",
    "Torrent",
    "TorrentsChanged",
    "TransportError",
    "UnauthorizedError",
    "Upstream",
    "UpstreamConfig",
    "Video",
    "format_ordinal",
]
