"""V1Catalogue: the Catalogue role (search, a title, the schedule, files) on AniLiberty v1."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.anilibria._lenient import parse_list, parse_one
from bot.anilibria._types import ScheduleDay, Title, TitleFilter, TitleKind, Torrent, Video
from bot.anilibria.errors import NotFoundError, ResponseShapeError
from bot.anilibria.v1 import _convert as convert
from bot.anilibria.v1 import _models as m
from bot.anilibria.v1 import _rules
from bot.anilibria.v1._client import V1Client

__all__ = ["MAX_LIMIT", "CataloguePage", "V1Catalogue"]

MAX_LIMIT = 50  # the API answers 422 above it

# The API's own words for kinds our TitleKind lumps into OTHER.
_OTHER_KINDS = ("OAD", "DORAMA")


@dataclass(frozen=True, slots=True)
class CataloguePage:
    """One page of ``/anime/catalog/releases``."""

    titles: tuple[Title, ...]
    page: int
    total: int | None = None  # releases matching, over all pages
    total_pages: int | None = None
    has_more: bool = False


def _segment(ref: int | str) -> str:
    return quote(str(ref).strip(), safe="")


class V1Catalogue:
    """Read-only questions to the API, answered with the neutral types."""

    def __init__(self, client: V1Client, site_url: str) -> None:
        self._client = client
        self.site_url = site_url.rstrip("/")

    def title_url(self, alias: str | None, title_id: int) -> str:
        ref = alias.strip() if alias and alias.strip() else str(title_id)
        return f"{self.site_url}/anime/releases/release/{_segment(ref)}"

    async def _reference(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        """A GET of an answer that rarely changes and is asked often: conditional (ETag)."""
        return (await self._client.get_reply(path, params, revalidate=True)).data

    def _title(self, release: m.Release) -> Title:
        return convert.title(release, self.site_url)

    async def is_alive(self) -> bool:
        """Whether ``/app/status`` says the API is alive (one small request)."""
        data = await self._client.get("/app/status")
        return parse_one(m.AppStatus, data, "app status").is_alive is True

    async def search(self, query: str, *, limit: int, offset: int = 0) -> list[Title]:
        """Titles matching ``query``. The API pages nothing: the slice is cut here."""
        query = query.strip()
        if not query or limit <= 0:
            return []
        data = await self._client.get("/app/search/releases", {"query": query})
        releases = parse_list(m.Release, data, "search")
        return [self._title(r) for r in releases[max(offset, 0) : max(offset, 0) + limit]]

    async def title(self, ref: int | str) -> Title | None:
        """A release by id or alias with episodes, members and torrents; None when unknown."""
        if not str(ref).strip():
            return None
        try:
            data = await self._client.get(f"/anime/releases/{_segment(ref)}")
        except NotFoundError:
            return None
        return self._title(parse_one(m.Release, data, "release"))

    async def random_title(self) -> Title:
        data = await self._client.get("/anime/releases/random", {"limit": 1})
        releases = parse_list(m.Release, data, "random release")
        if not releases:
            raise ResponseShapeError("random release: the answer is an empty list")
        return self._title(releases[0])

    async def schedule(self) -> list[ScheduleDay]:
        data = await self._reference("/anime/schedule/week")
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]  # the shape the spec documents; live answers a bare array
        return convert.schedule_days(parse_list(m.ScheduleItem, data, "schedule"), self.site_url)

    async def torrent(self, torrent_id: int) -> tuple[Title, Torrent] | None:
        try:
            data = await self._client.get(f"/anime/torrents/{_segment(torrent_id)}")
        except NotFoundError:
            return None
        found = parse_one(m.TorrentWithRelease, data, "torrent")
        if found.release is None:
            return None
        return self._title(found.release), convert.torrent(found)

    async def torrent_file(self, torrent: Torrent) -> bytes:
        data = await self._client.download(f"/anime/torrents/{torrent.id}/file")
        if not data.startswith(b"d"):  # a .torrent is a bencoded dictionary; an HTML page is not
            raise ResponseShapeError(f"torrent {torrent.id}: not a .torrent file")
        return data

    async def genres(self) -> list[str]:
        return [name for name, _ in await self.genre_ids()]

    async def genre_ids(self) -> list[tuple[str, int]]:
        """``(name, id)`` of every genre: the ids are what :meth:`releases` filters by."""
        data = await self._reference("/anime/catalog/references/genres")
        genres = parse_list(m.Genre, data, "genres")
        return [(g.name.strip(), g.id) for g in genres if g.name and g.name.strip() and g.id]

    async def voices(self) -> list[str] | None:
        return await _rules.voice_actors(self._client)

    async def preview(self, rule: TitleFilter, *, limit: int) -> list[Title]:
        """The catalogue's filters (genre names as ids), freshest first; the rest of the rule
        (all genres, voice actors) checked here (see ``_rules``)."""
        genre_ids: list[int] = []
        if rule.genres:
            known = {name.casefold(): gid for name, gid in await self.genre_ids()}
            for genre in rule.genres:
                if genre.casefold() not in known:
                    return []  # a genre the catalogue does not have: nothing matches
                genre_ids.append(known[genre.casefold()])
        page = await self.releases(
            genres=genre_ids,
            kinds=[rule.kind] if rule.kind is not None else [],
            seasons=[rule.season] if rule.season is not None else [],
            years=(rule.year, rule.year) if rule.year is not None else None,
            limit=MAX_LIMIT,
        )
        voices = functools.partial(_rules.release_voices, self._client)
        return await _rules.preview(rule, list(page.titles), voices, limit)

    async def videos(self, limit: int = 10) -> list[Video]:
        """The newest of AniLiberty's own videos (trailers, announcements), newest first."""
        if limit <= 0:
            return []
        data = await self._reference("/media/videos", {"limit": min(limit, MAX_LIMIT)})
        videos = [convert.video(v, self.site_url) for v in parse_list(m.Video, data, "videos")]
        found = [v for v in videos if v is not None]
        found.sort(key=lambda v: v.created_at or 0, reverse=True)
        return found[:limit]

    async def releases(
        self,
        *,
        genres: Collection[int] = (),
        kinds: Collection[TitleKind | str] = (),
        seasons: Collection[str] = (),
        years: tuple[int | None, int | None] | None = None,
        search: str | None = None,
        sorting: str = "FRESH_AT_DESC",
        page: int = 1,
        limit: int = MAX_LIMIT,
    ) -> CataloguePage:
        """One page of the catalogue, filtered. ``kinds`` OTHER asks for OAD and DORAMA."""
        params: dict[str, str | int] = {
            "page": max(page, 1),
            "limit": min(max(limit, 1), MAX_LIMIT),
            "f[sorting]": sorting,
        }
        if genres:
            params["f[genres]"] = ",".join(str(g) for g in sorted(set(genres)))
        if kinds:
            params["f[types]"] = ",".join(_kind_values(kinds))
        if seasons:
            params["f[seasons]"] = ",".join(sorted({s.strip().lower() for s in seasons}))
        if years is not None and years[0] is not None:
            params["f[years][from_year]"] = years[0]
        if years is not None and years[1] is not None:
            params["f[years][to_year]"] = years[1]
        if search and search.strip():
            params["f[search]"] = search.strip()
        return await self.catalogue_page(params)

    async def catalogue_page(self, params: dict[str, str | int]) -> CataloguePage:
        """``/anime/catalog/releases`` with raw query ``params`` (``f[...]``, page, limit)."""
        data = await self._client.get("/anime/catalog/releases", params)
        envelope = parse_one(m.ReleasePage, data, "catalogue")
        pagination = envelope.meta.pagination if envelope.meta is not None else None
        page = int(params.get("page", 1))
        return CataloguePage(
            titles=tuple(self._title(r) for r in envelope.data),
            page=(pagination.current_page if pagination and pagination.current_page else page),
            total=pagination.total if pagination else None,
            total_pages=pagination.total_pages if pagination else None,
            has_more=envelope.has_more,
        )


def _kind_values(kinds: Collection[TitleKind | str]) -> Sequence[str]:
    values: set[str] = set()
    for kind in kinds:
        value = kind.value if isinstance(kind, TitleKind) else str(kind).strip().upper()
        if value == TitleKind.OTHER.value:
            values.update(_OTHER_KINDS)
        elif value:
            values.add(value)
    return sorted(values)
