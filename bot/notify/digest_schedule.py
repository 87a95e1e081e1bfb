"""When a chat's daily digest is due: wall-clock times in the chat's zone, stored as UTC.

The digest is promised "every day at 09:00 where you are", so every due time is computed from
the local date and the local time with zoneinfo, never by adding 24 hours: across a daylight
saving change the gap is 23 or 25 hours. A local time that does not exist that day (02:30 when
clocks jump from 02:00 to 03:00) falls an hour later; one that happens twice (01:30 when clocks
go back) is taken the first time. A chat gets at most one digest per local date.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["LATE_LIMIT", "format_hhmm", "local_date", "next_due", "parse_date"]

LATE_LIMIT = 6 * 3600  # a digest more than this late (the bot was down) is skipped, not sent


def format_hhmm(at: dt.time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def local_date(timestamp: float, tz: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, tz).date()


def _instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> int:
    # fold=0: an ambiguous time is its first occurrence; a missing one uses the offset from
    # before the jump, which lands an hour later on the wall clock.
    return int(dt.datetime.combine(day, at, tzinfo=tz).timestamp())


def next_due(
    at: dt.time, tz: ZoneInfo, after: float, last_date: dt.date | None = None
) -> tuple[int, dt.date]:
    """The first time `at` in `tz` strictly after `after`, on a local date after `last_date`.

    Returns the due time (unix seconds, UTC) and the local date it belongs to.
    """
    day = local_date(after, tz)
    if last_date is not None and day <= last_date:
        day = last_date + dt.timedelta(days=1)
    while True:
        due = _instant(day, at, tz)
        if due > after:
            return due, day
        day += dt.timedelta(days=1)
