"""A fake AniLibria REST API v2 (v2.13.1 shapes) and site (``login.php``, posters, torrents).

It serves no socket of its own: :meth:`FakeAniLibriaRest.add_routes` mounts it into an aiohttp
application, beside the other fakes. The default catalogue is the 10 real titles recorded from the
live server on 2022-06-29 (``tests/fixtures/anilibria/feed_titles.json``, a byte-for-byte copy of
``shared/anilibria-real/feed_data_titles_list10_2022-06-29.json``).

Method keys used by :meth:`fail`, :meth:`delay` and :meth:`count` are the REST method names
(``"getTitle"``, ``"addFavorite"``...) plus ``"login"`` (``/public/login.php``), ``"storage"``
(``/storage/...``: posters) and ``"download"`` (``/public/torrent/download.php``).

Assumptions where the reference is silent (documented, not recorded):

* a session-protected method called with an unknown or expired session answers HTTP 401
  ``{"error": {"code": 401, "message": "Unauthorized"}}``;
* ``login.php`` answers with ``Content-Type: text/html`` (PHP's default) and a JSON body, like the
  site source (anilibria/anilibria ``private/func.php``, kopoba/anilibria for ``sessionId``);
* ``getFavorites`` pages like the other lists (default ``limit`` 5; public clients pass
  ``limit=-1`` or a large number);
* ``getChanges``'s ``since`` compares ``last_change``; ``getUpdates``'s compares ``updated``.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import os
import random
import secrets
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.anilibria_query import QueryError, compile_query

__all__ = ["FIXTURES_DIR", "FakeAniLibriaRest", "load_fixture", "tiny_png"]

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "anilibria"
_SHARED_NAME = "feed_data_titles_list10_2022-06-29.json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TITLE_PARAMS = frozenset({"filter", "remove", "include", "description_type", "playlist_type"})
PAGE_PARAMS = frozenset({"limit", "after"})
_STATUS = {1: "В работе", 2: "Завершен", 3: "Скрыт", 4: "Неонгоинг"}
_SEASONS = {1: "зима", 2: "весна", 3: "лето", 4: "осень"}
_LOGIN_MESSAGES = {
    "success": "Успех",
    "authorized": "Уже авторизован",
    "empty": "Пустое значение, заполните поля",
    "wrongUserAgent": "Неверный юзерагент",
    "invalidUser": "Неправильный пользователь",
    "wrongPasswd": "Неправильный пароль",
}


def tiny_png(size: int = 8) -> bytes:
    """A valid ``size``x``size`` grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _torrent_bytes(torrent_id: int) -> bytes:
    name = f"title-{torrent_id}.mkv".encode()
    info = b"d6:lengthi1024e4:name" + str(len(name)).encode() + b":" + name + b"e"
    return b"d8:announce30:http://tracker.example/announce4:info" + info + b"e"


def load_fixture(name: str) -> Any:
    """A JSON file of ``tests/fixtures/anilibria`` (a copy of ``shared/anilibria-real``)."""
    return json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8"))


def _default_titles() -> list[dict[str, Any]]:
    candidates = [FIXTURES_DIR / "feed_titles.json"]
    if env := os.environ.get("ANILIBRIA_SHARED_DIR"):
        candidates.append(Path(env) / "anilibria-real" / _SHARED_NAME)
        candidates.append(Path(env) / _SHARED_NAME)
    candidates.append(
        Path(__file__).resolve().parents[3] / "shared" / "anilibria-real" / _SHARED_NAME
    )
    for path in candidates:
        if path.is_file():
            data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
            return data
    return []


@dataclass
class _Failure:
    status: int
    body: bytes
    content_type: str


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _error(code: int, message: str) -> web.Response:
    """The API's error envelope; 5xx travel as HTTP 500 with the real code in the body."""
    return _json({"error": {"code": code, "message": message}}, status=500 if code >= 500 else code)


