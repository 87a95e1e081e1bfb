"""Builders of AniLiberty API v1 objects, in the shapes (and key order) of the real captures.

Private to :mod:`tests.fakes.aniliberty`. The captures are byte-for-byte copies of
``shared/aniliberty-v1`` in ``tests/fixtures/aniliberty`` (``SOURCES.md`` there says which are
real). Labels the captures show are copied from them; the others are marked as guesses.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from xml.sax.saxutils import escape

from tests.fakes.anilibria_rest import tiny_png

__all__ = [
    "FIXTURES_DIR",
    "NESTED",
    "bencode",
    "iso",
    "load_fixture",
    "make_episode",
    "make_genre",
    "make_member",
    "make_release",
    "make_torrent",
    "number",
    "parse_iso",
    "rss_feed",
    "tiny_png",
    "torrent_file",
]

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "aniliberty"

# Keys of a release that are not part of the plain release object every list shows.
NESTED = (
    "genres",
    "background_covers",
    "members",
    "sponsors",
    "episodes",
    "torrents",
    "latest_episode",
)

# From the captures. "ОNA" starts with a Cyrillic "О" in the live data (schedule capture).
TYPE_LABELS = {"TV": "ТВ", "ONA": "ОNA"}
# Guesses (not in any capture): the site's Russian labels.
TYPE_LABELS |= {
    "WEB": "WEB",
    "OVA": "OVA",
    "OAD": "OAD",
    "MOVIE": "Фильм",
    "DORAMA": "Дорама",
    "SPECIAL": "Спешл",
}
SEASON_LABELS = {"winter": "Зима", "spring": "Весна", "summer": "Лето", "autumn": "Осень"}
WEEKDAYS = {
    1: "Понедельник",
    2: "Вторник",
    3: "Среда",
    4: "Четверг",
    5: "Пятница",
    6: "Суббота",
    7: "Воскресенье",
}
# From release 10292 (note: "timing" is described as sound work); the last two are guesses.
ROLE_LABELS = {
    "voicing": "Озвучка",
    "timing": "Работа со звуком",
    "decorating": "Оформление",
    "translating": "Перевод и адаптация",
    "editing": "Редактирование",
    "poster": "Постер",
}
CODECS: dict[str, dict[str, Any]] = {
    "x264/AVC": {"label": "AVC", "label_color": None, "label_is_visible": False},
    "x265/HEVC": {"label": "HEVC", "label_color": "#FFEB3B", "label_is_visible": True},
}
AGE_RATING = {
    "value": "R16_PLUS",
    "label": "16+",
    "is_adult": False,
    "description": "Для людей, достигших возраста шестнадцати лет (16+)",
}
TRACKERS = ("http://tr.libria.fun:2710/announce", "http://retracker.local/announce")
HLS_HOST = "https://cache.libria.fun"


def load_fixture(name: str) -> Any:
    """A JSON capture of ``tests/fixtures/aniliberty``."""
    return json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8"))


def iso(ts: float) -> str:
    """``2026-09-26T12:50:50+00:00``: the API's timestamps (whole seconds, UTC)."""
    return datetime.fromtimestamp(int(ts), UTC).isoformat()


def parse_iso(text: str | None) -> int:
    return int(datetime.fromisoformat(text).timestamp()) if text else 0


def number(value: float) -> int | float:
    """12 for 12.0 (JSON ``12``), 12.5 stays."""
    return int(value) if float(value).is_integer() else float(value)


def _token(rng: random.Random, n: int = 32) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# -- objects -----------------------------------------------------------------------------------


def _image(folder: str, rng: random.Random, *, src: bool) -> dict[str, Any]:
    jpg, thumb, webp, webp_thumb = (f"{folder}/{_token(rng)}" for _ in range(4))
    image: dict[str, Any] = {"preview": f"{jpg}.jpg", "thumbnail": f"{thumb}.jpg"}
    optimized: dict[str, Any] = {"preview": f"{webp}.webp", "thumbnail": f"{webp_thumb}.webp"}
    if src:
        image = {"src": f"{jpg}.jpg", **image}
        optimized = {"src": f"{webp}.webp", **optimized}
    return {**image, "optimized": optimized}


