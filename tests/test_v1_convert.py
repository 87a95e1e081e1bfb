"""v1 models -> neutral Title, Episode, Torrent, ScheduleDay, Video."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.anilibria._lenient import parse_list
from bot.anilibria._types import TitleKind, TitleStatus
from bot.anilibria.v1 import _convert as convert
from bot.anilibria.v1 import _models as m
from tests.fakes.aniliberty_mock import load_fixture

SITE = "https://aniliberty.top"


def release(**changes: Any) -> m.Release:
    raw = copy.deepcopy(load_fixture("release_10292.json"))
    raw.update(changes)
    return m.Release.model_validate(raw)


def test_full_release() -> None:
    title = convert.title(release(), SITE)
    assert title.id == 10292
    assert title.alias == "super-no-ura-de-yani-suu-futari"
    assert title.names.main == "История о перекуре за супермаркетом"
    assert title.names.english == "Super no Ura de Yani Suu Futari"
    assert title.names.alternative is None
    assert title.poster is not None
    assert title.poster.startswith(f"{SITE}/storage/releases/posters/10292/bwemBFzo")
    assert title.kind is TitleKind.TV and title.kind_label == "ТВ"
    assert title.year == 2026 and title.season == "summer"
    assert title.status is TitleStatus.FINISHED  # is_in_production: false
    assert title.publish_day == 4  # Friday (5) -> 4
    assert title.episodes_total == 12
    assert title.genres and all(isinstance(g, str) and g for g in title.genres)
    assert title.voices == ("SlivciS", "Malevich", "Dejz", "Hekomi")  # voicing only
    assert title.updated_at == 1790427050  # fresh_at 2026-09-26T12:50:50Z
    assert title.episodes is not None and len(title.episodes) == 12
    assert [e.ordinal for e in title.episodes] == [float(n) for n in range(1, 13)]
    assert title.episodes[0].id == "a24208c7-4d3b-47bc-a5a1-99e4255f7742"
    assert title.last_episode == 12.0
    assert not title.is_new
    assert title.torrents is not None
    assert [(t.id, t.quality, t.episodes) for t in title.torrents] == [
        (40079, "WEB-DL 1080p HEVC", "1-11"),
        (40138, "WEB-DL 1080p AVC", "1-12"),
    ]
    first = title.torrents[0]
    assert first.hash == "9838556fc1a892c1523cb29f76c9911ca60e17ae"
    assert first.magnet is not None and first.magnet.startswith("magnet:?xt=urn:btih:")
    assert first.size == 1953899463


def test_fractional_and_unplayable_episodes() -> None:
    raw = load_fixture("release_10292.json")
    episodes = copy.deepcopy(raw["episodes"][:12])
    half = copy.deepcopy(episodes[11])
    half.update(id="half", ordinal=12.5, sort_order=13)
    unplayable = copy.deepcopy(episodes[11])
    unplayable.update(id="later", ordinal=13, hls_480=None, hls_720=None, hls_1080=None)
    title = convert.title(release(episodes=[*episodes, unplayable, half]), SITE)
    assert title.episodes is not None
    by_id = {e.id: e for e in title.episodes}
    assert by_id["half"].ordinal == 12.5 and by_id["half"].label == "12.5"
    assert by_id["later"].playable is False
    assert [e.ordinal for e in title.episodes][-3:] == [12.0, 12.5, 13.0]  # by ordinal
    assert title.last_episode == 12.5  # the newest *playable* one


def test_no_playable_episode_makes_a_new_title() -> None:
    title = convert.title(release(episodes=[]), SITE)
    assert title.episodes == ()
    assert title.last_episode is None
    assert title.is_new


def test_list_item_has_no_episodes_but_a_last_episode() -> None:
    items = parse_list(m.Release, load_fixture("releases_latest_limit10.json"), "latest")
    title = convert.title(items[1], SITE)
    assert title.id == 10293
    assert title.episodes is None and title.torrents is None
    assert title.last_episode == 8.0  # from latest_episode
    assert title.voices == ()
    assert title.status is TitleStatus.ONGOING  # is_in_production: true
    assert title.publish_day == 5  # Saturday (6)
    assert not title.is_new


def test_list_item_with_null_latest_episode_is_new() -> None:
    raw = copy.deepcopy(load_fixture("releases_latest_limit10.json")[0])
    raw["latest_episode"] = None
    title = convert.title(m.Release.model_validate(raw), SITE)
    assert title.last_episode is None and title.is_new


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("TV", TitleKind.TV),
        ("MOVIE", TitleKind.MOVIE),
        ("OVA", TitleKind.OVA),
        ("ONA", TitleKind.ONA),
        ("SPECIAL", TitleKind.SPECIAL),
        ("WEB", TitleKind.WEB),
        ("OAD", TitleKind.OTHER),
        ("DORAMA", TitleKind.OTHER),
        ("SOMETHING_NEW", TitleKind.OTHER),
    ],
)
def test_kinds(value: str, kind: TitleKind) -> None:
    title = convert.title(release(type={"value": value, "description": "x"}), SITE)
    assert title.kind is kind


def test_missing_values_stay_unknown() -> None:
    title = convert.title(
        m.Release.model_validate({"id": 1, "publish_day": {"value": 9}, "season": {"value": "x"}}),
        SITE,
    )
    assert title.kind is None and title.status is None and title.publish_day is None
    assert title.season is None and title.poster is None and title.updated_at is None
    assert title.episodes is None and title.torrents is None and title.last_episode is None
    assert not title.is_new  # the answer says nothing about episodes
    assert title.name == "#1"


@pytest.mark.parametrize(("value", "day"), [(1, 0), (3, 2), (7, 6), (0, None), (8, None)])
def test_publish_day(value: int, day: int | None) -> None:
    title = convert.title(release(publish_day={"value": value, "description": ""}), SITE)
    assert title.publish_day == day


def test_poster_urls() -> None:
    absolute = {"src": "https://cdn.test/p.jpg", "optimized": None}
    assert convert.title(release(poster=absolute), SITE).poster == "https://cdn.test/p.jpg"
    plain = {"src": "/storage/p.jpg", "optimized": {"src": None}}
    assert convert.title(release(poster=plain), SITE + "/").poster == f"{SITE}/storage/p.jpg"
    assert convert.absolute_url(SITE, "//static.test/x.png") == "https://static.test/x.png"


def test_torrent_variations() -> None:
    torrents = parse_list(m.Torrent, load_fixture("torrents_release_9789.json"), "torrents")
    real, blanked, broken = (convert.torrent(t) for t in torrents)
    assert real.quality == "WEBRip 1080p AVC" and real.episodes == "1-12"
    assert blanked.quality == "WEBRip 1080p HEVC" and blanked.magnet is None
    assert broken.quality == "WEBRip 1080p"  # no codec
    assert broken.hash is None and broken.magnet is None
    assert broken.episodes is None and broken.size is None


def test_schedule_days() -> None:
    items = parse_list(m.ScheduleItem, load_fixture("schedule_week_sample.json"), "schedule")
    days = convert.schedule_days(items, SITE)
    assert [d.day for d in days] == [0, 6]  # Monday, Sunday
    monday = days[0].titles[0]
    assert monday.id == 8986 and monday.kind is TitleKind.ONA
    assert monday.last_episode == 20.0  # the published episode
    assert monday.announcement == "новые серии по мере готовности"
    assert days[1].titles[0].last_episode is None


def test_videos() -> None:
    items = parse_list(m.Video, load_fixture("media_videos_limit10.json"), "videos")
    video = convert.video(items[0], SITE)
    assert video is not None
    assert video.id == "1042"
    assert video.url.startswith("https://www.youtube.com/watch?v=")
    assert video.image is not None and video.image.startswith(f"{SITE}/storage/media/videos/")
    assert video.image.endswith(".webp")  # the optimized preview
    assert video.created_at == 1790272820  # 2026-09-24T18:00:20Z
    assert convert.video(m.Video.model_validate({"id": 1}), SITE) is None  # nothing to open
    by_id = convert.video(m.Video.model_validate({"id": 2, "video_id": "abc"}), SITE)
    assert by_id is not None and by_id.url == "https://www.youtube.com/watch?v=abc"
