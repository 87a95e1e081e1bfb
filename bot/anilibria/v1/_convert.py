"""v1 models -> the neutral types of :mod:`bot.anilibria._types`.

* ``kind``: ``type.value`` TV/MOVIE/OVA/ONA/SPECIAL/WEB; OAD, DORAMA and anything else: OTHER.
* ``status``: ONGOING while ``is_in_production`` (the dub goes on), FINISHED once false.
* ``publish_day``: v1 counts 1 = Monday ... 7 = Sunday; the bot 0 ... 6.
* ``episodes`` / ``torrents``: ``None`` when the answer has no such key (list endpoints).
* ``last_episode``: the highest playable ordinal of ``episodes``, else ``latest_episode``
  (``/latest`` only), else the schedule's published episode.
* ``updated_at``: ``fresh_at`` (the bump time) as Unix seconds; ``created_at``: ``created_at``.
* ``is_new``: the answer shows the release and no episode at all (an announced title).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

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
from bot.anilibria.v1 import _models as m

__all__ = [
    "absolute_url",
    "episode",
    "schedule_days",
    "title",
    "torrent",
    "torrent_quality",
    "unix",
    "video",
]

_KINDS = {kind.value: kind for kind in TitleKind if kind is not TitleKind.OTHER}
_SEASONS = {"winter", "spring", "summer", "autumn"}


def _text(value: str | None) -> str | None:
    """``None`` for a missing or blank string, else the string stripped."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def unix(moment: datetime | None) -> int | None:
    """Unix seconds; a naive datetime is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def absolute_url(site_url: str, url_or_path: str | None) -> str | None:
    """``https://...`` as is, ``//host/x`` with the site's scheme, a path under the site."""
    path = _text(url_or_path)
    if path is None:
        return None
    if path.startswith(("http://", "https://")):
        return path
    base = site_url.rstrip("/")
    if path.startswith("//"):
        scheme = base.split(":", 1)[0] if "://" in base else "https"
        return f"{scheme}:{path}"
    return f"{base}/{path.lstrip('/')}"


def _poster(site_url: str, poster: m.Image | None) -> str | None:
    if poster is None:
        return None
    optimized = poster.optimized.src if poster.optimized is not None else None
    return absolute_url(site_url, _text(optimized) or poster.src)


def _kind(kind: m.Valued | None) -> TitleKind | None:
    if kind is None or _text(kind.value) is None:
        return None
    return _KINDS.get((kind.value or "").strip().upper(), TitleKind.OTHER)


def _status(in_production: bool | None) -> TitleStatus | None:
    if in_production is None:
        return None
    return TitleStatus.ONGOING if in_production else TitleStatus.FINISHED


def _season(season: m.Valued | None) -> str | None:
    value = (_text(season.value) or "").lower() if season is not None else ""
    if value == "fall":
        value = "autumn"
    return value if value in _SEASONS else None


def _publish_day(day: m.Day | None) -> int | None:
    if day is None or day.value is None or not 1 <= day.value <= 7:
        return None
    return day.value - 1


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        text = _text(value)
        if text is not None:
            seen.setdefault(text, None)
    return tuple(seen)


def episode(item: m.Episode) -> Episode | None:
    """The neutral episode; ``None`` for one without an ordinal (nothing to call it)."""
    if item.ordinal is None:
        return None
    return Episode(
        ordinal=float(item.ordinal),
        id=_text(item.id),
        name=_text(item.name),
        playable=item.playable,
    )


def torrent_quality(item: m.Torrent) -> str | None:
    """A label like "WEBRip 1080p AVC" from the torrent's type, quality and codec."""
    kind = _text(item.type.value) if item.type is not None else None
    quality = None
    if item.quality is not None:
        quality = _text(item.quality.value) or _text(item.quality.description)
    codec = None
    if item.codec is not None:
        codec = _text(item.codec.label) or _text(item.codec.value)
    parts = [part for part in (kind, quality, codec) if part]
    return " ".join(parts) or None


def torrent(item: m.Torrent) -> Torrent:
    return Torrent(
        id=item.id,
        quality=torrent_quality(item),
        episodes=_text(item.description),
        size=item.size or None,
        seeders=item.seeders,
        leechers=item.leechers,
        hash=_text(item.hash),
        magnet=_text(item.magnet),
    )


def _episodes(release: m.Release) -> tuple[Episode, ...] | None:
    if release.episodes is None:
        return None
    converted = (episode(item) for item in release.episodes)
    return tuple(sorted((e for e in converted if e is not None), key=lambda e: e.ordinal))


def title(release: m.Release, site_url: str, *, published: m.Episode | None = None) -> Title:
    """The neutral title of a release. ``published``: the schedule's latest episode."""
    episodes = _episodes(release)
    latest = release.latest_episode or published
    playable = [e.ordinal for e in episodes or () if e.playable]
    if playable:
        last_episode: float | None = max(playable)
    elif latest is not None and latest.ordinal is not None:
        last_episode = float(latest.ordinal)
    else:
        last_episode = None
    knows_episodes = episodes is not None or release.has_latest_episode_key
    is_new = knows_episodes and not playable and latest is None
    name = release.name or m.Name()
    torrents = None
    if release.torrents is not None:
        torrents = tuple(torrent(item) for item in release.torrents)
    return Title(
        id=release.id,
        alias=_text(release.alias),
        names=Names(
            main=_text(name.main), english=_text(name.english), alternative=_text(name.alternative)
        ),
        poster=_poster(site_url, release.poster),
        kind=_kind(release.type),
        kind_label=_text(release.type.description) if release.type is not None else None,
        year=release.year,
        season=_season(release.season),
        status=_status(release.is_in_production),
        # "" says "no banner" (v1 sends null then); None would mean "this answer does not say".
        announcement=_text(release.notification) or "",
        description=_text(release.description),
        genres=_unique(genre.name for genre in release.genres),
        voices=_unique(
            member.nickname
            for member in release.members or ()
            if member.role is not None and (member.role.value or "").lower() == "voicing"
        ),
        publish_day=_publish_day(release.publish_day),
        episodes_total=release.episodes_total,
        last_episode=last_episode,
        episodes=episodes,
        torrents=torrents,
        updated_at=unix(release.fresh_at),
        is_new=is_new,
        created_at=unix(release.created_at),
    )


def schedule_days(items: Iterable[m.ScheduleItem], site_url: str) -> list[ScheduleDay]:
    """The week's titles grouped by publish day (0 = Monday), days without titles left out."""
    days: dict[int, list[Title]] = {}
    for item in items:
        converted = title(item.release, site_url, published=item.published_release_episode)
        if converted.publish_day is not None:
            days.setdefault(converted.publish_day, []).append(converted)
    return [ScheduleDay(day=day, titles=tuple(days[day])) for day in sorted(days)]


def video(item: m.Video, site_url: str) -> Video | None:
    """The neutral video; ``None`` when it has no URL to open."""
    url = _text(item.url)
    if url is None and _text(item.video_id):
        url = f"https://www.youtube.com/watch?v={item.video_id}"
    if url is None:
        return None
    image = None
    if item.image is not None:
        optimized = item.image.optimized
        image = absolute_url(
            site_url,
            (optimized.preview if optimized is not None else None)
            or item.image.preview
            or item.image.src
            or item.image.thumbnail,
        )
    return Video(
        id=item.id,
        title=_text(item.title) or "",
        url=url,
        image=image,
        created_at=unix(item.created_at),
    )
