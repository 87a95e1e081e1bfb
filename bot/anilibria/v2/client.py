"""AniLibriaClient: one async method per AniLibria API v2 REST method, plus ``login.php``.

One :class:`httpx.AsyncClient` is shared by every call. Its cookie jar refuses every cookie, so a
session from one user's login never rides along with another user's request; the session of a
login is read from that one response. Sessions travel in query strings (``session=...``): the
``httpx`` logger, which logs every request URL at INFO, is set to WARNING by this module, and
every URL this module logs or puts into an exception is redacted (``session=***``).

Errors (see :mod:`bot.anilibria.errors`): an ``{"error": {...}}`` body at any HTTP status, or an
HTTP error status, becomes an :class:`~bot.anilibria.errors.ApiError` subclass. 5xx answers,
timeouts and connection errors are retried ``retries`` times with exponential backoff, within an
overall deadline (``total_timeout``, 9 s by default) so a reply always comes within 10 s; a 4xx is
never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import TypeAdapter

from bot.anilibria.errors import (
    ApiError,
    ResponseShapeError,
    ServerError,
    TransportError,
    redact,
)
from bot.anilibria.v2 import _params as p
from bot.anilibria.v2._params import DescriptionType, Include, PlaylistType, RssType, SeedSortBy
from bot.anilibria.v2.models import (
    FavoriteResult,
    FeedItem,
    LoginResult,
    ScheduleDay,
    SeedStat,
    TeamRoster,
    Title,
    YouTubeVideo,
)

__all__ = ["DEFAULT_MAX_DOWNLOAD", "AniLibriaClient"]

_log = logging.getLogger(__name__)
# httpx logs "HTTP Request: GET <full URL>" at INFO: the URL may carry session=...
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_REDIRECTS = 5
_MIN_ATTEMPT = 0.05  # seconds: no retry is started with less time than this left

T = TypeVar("T")

_INTS = TypeAdapter(list[int])
_STRS = TypeAdapter(list[str])

Strs = Sequence[str] | None
Ints = Sequence[int] | None


class AniLibriaClient:
    """Async client of the AniLibria API v2 (``api_url`` e.g. ``https://api.anilibria.tv/v2``)
    and of the site (``site_url``: ``public/login.php``, posters, torrent files)."""

    def __init__(
        self,
        api_url: str,
        site_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.3,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "anilibria-bot/0.1",
        total_timeout: float = 9.0,
    ) -> None:
        if retries < 0 or timeout <= 0 or total_timeout <= 0 or backoff < 0:
            raise ValueError("timeout/total_timeout must be > 0, retries/backoff >= 0")
        self.api_url = api_url.rstrip("/")
        self.site_url = site_url.rstrip("/")
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._total_timeout = total_timeout
        self._api_version: str | None = None
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": user_agent, "Accept": "application/json, */*;q=0.5"},
            cookies=p.no_cookies_jar(),
            follow_redirects=False,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def api_version(self) -> str | None:
        """The ``API-Version`` header of the first API answer, once one has come."""
        return self._api_version

    @property
    def cookies(self) -> httpx.Cookies:
        """The shared client's cookie jar (always empty: it refuses every cookie)."""
        return self._http.cookies

    # -- machinery -------------------------------------------------------------------------

    async def _retrying(self, what: str, attempt: Callable[[float], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_timeout
        for n in range(self._retries + 1):
            budget = max(min(self._timeout, deadline - loop.time()), _MIN_ATTEMPT)
            error: ServerError | TransportError
            try:
                async with asyncio.timeout(budget):
                    return await attempt(budget)
            except TimeoutError:
                error = TransportError(f"{what}: no answer within {budget:.1f} s")
            except (ServerError, TransportError) as exc:
                error = exc
            wait = self._backoff * 2**n
            if n >= self._retries or deadline - loop.time() < wait + _MIN_ATTEMPT:
                raise error
            _log.info("AniLibria %s failed (%s); retry %d/%d", what, error, n + 1, self._retries)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _note_version(self, response: httpx.Response) -> None:
        version = response.headers.get("API-Version")
        if version and self._api_version is None:
            self._api_version = version
            _log.info("AniLibria API version %s at %s", version, self.api_url)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        budget: float,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, url, params=params, data=data, timeout=budget
            )
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            raise p.transport_error(method, url, exc) from None
        self._note_version(response)
        return response

    def _decode(self, response: httpx.Response, *, authed: bool, text: bool = False) -> Any:
        """The JSON body (or text), or the exception the answer stands for."""
        body = p.MISSING
        if not text or response.content[:1] == b"{":
            body = p.parse_json(response.content)
        if isinstance(body, dict) and body.get("error") not in (None, False, "", {}, []):
            raise p.error_from_body(
                body["error"],
                status_code=response.status_code,
                url=str(response.url),
                authed=authed,
            )
        if not response.is_success:
            raise p.error_from_status(response, authed=authed)
        if text:
            return response.text
        if body is p.MISSING:
            raise ResponseShapeError(
                f"{response.request.method} {redact(str(response.url))}: the answer is not JSON "
                f"({response.headers.get('content-type', 'no content-type')})"
            )
        return body

    async def _api(
        self,
        name: str,
        params: dict[str, str],
        *,
        method: str = "GET",
        authed: bool = False,
        text: bool = False,
    ) -> Any:
        url = f"{self.api_url}/{name}"

        async def attempt(budget: float) -> Any:
            response = await self._send(method, url, params=params, budget=budget)
            return self._decode(response, authed=authed, text=text)

        return await self._retrying(f"{method} {name}", attempt)

    @staticmethod
    def _title_params(
        filter: Strs,
        remove: Strs,
        include: Sequence[Include] | None,
        description_type: DescriptionType | None,
        playlist_type: PlaylistType | None = None,
    ) -> dict[str, str]:
        return p.build_params(
            filter=filter,
            remove=remove,
            include=include,
            description_type=description_type,
            playlist_type=playlist_type,
        )

    # -- titles ----------------------------------------------------------------------------

    async def get_title(
        self,
        id: int | None = None,
        code: str | None = None,
        torrent_id: int | None = None,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
    ) -> Title:
        if id is None and code is None and torrent_id is None:
            raise ValueError("get_title needs id, code or torrent_id")
        params = p.build_params(id=id, code=code, torrent_id=torrent_id)
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_model(Title, await self._api("getTitle", params), "getTitle")

    async def get_titles(
        self,
        id_list: Ints = None,
        code_list: Strs = None,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
    ) -> list[Title]:
        params = p.build_params(id_list=id_list, code_list=code_list)
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_models(Title, await self._api("getTitles", params), "getTitles")

    async def get_updates(
        self,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        limit: int | None = None,
        since: int | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
        after: int | None = None,
    ) -> list[Title]:
        params = self._title_params(filter, remove, include, description_type, playlist_type)
        params |= p.build_params(limit=limit, since=since, after=after)
        return p.parse_models(Title, await self._api("getUpdates", params), "getUpdates")

    async def get_changes(
        self,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        limit: int | None = None,
        since: int | None = None,
        description_type: DescriptionType | None = None,
        after: int | None = None,
    ) -> list[Title]:
        params = self._title_params(filter, remove, include, description_type)
        params |= p.build_params(limit=limit, since=since, after=after)
        return p.parse_models(Title, await self._api("getChanges", params), "getChanges")

    async def get_schedule(
        self,
        days: Ints = None,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
    ) -> list[ScheduleDay]:
        params = p.build_params(days=days)
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_models(ScheduleDay, await self._api("getSchedule", params), "getSchedule")

    async def get_random_title(
        self,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
    ) -> Title:
        params = self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_model(Title, await self._api("getRandomTitle", params), "getRandomTitle")

    async def search_titles(
        self,
        search: str | None = None,
        *,
        year: Ints = None,
        season_code: Ints = None,
        genres: Strs = None,
        voice: Strs = None,
        translator: Strs = None,
        editing: Strs = None,
        decor: Strs = None,
        timing: Strs = None,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[Title]:
        params = p.build_params(
            search=search,
            year=year,
            season_code=season_code,
            genres=genres,
            voice=voice,
            translator=translator,
            editing=editing,
            decor=decor,
            timing=timing,
            limit=limit,
            after=after,
        )
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_models(Title, await self._api("searchTitles", params), "searchTitles")

    async def advanced_search(
        self,
        query: str,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
        limit: int | None = None,
        after: int | None = None,
        order_by: str | None = None,
        sort_direction: int | None = None,
    ) -> list[Title]:
        params = p.build_params(
            query=query, limit=limit, after=after, order_by=order_by, sort_direction=sort_direction
        )
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        return p.parse_models(Title, await self._api("advancedSearch", params), "advancedSearch")

    # -- feed, YouTube, catalogue facts -----------------------------------------------------

    async def get_youtube(
        self,
        *,
        filter: Strs = None,
        remove: Strs = None,
        limit: int | None = None,
        since: int | None = None,
        after: int | None = None,
    ) -> list[YouTubeVideo]:
        params = p.build_params(filter=filter, remove=remove, limit=limit, since=since, after=after)
        return p.parse_models(YouTubeVideo, await self._api("getYouTube", params), "getYouTube")

    async def get_feed(
        self,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        limit: int | None = None,
        since: int | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
        after: int | None = None,
    ) -> list[FeedItem]:
        params = self._title_params(filter, remove, include, description_type, playlist_type)
        params |= p.build_params(limit=limit, since=since, after=after)
        return p.parse_models(FeedItem, await self._api("getFeed", params), "getFeed")

    async def get_years(self) -> list[int]:
        return p.parse_adapted(_INTS, await self._api("getYears", {}), "getYears")

    async def get_genres(self, sorting_type: int | None = None) -> list[str]:
        params = p.build_params(sorting_type=sorting_type)
        return p.parse_adapted(_STRS, await self._api("getGenres", params), "getGenres")

    async def get_caching_nodes(self) -> list[str]:
        data = await self._api("getCachingNodes", {})
        return p.parse_adapted(_STRS, data, "getCachingNodes")

    async def get_team(self) -> TeamRoster:
        data = await self._api("getTeam", {})
        if isinstance(data, dict) and isinstance(data.get("team"), dict):
            data = data["team"]
        return p.parse_model(TeamRoster, data, "getTeam")

    async def get_seed_stats(
        self,
        users: Strs = None,
        *,
        filter: Strs = None,
        remove: Strs = None,
        limit: int | None = None,
        after: int | None = None,
        sort_by: SeedSortBy | None = None,
        order: int | None = None,
    ) -> list[SeedStat]:
        params = p.build_params(
            users=users,
            filter=filter,
            remove=remove,
            limit=limit,
            after=after,
            sort_by=sort_by,
            order=order,
        )
        return p.parse_models(SeedStat, await self._api("getSeedStats", params), "getSeedStats")

    async def get_rss(
        self,
        rss_type: RssType = "rss",
        session: str | None = None,
        *,
        limit: int | None = None,
        since: int | None = None,
        after: int | None = None,
    ) -> str:
        """The feed as raw text (RSS 2.0, Atom 1.0 or JSON Feed 1.0)."""
        params = p.build_params(
            rss_type=rss_type, session=session, limit=limit, since=since, after=after
        )
        text: str = await self._api("getRSS", params, text=True)
        return text

    def rss_url(
        self, rss_type: RssType = "rss", session: str | None = None, limit: int | None = None
    ) -> str:
        """The getRSS URL a user can paste into a feed reader (no request is made).

        It carries the session when one is given: show it to its owner only, never log it.
        """
        params = p.build_params(rss_type=rss_type, session=session, limit=limit)
        return str(httpx.URL(f"{self.api_url}/getRSS", params=params))

    # -- user methods (session) -------------------------------------------------------------

    async def get_favorites(
        self,
        session: str,
        *,
        filter: Strs = None,
        remove: Strs = None,
        include: Sequence[Include] | None = None,
        description_type: DescriptionType | None = None,
        playlist_type: PlaylistType | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[Title]:
        """The user's favorites. The server pages them (``limit=-1`` asks for all)."""
        params = p.build_params(session=session, limit=limit, after=after)
        params |= self._title_params(filter, remove, include, description_type, playlist_type)
        data = await self._api("getFavorites", params, authed=True)
        return p.parse_models(Title, data, "getFavorites")

    async def _favorite(self, name: str, method: str, session: str, title_id: int) -> None:
        params = p.build_params(session=session, title_id=title_id)
        data = await self._api(name, params, method=method, authed=True)
        result = p.parse_model(FavoriteResult, data, name)
        if not result.success:
            raise ApiError(f"{name} answered success=false for title {title_id}")

    async def add_favorite(self, session: str, title_id: int) -> None:
        await self._favorite("addFavorite", "PUT", session, title_id)

    async def del_favorite(self, session: str, title_id: int) -> None:
        await self._favorite("delFavorite", "DELETE", session, title_id)

    async def login(self, mail: str, passwd: str) -> LoginResult:
        """POST ``{site_url}/public/login.php``; the session comes from ``sessionId`` or else
        the response's ``PHPSESSID`` cookie (it never lands in the shared cookie jar)."""
        url = f"{self.site_url}/public/login.php"
        form = {"mail": mail, "passwd": passwd}

        async def attempt(budget: float) -> LoginResult:
            response = await self._send("POST", url, data=form, budget=budget)
            return p.login_result(response)

        try:
            return await self._retrying("POST login.php", attempt)
        finally:
            self._http.cookies.clear()

    # -- files -----------------------------------------------------------------------------

    async def download(self, url_or_path: str, *, max_bytes: int = DEFAULT_MAX_DOWNLOAD) -> bytes:
        """Fetch a poster or a torrent file: an absolute URL, or a path under ``site_url``.

        Redirects are followed only to the API's and the site's own hosts: a URL from an answer
        must not make the bot fetch from anywhere else.
        """
        shown = redact(p.absolute_url(self.site_url, url_or_path))

        async def attempt(budget: float) -> bytes:
            url = p.absolute_url(self.site_url, url_or_path)
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    self._check_host(url)
                    request = self._http.build_request("GET", url, timeout=budget)
                    response = await self._http.send(request, stream=True)
                    if not response.is_redirect:
                        break
                    await response.aclose()
                    url = str(response.url.join(response.headers.get("location", "")))
                else:
                    raise ResponseShapeError(f"{shown}: more than {MAX_REDIRECTS} redirects")
                async with contextlib.aclosing(response):
                    if not response.is_success:
                        raise p.error_from_status(response)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise ResponseShapeError(f"{shown}: {declared} bytes, over {max_bytes}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise ResponseShapeError(f"{shown}: over {max_bytes} bytes")
                    return bytes(body)
            except (httpx.RequestError, httpx.InvalidURL) as exc:
                raise p.transport_error("GET", url, exc) from None

        return await self._retrying(f"GET {shown}", attempt)

    def _check_host(self, url: str) -> None:
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as exc:
            raise p.transport_error("GET", url, exc) from None
        allowed = {httpx.URL(self.site_url).host, httpx.URL(self.api_url).host}
        if host not in allowed:
            raise ResponseShapeError(f"{redact(url)}: not a host of the API or the site")
