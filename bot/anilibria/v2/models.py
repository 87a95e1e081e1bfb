"""Pydantic models of the AniLibria API v2 (v2.13.x) answers.

The models are deliberately lenient, because the live server did not always send what the
reference says (see DESIGN.md, "Events: what the live server really sent"):

* every field except ``Title.id`` / ``Torrent.torrent_id`` / ``ScheduleDay.day`` is optional,
  since ``filter=``/``remove=`` can cut any part of an answer;
* unknown fields are kept (``extra="allow"``) and reachable through ``model_extra``;
* numbers sent as strings are coerced (``"2"`` -> 2) and numbers sent where a string is
  documented are turned into strings (``type.length: 24`` -> ``"24"``,
  ``quality.resolution: 720`` -> ``"720"``);
* a value of an unexpected type in an optional field becomes ``None`` instead of failing the
  whole object, a list item that does not validate is dropped (both with a debug log), and
  ``null`` where a list is documented becomes ``[]``;
* ``player.playlist`` is normalised to ``dict[int, Episode]`` whether it arrives as an object
  keyed by episode number, as an array (``playlist_type=array``), as ``[]`` or as ``null``;
* ``title.description`` may be an object ``{html, plain, no_view_order}`` (seen in a live
  ``title_update``): ``description`` then holds the plain text and ``description_variants`` the
  object.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from bot.anilibria._lenient import Items, Lenient, short

__all__ = [
    "AniLibriaModel",
    "Episode",
    "FavoriteResult",
    "FeedItem",
    "Hls",
    "LoginResult",
    "Names",
    "Player",
    "Poster",
    "Posters",
    "Quality",
    "ScheduleDay",
    "Season",
    "SeedStat",
    "Series",
    "Status",
    "Team",
    "TeamRoster",
    "Title",
    "TitleType",
    "Torrent",
    "TorrentFile",
    "TorrentMetadata",
    "Torrents",
    "YouTubeVideo",
]

_log = logging.getLogger(__name__)

_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")


OptInt = Annotated[int | None, Lenient]
OptStr = Annotated[str | None, Lenient]
OptBool = Annotated[bool | None, Lenient]
OptDict = Annotated[dict[str, Any] | None, Lenient]
StrList = Annotated[builtins.list[str], Items]


def _as_int(value: object) -> int | None:
    """An episode number as int, or None when it is not a whole number ("10.5", "abc")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value):
        return int(value)
    return None


