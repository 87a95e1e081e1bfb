"""MockAniLiberty: an in-memory AniLiberty API v1 for ``httpx.MockTransport`` (unit tests; the
end-to-end tests run the bot against the loopback server of ``tests/fakes/aniliberty.py``).

Releases are built from the real capture ``release_10292.json`` (so they have the live shape)
with their own id, alias, ``fresh_at`` and episodes. It serves ``/anime/releases/latest``
(422 above limit 50, ETag/304 when ``etag`` is on), ``/anime/catalog/releases`` sorted
``FRESH_AT_DESC`` with the ``{data, meta}`` envelope, and ``/anime/releases/{id|alias}``
(404 when unknown). Any other path can be answered by ``routes[(method, path)]``; ``faults``
holds answers given (first in, first out) before the normal ones. Every request is recorded
with the loop time it arrived at.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "aniliberty"
API = "https://aniliberty.test/api/v1"
SITE = "https://aniliberty.test"
PREFIX = "/api/v1"

_LIST_ONLY_DROPPED = ("episodes", "members", "torrents", "sponsors", "background_covers")


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_bytes())


def iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    headers: httpx.Headers
    body: bytes
    at: float
    raw_path: str = ""
    status: int = 0


class MockAniLiberty:
    def __init__(self, *, etag: bool = False) -> None:
        self.template: dict[str, Any] = load_fixture("release_10292.json")
        self.releases: dict[int, dict[str, Any]] = {}
        self.requests: list[Seen] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.faults: list[httpx.Response | Exception] = []
        self.etag = etag
        self.not_modified = 0

    # -- data -------------------------------------------------------------------------------

    def episode(self, release_id: int, ordinal: float, *, playable: bool = True) -> dict[str, Any]:
        item = copy.deepcopy(self.template["episodes"][0])
        item["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{release_id}/{ordinal}"))
        item["ordinal"] = ordinal
        item["sort_order"] = ordinal
        item["release_id"] = release_id
        item["name"] = f"Episode {ordinal:g}"
        for key in ("hls_480", "hls_720", "hls_1080"):
            item[key] = (
                f"https://cache.test/{release_id}/{ordinal:g}/{key}.m3u8" if playable else None
            )
        return item

    def add(self, release_id: int, fresh: int, *, episodes: int = 3) -> dict[str, Any]:
        release = copy.deepcopy(self.template)
        release["id"] = release_id
        release["alias"] = f"release-{release_id}"
        release["name"] = {"main": f"Релиз {release_id}", "english": f"Release {release_id}"}
        release["fresh_at"] = iso(fresh)
        release["episodes"] = [self.episode(release_id, n) for n in range(1, episodes + 1)]
        for torrent in release["torrents"]:
            torrent["release"] = {"id": release_id}
        self.releases[release_id] = release
        return release

    def bump(self, release_id: int, fresh: int, *, new_episode: bool = True) -> None:
        release = self.releases[release_id]
        release["fresh_at"] = iso(fresh)
        if new_episode:
            ordinal = max((e["ordinal"] for e in release["episodes"]), default=0) + 1
            release["episodes"].append(self.episode(release_id, ordinal))

    def list_item(self, release: dict[str, Any], *, latest: bool) -> dict[str, Any]:
        item = {k: v for k, v in release.items() if k not in _LIST_ONLY_DROPPED}
        if latest:
            episodes = release["episodes"]
            item["latest_episode"] = max(episodes, key=lambda e: e["ordinal"]) if episodes else None
        return item

    def newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.releases.values(), key=lambda r: (r["fresh_at"], r["id"]), reverse=True)

    # -- looking at what was asked -----------------------------------------------------------

    def paths(self, method: str | None = None) -> list[str]:
        return [s.path for s in self.requests if method is None or s.method == method]

    def count(self, path: str) -> int:
        return sum(1 for s in self.requests if s.path == path)

    # -- serving ----------------------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(PREFIX)
        seen = Seen(
            method=request.method,
            path=path,
            params=dict(request.url.params),
            headers=request.headers,
            body=request.read(),
            at=asyncio.get_running_loop().time(),
            raw_path=request.url.raw_path.decode("ascii").split("?", 1)[0],
        )
        self.requests.append(seen)
        response = self._answer(request, path)
        seen.status = response.status_code
        return response

    def _answer(self, request: httpx.Request, path: str) -> httpx.Response:
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        route = self.routes.get((request.method, path))
        if route is not None:
            return route(request)
        if request.method == "GET" and path == "/anime/releases/latest":
            return self._latest(request)
        if request.method == "GET" and path == "/anime/catalog/releases":
            return self._catalogue(request)
        if request.method == "GET" and path.startswith("/anime/releases/"):
            return self._release(path.removeprefix("/anime/releases/"))
        return httpx.Response(404, json={"message": f"No route {path}"})

    def _latest(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "14"))
        if limit > 50:
            return httpx.Response(422, json=load_fixture("validation_error_422.json"))
        items = [self.list_item(r, latest=True) for r in self.newest_first()[:limit]]
        body = json.dumps(items).encode()
        if not self.etag:
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == tag:
            self.not_modified += 1
            return httpx.Response(304, headers={"etag": tag})
        return httpx.Response(
            200, content=body, headers={"content-type": "application/json", "etag": tag}
        )

    def _catalogue(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params.get("f[sorting]") == "FRESH_AT_DESC", params
        limit = int(params.get("limit", "15"))
        page = int(params.get("page", "1"))
        ordered = self.newest_first()
        total_pages = max((len(ordered) + limit - 1) // limit, 1)
        chunk = ordered[(page - 1) * limit : page * limit]
        links = {}
        if page < total_pages:
            links["next"] = f"{API}/anime/catalog/releases?limit={limit}&page={page + 1}"
        meta = {
            "pagination": {
                "total": len(ordered),
                "count": len(chunk),
                "per_page": limit,
                "current_page": page,
                "total_pages": total_pages,
                "links": links,
            }
        }
        data = [self.list_item(r, latest=False) for r in chunk]
        return httpx.Response(200, json={"data": data, "meta": meta})

    def _release(self, ref: str) -> httpx.Response:
        for release in self.releases.values():
            if str(release["id"]) == ref or release["alias"] == ref:
                return httpx.Response(200, json=release)
        return httpx.Response(404, json={"message": "Релиз не найден"})
