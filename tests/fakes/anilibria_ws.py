"""A fake AniLibria API v2 WebSocket (``/v2/ws/``) for aiohttp, with controls for tests.

Mount it into an aiohttp app with :meth:`FakeAniLibriaSocket.add_routes`. It greets like the
live server, acknowledges subscribes, records what clients send, and can push frames, drop every
connection without a close frame, refuse handshakes (HTTP 503) or play dead (``silent``).

The frame builders reproduce the shapes documented in v2.13.1 / v2.13.18 and recorded from the
live server in 2022 (``/work/shared/anilibria-real``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import WSMsgType, web

__all__ = [
    "ENCODE_KINDS",
    "FakeAniLibriaSocket",
    "encode_frame",
    "make_player",
    "playlist_update_frame",
    "title_update_frame",
    "torrent_update_frame",
]

BASE_TS = 1656505664  # created_timestamp of episode 2 in the live recording (2022-06-29)
RESOLUTIONS = {"sd": "480", "hd": "720", "fhd": "1080"}


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    request: web.Request
    silent: bool


class FakeAniLibriaSocket:
    def __init__(self, *, api_version: str = "2.13.1", max_msg_size: int = 64 * 2**20) -> None:
        self.api_version = api_version
        self.max_msg_size = max_msg_size
        self.received: list[Any] = []
        self.refuse = False
        self.silent = False
        self.total_connections = 0
        self._conns: set[_Conn] = set()
        self._next_subscription = 0

    # ------------------------------------------------------------------ wiring
    def add_routes(self, app: web.Application, path: str = "/v2/ws/") -> None:
        app.router.add_get(path, self.handle)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.drop_all()

    @property
    def connections(self) -> int:
        return len(self._conns)

    # ----------------------------------------------------------------- handler
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refuse:
            return web.Response(status=503, text="Service Unavailable")
        silent = self.silent
        ws = web.WebSocketResponse(autoping=not silent, max_msg_size=self.max_msg_size)
        await ws.prepare(request)
        conn = _Conn(ws=ws, request=request, silent=silent)
        self._conns.add(conn)
        self.total_connections += 1
        try:
            if not silent:
                await ws.send_json({"connection": "success", "api_version": self.api_version})
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    self.received.append(msg.data)
                # PING (autoping off while silent): deliberately not answered
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(conn)
        return ws

    async def _on_text(self, conn: _Conn, data: str) -> None:
        try:
            message: Any = json.loads(data)
        except ValueError:
            message = data
        self.received.append(message)
        if conn.silent or not isinstance(message, dict) or "subscribe" not in message:
            return
        answer = {"subscribe": "success", "subscription_id": self._next_subscription}
        self._next_subscription += 1
        await conn.ws.send_json(answer)

    # ---------------------------------------------------------------- controls
    async def push(self, frame: Mapping[str, Any] | str | bytes) -> int:
        """Send ``frame`` to every open (non-silent) connection. Returns how many got it."""
        if self.silent:
            return 0
        sent = 0
        for conn in list(self._conns):
            if conn.silent or conn.ws.closed:
                continue
            try:
                if isinstance(frame, bytes):
                    await conn.ws.send_bytes(frame)
                elif isinstance(frame, str):
                    await conn.ws.send_str(frame)
                else:
                    await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))
            except (ConnectionError, RuntimeError):
                continue
            sent += 1
        return sent

    async def drop_all(self) -> None:
        """Abort every connection's TCP transport: no close frame, like a network failure."""
        for conn in list(self._conns):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            self._conns.discard(conn)
        await asyncio.sleep(0)

    async def wait_for_connections(self, n: int, timeout: float = 5.0) -> None:
        """Wait until ``total_connections >= n`` (ever), or raise TimeoutError."""
        await self._wait(lambda: self.total_connections >= n, timeout, f"{n} connections")

    async def wait_until_open(self, timeout: float = 5.0) -> None:
        """Wait until at least one connection is open, or raise TimeoutError."""
        await self._wait(lambda: self.connections > 0, timeout, "an open connection")

    async def wait_for_received(self, n: int, timeout: float = 5.0) -> None:
        await self._wait(lambda: len(self.received) >= n, timeout, f"{n} received messages")

    @staticmethod
    async def _wait(ready: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            if loop.time() >= deadline:
                raise TimeoutError(f"fake AniLibria WS: no {what} within {timeout}s")
            await asyncio.sleep(0.01)


# -------------------------------------------------------------------- builders
def _hls(title_id: int, episode: int) -> dict[str, str]:
    out = {}
    for quality, res in (("fhd", "1080"), ("hd", "720"), ("sd", "480")):
        digest = hashlib.md5(f"{title_id}/{episode}/{quality}".encode()).hexdigest()
        out[quality] = f"/videos/media/ts/{title_id}/{episode}/{res}/{digest}.m3u8"
    return out


def _episode_entry(title_id: int, episode: int) -> dict[str, Any]:
    return {
        "serie": episode,
        "created_timestamp": BASE_TS + (episode - 1) * 7 * 86400,
        "preview": f"/storage/releases/episodes/previews/{title_id}/{episode}/preview.jpg",
        "skips": {"opening": [0, 80], "ending": []},
        "hls": _hls(title_id, episode),
    }


def make_player(title_id: int, last_episode: int, *, host: str | None = None) -> dict[str, Any]:
    """A v2 ``player`` object with episodes 1..last_episode, shaped like the live recording."""
    return {
        "alternative_player": None,
        "host": host,
        "series": {"first": 1, "last": last_episode, "string": f"1-{last_episode}"},
        "playlist": {str(n): _episode_entry(title_id, n) for n in range(1, last_episode + 1)},
    }


def playlist_update_frame(
    title_id: int,
    episode: int,
    quality: str = "hd",
    *,
    reupload: bool = False,
    player: Mapping[str, Any] | None = None,
    shape: Literal["envelope", "named", "bare"] = "envelope",
    new: bool = True,
) -> dict[str, Any]:
    """A ``playlist_update``.

    envelope/named: the live server's body ``{id, player, updated_episode, episode: "N", diff,
    reupload}`` (no ``quality`` key, as recorded); ``diff`` holds the previous values:
    ``"playlist": {}`` for a new episode, else the episode's previous entry with this
    ``quality`` null (a new quality) or an older path (a re-upload).
    bare: the v2.13.1 flat frame ``{id, serie, quality, player}``.
    """
    player_dict = dict(player) if player is not None else make_player(title_id, episode)
    playlist = player_dict.get("playlist")
    entry = playlist.get(str(episode)) if isinstance(playlist, Mapping) else None
    updated = dict(entry) if isinstance(entry, Mapping) else _episode_entry(title_id, episode)
    if shape == "bare":
        return {"id": title_id, "serie": episode, "quality": quality, "player": player_dict}
    diff: dict[str, Any]
    if new and not reupload:
        previous = max(episode - 1, 0)
        diff = {"series": {"last": previous, "string": f"1-{previous}"}, "playlist": {}}
    else:
        old = f"/videos/media/ts/{title_id}/{episode}/old.m3u8" if reupload else None
        diff = {
            "playlist": {
                str(episode): {
                    "created_timestamp": int(updated.get("created_timestamp") or BASE_TS) - 3600,
                    "hls": {quality: old},
                }
            }
        }
    body = {
        "id": title_id,
        "player": player_dict,
        "updated_episode": updated,
        "episode": str(episode),
        "diff": diff,
        "reupload": reupload,
    }
    if shape == "named":
        return {"playlist_update": body}
    return {"type": "playlist_update", "playlist_update": body}


def title_update_frame(
    title: Mapping[str, Any],
    diff: Mapping[str, Any] | None = None,
    hash: str | None = None,
    shape: Literal["envelope", "named"] = "envelope",
) -> dict[str, Any]:
    """``title_update`` with ``{hash, title, diff}``; the hash defaults to a sha1 of the title."""
    if hash is None:
        hash = hashlib.sha1(json.dumps(title, sort_keys=True).encode()).hexdigest()
    body = {"hash": hash, "title": dict(title), "diff": dict(diff or {})}
    if shape == "named":
        return {"title_update": body}
    return {"type": "title_update", "title_update": body}


ENCODE_KINDS = (
    "encode_start",
    "encode_progress",
    "encode_end",
    "encode_finish",
    "start_encode",
    "end_encode",
)


def encode_frame(
    kind: str,
    title_id: int,
    episode: int,
    quality: str = "hd",
    *,
    percent: int = 25,
    is_reupload: bool | None = None,
    shape: Literal["envelope", "named", "bare"] | None = None,
) -> dict[str, Any]:
    """An encode event.

    v2.13.18 names (encode_*) carry ``id``/``episode``/``resolution``/``encoded_percent`` as
    strings in an envelope, like the live recording; ``encode_finish`` is ``{id, episode}``.
    v2.13.1 names (``start_encode`` ``{id, serie, quality}``, ``end_encode`` ``{id, serie}``)
    default to the bare shape of that document.
    """
    if kind not in ENCODE_KINDS:
        raise ValueError(f"unknown encode kind {kind!r}")
    body: dict[str, Any]
    if kind == "start_encode":
        body = {"id": title_id, "serie": episode, "quality": quality}
    elif kind == "end_encode":
        body = {"id": title_id, "serie": episode}
    elif kind == "encode_finish":
        body = {"id": str(title_id), "episode": str(episode)}
    else:
        body = {
            "id": str(title_id),
            "episode": str(episode),
            "resolution": RESOLUTIONS.get(quality, "720"),
            "quality": quality,
        }
        if kind == "encode_progress":
            body["encoded_percent"] = str(percent)
        if kind == "encode_start" and is_reupload is not None:
            body["isReupload"] = is_reupload
    if shape is None:
        shape = "bare" if kind in ("start_encode", "end_encode") else "envelope"
    if shape == "bare":
        return body
    if shape == "named":
        return {kind: body}
    return {"type": kind, kind: body}


def torrent_update_frame(
    title_id: int,
    torrents: Mapping[str, Any] | None = None,
    *,
    updated_torrent_id: int | None = 19973,
    diff: Mapping[str, Any] | None = None,
    hash: str | None = "81f7dbc27a1a445105b90c3096e3168008f2886e",
    shape: Literal["envelope", "named"] = "envelope",
) -> dict[str, Any]:
    """``torrent_update`` as in the v2.13.18 document (``id`` a string)."""
    if torrents is None:
        torrents = {
            "series": {"first": 1, "last": 1, "string": "1-1"},
            "list": [
                {
                    "torrent_id": updated_torrent_id or 19973,
                    "series": {"first": 1, "last": 1, "string": "1"},
                    "quality": {
                        "string": "WEBRip 1080p",
                        "type": "WEBRip",
                        "resolution": "1080p",
                        "encoder": "h264",
                        "lq_audio": None,
                    },
                    "leechers": 2,
                    "seeders": 25,
                    "downloads": 32,
                    "total_size": 547428705,
                    "url": f"/public/torrent/download.php?id={updated_torrent_id or 19973}",
                    "uploaded_timestamp": 1657158936,
                    "hash": "51a8800ca1a6486b352227a37da0c5d3dbba59c7",
                    "metadata": None,
                    "raw_base64_file": None,
                }
            ],
        }
    body = {
        "id": str(title_id),
        "torrents": dict(torrents),
        "updated_torrent_id": updated_torrent_id,
        "diff": dict(diff) if diff is not None else {"list": {"0": {"torrent_id": 19972}}},
        "hash": hash,
    }
    if shape == "named":
        return {"torrent_update": body}
    return {"type": "torrent_update", "torrent_update": body}