class AniLibriaModel(BaseModel):
    """Base of every model: unknown fields kept, numbers coerced to strings where needed."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class Names(AniLibriaModel):
    ru: OptStr = None
    en: OptStr = None
    alternative: OptStr = None


class Poster(AniLibriaModel):
    url: OptStr = None
    raw_base64_file: OptStr = None


class Posters(AniLibriaModel):
    small: Annotated[Poster | None, Lenient] = None
    medium: Annotated[Poster | None, Lenient] = None
    original: Annotated[Poster | None, Lenient] = None

    @property
    def best_url(self) -> str | None:
        """The URL of the largest poster that has one (original, medium, small)."""
        for poster in (self.original, self.medium, self.small):
            if poster is not None and poster.url:
                return poster.url
        return None


class Status(AniLibriaModel):
    string: OptStr = None
    code: OptInt = None


class TitleType(AniLibriaModel):
    full_string: OptStr = None
    code: OptInt = None
    string: OptStr = None
    series: OptInt = None
    length: OptStr = None


class Team(AniLibriaModel):
    voice: StrList = Field(default_factory=builtins.list)
    translator: StrList = Field(default_factory=builtins.list)
    editing: StrList = Field(default_factory=builtins.list)
    decor: StrList = Field(default_factory=builtins.list)
    timing: StrList = Field(default_factory=builtins.list)


class TeamRoster(Team):
    """``getTeam`` answers ``{"team": {...}}``; this is the inner object."""


class Season(AniLibriaModel):
    string: OptStr = None
    code: OptInt = None
    year: OptInt = None
    week_day: OptInt = None


class Series(AniLibriaModel):
    first: OptInt = None
    last: OptInt = None
    string: OptStr = None


class Hls(AniLibriaModel):
    fhd: OptStr = None
    hd: OptStr = None
    sd: OptStr = None


class Episode(AniLibriaModel):
    """One playlist entry. ``serie`` also accepts the key ``episode`` and numeric strings.

    A number that is not whole (``"10.5"``) leaves ``serie`` None and is kept in
    ``model_extra["serie_raw"]``.
    """

    serie: OptInt = None
    created_timestamp: OptInt = None
    preview: OptStr = None
    skips: OptDict = None
    hls: Annotated[Hls | None, Lenient] = None

    @model_validator(mode="before")
    @classmethod
    def _episode_number(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if data.get("serie") is None and "episode" in data:
            data["serie"] = data.pop("episode")
        raw = data.get("serie")
        if raw is not None and _as_int(raw) is None:
            data["serie_raw"] = raw
            data["serie"] = None
        elif raw is not None:
            data["serie"] = _as_int(raw)
        return data


def _normalise_playlist(value: Any) -> tuple[dict[int, Episode], dict[str, Any]]:
    """Any playlist shape -> ({episode number: Episode}, {unusable key: raw value})."""
    if value is None or value == [] or value == {}:
        return {}, {}
    pairs: builtins.list[tuple[object, Any]]
    if isinstance(value, Mapping):
        pairs = builtins.list(value.items())
    elif isinstance(value, builtins.list | tuple):
        pairs = [(None, item) for item in value]
    else:
        _log.debug("AniLibria: unexpected playlist %s", short(value))
        return {}, {}
    playlist: dict[int, Episode] = {}
    leftovers: dict[str, Any] = {}
    for key, raw in pairs:
        if raw is None:
            continue
        try:
            episode = Episode.model_validate(raw)
        except ValidationError:
            _log.debug("AniLibria: dropping invalid episode %s", short(raw))
            leftovers[str(key)] = raw
            continue
        number = episode.serie if episode.serie is not None else _as_int(key)
        if number is None:
            leftovers[str(key) if key is not None else f"#{len(leftovers)}"] = raw
            continue
        if episode.serie is None:
            episode = episode.model_copy(update={"serie": number})
        playlist[number] = episode
    return dict(sorted(playlist.items())), leftovers


class Player(AniLibriaModel):
    """``playlist`` is always ``{episode number: Episode}``; entries whose number is not a whole
    number are kept raw in ``model_extra["playlist_unparsed"]``."""

    alternative_player: OptStr = None
    host: OptStr = None
    series: Annotated[Series | None, Lenient] = None
    playlist: dict[int, Episode] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _playlist(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        playlist, leftovers = _normalise_playlist(data.get("playlist"))
        data["playlist"] = playlist
        if leftovers:
            data["playlist_unparsed"] = leftovers
        return data

    @property
    def episode_numbers(self) -> builtins.list[int]:
        return sorted(self.playlist)

    @property
    def last_episode(self) -> int | None:
        if self.playlist:
            return max(self.playlist)
        return self.series.last if self.series is not None else None


class Quality(AniLibriaModel):
    string: OptStr = None
    type: OptStr = None
    resolution: OptStr = None
    encoder: OptStr = None
    lq_audio: OptBool = None


class TorrentFile(AniLibriaModel):
    file: OptStr = None
    size: OptInt = None
    offset: OptInt = None


class TorrentMetadata(AniLibriaModel):
    hash: OptStr = None
    name: OptStr = None
    announce: StrList = Field(default_factory=builtins.list)
    created_timestamp: OptInt = None
    files_list: Annotated[builtins.list[TorrentFile], Items] = Field(default_factory=builtins.list)


class Torrent(AniLibriaModel):
    torrent_id: int
    series: Annotated[Series | None, Lenient] = None
    quality: Annotated[Quality | None, Lenient] = None
    leechers: OptInt = None
    seeders: OptInt = None
    downloads: OptInt = None
    total_size: OptInt = None
    url: OptStr = None
    uploaded_timestamp: OptInt = None
    hash: OptStr = None
    metadata: Annotated[TorrentMetadata | None, Lenient] = None
    raw_base64_file: OptStr = None


class Torrents(AniLibriaModel):
    series: Annotated[Series | None, Lenient] = None
    list: Annotated[builtins.list[Torrent], Items] = Field(default_factory=builtins.list)


class Title(AniLibriaModel):
    """A title (release). Everything but ``id`` may be missing (``filter=``/``remove=``)."""

    id: int
    code: OptStr = None
    names: Names = Field(default_factory=Names)
    announce: OptStr = None
    status: Annotated[Status | None, Lenient] = None
    posters: Annotated[Posters | None, Lenient] = None
    updated: OptInt = None
    last_change: OptInt = None
    type: Annotated[TitleType | None, Lenient] = None
    genres: StrList = Field(default_factory=builtins.list)
    team: Annotated[Team | None, Lenient] = None
    season: Annotated[Season | None, Lenient] = None
    description: OptStr = None
    description_variants: dict[str, str] | None = None
    in_favorites: OptInt = None
    blocked: OptDict = None
    player: Annotated[Player | None, Lenient] = None
    torrents: Annotated[Torrents | None, Lenient] = None

    @field_validator("names", mode="wrap")
    @classmethod
    def _names(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler({} if value is None else value)
        except ValidationError:
            _log.debug("AniLibria: ignoring invalid names %s", short(value))
            return Names()

    @model_validator(mode="before")
    @classmethod
    def _description(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        description = data.get("description")
        if isinstance(description, Mapping):
            data = dict(data)
            variants = {str(k): v for k, v in description.items() if isinstance(v, str)}
            data["description_variants"] = variants
            data["description"] = next(
                (variants[key] for key in ("plain", "no_view_order", "html") if variants.get(key)),
                None,
            )
        return data

    @property
    def name_ru(self) -> str:
        """Russian name, falling back to English, alternative, code, then ``#id``."""
        n = self.names
        return n.ru or n.en or n.alternative or self.code or f"#{self.id}"

    @property
    def name_en(self) -> str:
        """English name, falling back to alternative, Russian, code, then ``#id``."""
        n = self.names
        return n.en or n.alternative or n.ru or self.code or f"#{self.id}"

    @property
    def last_episode(self) -> int | None:
        return self.player.last_episode if self.player is not None else None


class ScheduleDay(AniLibriaModel):
    day: int
    list: Annotated[builtins.list[Title], Items] = Field(default_factory=builtins.list)


class YouTubeVideo(AniLibriaModel):
    id: OptInt = None
    title: OptStr = None
    image: OptStr = None
    youtube_id: OptStr = None
    timestamp: OptInt = None


class FeedItem(AniLibriaModel):
    """One ``getFeed`` entry: ``{"title": {...}}`` or ``{"youtube": {...}}``."""

    title: Title | None = None
    youtube: Annotated[YouTubeVideo | None, Lenient] = None


class SeedStat(AniLibriaModel):
    downloaded: OptInt = None
    uploaded: OptInt = None
    user: OptStr = None


class FavoriteResult(AniLibriaModel):
    success: bool = False


class LoginResult(AniLibriaModel):
    """A successful ``login.php`` answer. ``session`` is secret: it is kept out of ``repr``."""

    session: str = Field(repr=False)
    key: str = "success"
    message: str | None = None
