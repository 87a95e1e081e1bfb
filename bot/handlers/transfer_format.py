"""The /export file: a chat's subscriptions, rules and settings as versioned JSON, and back.

Format ``anilibria-bot``, version 1 (the README documents it field by field)::

    {"format": "anilibria-bot", "version": 1, "exported_at": "2025-05-01T12:00:00Z",
     "upstream": "v1",
     "settings": {"language": "ru" | null, "timezone": "Europe/Moscow" | null,
                  "quiet_hours": {"start": "23:00", "end": "08:00"} | null,
                  "notices": ["episode", "finished", "new_title", ...],
                  "digest": {"time": "09:00" | null, "only": false, "when_empty": false}},
     "subscriptions": [{"id": 9000, "code": "fake-one", "name": "Первый"}],
     "rules": [{"genres": ["Комедия"], "voices": [], "type": "TV" | null,
                "season": "spring" | null, "year": 2025 | null, "also_subscribe": false}]}

Reading is strict: a file that is not JSON, not this format, of a newer version, too big, or
with any value out of its range is refused as a whole, so an import never half-happens because
of the file. Unknown keys are ignored (a later version 1 writer may add some).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.notify.kinds import NoticeKind
from bot.ui.clock import parse_hhmm
from storage import Chat, FollowedTitle, StoredRule

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "NOTICE_NAMES",
    "VERSION",
    "ExportFile",
    "ImportError_",
    "build_export",
    "kinds_of",
    "read_export",
]

FORMAT = "anilibria-bot"
VERSION = 1
MAX_BYTES = 256 * 1024
MAX_SUBSCRIPTIONS = 2000
MAX_RULES_IN_FILE = 100
NOTICE_NAMES: dict[str, NoticeKind] = {
    "episode": NoticeKind.EPISODE,
    "finished": NoticeKind.FINISHED,
    "announce": NoticeKind.ANNOUNCE,
    "torrent": NoticeKind.TORRENT,
    "new_title": NoticeKind.NEW_TITLE,
    "video": NoticeKind.VIDEO,
}

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
HHMM = Annotated[str, StringConstraints(pattern=r"^\d{1,2}:\d{2}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class QuietHours(_Model):
    start: HHMM
    end: HHMM


class DigestSettings(_Model):
    time: HHMM | None = None
    only: bool = False
    when_empty: bool = False


class ExportSettings(_Model):
    language: Literal["ru", "en"] | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    quiet_hours: QuietHours | None = None
    notices: list[Literal["episode", "finished", "announce", "torrent", "new_title", "video"]]
    digest: DigestSettings = DigestSettings()


class ExportSubscription(_Model):
    id: Annotated[int, Field(gt=0, lt=10**9)]
    code: Annotated[str, StringConstraints(max_length=200)] | None = None
    name: Annotated[str, StringConstraints(max_length=500)] | None = None


class ExportRule(_Model):
    genres: Annotated[list[Name], Field(max_length=6)] = []
    voices: Annotated[list[Name], Field(max_length=6)] = []
    type: Literal["TV", "MOVIE", "OVA", "ONA", "SPECIAL", "WEB", "OTHER"] | None = None
    season: Literal["winter", "spring", "summer", "autumn"] | None = None
    year: Annotated[int, Field(ge=1900, le=2200)] | None = None
    also_subscribe: bool = False


class ExportFile(_Model):
    format: Literal["anilibria-bot"]
    version: Literal[1]
    exported_at: str | None = None
    upstream: str | None = None
    settings: ExportSettings
    subscriptions: Annotated[list[ExportSubscription], Field(max_length=MAX_SUBSCRIPTIONS)] = []
    rules: Annotated[list[ExportRule], Field(max_length=MAX_RULES_IN_FILE)] = []


class ImportError_(ValueError):
    """Why a file cannot be imported: `reason` is one of "size", "json", "foreign", "newer",
    "invalid"; `detail` names the field for "invalid"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def kinds_of(names: Sequence[str]) -> int:
    kinds = NoticeKind(0)
    for name in names:
        kinds |= NOTICE_NAMES[name]
    return int(kinds)


def build_export(
    chat: Chat,
    followed: Sequence[tuple[FollowedTitle, str]],
    rules: Sequence[StoredRule],
    *,
    upstream: str,
    now: dt.datetime | None = None,
) -> bytes:
    """The file for a chat; `followed` pairs each subscription with a name to show."""
    now = now or dt.datetime.now(dt.UTC)
    kinds = NoticeKind(chat.kinds)
    quiet = None
    if chat.quiet_start and chat.quiet_end:
        quiet = {"start": chat.quiet_start, "end": chat.quiet_end}
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "upstream": upstream,
        "settings": {
            "language": chat.language,
            "timezone": chat.timezone,
            "quiet_hours": quiet,
            "notices": [name for name, bit in NOTICE_NAMES.items() if bit in kinds],
            "digest": {
                "time": chat.digest_time,
                "only": chat.digest_only,
                "when_empty": chat.digest_when_empty,
            },
        },
        "subscriptions": [
            {"id": item.title_id, "code": item.code, "name": name} for item, name in followed
        ],
        "rules": [
            {
                "genres": list(rule.spec.genres),
                "voices": list(rule.spec.voices),
                "type": rule.spec.kind,
                "season": rule.spec.season,
                "year": rule.spec.year,
                "also_subscribe": rule.also_subscribe,
            }
            for rule in rules
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return ".".join(str(part) for part in error["loc"]) or "?"


def read_export(raw: bytes) -> ExportFile:
    """The file's content, checked; ImportError_ says why not."""
    if len(raw) > MAX_BYTES:
        raise ImportError_("size")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportError_("json") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportError_("foreign")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise ImportError_("newer")
    try:
        parsed = ExportFile.model_validate(data, strict=False)
    except ValidationError as exc:
        raise ImportError_("invalid", _first_error(exc)) from None
    settings = parsed.settings
    times = [settings.digest.time] if settings.digest.time else []
    if settings.quiet_hours is not None:
        times += [settings.quiet_hours.start, settings.quiet_hours.end]
    if any(parse_hhmm(value) is None for value in times):
        raise ImportError_("invalid", "settings")
    for index, rule in enumerate(parsed.rules):
        if (rule.season is None) != (rule.year is None):
            raise ImportError_("invalid", f"rules.{index}.season")
    return parsed
