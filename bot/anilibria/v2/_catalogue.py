"""The v2 catalogue and account roles, on :class:`~bot.anilibria.v2.client.AniLibriaClient`."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections import OrderedDict
from collections.abc import Sequence

from bot.anilibria._types import (
    FeedLink,
    OneTimeCode,
    ScheduleDay,
    Title,
    TitleFilter,
    Torrent,
    Video,
)
from bot.anilibria.errors import AniLibriaError, NotFoundError, ResponseShapeError, ServerError
from bot.anilibria.v2._convert import (
    schedule_from_v2,
    title_from_v2,
    title_url,
    torrent_from_v2,
    video_from_v2,
)
from bot.anilibria.v2._params import RssType
from bot.anilibria.v2._query import build_query
from bot.anilibria.v2.client import AniLibriaClient

__all__ = ["V2Account", "V2Catalogue"]

# Everything a card, a search line and a notice need; playlists and torrents only for a card.
LIST_FIELDS = [
    "id",
    "code",
    "names",
    "season",
    "type",
    "status",
    "player.series",
    "posters",
    "genres",
    "team",
    "announce",
    "description",
    "updated",
]
SCHEDULE_FIELDS = [*LIST_FIELDS]
MAX_TORRENT_BYTES = 5 * 1024 * 1024
_FILES_KEPT = 16


class V2Catalogue:
    def __init__(self, client: AniLibriaClient) -> None:
        self.client = client
        self.site_url = client.site_url
        self._files: OrderedDict[int, bytes] = OrderedDict()  # raw_torrent of torrent()

    def title_url(self, alias: str | None, title_id: int) -> str:
        return title_url(self.site_url, alias, title_id)

    async def search(self, query: str, *, limit: int, offset: int = 0) -> list[Title]:
        found = await self.client.search_titles(
            search=query, limit=limit, after=offset or None, filter=LIST_FIELDS
        )
        return [title_from_v2(t, self.site_url) for t in found]

    async def title(self, ref: int | str) -> Title | None:
        try:
            if isinstance(ref, int):
                found = await self.client.get_title(id=ref)
            else:
                found = await self.client.get_title(code=ref)
        except NotFoundError:
            return None
        except ServerError as exc:
            if exc.code == 504:  # how v2 answered for a title that does not exist
                return None
            raise
        return title_from_v2(found, self.site_url)

    async def random_title(self) -> Title:
        return title_from_v2(await self.client.get_random_title(), self.site_url)

    async def schedule(self) -> list[ScheduleDay]:
        days = await self.client.get_schedule(filter=SCHEDULE_FIELDS)
        return schedule_from_v2(days, self.site_url)

    async def torrent(self, torrent_id: int) -> tuple[Title, Torrent] | None:
        # One request: the file comes inline (raw_torrent) and waits for torrent_file().
        try:
            found = await self.client.get_title(
                torrent_id=torrent_id,
                include=["raw_torrent"],
                filter=["id", "code", "names", "torrents"],
            )
        except NotFoundError:
            return None
        torrents = found.torrents.list if found.torrents is not None else []
        torrent = next((t for t in torrents if t.torrent_id == torrent_id), None)
        if torrent is None:
            return None
        if torrent.raw_base64_file:
            with contextlib.suppress(binascii.Error, ValueError):
                self._files[torrent_id] = base64.b64decode(torrent.raw_base64_file, validate=True)
                while len(self._files) > _FILES_KEPT:
                    self._files.popitem(last=False)
        return title_from_v2(found, self.site_url), torrent_from_v2(torrent, self.site_url)

    async def torrent_file(self, torrent: Torrent) -> bytes:
        data = self._files.pop(torrent.id, b"")
        if not data and torrent.url:
            data = await self.client.download(torrent.url, max_bytes=MAX_TORRENT_BYTES)
        if not data.startswith(b"d"):  # a .torrent is a bencoded dictionary; an HTML page is not
            raise ResponseShapeError(f"torrent {torrent.id}: not a .torrent file")
        return data

    async def genres(self) -> list[str]:
        return await self.client.get_genres()

    async def voices(self) -> list[str] | None:
        return list((await self.client.get_team()).voice)

    async def preview(self, rule: TitleFilter, *, limit: int) -> list[Title]:
        """``advancedSearch`` with the rule as a query, the newest titles (highest ids) first."""
        found = await self.client.advanced_search(
            build_query(rule), filter=LIST_FIELDS, limit=limit, order_by="id", sort_direction=1
        )
        return [title_from_v2(t, self.site_url) for t in found]

    async def videos(self, limit: int = 10) -> list[Video]:
        found = await self.client.get_youtube(limit=limit)
        videos = [video_from_v2(v, self.site_url) for v in found]
        return [v for v in videos if v is not None]


_RSS_FORMATS: tuple[tuple[RssType, str], ...] = (
    ("rss", "RSS"),
    ("atom", "Atom"),
    ("json", "JSON Feed"),
)


class V2Account:
    """v2 accounts: a session from ``login.php`` (or pasted), favorites, the getRSS feed."""

    supports_one_time_code = False

    def __init__(self, client: AniLibriaClient) -> None:
        self.client = client

    async def log_in(self, login: str, password: str) -> str:
        return (await self.client.login(login, password)).session

    async def request_code(self, device_id: str) -> OneTimeCode:
        raise AniLibriaError("the v2 API has no one-time login codes")

    async def redeem_code(self, code: OneTimeCode) -> str | None:
        raise AniLibriaError("the v2 API has no one-time login codes")

    async def favorites(self, token: str) -> list[Title]:
        found = await self.client.get_favorites(token, limit=-1)
        return [title_from_v2(t, self.client.site_url) for t in found]

    async def set_favorite(self, token: str, title_id: int, add: bool) -> None:
        if add:
            await self.client.add_favorite(token, title_id)
        else:
            await self.client.del_favorite(token, title_id)

    async def feed_links(self, token: str) -> list[FeedLink]:
        return [
            FeedLink(kind, label, self.client.rss_url(kind, token)) for kind, label in _RSS_FORMATS
        ]

    async def title_feed_url(self, token: str | None, title_id: int) -> str | None:
        return None

    async def title_feed_urls(self, token: str | None, title_ids: Sequence[int]) -> dict[int, str]:
        return {}
