"""What the bot talks about, whichever API it came from: plain frozen dataclasses.

Each upstream package (``v1``, ``v2``) turns its own answers into these; nothing outside an
upstream package sees an API's models. Every field an answer may lack is optional: a list
answer has no episodes, a trimmed answer no torrents. ``None`` means "not in this answer",
an empty tuple means "the answer says there are none".
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = [
    "SEASONS",
    "Change",
    "Episode",
    "EpisodesReleased",
    "FeedHealth",
    "FeedLink",
    "Names",
    "NewsSink",
    "OneTimeCode",
    "ScheduleDay",
    "Title",
    "TitleFilter",
    "TitleKind",
    "TitleSeen",
    "TitleStatus",
    "Torrent",
    "TorrentsChanged",
    "Video",
    "format_ordinal",
]


def format_ordinal(ordinal: float) -> str:
    """An episode number as given: ``12`` for 12.0, ``12.5`` for 12.5."""
    return str(int(ordinal)) if float(ordinal).is_integer() else f"{ordinal:g}"


class TitleStatus(enum.IntEnum):
    """Where a title stands. The values are v2's ``status.code``, kept in the database."""

    ONGOING = 1
    FINISHED = 2
    HIDDEN = 3
    NOT_ONGOING = 4


class TitleKind(enum.StrEnum):
    """The kind of a title, as a follow rule names it."""

    TV = "TV"
    MOVIE = "MOVIE"
    OVA = "OVA"
    ONA = "ONA"
    SPECIAL = "SPECIAL"
    WEB = "WEB"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class Names:
    main: str | None = None  # Russian
    english: str | None = None
    alternative: str | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode. ``id`` is the API's own key when it has one (v1: a UUID); v2 keys
    episodes by number and leaves it None. ``ordinal`` may be fractional (12.5)."""

    ordinal: float
    id: str | None = None
    name: str | None = None
    playable: bool = True

    @property
    def label(self) -> str:
        return format_ordinal(self.ordinal)


@dataclass(frozen=True, slots=True)
class Torrent:
    """One torrent of a title. ``quality`` and ``episodes`` are display strings
    ("WEBRip 1080p HEVC", "1-12"); together they tell a new torrent from a re-upload."""

    id: int
    quality: str | None = None
    episodes: str | None = None
    size: int | None = None
    seeders: int | None = None
    leechers: int | None = None
    hash: str | None = None
    magnet: str | None = None
    url: str | None = None  # where the .torrent file is (absolute)


@dataclass(frozen=True, slots=True)
class Title:
    """A title (v2) or release (v1) as one answer showed it."""

    id: int
    alias: str | None = None  # v2 `code`, v1 `alias`: the same strings
    names: Names = field(default_factory=Names)
    poster: str | None = None  # absolute URL
    kind: TitleKind | None = None
    kind_label: str | None = None  # the API's own words for the kind ("ТВ (12 эп.)")
    year: int | None = None
    season: str | None = None  # winter, spring, summer, autumn
    status: TitleStatus | None = None
    # The banner text ("новая серия каждую субботу"); "" when the API says there is none,
    # None when this answer does not tell.
    announcement: str | None = None
    description: str | None = None
    genres: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    publish_day: int | None = None  # 0 = Monday ... 6 = Sunday
    episodes_total: int | None = None  # planned
    last_episode: float | None = None  # newest known, even where `episodes` is None
    episodes: tuple[Episode, ...] | None = None
    torrents: tuple[Torrent, ...] | None = None
    updated_at: int | None = None  # v2 `updated`, v1 `fresh_at` (Unix seconds)
    is_new: bool = False  # the API says the title itself is new (v1: no episode yet)
    # When the title came to the catalogue: v1 `created_at`, v2 its first episode's upload time.
    created_at: int | None = None

    @property
    def name(self) -> str:
        """Some name, never empty: Russian, English, alternative, alias, then ``#id``."""
        n = self.names
        return n.main or n.english or n.alternative or self.alias or f"#{self.id}"


SEASONS = ("winter", "spring", "summer", "autumn")


def _folded(values: tuple[str, ...]) -> set[str]:
    return {value.casefold() for value in values}


@dataclass(frozen=True, slots=True)
class TitleFilter:
    """What a follow rule asks of a title: every part given must hold (AND). Names compare
    case-insensitively; a filter with no part at all matches every title ("every new title").
    ``season`` is one of :data:`SEASONS` and goes with ``year``."""

    genres: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    kind: TitleKind | None = None
    season: str | None = None
    year: int | None = None

    @property
    def is_everything(self) -> bool:
        return not (self.genres or self.voices or self.kind or self.season or self.year)

    def matches(self, title: Title) -> bool:
        if self.kind is not None and title.kind is not self.kind:
            return False
        if self.season is not None and title.season != self.season:
            return False
        if self.year is not None and title.year != self.year:
            return False
        if self.genres and not _folded(self.genres) <= _folded(title.genres):
            return False
        return not self.voices or _folded(self.voices) <= _folded(title.voices)


@dataclass(frozen=True, slots=True)
class ScheduleDay:
    day: int  # 0 = Monday ... 6 = Sunday
    titles: tuple[Title, ...] = ()


@dataclass(frozen=True, slots=True)
class Video:
    """One of AniLibria's own videos (a trailer, an announcement, a review)."""

    id: str
    title: str
    url: str
    image: str | None = None
    created_at: int | None = None


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A personal feed link (/rss): a short key ("rss", "atom", "torrents"), what to call it,
    and the URL (secret: it names the user)."""

    key: str
    label: str
    url: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OneTimeCode:
    """A code the user enters on the site to link this bot (v1's device linking)."""

    code: str
    device_id: str
    expires_at: float  # Unix seconds
    link_url: str  # the site page where the code is entered


# -- what the news feed hands over --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TitleSeen:
    """A title as it stands now. The matcher compares it with its local copy.

    ``dedupe`` is the upstream's own id of the event (v2 `hash`): an event handled before is
    ignored. ``baseline`` says: take this as the state to compare with later, announce nothing.
    """

    title: Title
    dedupe: str | None = None
    baseline: bool = False


@dataclass(frozen=True, slots=True)
class EpisodesReleased:
    """Episodes that a push told about, without the rest of the title (v2 playlist_update)."""

    title_id: int
    episodes: tuple[Episode, ...]
    reupload: bool = False


@dataclass(frozen=True, slots=True)
class TorrentsChanged:
    """A title's torrents, without the rest of the title (v2 torrent_update)."""

    title_id: int
    torrents: tuple[Torrent, ...]
    dedupe: str | None = None


Change = TitleSeen | EpisodesReleased | TorrentsChanged
NewsSink = Callable[[Change], Awaitable[int]]
"""Handles one change; returns how many notices it queued. Raising means "not handled"."""


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """How the news feed is doing, for /stats and the health check."""

    mode: str  # "socket" or "polling"
    state: str  # socket: connecting, connected, backoff, closed; polling: ok, failing, starting
    since: float  # when the state began
    ok_at: float | None  # the last moment the feed was known to work
    failures: int = 0  # socket: reconnects; polling: polls that failed
    changes: int = 0  # changes handed to the sink
    last_change_at: float | None = None
    last_catchup_at: float | None = None
    detail: str = ""  # the last problem, the API version...
