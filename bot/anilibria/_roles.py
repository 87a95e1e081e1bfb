"""One interface per role the upstream plays; each API package implements all three.

* :class:`Catalogue` answers questions (search, a title, the schedule, a torrent file).
* :class:`NewsFeed` says what changed, as :data:`Change` values handed to a sink, and how it
  is doing. v2 pushes over a WebSocket and catches up over REST; v1 is polled.
* :class:`Account` is a user's own AniLibria account: linking it, favorites, personal feeds.

The feed needs two things of the bot, given as small protocols so that the upstream never
imports storage: a :class:`MarkStore` for its high-water marks and an :class:`Interest` that
says which titles some chat follows (v1 reads only those in full).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.anilibria._types import (
    FeedHealth,
    FeedLink,
    NewsSink,
    OneTimeCode,
    ScheduleDay,
    Title,
    TitleFilter,
    Torrent,
    Video,
)

__all__ = [
    "Account",
    "Catalogue",
    "Interest",
    "MarkStore",
    "NewsFeed",
    "Upstream",
    "UpstreamConfig",
]


class Catalogue(Protocol):
    site_url: str

    def title_url(self, alias: str | None, title_id: int) -> str:
        """The title's page on the site (safe to put into a button)."""
        ...

    async def search(self, query: str, *, limit: int, offset: int = 0) -> list[Title]: ...

    async def title(self, ref: int | str) -> Title | None:
        """A title by id or alias with episodes and torrents; None when it does not exist."""
        ...

    async def random_title(self) -> Title: ...

    async def schedule(self) -> list[ScheduleDay]: ...

    async def torrent(self, torrent_id: int) -> tuple[Title, Torrent] | None:
        """A torrent and the title it belongs to; None when the API does not know it."""
        ...

    async def torrent_file(self, torrent: Torrent) -> bytes:
        """The .torrent file (a bencoded dictionary); ResponseShapeError when it is not one."""
        ...

    async def genres(self) -> list[str]: ...

    async def voices(self) -> list[str] | None:
        """The voice actors' names the API knows; None when it cannot list them."""
        ...

    async def preview(self, rule: TitleFilter, *, limit: int) -> list[Title]:
        """Current titles that `rule` matches, newest first, as the API itself filters them
        (v2: an ``advancedSearch`` query built from the rule; v1: catalogue filters)."""
        ...

    async def videos(self, limit: int = 10) -> list[Video]: ...


class Account(Protocol):
    #: True when the API links an account by a one-time code entered on the site (v1).
    supports_one_time_code: bool

    async def log_in(self, login: str, password: str) -> str:
        """A token (v2: a session) for these credentials; raises LoginError subclasses."""
        ...

    async def request_code(self, device_id: str) -> OneTimeCode: ...

    async def redeem_code(self, code: OneTimeCode) -> str | None:
        """The token once the user entered the code on the site; None while they have not.
        Raises ExpiredCodeError when the code is gone."""
        ...

    async def favorites(self, token: str) -> list[Title]: ...

    async def set_favorite(self, token: str, title_id: int, add: bool) -> None: ...

    async def feed_links(self, token: str) -> list[FeedLink]:
        """The user's personal feed links (/rss)."""
        ...

    async def title_feed_url(self, token: str | None, title_id: int) -> str | None:
        """A torrent RSS feed of one title (personalised when `token` is given); None when
        the API has none (v2)."""
        ...

    async def title_feed_urls(self, token: str | None, title_ids: Sequence[int]) -> dict[int, str]:
        """:meth:`title_feed_url` of many titles at once (the account is read once); empty
        when the API has no such feeds (v2)."""
        ...


class MarkStore(Protocol):
    """Where the feed keeps its high-water marks (the bot's key-value state table)."""

    async def get_int(self, key: str) -> int | None: ...

    async def raise_to(self, key: str, value: int) -> None: ...


class Interest(Protocol):
    """Which titles the bot cares about in full (some chat follows them, or a follow rule
    needs what only a full read shows, such as voice actors)."""

    async def wanted(self, title_ids: Collection[int] | None) -> set[int]:
        """Those of `title_ids` worth reading in full; all followed ones for None (the
        baseline at a first start)."""
        ...


class NewsFeed(Protocol):
    async def run(self, sink: NewsSink) -> None:
        """Hand every change to `sink` until :meth:`close`; never raises for the API."""
        ...

    async def close(self) -> None: ...

    def health(self) -> FeedHealth: ...


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """What an API package needs to know to open its upstream (from Settings, in app.py)."""

    api_url: str
    site_url: str
    ws_url: str = ""  # v2 only
    poll_interval: float = 30.0  # v1 only: seconds between polls
    ws_idle_timeout: float = 60.0  # v2 only
    ws_backoff_initial: float = 1.0  # v2 only
    ws_backoff_max: float = 60.0  # v2 only
    user_agent: str = "anilibria-bot/0.2 (+https://github.com/)"


@dataclass(frozen=True, slots=True)
class Upstream:
    """One API behind the three roles, as app.py wires it."""

    name: str  # "v1" or "v2"
    catalogue: Catalogue
    account: Account
    feed: NewsFeed
    aclose: Callable[[], Awaitable[None]] = field(repr=False)