def make_genre(genre_id: int, name: str, rng: random.Random) -> dict[str, Any]:
    image = _image(f"/storage/anime/genres/images/{genre_id}", rng, src=False)
    return {"id": genre_id, "name": name, "image": image, "total_releases": 0}


def make_member(nickname: str, rng: random.Random, role: str = "voicing") -> dict[str, Any]:
    return {
        "id": new_uuid(rng),
        "role": {"value": role, "description": ROLE_LABELS.get(role, role)},
        "nickname": nickname,
        "user": None,
    }


def hls(release_id: int, ordinal: float, rng: random.Random) -> dict[str, str]:
    query = "countryIso=NL&isAuthorized=0&isWithVideoAds=1&isWithVideoAdsAlways=1"
    return {
        f"hls_{q}": f"{HLS_HOST}/videos/media/ts/{release_id}/{number(ordinal)}/{q}/"
        f"{rng.getrandbits(128):032x}.m3u8?{query}"
        for q in (480, 720, 1080)
    }


def make_episode(
    release_id: int,
    ordinal: float,
    *,
    episode_id: str,
    playable: bool,
    ts: float,
    rng: random.Random,
) -> dict[str, Any]:
    """An episode; unplayable ones have the three ``hls_*`` null (the app hides those)."""
    folder = f"/storage/releases/episodes/previews/{release_id}/{number(ordinal)}"
    links = hls(release_id, ordinal, rng) if playable else dict.fromkeys(hls(release_id, 0, rng))
    return {
        "id": episode_id,
        "name": None,
        "ordinal": number(ordinal),
        "opening": {"stop": None, "start": None},
        "ending": {"stop": None, "start": None},
        "preview": _image(folder, rng, src=True),
        **links,
        "duration": 1420,
        "rutube_id": None,
        "youtube_id": None,
        "updated_at": iso(ts),
        "sort_order": 0,  # set by the catalogue when it orders the episodes
        "release_id": release_id,
        "name_english": None,
    }


def make_release(
    release_id: int,
    alias: str,
    name_main: str,
    name_english: str | None,
    *,
    kind: str,
    year: int,
    season: str,
    publish_day: int,
    in_production: bool,
    ongoing: bool,
    notification: str | None,
    episodes_total: int | None,
    description: str | None,
    ts: float,
    rng: random.Random,
) -> dict[str, Any]:
    """A release in the full shape of ``release_10292.json``, its lists empty."""
    return {
        "id": release_id,
        "type": {"value": kind, "description": TYPE_LABELS.get(kind, kind)},
        "year": year,
        "name": {"main": name_main, "english": name_english, "alternative": None},
        "alias": alias,
        "season": {"value": season, "description": SEASON_LABELS.get(season, season)},
        "shikimori": None,
        "mal": None,
        "rating": {
            "average": None,
            "votes": 0,
            "distribution": {str(i): 0 for i in range(1, 11)},
        },
        "poster": _image(f"/storage/releases/posters/{release_id}", rng, src=True),
        "fresh_at": iso(ts),
        "created_at": iso(ts),
        "updated_at": iso(ts),
        "is_ongoing": ongoing,
        "age_rating": dict(AGE_RATING),
        "publish_day": {"value": publish_day, "description": WEEKDAYS[publish_day]},
        "description": description,
        "notification": notification,
        "episodes_total": episodes_total,
        "external_player": None,
        "is_in_production": in_production,
        "is_blocked_by_geo": False,
        "is_blocked_by_copyrights": False,
        "added_in_users_favorites": 0,
        "average_duration_of_episode": 24,
        "added_in_planned_collection": 0,
        "added_in_watched_collection": 0,
        "added_in_watching_collection": 0,
        "added_in_postponed_collection": 0,
        "added_in_abandoned_collection": 0,
        "genres": [],
        "background_covers": [],
        "members": [],
        "sponsors": [],
        "episodes": [],
        "torrents": [],
    }


