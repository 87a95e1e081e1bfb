"""The torrent endpoints of the fake AniLiberty API v1: lists, one torrent, the .torrent file
and the RSS feeds.

Private to :mod:`tests.fakes.aniliberty`. Guesses: ``/anime/torrents`` is newest ``updated_at``
first (set ``torrents_order = "created_at"`` to change it), the RSS feeds likewise; the RSS
shape is made up (none was captured), with ``pk`` echoed into every link.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.aniliberty_data import parse_iso, rss_feed, torrent_file
from tests.fakes.aniliberty_http import limit_param, not_found
from tests.fakes.aniliberty_routes import AnimeRoutesMixin

__all__ = ["TorrentRoutesMixin"]


class TorrentRoutesMixin(AnimeRoutesMixin):
    """``/anime/torrents/...``."""

    torrents_order = "updated_at"

    def _add_torrent_routes(self, app: web.Application, api: str) -> None:
        get = app.router.add_get
        get(f"{api}/anime/torrents", self._torrents)
        get(f"{api}/anime/torrents/rss", self._rss)
        get(f"{api}/anime/torrents/rss/release/{{release_id}}", self._rss)
        get(f"{api}/anime/torrents/release/{{release_id}}", self._release_torrents)
        get(f"{api}/anime/torrents/{{ref}}/file", self._torrent_file)
        get(f"{api}/anime/torrents/{{ref}}", self._one_torrent)

    # -- torrents ------------------------------------------------------------------------------

    def _all_torrents(self, release_id: int | None = None) -> list[dict[str, Any]]:
        field = "created_at" if self.torrents_order == "created_at" else "updated_at"
        pairs = [
            (release, torrent)
            for release in self.releases.values()
            if release_id is None or release["id"] == release_id
            for torrent in release["torrents"]
        ]
        pairs.sort(key=lambda p: (parse_iso(p[1][field]), p[1]["id"]), reverse=True)
        return [self.torrent_view(r, t) for r, t in pairs]

    async def _torrents(self, request: web.Request) -> web.Response:
        return self._answer(request, self._paged(request, self._all_torrents(), request.query))

    async def _release_torrents(self, request: web.Request) -> web.Response:
        release = self._release_id(request.match_info["release_id"])
        views = [self.torrent_view(release, t) for t in release["torrents"]]
        return self._answer(request, views)

    def _torrent_ref(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        found = self.torrent(ref)
        if found is None:
            raise not_found()
        return found

    async def _one_torrent(self, request: web.Request) -> web.Response:
        release, torrent = self._torrent_ref(request.match_info["ref"])
        view = {**self.torrent_view(release, torrent), "torrent_members": []}
        return self._answer(request, view)

    def _passkey(self, request: web.Request) -> str | None:
        """``pk`` as given; without one, the caller's own passkey when authenticated."""
        if pk := request.query.get("pk"):
            return pk
        user = self.optional_user(request)
        return user.passkey if user is not None else None

    async def _torrent_file(self, request: web.Request) -> web.Response:
        _, torrent = self._torrent_ref(request.match_info["ref"])
        filename = torrent["filename"].encode("ascii", "replace").decode().replace('"', "'")
        return web.Response(
            body=torrent_file(torrent, self._passkey(request)),
            headers={
                "Content-Type": "application/x-bittorrent",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )

    async def _rss(self, request: web.Request) -> web.Response:
        release_id = None
        title = "AniLiberty: торренты"
        if "release_id" in request.match_info:
            release = self._release_id(request.match_info["release_id"])
            release_id, title = release["id"], f"AniLiberty: {release['name']['main']}"
        limit = limit_param(request.query, 10)
        pk = self._passkey(request)
        api = f"{request.scheme}://{request.host}/api/v1"
        items = [
            {
                "title": t["label"],
                "link": f"{api}/anime/torrents/{t['hash']}/file" + (f"?pk={pk}" if pk else ""),
                "guid": t["hash"],
                "ts": parse_iso(t["updated_at"]),
                "description": t["description"],
                "size": t["size"],
            }
            for t in self._all_torrents(release_id)[:limit]
        ]
        site = f"{request.scheme}://{request.host}"
        body = rss_feed(title, site, items)
        return web.Response(body=body.encode(), headers={"Content-Type": "application/xml"})
