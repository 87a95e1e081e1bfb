"""The v1 models against every capture in tests/fixtures/aniliberty (copies of shared/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.anilibria._lenient import parse_list, parse_one
from bot.anilibria.errors import ResponseShapeError
from bot.anilibria.v1 import _models as m
from tests.fakes.aniliberty_mock import FIXTURES_DIR, load_fixture

CAPTURES = sorted(p.name for p in FIXTURES_DIR.glob("*.json"))

# Which model reads which capture, and whether the answer is a bare array.
READERS: dict[str, tuple[type[Any], bool]] = {
    "app_status.json": (m.AppStatus, False),
    "catalog_releases_page1_limit3.json": (m.ReleasePage, False),
    "latest_releases_limit1.json": (m.Release, True),
    "media_videos_limit10.json": (m.Video, True),
    "release_10292.json": (m.Release, False),
    "releases_latest_limit10.json": (m.Release, True),
    "schedule_week_sample.json": (m.ScheduleItem, True),
    "torrents_release_9789.json": (m.Torrent, True),
    "validation_error_422.json": (m.ErrorBody, False),
}


def test_every_capture_has_a_reader() -> None:
    assert len(CAPTURES) >= 9
    assert sorted(READERS) == CAPTURES


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_validates_without_losing_items(name: str) -> None:
    model, is_list = READERS[name]
    raw = load_fixture(name)
    if is_list:
        items = parse_list(model, raw, name)
        assert len(items) == len(raw)  # nothing dropped
    else:
        parsed = parse_one(model, raw, name)
        assert parsed.model_dump(exclude_unset=True)


def test_release_detail_fields() -> None:
    release = parse_one(m.Release, load_fixture("release_10292.json"), "release")
    assert release.id == 10292
    assert release.alias == "super-no-ura-de-yani-suu-futari"
    assert release.fresh_at == datetime(2026, 9, 26, 12, 50, 50, tzinfo=UTC)
    assert release.type is not None and release.type.value == "TV"
    assert release.publish_day is not None and release.publish_day.value == 5
    assert release.episodes is not None and len(release.episodes) == 12
    assert all(e.playable for e in release.episodes)
    assert release.members is not None and len(release.members) == 8
    assert release.torrents is not None and [t.id for t in release.torrents] == [40079, 40138]
    assert release.torrents[0].description == "1-11"
    assert release.poster is not None and release.poster.optimized is not None
    assert release.poster.optimized.src is not None
    assert not release.has_latest_episode_key
    # fields the spec copy lacks are kept, not refused
    assert release.model_extra is not None and "shikimori" in release.model_extra


def test_latest_items_carry_latest_episode_and_no_episodes() -> None:
    items = parse_list(m.Release, load_fixture("releases_latest_limit10.json"), "latest")
    first = items[0]
    assert first.id == 10292
    assert first.has_latest_episode_key
    assert first.latest_episode is not None
    assert first.latest_episode.ordinal == 12
    assert first.latest_episode.id == "a2d6969d-46dd-45c9-81a4-c9791e26700e"
    assert first.episodes is None and first.torrents is None and first.members is None
    fresh = [item.fresh_at for item in items]
    assert fresh == sorted(fresh, reverse=True)  # latest is newest first


def test_catalogue_envelope() -> None:
    page = parse_one(m.ReleasePage, load_fixture("catalog_releases_page1_limit3.json"), "cat")
    assert [r.id for r in page.data] == [10126, 10096, 10149]
    assert page.meta is not None and page.meta.pagination is not None
    assert page.meta.pagination.total == 1811
    assert page.meta.pagination.total_pages == 604
    assert page.has_more


def test_schedule_items() -> None:
    items = parse_list(m.ScheduleItem, load_fixture("schedule_week_sample.json"), "schedule")
    assert items[0].published_release_episode is not None
    assert items[0].published_release_episode.ordinal == 20
    assert items[1].published_release_episode is None
    assert items[1].next_release_episode_number == 355
    assert items[0].release.created_at is None  # null in the capture


def test_torrent_constructed_variations() -> None:
    torrents = parse_list(m.Torrent, load_fixture("torrents_release_9789.json"), "torrents")
    assert [t.magnet for t in torrents][1:] == ["", ""]
    assert torrents[2].codec is None  # the invented broken entry has no codec
    assert torrents[0].codec is not None and torrents[0].codec.label == "AVC"


def test_video_id_number_becomes_string() -> None:
    videos = parse_list(m.Video, load_fixture("media_videos_limit10.json"), "videos")
    assert videos[0].id == "1042"
    assert videos[0].image is not None and videos[0].image.preview


def test_validation_error_body() -> None:
    body = parse_one(m.ErrorBody, load_fixture("validation_error_422.json"), "422")
    assert body.message == "The limit field must not be greater than 50."
    assert body.errors is not None and "limit" in body.errors


def test_lenient_values_and_items() -> None:
    release = m.Release.model_validate(
        {
            "id": "7",
            "name": "not an object",
            "year": "soon",
            "is_in_production": "maybe",
            "fresh_at": "yesterday",
            "genres": [{"id": 1, "name": "Драма"}, "garbage"],
            "episodes": [{"ordinal": "12.5", "id": "u"}, 5, {"ordinal": "x"}],
            "torrents": None,
            "latest_episode": "broken",
        }
    )
    assert release.id == 7
    assert release.name is None and release.year is None and release.fresh_at is None
    assert release.is_in_production is None
    assert [g.name for g in release.genres] == ["Драма"]
    assert release.episodes is not None
    assert [e.ordinal for e in release.episodes] == [12.5, None]
    assert release.torrents is None  # null: not in this answer
    assert release.latest_episode is None and release.has_latest_episode_key


def test_otp_code_keeps_leading_zeros() -> None:
    answer = m.OtpAnswer.model_validate(
        {"otp": {"code": 58701, "device_id": "d", "expired_at": None}, "remaining_time": 120}
    )
    assert answer.otp.code == "058701"
    assert m.Otp.model_validate({"code": "058701"}).code == "058701"


def test_a_list_of_nothing_valid_is_a_shape_error() -> None:
    with pytest.raises(ResponseShapeError):
        parse_list(m.Release, [{"id": "x"}, {"name": {}}], "latest")
    with pytest.raises(ResponseShapeError):
        parse_list(m.Release, {"data": []}, "latest")
    with pytest.raises(ResponseShapeError):
        parse_one(m.ReleasePage, [1, 2], "catalogue")
