"""v2 models -> the neutral types of :mod:`bot.anilibria`."""

from __future__ import annotations

from urllib.parse import quote, urljoin

from bot.anilibria._types import (
    Episode,
    Names,
    ScheduleDay,
    Title,
    TitleKind,
    TitleStatus,
    Torrent,
    Video,
)
from bot.anilibria.v2 import models as m

__all__ = [
    "absolute",
    "schedule_from_v2",
    "title_from_v2",
    "title_url",
    "torrent_from_v2",
    "torrents_from_v2",
    "video_from_v2",
]

_KINDS = {
    0: TitleKind.MOVIE,
    1: TitleKind.TV,
    2: TitleKind.OVA,
    3: TitleKind.ONA,
    4: TitleKind.SPECIAL,
    5: TitleKind.WEB,
}
_SEASONS = {1: "winter", 2: "spring", 3: "summer", 4: "autumn"}


def absolute(site_url: str, url: str | None) -> str | None:
    """A poster or file path of the site as an absolute URL."""
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("//"):
        return "https:" + url
    return urljoin(site_url.rstrip("/") + "/", url.lstrip("/"))


def title_url(site_url: str, alias: str | None, title_id: int) -> str:
    """The title's page on the site, percent-encoded: an odd code cannot break a button."""
    slug = quote(alias or str(title_id), safe="")
    return f"{site_url.rstrip('/')}/release/{slug}.html"


def _poster(site_url: str, posters: m.Posters | None) -> str | None:
    if posters is None:
        return None
    for poster in (posters.medium, posters.original, posters.small):
        if poster is not None and poster.url:
            return absolute(site_url, poster.url)
    return None


def torrent_quality(torrent: m.Torrent) -> str | None:
    quality = torrent.quality
    if quality is None:
        return None
    return quality.string or (
        " ".join(part for part in (quality.type, quality.resolution, quality.encoder) if part)
        or None
    )


def torrent_from_v2(torrent: m.Torrent, site_url: str) -> Torrent:
    return Torrent(
        id=torrent.torrent_id,
        quality=torrent_quality(torrent),
        episodes=torrent.series.string if torrent.series is not None else None,
        size=torrent.total_size,
        seeders=torrent.seeders,
        leechers=torrent.leechers,
        hash=torrent.hash,
        url=absolute(site_url, torrent.url),
    )


def torrents_from_v2(torrents: m.Torrents | None, site_url: str) -> tuple[Torrent, ...] | None:
    if torrents is None:
        return None
    return tuple(torrent_from_v2(t, site_url) for t in torrents.list)


def title_from_v2(title: m.Title, site_url: str) -> Title:
    kind = title.type
    season = title.season
    status = title.status.code if title.status is not None else None
    player = title.player
    return Title(
        id=title.id,
        alias=title.code,
        names=Names(title.names.ru, title.names.en, title.names.alternative),
        poster=_poster(site_url, title.posters),
        kind=_KINDS.get(kind.code) if kind is not None and kind.code is not None else None,
        kind_label=(kind.full_string or kind.string) if kind is not None else None,
        year=season.year if season is not None else None,
        season=_SEASONS.get(season.code or 0) if season is not None else None,
        status=TitleStatus(status) if status in {s.value for s in TitleStatus} else None,
        announcement=title.announce,
        description=title.description,
        genres=tuple(title.genres),
        voices=tuple(title.team.voice) if title.team is not None else (),
        publish_day=season.week_day if season is not None else None,
        episodes_total=kind.series if kind is not None else None,
        last_episode=title.last_episode,
        episodes=(
            tuple(Episode(ordinal=number) for number in player.playlist)
            if player is not None
            else None
        ),
        torrents=torrents_from_v2(title.torrents, site_url),
        updated_at=title.updated,
        created_at=_first_upload(player),
    )


def _first_upload(player: m.Player | None) -> int | None:
    """When the title's first episode was uploaded: v2's nearest to a creation time."""
    if player is None:
        return None
    return min(
        (e.created_timestamp for e in player.playlist.values() if e.created_timestamp), default=None
    )


def schedule_from_v2(days: list[m.ScheduleDay], site_url: str) -> list[ScheduleDay]:
    return [
        ScheduleDay(day.day, tuple(title_from_v2(t, site_url) for t in day.list))
        for day in days
        if 0 <= day.day <= 6
    ]


def video_from_v2(video: m.YouTubeVideo, site_url: str) -> Video | None:
    if not video.youtube_id:
        return None
    return Video(
        id=str(video.id if video.id is not None else video.youtube_id),
        title=video.title or video.youtube_id,
        url=f"https://www.youtube.com/watch?v={video.youtube_id}",
        image=absolute(site_url, video.image),
        created_at=video.timestamp,
    )