class _Reject(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _int(query: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Reject(_error(400, f"Invalid value of parameter {name}")) from None


def _csv(query: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _filter(title: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        src: Any = title
        dst = out
        for i, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
                break
            if i == len(parts) - 1:
                dst[part] = copy.deepcopy(src[part])
            else:
                dst = dst.setdefault(part, {})
                src = src[part]
    return out


def _remove(title: dict[str, Any], paths: list[str]) -> None:
    for path in paths:
        parts = path.split(".")
        node: Any = title
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)


def _page(items: list[Any], query: dict[str, str], default_limit: int = 5) -> list[Any]:
    after = max(_int(query, "after", 0) or 0, 0)
    limit = _int(query, "limit", default_limit)
    items = items[after:]
    return items if limit is None or limit < 0 else items[:limit]


class FakeAniLibriaRest:
    """Fixture data plus the aiohttp routes of the AniLibria REST API v2 and of the site."""

    API_VERSION = "2.13.1"
    DEFAULT_MAIL = "tester@example.com"
    DEFAULT_PASSWORD = "correct horse battery staple"

    def __init__(self, *, load_real: bool = True, api_version: str = API_VERSION) -> None:
        self.api_version = api_version
        self.titles: dict[int, dict[str, Any]] = {}
        self.accounts: dict[str, str] = {self.DEFAULT_MAIL: self.DEFAULT_PASSWORD}
        self.account_favorites: dict[str, set[int]] = {}
        self.sessions: dict[str, set[int]] = {}
        self.login_sends_session_id = True  # False: the session only in Set-Cookie (old site)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.login_forms: list[dict[str, str]] = []
        self.caching_nodes = ["cache.libria.fun", "de1.libria.fun", "de2.libria.fun"]
        self.youtube: list[dict[str, Any]] = [
            {
                "id": 340 + i,
                "title": f"Видео {i}",
                "image": f"https://img.youtube.com/vi/video{i}/0.jpg",
                "youtube_id": f"video{i}",
                "timestamp": 1656000000 + i * 3600,
            }
            for i in range(1, 4)
        ]
        self.seed_stats: list[dict[str, Any]] = [
            {"downloaded": 72110162198, "uploaded": 1163165762554, "user": "T1MOX4"},
            {"downloaded": 1000, "uploaded": 5000, "user": "alice"},
            {"downloaded": 9000, "uploaded": 10, "user": "bob"},
        ]
        self.random = random.Random(1)
        self._keys: list[str] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, deque[float]] = {}
        if load_real:
            for title in _default_titles():
                self.add_title(title)
        if not self.titles:
            for i, (code, ru, en) in enumerate(
                [("fake-one", "Первый", "First"), ("fake-two", "Второй", "Second")]
            ):
                self.add_title(self.make_title(9000 + i, code, ru, en, episodes=3 + i))

    # -- test controls -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        body: str | bytes | dict[str, Any] | list[Any],
        *,
        times: int = 1,
        content_type: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` with ``body``."""
        if isinstance(body, dict | list):
            raw, default_type = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            raw, default_type = body.encode(), "text/html; charset=utf-8"
        else:
            raw, default_type = body, "application/octet-stream"
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(_Failure(status, raw, content_type or default_type))

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` wait ``seconds`` before answering."""
        self._delays.setdefault(method, deque()).extend([seconds] * times)

    def count(self, method: str) -> int:
        return sum(1 for key in self._keys if key == method)

    def expire_session(self, session: str) -> None:
        self.sessions.pop(session, None)

    def new_session(self, mail: str | None = None) -> str:
        """A valid session for ``mail`` (default account) without going through login.php."""
        favorites = self.account_favorites.setdefault(mail or self.DEFAULT_MAIL, set())
        session = secrets.token_hex(16)
        self.sessions[session] = favorites
        return session

    # -- catalogue -----------------------------------------------------------------------------

    def make_title(
        self,
        id: int,
        code: str,
        ru: str | None,
        en: str | None,
        *,
        episodes: int = 0,
        series_total: int | None = None,
        status_code: int = 1,
        week_day: int | None = 0,
        year: int = 2024,
        updated: int | None = None,
        genres: Iterable[str] = ("Комедия", "Приключения"),
        torrents: list[dict[str, Any]] | None = None,
        season_code: int = 2,
    ) -> dict[str, Any]:
        """A complete v2.13 title (posters, player with ``episodes`` episodes, torrents...)."""
        now = updated if updated is not None else int(time.time())
        poster = {"url": f"/storage/releases/posters/{id}/{code}.jpg", "raw_base64_file": None}
        playlist = {
            str(n): self._episode(id, n, now - (episodes - n) * 7 * 86400)
            for n in range(1, episodes + 1)
        }
        series = _series(1, episodes) if episodes else {"first": None, "last": None, "string": None}
        if torrents is None:
            torrents = [self.make_torrent(id * 10 + 1, 1, episodes, now)] if episodes else []
        total = f" ({series_total} эп.)" if series_total else ""
        return {
            "id": id,
            "code": code,
            "names": {"ru": ru, "en": en, "alternative": None},
            "announce": None,
            "status": {"string": _STATUS.get(status_code), "code": status_code},
            "posters": {"small": dict(poster), "medium": dict(poster), "original": dict(poster)},
            "updated": now,
            "last_change": now,
            "type": {
                "full_string": f"ТВ{total}, 24 мин.",
                "code": 1,
                "string": "TV",
                "series": series_total,
                "length": 24,
            },
            "genres": list(genres),
            "team": {
                "voice": ["Voicer"],
                "translator": ["Translator"],
                "editing": [],
                "decor": [],
                "timing": ["Timer"],
            },
            "season": {
                "string": _SEASONS.get(season_code),
                "code": season_code,
                "year": year,
                "week_day": week_day,
            },
            "description": f"Описание тайтла «{ru or en or code}».",
            "in_favorites": 100,
            "blocked": {"blocked": False, "bakanim": False},
            "player": {
                "alternative_player": None,
                "host": "cache.libria.fun",
                "series": series,
                "playlist": playlist,
            },
            "torrents": {"series": copy.deepcopy(series), "list": torrents},
        }

    @staticmethod
    def make_torrent(torrent_id: int, first: int, last: int, uploaded: int) -> dict[str, Any]:
        return {
            "torrent_id": torrent_id,
            "series": _series(first, last),
            "quality": {
                "string": "WEBRip 1080p",
                "type": "WEBRip",
                "resolution": "1080p",
                "encoder": "h264",
                "lq_audio": None,
            },
            "leechers": 0,
            "seeders": 5,
            "downloads": 10,
            "total_size": 1_500_000_000 * max(last - first + 1, 1),
            "url": f"/public/torrent/download.php?id={torrent_id}",
            "uploaded_timestamp": uploaded,
            "hash": hashlib.sha1(str(torrent_id).encode()).hexdigest(),
            "metadata": None,
            "raw_base64_file": None,
        }

    @staticmethod
    def _episode(title_id: int, n: int, timestamp: int) -> dict[str, Any]:
        def hls(res: int) -> str:
            digest = hashlib.md5(f"{title_id}/{n}/{res}".encode()).hexdigest()
            return f"/videos/media/ts/{title_id}/{n}/{res}/{digest}.m3u8"

        return {
            "serie": n,
            "created_timestamp": timestamp,
            "preview": f"/storage/releases/episodes/previews/{title_id}/{n}/preview.jpg",
            "skips": {"opening": [], "ending": []},
            "hls": {"fhd": hls(1080), "hd": hls(720), "sd": hls(480)},
        }

    def add_title(self, title: dict[str, Any]) -> dict[str, Any]:
        self.titles[int(title["id"])] = title
        return title

    def remove_title(self, title_id: int) -> None:
        self.titles.pop(title_id, None)
        for favorites in self.sessions.values():
            favorites.discard(title_id)

    def add_episode(
        self, title_id: int, episode: int, *, timestamp: int | None = None
    ) -> dict[str, Any]:
        """Add (or re-upload) ``episode``: playlist entry, player.series, ``updated``."""
        title = self.titles[title_id]
        ts = (
            timestamp
            if timestamp is not None
            else max(int(time.time()), (title.get("updated") or 0) + 1)
        )
        player = title.get("player") or {}
        title["player"] = player
        playlist = player.get("playlist")
        if isinstance(playlist, list):
            playlist = {str(item["serie"]): item for item in playlist if item}
        elif not isinstance(playlist, dict):
            playlist = {}
        playlist[str(episode)] = self._episode(title_id, episode, ts)
        player["playlist"] = dict(sorted(playlist.items(), key=lambda kv: int(kv[0])))
        numbers = [int(key) for key in player["playlist"]]
        player["series"] = _series(min(numbers), max(numbers))
        title["updated"] = ts
        return title

    def _find(self, query: dict[str, str]) -> dict[str, Any]:
        wanted = query.get("id") or query.get("code") or query.get("torrent_id") or ""
        found: dict[str, Any] | None = None
        if "id" in query:
            found = self.titles.get(_int(query, "id") or 0)
        elif "code" in query:
            found = next((t for t in self.titles.values() if t.get("code") == query["code"]), None)
        elif "torrent_id" in query:
            tid = _int(query, "torrent_id")
            found = next(
                (
                    t
                    for t in self.titles.values()
                    for tor in ((t.get("torrents") or {}).get("list") or [])
                    if tor.get("torrent_id") == tid
                ),
                None,
            )
        if found is None:
            raise _Reject(_error(404, f'Title "{wanted}" not found!'))
        return found

    def _render(self, title: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        out = copy.deepcopy(title)
        include = set(_csv(query, "include"))
        if "raw_poster" in include:
            for poster in (out.get("posters") or {}).values():
                if isinstance(poster, dict):
                    poster["raw_base64_file"] = base64.b64encode(tiny_png()).decode()
        for torrent in (out.get("torrents") or {}).get("list") or []:
            if "raw_torrent" in include:
                torrent["raw_base64_file"] = base64.b64encode(
                    _torrent_bytes(torrent["torrent_id"])
                ).decode()
            if "torrent_meta" in include:
                torrent["metadata"] = {
                    "hash": torrent.get("hash"),
                    "name": out.get("code"),
                    "announce": ["http://tracker.example/announce"],
                    "created_timestamp": torrent.get("uploaded_timestamp"),
                    "files_list": [{"file": f"{out.get('code')}.mkv", "size": 1024, "offset": 0}],
                }
        player = out.get("player")
        if query.get("playlist_type") == "array" and isinstance(player, dict):
            playlist = player.get("playlist") or {}
            if isinstance(playlist, dict):
                player["playlist"] = [playlist[k] for k in sorted(playlist, key=int)]
        if query.get("description_type") == "html" and isinstance(out.get("description"), str):
            out["description"] = f"<p>{out['description']}</p>"
        if paths := _csv(query, "filter"):
            out = _filter(out, paths)
        _remove(out, _csv(query, "remove"))
        return out

    def _by(self, field: str, since: int | None) -> list[dict[str, Any]]:
        items = sorted(self.titles.values(), key=lambda t: t.get(field) or 0, reverse=True)
        return [t for t in items if since is None or (t.get(field) or 0) > since]

    def _session(self, query: dict[str, str]) -> set[int]:
        session = query.get("session", "")
        if session not in self.sessions:
            # Assumption (see the module docstring): the real answer to a refused session is
            # not recorded anywhere; a 401 envelope is the closest to the documented errors.
            raise _Reject(_error(401, "Unauthorized"))
        return self.sessions[session]

    # -- routes --------------------------------------------------------------------------------

    def add_routes(self, app: web.Application, api_prefix: str = "/v2") -> None:
        prefix = api_prefix.rstrip("/")
        api: list[tuple[str, str, frozenset[str], Handler]] = [
            ("GET", "getTitle", TITLE_PARAMS | {"id", "code", "torrent_id"}, self._get_title),
            ("GET", "getTitles", TITLE_PARAMS | {"id_list", "code_list"}, self._get_titles),
            ("GET", "getUpdates", TITLE_PARAMS | PAGE_PARAMS | {"since"}, self._get_updates),
            (
                "GET",
                "getChanges",
                (TITLE_PARAMS - {"playlist_type"}) | PAGE_PARAMS | {"since"},
                self._get_changes,
            ),
            ("GET", "getSchedule", TITLE_PARAMS | {"days"}, self._get_schedule),
            ("GET", "getRandomTitle", TITLE_PARAMS, self._get_random),
            (
                "GET",
                "getYouTube",
                frozenset({"filter", "remove", "since"}) | PAGE_PARAMS,
                self._get_youtube,
            ),
            ("GET", "getFeed", TITLE_PARAMS | PAGE_PARAMS | {"since"}, self._get_feed),
            ("GET", "getYears", frozenset(), self._get_years),
            ("GET", "getGenres", frozenset({"sorting_type"}), self._get_genres),
            ("GET", "getCachingNodes", frozenset(), self._get_nodes),
            ("GET", "getTeam", frozenset(), self._get_team),
            (
                "GET",
                "getSeedStats",
                frozenset({"users", "filter", "remove", "sort_by", "order"}) | PAGE_PARAMS,
                self._get_seed_stats,
            ),
            (
                "GET",
                "getRSS",
                frozenset({"rss_type", "session", "since"}) | PAGE_PARAMS,
                self._get_rss,
            ),
            ("GET", "searchTitles", TITLE_PARAMS | PAGE_PARAMS | _SEARCH_FIELDS, self._search),
            (
                "GET",
                "advancedSearch",
                TITLE_PARAMS | PAGE_PARAMS | {"query", "order_by", "sort_direction"},
                self._advanced,
            ),
            ("GET", "getFavorites", TITLE_PARAMS | PAGE_PARAMS | {"session"}, self._get_favorites),
            ("PUT", "addFavorite", frozenset({"session", "title_id"}), self._add_favorite),
            ("DELETE", "delFavorite", frozenset({"session", "title_id"}), self._del_favorite),
        ]
        for http_method, name, allowed, handler in api:
            app.router.add_route(
                http_method, f"{prefix}/{name}", self._endpoint(name, handler, allowed)
            )
        app.router.add_post(
            "/public/login.php", self._endpoint("login", self._login, None, api=False)
        )
        app.router.add_get(
            "/storage/{tail:.*}", self._endpoint("storage", self._storage, None, api=False)
        )
        app.router.add_get(
            "/public/torrent/download.php",
            self._endpoint("download", self._download, None, api=False),
        )

    def _endpoint(
        self, key: str, handler: Handler, allowed: frozenset[str] | None, *, api: bool = True
    ) -> Handler:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            query = dict(request.query)
            self.requests.append((request.method, request.path, query))
            self._keys.append(key)
            if delays := self._delays.get(key):
                await asyncio.sleep(delays.popleft())
            response: web.StreamResponse
            if failures := self._failures.get(key):
                failure = failures.popleft()
                response = web.Response(
                    status=failure.status,
                    body=failure.body,
                    headers={"Content-Type": failure.content_type},
                )
            elif allowed is not None and (
                unknown := [name for name in query if name not in allowed]
            ):
                response = _error(412, f"Unknown parameters: {', '.join(unknown)}")
            else:
                try:
                    response = await handler(request)
                except _Reject as reject:
                    response = reject.response
            if api:
                response.headers["API-Version"] = self.api_version
            return response

        return endpoint

    def _titles_answer(
        self,
        titles: list[dict[str, Any]],
        request: web.Request,
        *,
        page: bool = True,
        default_limit: int = 5,
    ) -> web.Response:
        query = dict(request.query)
        chosen = _page(titles, query, default_limit) if page else titles
        return _json([self._render(t, query) for t in chosen])

    async def _get_title(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        return _json(self._render(self._find(query), query))

    async def _get_titles(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        ids = [int(i) for i in _csv(query, "id_list") if i.isdigit()]
        codes = _csv(query, "code_list")
        by_code = {t.get("code"): t for t in self.titles.values()}
        found = [self.titles[i] for i in ids if i in self.titles] + [
            by_code[c] for c in codes if c in by_code
        ]
        return self._titles_answer(found, request, page=False)

    async def _get_updates(self, request: web.Request) -> web.Response:
        return self._titles_answer(self._by("updated", _int(dict(request.query), "since")), request)

    async def _get_changes(self, request: web.Request) -> web.Response:
        return self._titles_answer(
            self._by("last_change", _int(dict(request.query), "since")), request
        )

    async def _get_schedule(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        days = {int(d) for d in _csv(query, "days") if d.isdigit()}
        grouped: dict[int, list[dict[str, Any]]] = {}
        for title in sorted(
            self.titles.values(), key=lambda t: t.get("updated") or 0, reverse=True
        ):
            day = (title.get("season") or {}).get("week_day")
            code = (title.get("status") or {}).get("code")
            if isinstance(day, int) and code not in (2, 3) and (not days or day in days):
                grouped.setdefault(day, []).append(title)
        return _json(
            [
                {"day": day, "list": [self._render(t, query) for t in grouped[day]]}
                for day in sorted(grouped)
            ]
        )

    async def _get_random(self, request: web.Request) -> web.Response:
        if not self.titles:
            raise _Reject(_error(404, "No titles"))
        title = self.titles[self.random.choice(sorted(self.titles))]
        return _json(self._render(title, dict(request.query)))

    def _videos(self, since: int | None) -> list[dict[str, Any]]:
        videos = sorted(self.youtube, key=lambda v: v.get("timestamp") or 0, reverse=True)
        return [v for v in videos if since is None or (v.get("timestamp") or 0) > since]

    async def _get_youtube(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        videos = [copy.deepcopy(v) for v in _page(self._videos(_int(query, "since")), query)]
        if paths := _csv(query, "filter"):
            videos = [_filter(v, paths) for v in videos]
        for video in videos:
            _remove(video, _csv(query, "remove"))
        return _json(videos)

    async def _get_feed(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        since = _int(query, "since")
        items: list[tuple[int, dict[str, Any]]] = [
            (t.get("updated") or 0, {"title": t}) for t in self._by("updated", since)
        ]
        items += [(v.get("timestamp") or 0, {"youtube": v}) for v in self._videos(since)]
        items.sort(key=lambda pair: pair[0], reverse=True)
        out = []
        for _, item in _page(items, query):
            out.append(
                {"title": self._render(item["title"], query)}
                if "title" in item
                else copy.deepcopy(item)
            )
        return _json(out)

    async def _get_years(self, request: web.Request) -> web.Response:
        years = {(t.get("season") or {}).get("year") for t in self.titles.values()}
        return _json(sorted(y for y in years if isinstance(y, int)))

    async def _get_genres(self, request: web.Request) -> web.Response:
        counts: dict[str, int] = {}
        for title in self.titles.values():
            for genre in title.get("genres") or []:
                counts[genre] = counts.get(genre, 0) + 1
        if _int(dict(request.query), "sorting_type", 0) == 1:
            return _json(sorted(counts, key=lambda g: (-counts[g], g)))
        return _json(sorted(counts))

    async def _get_nodes(self, request: web.Request) -> web.Response:
        return _json(list(self.caching_nodes))

    async def _get_team(self, request: web.Request) -> web.Response:
        roster: dict[str, set[str]] = {
            k: set() for k in ("voice", "translator", "editing", "decor", "timing")
        }
        for title in self.titles.values():
            for role, people in (title.get("team") or {}).items():
                roster.setdefault(role, set()).update(people or [])
        return _json({"team": {role: sorted(people) for role, people in roster.items()}})

    async def _get_seed_stats(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        users = set(_csv(query, "users"))
        stats = [s for s in self.seed_stats if not users or s["user"] in users]
        sort_by = query.get("sort_by", "downloaded")
        stats.sort(key=lambda s: s.get(sort_by) or 0, reverse=_int(query, "order", 0) == 0)
        return _json(_page(stats, query))

    async def _get_rss(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        titles = _page(self._by("updated", _int(query, "since")), query, default_limit=10)
        kind = query.get("rss_type", "rss")
        if kind == "json":
            feed = {
                "version": "https://jsonfeed.org/version/1",
                "title": "Самое свежее на AniLibria.TV",
                "items": [
                    {"id": str(t["id"]), "title": (t.get("names") or {}).get("ru")} for t in titles
                ],
            }
            return _json(feed)
        items = "".join(
            f"<item><title><![CDATA[ {(t.get('names') or {}).get('ru')} ]]></title>"
            f"<guid>{t['id']}</guid></item>"
            for t in titles
        )
        if kind == "atom":
            body = (
                f'<feed xmlns="http://www.w3.org/2005/Atom"><title>AniLibria</title>{items}</feed>'
            )
            return web.Response(text=body, content_type="application/atom+xml")
        channel = f"<title>Самое свежее на AniLibria.TV</title>{items}"
        body = f'<rss version="2.0"><channel>{channel}</channel></rss>'
        return web.Response(text=body, content_type="application/rss+xml")

    async def _search(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        phrases = [p.lower().split() for p in query.get("search", "").split(",") if p.strip()]

        def matches(title: dict[str, Any]) -> bool:
            names = title.get("names") or {}
            hay = " ".join(
                str(v) for v in (*names.values(), title.get("code"), title.get("description")) if v
            ).lower()
            if phrases and not any(all(word in hay for word in phrase) for phrase in phrases):
                return False
            season = title.get("season") or {}
            if (years := _csv(query, "year")) and str(season.get("year")) not in years:
                return False
            if (codes := _csv(query, "season_code")) and str(season.get("code")) not in codes:
                return False
            if (genres := _csv(query, "genres")) and not set(genres) <= set(
                title.get("genres") or []
            ):
                return False
            team = title.get("team") or {}
            return all(
                not (wanted := _csv(query, role)) or set(wanted) & set(team.get(role) or [])
                for role in _TEAM_ROLES
            )

        found = [t for t in self._by("updated", None) if matches(t)]
        return self._titles_answer(found, request)

    async def _advanced(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        if not query.get("query"):
            raise _Reject(_error(400, "Parameter query is required"))
        try:
            predicate = compile_query(query["query"])
        except QueryError as exc:
            raise _Reject(_error(400, f"Invalid query: {exc}")) from None
        found = [t for t in self._by("updated", None) if predicate(t)]
        if order_by := query.get("order_by"):
            descending = _int(query, "sort_direction", 0) == 1
            found.sort(
                key=lambda t: (_get_path(t, order_by) is not None, _get_path(t, order_by) or 0),
                reverse=descending,
            )
        return self._titles_answer(found, request)

    async def _get_favorites(self, request: web.Request) -> web.Response:
        favorites = self._session(dict(request.query))
        titles = [self.titles[i] for i in sorted(favorites) if i in self.titles]
        return self._titles_answer(titles, request)

    async def _favorite(self, request: web.Request, add: bool) -> web.Response:
        query = dict(request.query)
        favorites = self._session(query)
        title_id = _int(query, "title_id")
        if title_id is None or title_id not in self.titles:
            raise _Reject(_error(404, f'Title "{query.get("title_id", "")}" not found!'))
        if add:
            favorites.add(title_id)
        else:
            favorites.discard(title_id)
        return _json({"success": True})

    async def _add_favorite(self, request: web.Request) -> web.Response:
        return await self._favorite(request, add=True)

    async def _del_favorite(self, request: web.Request) -> web.Response:
        return await self._favorite(request, add=False)

    async def _login(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.login_forms.append(form)
        mail, passwd = form.get("mail", ""), form.get("passwd", "")

        def answer(key: str, extra: dict[str, str] | None = None) -> web.Response:
            body = {
                "err": "ok" if key == "success" else "error",
                "mes": _LOGIN_MESSAGES[key],
                "key": key,
            }
            body.update(extra or {})
            return web.Response(
                text=json.dumps(body, ensure_ascii=False), content_type="text/html", charset="utf-8"
            )

        if request.cookies.get("PHPSESSID") in self.sessions:
            return answer("authorized")
        if len(request.headers.get("User-Agent", "")) > 256:
            return answer("wrongUserAgent")
        if not mail or not passwd:
            return answer("empty")
        if mail not in self.accounts:
            return answer("invalidUser")
        if self.accounts[mail] != passwd:
            return answer("wrongPasswd")
        session = self.new_session(mail)
        response = answer(
            "success", {"sessionId": session} if self.login_sends_session_id else None
        )
        response.set_cookie("PHPSESSID", session, path="/", httponly=True)
        return response

    async def _storage(self, request: web.Request) -> web.Response:
        return web.Response(body=tiny_png(), content_type="image/png")

    async def _download(self, request: web.Request) -> web.Response:
        tid = _int(dict(request.query), "id")
        known = {
            tor.get("torrent_id")
            for t in self.titles.values()
            for tor in ((t.get("torrents") or {}).get("list") or [])
        }
        if tid is None or tid not in known:
            return web.Response(
                status=404, text="<html><body>Not found</body></html>", content_type="text/html"
            )
        return web.Response(
            body=_torrent_bytes(tid),
            content_type="application/x-bittorrent",
            headers={"Content-Disposition": f'attachment; filename="{tid}.torrent"'},
        )


_TEAM_ROLES = ("voice", "translator", "editing", "decor", "timing")
_SEARCH_FIELDS = frozenset({"search", "year", "season_code", "genres", *_TEAM_ROLES})


def _series(first: int, last: int) -> dict[str, Any]:
    return {"first": first, "last": last, "string": f"{first}-{last}"}
