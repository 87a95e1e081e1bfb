"""The public endpoints of the fake AniLiberty API v1 (``/anime``, ``/app``, ``/media``; the
torrents are in :mod:`tests.fakes.aniliberty_torrents`) and the site (posters under
``/storage``, the OTP page, release and episode pages).

Private to :mod:`tests.fakes.aniliberty`. Guesses where the reference is silent:

* default ``limit``: 14 on ``/latest`` (the spec's example), 15 on paged lists (Laravel's), 10
  on videos, 1 on random; ``limit`` above 50 is refused everywhere with the live wording;
* ``/app/search/releases`` and ``/random`` list plain releases (no ``genres``); the catalogue,
  ``/list`` and favorites add ``genres``; only ``/latest`` has ``latest_episode``;
* unknown ids and aliases answer 404 ``{"message": "Not Found"}``;
* ``/latest`` sends a strong ETag (a hash of the body) and answers a matching
  ``If-None-Match`` (weak or not) with 304; ``etags = False`` turns that off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.aniliberty_catalogue import CatalogueMixin
from tests.fakes.aniliberty_data import (
    SEASON_LABELS,
    TYPE_LABELS,
    load_fixture,
    parse_iso,
    tiny_png,
)
from tests.fakes.aniliberty_filters import SORTINGS, catalog_filter, haystack, nested_query, values
from tests.fakes.aniliberty_http import (
    dumps,
    fields_of,
    int_param,
    json_response,
    limit_param,
    not_found,
    paged,
    shaped,
    validation_error,
)

__all__ = ["AnimeRoutesMixin"]


class AnimeRoutesMixin(CatalogueMixin):
    """Handlers of the public API and of the site."""

    links_style: Literal["fractal", "null"] = "fractal"
    etags = True
    schedule_tz = ZoneInfo("Europe/Moscow")
    alive = True

    def optional_user(self, request: web.Request) -> Any:
        """The caller's account when a valid token came (AccountsMixin); None here."""
        return None

    def _add_anime_routes(self, app: web.Application, api: str) -> None:
        get = app.router.add_get
        get(f"{api}/anime/releases/latest", self._latest)
        get(f"{api}/anime/releases/list", self._list)
        get(f"{api}/anime/releases/random", self._random)
        get(f"{api}/anime/releases/episodes/{{episode_id}}", self._episode_by_id)
        get(f"{api}/anime/releases/{{ref}}/members", self._members)
        get(f"{api}/anime/releases/{{ref}}", self._release)
        get(f"{api}/anime/catalog/releases", self._catalog)
        app.router.add_post(f"{api}/anime/catalog/releases", self._catalog)
        get(f"{api}/anime/catalog/references/genres", self._ref_genres)
        get(f"{api}/anime/catalog/references/types", self._ref_types)
        get(f"{api}/anime/catalog/references/seasons", self._ref_seasons)
        get(f"{api}/anime/catalog/references/sorting", self._ref_sorting)
        get(f"{api}/anime/catalog/references/years", self._ref_years)
        get(f"{api}/anime/genres", self._genres)
        get(f"{api}/app/search/releases", self._search)
        get(f"{api}/anime/schedule/week", self._schedule_week)
        get(f"{api}/anime/schedule/now", self._schedule_now)
        get(f"{api}/media/videos", self._videos)
        get(f"{api}/teams/users", self._team_users)
        get(f"{api}/app/status", self._status)
        # the site
        get("/storage/{tail:.*}", self._storage)
        get("/app/auth/otp/linkDevice", self._link_device_page)
        get("/anime/releases/release/{ref}", self._release_page)
        get("/anime/releases/release/{ref}/episodes", self._release_page)
        get("/anime/video/episode/{episode_id}", self._episode_page)

    # -- helpers -------------------------------------------------------------------------------

    def _answer(self, request: web.Request, data: Any, body: Any = None) -> web.Response:
        include, exclude = fields_of(request, body if isinstance(body, dict) else None)
        if isinstance(data, dict) and "meta" in data and "data" in data:
            data = {**data, "data": [shaped(i, include, exclude) for i in data["data"]]}
        elif isinstance(data, list):
            data = [shaped(i, include, exclude) for i in data]
        else:
            data = shaped(data, include, exclude)
        return json_response(data)

    def _paged(
        self, request: web.Request, items: list[Any], source: Any, default_limit: int = 15
    ) -> dict[str, Any]:
        page = int_param(source, "page", 1, minimum=1) or 1
        limit = limit_param(source, default_limit)
        return paged(request, items, page, limit, links_style=self.links_style)

    def _ref(self, ref: str) -> dict[str, Any]:
        release = self.release(ref)
        if release is None:
            raise not_found()
        return release

    def _release_id(self, raw: str) -> dict[str, Any]:
        if not raw.isdigit() or int(raw) not in self.releases:
            raise not_found()
        return self.releases[int(raw)]

    # -- releases ------------------------------------------------------------------------------

    async def _latest(self, request: web.Request) -> web.StreamResponse:
        limit = limit_param(request.query, 14)
        items = [self.with_latest(r) for r in self.by_fresh()[:limit]]
        include, exclude = fields_of(request)
        body = dumps([shaped(i, include, exclude) for i in items])
        if not self.etags:
            response = web.Response(body=body)
            response.content_type = "application/json"
            return response
        etag = f'"{hashlib.sha1(body).hexdigest()[:32]}"'
        wanted = request.headers.get("If-None-Match", "")
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
        if etag in tags or "*" in tags:
            return web.Response(status=304, headers={"ETag": etag})
        response = web.Response(body=body, headers={"ETag": etag})
        response.content_type = "application/json"
        return response

    async def _release(self, request: web.Request) -> web.Response:
        release = self._ref(request.match_info["ref"])
        return self._answer(request, self.full(release))

    async def _members(self, request: web.Request) -> web.Response:
        release = self._ref(request.match_info["ref"])
        return self._answer(request, list(release["members"]))

    async def _episode_by_id(self, request: web.Request) -> web.Response:
        wanted = request.match_info["episode_id"]
        for release in self.releases.values():
            for episode in release["episodes"]:
                if episode["id"] == wanted:
                    nested = {**self.plain(release), "episodes": release["episodes"]}
                    return self._answer(request, {**episode, "release": nested})
        raise not_found()

    async def _list(self, request: web.Request) -> web.Response:
        ids = [int(v) for v in values(request.query.get("ids")) if v.isdigit()]
        aliases = values(request.query.get("aliases"))
        found = [self.releases[i] for i in ids if i in self.releases]
        found += [r for a in aliases if (r := self.release(a)) is not None and r not in found]
        items = [self.listed(r) for r in found]
        return self._answer(request, self._paged(request, items, request.query))

    async def _random(self, request: web.Request) -> web.Response:
        limit = limit_param(request.query, 1)
        chosen = self.rng.sample(sorted(self.releases), min(limit, len(self.releases)))
        return self._answer(request, [self.plain(self.releases[i]) for i in chosen])

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "").strip().lower()
        if not query:
            raise validation_error({"query": "The query field is required."})
        found = [r for r in self.by_fresh() if query in haystack(r)]
        return self._answer(request, [self.plain(r) for r in found])

    async def _catalog(self, request: web.Request) -> web.Response:
        body: Any = None
        source: Mapping[str, Any]
        if request.method == "POST":
            try:
                body = await request.json() if await request.read() else {}
            except ValueError:
                raise validation_error({"f": "The f field must be an array."}) from None
            if not isinstance(body, dict):
                raise validation_error({"f": "The f field must be an array."})
            source, filters = body, body.get("f") or {}
        else:
            source, filters = request.query, nested_query(request, "f")
        if not isinstance(filters, dict):
            raise validation_error({"f": "The f field must be an array."})
        keep, sort_key, descending = catalog_filter(filters)
        found = sorted(
            (r for r in self.releases.values() if keep(r)),
            key=lambda r: (sort_key(r), r["id"]),
            reverse=descending,
        )
        items = [self.listed(r) for r in found]
        return self._answer(request, self._paged(request, items, source), body)

    # -- references ----------------------------------------------------------------------------

    async def _ref_genres(self, request: web.Request) -> web.Response:
        genres = self.genre_list()
        return self._answer(request, [{"id": g["id"], "name": g["name"]} for g in genres])

    async def _genres(self, request: web.Request) -> web.Response:
        return self._answer(request, self.genre_list())

    async def _ref_types(self, request: web.Request) -> web.Response:
        return self._answer(
            request, [{"value": k, "description": v} for k, v in TYPE_LABELS.items()]
        )

    async def _ref_seasons(self, request: web.Request) -> web.Response:
        return self._answer(
            request, [{"value": k, "description": v} for k, v in SEASON_LABELS.items()]
        )

    async def _ref_sorting(self, request: web.Request) -> web.Response:
        return self._answer(request, [{"value": k, "label": k} for k in SORTINGS])

    async def _ref_years(self, request: web.Request) -> web.Response:
        years = sorted({r["year"] for r in self.releases.values() if r.get("year")})
        return self._answer(request, years)

    # -- schedule ------------------------------------------------------------------------------

    async def _schedule_week(self, request: web.Request) -> web.Response:
        return self._answer(request, self.schedule_items())

    async def _schedule_now(self, request: web.Request) -> web.Response:
        today = datetime.now(self.schedule_tz).isoweekday()
        days = {
            "today": today,
            "tomorrow": today % 7 + 1,
            "yesterday": (today - 2) % 7 + 1,
        }
        items = self.schedule_items()
        data = {
            name: [i for i in items if i["release"]["publish_day"]["value"] == day]
            for name, day in days.items()
        }
        include, exclude = fields_of(request)
        return json_response({k: [shaped(i, include, exclude) for i in v] for k, v in data.items()})

    # -- media and app -------------------------------------------------------------------------

    async def _videos(self, request: web.Request) -> web.Response:
        limit = limit_param(request.query, 10)
        videos = sorted(self.videos, key=lambda v: parse_iso(v["created_at"]), reverse=True)
        return self._answer(request, videos[:limit])

    async def _team_users(self, request: web.Request) -> web.Response:
        """``/teams/users``: the members of every release, once each, with their roles (the
        specification's shape: ``nickname``, ``roles[]``, ``team``, ``is_intern``...)."""
        users: dict[str, dict[str, Any]] = {}
        for release in self.releases.values():
            for member in release["members"]:
                user = users.setdefault(
                    member["nickname"],
                    {
                        "id": member["id"],
                        "nickname": member["nickname"],
                        "team": None,
                        "roles": [],
                        "is_intern": False,
                        "is_vacation": False,
                    },
                )
                if member["role"] not in user["roles"]:
                    user["roles"].append(member["role"])
        return self._answer(request, sorted(users.values(), key=lambda u: u["nickname"]))

    async def _status(self, request: web.Request) -> web.Response:
        status = load_fixture("app_status.json")
        status["request"]["ip"] = request.remote
        status["is_alive"] = self.alive
        status["available_api_endpoints"] = [f"{request.scheme}://{request.host}"]
        return self._answer(request, status)

    # -- the site ------------------------------------------------------------------------------

    async def _storage(self, request: web.Request) -> web.Response:
        return web.Response(body=tiny_png(), content_type="image/png")

    async def _link_device_page(self, request: web.Request) -> web.Response:
        return web.Response(
            text=_PAGE.format(title="Привязка устройства", body=_OTP_FORM), content_type="text/html"
        )

    async def _release_page(self, request: web.Request) -> web.Response:
        release = self.release(request.match_info["ref"])
        if release is None:
            return web.Response(
                status=404, text=_PAGE.format(title="404", body=""), content_type="text/html"
            )
        name = json.dumps(release["name"]["main"], ensure_ascii=False)
        return web.Response(text=_PAGE.format(title=name, body=""), content_type="text/html")

    async def _episode_page(self, request: web.Request) -> web.Response:
        wanted = request.match_info["episode_id"]
        known = any(e["id"] == wanted for r in self.releases.values() for e in r["episodes"])
        return web.Response(
            status=200 if known else 404,
            text=_PAGE.format(title="Эпизод" if known else "404", body=""),
            content_type="text/html",
        )


_PAGE = "<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
_OTP_FORM = (
    '<form method="post" action="/api/v1/accounts/otp/accept">'
    '<input name="code" inputmode="numeric" maxlength="6"><button>Привязать</button></form>'
)
