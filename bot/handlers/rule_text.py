"""Follow rules as people type them, and names checked against what the API knows.

``/follow genre Комедия``, ``/follow voice Anzen``, ``/follow type TV``, ``/follow season
spring 2024``, ``/follow new``; parts combine into one rule (``/follow genre Комедия type TV``:
both must hold). Keywords are English or Russian. Genre and voice names are matched
case-insensitively against the API's own lists; an unknown name gets the closest known names
(difflib, and names that contain what was typed), never a silent rule that matches nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.anilibria import SEASONS, TitleFilter, TitleKind
from bot.handlers.cache import TTLCache
from storage import RuleSpec

__all__ = [
    "KnownNames",
    "RuleDraft",
    "RuleSyntaxError",
    "closest",
    "draft_of",
    "filter_of",
    "parse_rule",
    "resolve",
    "spec_of",
]

NAMES_TTL = 3600.0
MAX_NAME = 100
MAX_PARTS = 6  # names in one rule, genres and voices together

_KEYWORDS = {
    "genre": "genre",
    "жанр": "genre",
    "voice": "voice",
    "голос": "voice",
    "озвучка": "voice",
    "type": "type",
    "тип": "type",
    "season": "season",
    "сезон": "season",
    "new": "new",
    "all": "new",
    "новые": "new",
    "новое": "new",
    "все": "new",
}
_KINDS = {kind.value.lower(): kind for kind in TitleKind} | {
    "тв": TitleKind.TV,
    "фильм": TitleKind.MOVIE,
    "film": TitleKind.MOVIE,
    "спешл": TitleKind.SPECIAL,
}
_SEASON_WORDS = {season: season for season in SEASONS} | {
    "fall": "autumn",
    "зима": "winter",
    "весна": "spring",
    "лето": "summer",
    "осень": "autumn",
}


class RuleSyntaxError(ValueError):
    """The text is not a rule; `part` says which part was wrong ("" for the whole)."""

    def __init__(self, part: str = "") -> None:
        super().__init__(part)
        self.part = part


@dataclass
class RuleDraft:
    """A rule being made: typed names not yet checked, or a builder's choices."""

    genres: list[str] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)
    kind: str | None = None
    season: str | None = None
    year: int | None = None
    also_subscribe: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "genres": list(self.genres),
            "voices": list(self.voices),
            "kind": self.kind,
            "season": self.season,
            "year": self.year,
            "also_subscribe": self.also_subscribe,
        }


def draft_of(data: object) -> RuleDraft:
    """A draft back from FSM data (anything odd there gives an empty draft)."""
    if not isinstance(data, dict):
        return RuleDraft()
    genres = [str(g)[:MAX_NAME] for g in data.get("genres") or [] if isinstance(g, str)]
    voices = [str(v)[:MAX_NAME] for v in data.get("voices") or [] if isinstance(v, str)]
    kind = data.get("kind")
    season = data.get("season")
    year = data.get("year")
    return RuleDraft(
        genres=genres[:MAX_PARTS],
        voices=voices[:MAX_PARTS],
        kind=kind if isinstance(kind, str) and kind in TitleKind.__members__ else None,
        season=season if season in SEASONS else None,
        year=year if isinstance(year, int) else None,
        also_subscribe=bool(data.get("also_subscribe")),
    )


def _year(word: str) -> int:
    if not (word.isdigit() and len(word) == 4):
        raise RuleSyntaxError("season")
    year = int(word)
    if not 1960 <= year <= dt.date.today().year + 2:
        raise RuleSyntaxError("season")
    return year


def parse_rule(text: str) -> RuleDraft:
    """The rule in `text`; RuleSyntaxError when it is not one."""
    words = text.split()
    if not words or words[0].lower() not in _KEYWORDS:
        raise RuleSyntaxError()
    draft = RuleDraft()
    parts: list[tuple[str, list[str]]] = []
    for word in words:
        keyword = _KEYWORDS.get(word.lower())
        if keyword is not None:
            parts.append((keyword, []))
        else:
            parts[-1][1].append(word)
    for keyword, rest in parts:
        value = " ".join(rest)
        if keyword == "new":
            if rest:
                raise RuleSyntaxError("new")
        elif keyword in ("genre", "voice"):
            if not value or len(value) > MAX_NAME:
                raise RuleSyntaxError(keyword)
            (draft.genres if keyword == "genre" else draft.voices).append(value)
        elif keyword == "type":
            kind = _KINDS.get(value.lower())
            if kind is None or draft.kind is not None:
                raise RuleSyntaxError("type")
            draft.kind = kind.value
        else:  # season
            if len(rest) != 2 or rest[0].lower() not in _SEASON_WORDS or draft.season:
                raise RuleSyntaxError("season")
            draft.season, draft.year = _SEASON_WORDS[rest[0].lower()], _year(rest[1])
    if len(draft.genres) + len(draft.voices) > MAX_PARTS:
        raise RuleSyntaxError()
    return draft


def closest(name: str, known: list[str], n: int = 6) -> list[str]:
    """Known names like `name`: those containing it first, then difflib's closest."""
    folded = {k.casefold(): k for k in known}
    wanted = " ".join(name.split()).casefold()
    containing = [k for f, k in folded.items() if wanted and wanted in f]
    similar = difflib.get_close_matches(wanted, list(folded), n=n, cutoff=0.5)
    found: dict[str, None] = dict.fromkeys(containing[:n])
    for match in similar:
        found.setdefault(folded[match], None)
    return list(found)[:n]


def resolve(name: str, known: list[str]) -> str | None:
    """The API's spelling of `name` (matched case-insensitively), or None."""
    wanted = " ".join(name.split()).casefold()
    return next((k for k in known if " ".join(k.split()).casefold() == wanted), None)


def filter_of(draft: RuleDraft | RuleSpec) -> TitleFilter:
    kind = TitleKind(draft.kind) if draft.kind and draft.kind in TitleKind.__members__ else None
    return TitleFilter(
        genres=tuple(draft.genres),
        voices=tuple(draft.voices),
        kind=kind,
        season=draft.season,
        year=draft.year,
    )


def spec_of(draft: RuleDraft) -> RuleSpec:
    return RuleSpec(
        genres=tuple(dict.fromkeys(draft.genres)),
        voices=tuple(dict.fromkeys(draft.voices)),
        kind=draft.kind,
        season=draft.season,
        year=draft.year,
    )


class KnownNames:
    """The API's genres and voice actors, fetched at most once an hour."""

    def __init__(
        self,
        genres: Callable[[], Awaitable[list[str]]],
        voices: Callable[[], Awaitable[list[str] | None]],
        ttl: float = NAMES_TTL,
    ) -> None:
        self._genres = genres
        self._voices = voices
        self._cache: TTLCache[tuple[str, ...]] = TTLCache(ttl, max_items=4)

    async def genres(self) -> list[str]:
        async def fetch() -> tuple[str, ...]:
            return tuple(sorted({g.strip() for g in await self._genres() if g.strip()}))

        return list(await self._cache.get_or_fetch("genres", fetch))

    async def voices(self) -> list[str] | None:
        """None when the API cannot list voice actors (then a typed name is taken as it is)."""

        async def fetch() -> tuple[str, ...]:
            found = await self._voices()
            if found is None:
                return ()
            return tuple(sorted({v.strip() for v in found if v.strip()}, key=str.casefold))

        found = await self._cache.get_or_fetch("voices", fetch)
        return list(found) or None
