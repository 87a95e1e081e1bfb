"""bot/timeutil.py: times of day, zone fallback, and quiet hours across midnight and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.ui.clock import is_quiet, parse_hhmm, zone

UTC = dt.UTC
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07:05", dt.time(7, 5)),
        ("7:05", dt.time(7, 5)),
        ("07.05", dt.time(7, 5)),
        (" 23:59 ", dt.time(23, 59)),
        ("00:00", dt.time(0, 0)),
        ("0:00", dt.time(0, 0)),
    ],
)
def test_parse_hhmm_reads_times_of_day(text: str, expected: dt.time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "24:00",
        "12:60",
        "7",
        "7:5",
        "07:05:00",
        "",
        "ab:cd",
        "-1:00",
        "１２:００",
        "12:00pm",
        "9" * 5000,
    ],
)
def test_parse_hhmm_refuses_everything_else(text: str) -> None:
    assert parse_hhmm(text) is None


def test_zone_prefers_the_chat_then_the_default_then_utc() -> None:
    assert zone("Asia/Tokyo", "Europe/Moscow").key == "Asia/Tokyo"
    assert zone(None, "Europe/Moscow").key == "Europe/Moscow"
    assert zone("", "Europe/Moscow").key == "Europe/Moscow"
    assert zone("Mars/Olympus_Mons", "Europe/Moscow").key == "Europe/Moscow"
    assert zone("../../etc/passwd", "Europe/Moscow").key == "Europe/Moscow"
    assert zone("Mars/Base", "Nowhere/Else").key == "UTC"
    assert zone(None, None).key == "UTC"  # type: ignore[arg-type]


def at(tz: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def test_is_quiet_within_one_day() -> None:
    assert is_quiet("13:00", "15:00", MOSCOW, at(MOSCOW, 2024, 5, 1, 13, 0))
    assert is_quiet("13:00", "15:00", MOSCOW, at(MOSCOW, 2024, 5, 1, 14, 59))
    assert not is_quiet("13:00", "15:00", MOSCOW, at(MOSCOW, 2024, 5, 1, 15, 0))
    assert not is_quiet("13:00", "15:00", MOSCOW, at(MOSCOW, 2024, 5, 1, 12, 59))


def test_is_quiet_across_midnight() -> None:
    for hour, minute in ((23, 0), (23, 59), (0, 0), (3, 30), (7, 59)):
        assert is_quiet("23:00", "08:00", MOSCOW, at(MOSCOW, 2024, 5, 1, hour, minute))
    for hour, minute in ((8, 0), (12, 0), (22, 59)):
        assert not is_quiet("23:00", "08:00", MOSCOW, at(MOSCOW, 2024, 5, 1, hour, minute))


def test_is_quiet_uses_the_chat_zone_not_utc() -> None:
    # 21:30 UTC in July is 00:30 in Moscow (quiet) but 23:30 in Berlin (not yet).
    assert is_quiet("00:00", "06:00", MOSCOW, dt.datetime(2024, 7, 1, 21, 30, tzinfo=UTC))
    assert not is_quiet("00:00", "06:00", BERLIN, dt.datetime(2024, 7, 1, 21, 30, tzinfo=UTC))


def test_is_quiet_across_dst_changes() -> None:
    # Berlin springs forward on 2024-03-31 at 02:00 -> 03:00 and falls back on 2024-10-27.
    assert is_quiet("01:00", "04:00", BERLIN, dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC))  # 03:30
    assert not is_quiet("01:00", "04:00", BERLIN, dt.datetime(2024, 3, 31, 2, 30, tzinfo=UTC))
    # 00:30 UTC on the day of the fall back is 02:30 CEST, 01:30 UTC is 02:30 CET: both quiet.
    assert is_quiet("02:00", "03:00", BERLIN, dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC))
    assert is_quiet("02:00", "03:00", BERLIN, dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC))
    assert not is_quiet("02:00", "03:00", BERLIN, dt.datetime(2024, 10, 27, 2, 30, tzinfo=UTC))
    # The same UTC moment is quiet in winter and not in summer (the offset changed).
    assert is_quiet("07:00", "08:00", BERLIN, dt.datetime(2024, 1, 15, 6, 30, tzinfo=UTC))
    assert not is_quiet("07:00", "08:00", BERLIN, dt.datetime(2024, 7, 15, 6, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "end"),
    [(None, None), ("23:00", None), (None, "08:00"), ("bad", "08:00"), ("08:00", "08:00")],
)
def test_is_quiet_is_off_without_a_valid_window(start: str | None, end: str | None) -> None:
    assert not is_quiet(start, end, MOSCOW, at(MOSCOW, 2024, 5, 1, 8, 0))
