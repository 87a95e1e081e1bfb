"""Times of day and time zones, shared by settings, quiet hours, schedules and digests."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["is_quiet", "parse_hhmm", "zone"]

_HHMM = re.compile(r"^\s*([01]?\d|2[0-3])[:.]([0-5]\d)\s*$")


def parse_hhmm(text: str) -> dt.time | None:
    """'7:05', '07:05' or '07.05' -> time(7, 5); anything else -> None."""
    match = _HHMM.match(text)
    if not match:
        return None
    return dt.time(int(match.group(1)), int(match.group(2)))


def zone(name: str | None, default: str) -> ZoneInfo:
    """The chat's zone, or the default when unset or unknown (a zone can vanish from tzdata)."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def is_quiet(start: str | None, end: str | None, tz: ZoneInfo, now: dt.datetime) -> bool:
    """Whether `now` falls in the quiet hours [start, end), which may wrap past midnight."""
    if not start or not end:
        return False
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    if begin is None or finish is None or begin == finish:
        return False
    local = now.astimezone(tz).time().replace(second=0, microsecond=0)
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish
