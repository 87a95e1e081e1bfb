"""Pydantic models of the AniLiberty API v1 answers the bot reads (private to this package).

Lenient like the v2 models: unknown fields are kept (``extra="allow"``, the live API grows
``shikimori``/``mal``/``rating``...), numbers are accepted where strings are documented, a bad
optional value becomes ``None`` and an invalid list item is dropped (see :mod:`._lenient`).
Only ``Release.id``, ``Torrent.id``, ``Video.id`` and ``ScheduleItem.release`` are required.

``episodes``, ``members`` and ``torrents`` of a release are ``None`` when the answer has no
such key (every list endpoint), a list when it has one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.anilibria._lenient import (
    Items,
    Lenient,
    OptBool,
    OptFloat,
    OptInt,
    OptItems,
    OptStr,
    OptTime,
)

__all__ = [
    "AppStatus",
    "Codec",
    "Day",
    "Episode",
    "ErrorBody",
    "Genre",
    "Image",
    "Links",
    "Member",
    "Meta",
    "Name",
    "Otp",
    "OtpAnswer",
    "Pagination",
    "Profile",
    "ProfileTorrents",
    "Release",
    "ReleasePage",
    "ScheduleItem",
    "TokenAnswer",
    "Torrent",
    "V1Model",
    "Valued",
    "Video",
]


class V1Model(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class Valued(V1Model):
    """The API's enum objects: ``type``, ``season``, ``role``, ``quality``, ``color``..."""

    value: OptStr = None
    description: OptStr = None


class Day(V1Model):
    """``publish_day``: 1 = Monday ... 7 = Sunday."""

    value: OptInt = None
    description: OptStr = None


class Codec(V1Model):
    value: OptStr = None  # "x264/AVC"
    label: OptStr = None  # "AVC"
    description: OptStr = None


class Image(V1Model):
    """A poster, an episode preview, a video image: paths relative to the site."""

    src: OptStr = None
    preview: OptStr = None
    thumbnail: OptStr = None
    optimized: Annotated[Image | None, Lenient] = None


class Name(V1Model):
    main: OptStr = None
    english: OptStr = None
    alternative: OptStr = None


class Genre(V1Model):
    id: OptInt = None
    name: OptStr = None


class Member(V1Model):
    id: OptStr = None
    nickname: OptStr = None
    role: Annotated[Valued | None, Lenient] = None


class Episode(V1Model):
    id: OptStr = None  # a UUID
    name: OptStr = None
    name_english: OptStr = None
    ordinal: OptFloat = None  # may be fractional: 12.5
    sort_order: OptFloat = None
    release_id: OptInt = None
    duration: OptInt = None
    hls_480: OptStr = None
    hls_720: OptStr = None
    hls_1080: OptStr = None
    updated_at: OptTime = None

    @property
    def playable(self) -> bool:
        return bool(self.hls_480 or self.hls_720 or self.hls_1080)


class Torrent(V1Model):
    id: int
    hash: OptStr = None
    magnet: OptStr = None
    size: OptInt = None
    label: OptStr = None
    filename: OptStr = None
    description: OptStr = None  # the episode range: "1-12"
    quality: Annotated[Valued | None, Lenient] = None
    codec: Annotated[Codec | None, Lenient] = None
    type: Annotated[Valued | None, Lenient] = None
    color: Annotated[Valued | None, Lenient] = None
    is_hardsub: OptBool = None
    seeders: OptInt = None
    leechers: OptInt = None
    completed_times: OptInt = None
    created_at: OptTime = None
    updated_at: OptTime = None


class Release(V1Model):
    id: int
    alias: OptStr = None
    name: Annotated[Name | None, Lenient] = None
    type: Annotated[Valued | None, Lenient] = None
    year: OptInt = None
    season: Annotated[Valued | None, Lenient] = None
    poster: Annotated[Image | None, Lenient] = None
    fresh_at: OptTime = None
    created_at: OptTime = None
    updated_at: OptTime = None
    is_ongoing: OptBool = None
    is_in_production: OptBool = None
    publish_day: Annotated[Day | None, Lenient] = None
    description: OptStr = None
    notification: OptStr = None
    episodes_total: OptInt = None
    genres: Annotated[list[Genre], Items] = Field(default_factory=list)
    latest_episode: Annotated[Episode | None, Lenient] = None
    episodes: Annotated[list[Episode] | None, OptItems] = None
    members: Annotated[list[Member] | None, OptItems] = None
    torrents: Annotated[list[Torrent] | None, OptItems] = None

    @property
    def has_latest_episode_key(self) -> bool:
        """Whether the answer carried ``latest_episode`` at all (only ``/latest`` does)."""
        return "latest_episode" in self.model_fields_set


class TorrentWithRelease(Torrent):
    """``/anime/torrents/{hashOrId}``: the torrent and the release it belongs to."""

    release: Annotated[Release | None, Lenient] = None


class ScheduleItem(V1Model):
    release: Release
    full_season_is_released: OptBool = None
    published_release_episode: Annotated[Episode | None, Lenient] = None
    next_release_episode_number: OptInt = None


class Video(V1Model):
    id: str
    url: OptStr = None
    title: OptStr = None
    video_id: OptStr = None
    image: Annotated[Image | None, Lenient] = None
    is_announce: OptBool = None
    created_at: OptTime = None
    updated_at: OptTime = None


class Links(V1Model):
    next: OptStr = None
    previous: OptStr = None


class Pagination(V1Model):
    total: OptInt = None
    count: OptInt = None
    per_page: OptInt = None
    current_page: OptInt = None
    total_pages: OptInt = None
    links: Annotated[Links | None, Lenient] = None  # PHP may send [] for an empty object


class Meta(V1Model):
    pagination: Annotated[Pagination | None, Lenient] = None


class ReleasePage(V1Model):
    """The paging envelope ``{data: [...], meta: {pagination: {...}}}`` of releases."""

    data: Annotated[list[Release], Items]
    meta: Annotated[Meta | None, Lenient] = None

    @property
    def has_more(self) -> bool:
        """Whether a later page exists (by ``total_pages``, else by ``links.next``)."""
        p = self.meta.pagination if self.meta is not None else None
        if p is None:
            return False
        if p.current_page is not None and p.total_pages is not None:
            return p.current_page < p.total_pages
        return bool(p.links is not None and p.links.next)


class Otp(V1Model):
    code: OptStr = None  # "058701": a string here, an integer in otp/login
    device_id: OptStr = None
    expired_at: OptTime = None
    user_id: OptInt = None

    @field_validator("code", mode="before")
    @classmethod
    def _pad_numeric_code(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return f"{value:06d}"  # an integer loses its leading zeros
        return value


class OtpAnswer(V1Model):
    otp: Otp
    remaining_time: OptFloat = None


class TokenAnswer(V1Model):
    token: OptStr = None


class ProfileTorrents(V1Model):
    passkey: OptStr = None
    uploaded: OptInt = None
    downloaded: OptInt = None


class Profile(V1Model):
    id: OptInt = None
    login: OptStr = None
    nickname: OptStr = None
    torrents: Annotated[ProfileTorrents | None, Lenient] = None


class ErrorBody(V1Model):
    """A Laravel error body: ``{"message": "...", "errors": {"field": ["..."]}}``."""

    message: OptStr = None
    errors: Annotated[dict[str, Any] | None, Lenient] = None


class AppStatus(V1Model):
    """``/app/status``: ``{request: {ip, country...}, is_alive, available_api_endpoints}``."""

    is_alive: OptBool = None
    available_api_endpoints: Annotated[list[str], Items] = Field(default_factory=list)