def magnet(info_hash: str, name: str, size: int) -> str:
    trackers = "".join(f"&tr={t}" for t in TRACKERS)
    return f"magnet:?xt=urn:btih:{info_hash}&dn={quote_plus(name)}&xl={size}{trackers}"


def torrent_names(release: dict[str, Any], torrent: dict[str, Any]) -> None:
    """Set ``label``, ``filename``, ``magnet`` from the torrent's own fields."""
    title = release["name"].get("english") or release["alias"]
    kind, quality = torrent["type"]["value"], torrent["quality"]["value"]
    codec, episodes = torrent["codec"]["label"], torrent["description"]
    torrent["label"] = f"{title} - AniLiberty.TOP [{kind} {quality}][{codec}][{episodes}]"
    torrent["filename"] = f"{torrent['label']}.torrent"
    torrent["magnet"] = magnet(
        torrent["hash"], f"{title} - AniLiberty [{kind} {quality} {codec}]", torrent["size"]
    )


def make_torrent(
    torrent_id: int,
    release: dict[str, Any],
    *,
    quality: str,
    kind: str,
    episodes: str,
    codec: str,
    ts: float,
    rng: random.Random,
) -> dict[str, Any]:
    """A torrent in the shape of the captures (without its nested ``release``)."""
    codec_info = CODECS.get(codec, {"label": codec, "label_color": None, "label_is_visible": True})
    ten_bit = codec_info["label"] == "HEVC"
    torrent: dict[str, Any] = {
        "id": torrent_id,
        "hash": f"{rng.getrandbits(160):040x}",
        "size": 1_500_000_000 + rng.randrange(500_000_000),
        "type": {"value": kind, "description": kind},
        "label": "",
        "codec": {
            "value": codec,
            "label": codec_info["label"],
            "description": codec,
            "label_color": codec_info["label_color"],
            "label_is_visible": codec_info["label_is_visible"],
        },
        "color": {"value": "10Bit", "description": "10-bit"}
        if ten_bit
        else {"value": "8bit", "description": "8-bit"},
        "magnet": "",
        "seeders": 0,
        "quality": {"value": quality, "description": quality},
        "bitrate": None,
        "filename": "",
        "leechers": 0,
        "sort_order": 0,
        "created_at": iso(ts),
        "updated_at": iso(ts),
        "is_hardsub": False,
        "description": episodes,
        "completed_times": 0,
    }
    torrent_names(release, torrent)
    return torrent


# -- files -------------------------------------------------------------------------------------


def bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def torrent_file(torrent: dict[str, Any], passkey: str | None) -> bytes:
    """A small valid single-file .torrent; the passkey (if any) sits in the announce URLs."""
    announce = [f"{t}?pk={passkey}" if passkey else t for t in TRACKERS]
    name = torrent["filename"].removesuffix(".torrent") + ".mkv"
    info = {
        "length": 1024,
        "name": name,
        "piece length": 16384,
        "pieces": hashlib.sha1(b"\0" * 1024 + torrent["hash"].encode()).digest(),
    }
    return bencode(
        {
            "announce": announce[0],
            "announce-list": [[a] for a in announce],
            "comment": torrent["label"],
            "info": info,
        }
    )


def rss_feed(title: str, link: str, items: list[dict[str, Any]]) -> str:
    """RSS 2.0; each item: ``title``, ``link``, ``guid``, ``ts``, ``description``, ``size``."""
    entries = "".join(
        "<item>"
        f"<title>{escape(item['title'])}</title>"
        f"<link>{escape(item['link'])}</link>"
        f'<guid isPermaLink="false">{escape(item["guid"])}</guid>'
        f"<pubDate>{format_datetime(datetime.fromtimestamp(item['ts'], UTC))}</pubDate>"
        f"<description>{escape(item['description'])}</description>"
        f'<enclosure url="{escape(item["link"])}" length="{item["size"]}"'
        ' type="application/x-bittorrent"/>'
        "</item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        "<description>AniLiberty torrents</description>"
        f"{entries}</channel></rss>\n"
    )
