"""The AniLibria models against every real recorded payload and against synthetic edge cases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.anilibria.v2.models import (
    Episode,
    FavoriteResult,
    FeedItem,
    LoginResult,
    Player,
    Posters,
    ScheduleDay,
    SeedStat,
    TeamRoster,
    Title,
    Torrent,
    YouTubeVideo,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "anilibria"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def feed_raw() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _load("feed_titles.json")
    return data


@pytest.fixture(scope="module")
def feed(feed_raw: list[dict[str, Any]]) -> list[Title]:
    return [Title.model_validate(raw) for raw in feed_raw]


# -- real payloads ---------------------------------------------------------------------------


def test_fixture_is_the_byte_copy_of_shared() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "anilibria-real"
    original = shared / "feed_data_titles_list10_2022-06-29.json"
    if not original.is_file():
        pytest.skip("shared/ is not beside the repository")
    assert (FIXTURES / "feed_titles.json").read_bytes() == original.read_bytes()


def test_real_feed_titles_all_validate(feed: list[Title], feed_raw: list[dict[str, Any]]) -> None:
    assert [t.id for t in feed] == [raw["id"] for raw in feed_raw]
    assert len(feed) == 10
    for title, raw in zip(feed, feed_raw, strict=True):
        assert title.code == raw["code"]
        assert title.names.ru == raw["names"]["ru"]
        assert title.player is not None
        assert title.player.episode_numbers == sorted(int(k) for k in raw["player"]["playlist"])
        assert title.last_episode == max(int(k) for k in raw["player"]["playlist"])
        assert title.torrents is not None
        assert len(title.torrents.list) == len(raw["torrents"]["list"])
        assert title.model_extra == {}


def test_real_feed_edge_cases(feed: list[Title], feed_raw: list[dict[str, Any]]) -> None:
    by_code = {t.code: t for t in feed}
    tiger = by_code["tiger-bunny-2"]
    assert tiger.status is not None
    assert (tiger.status.string, tiger.status.code) == (None, None)
    yugioh = by_code["yu-gi-oh-shadow-game"]
    assert yugioh.type is not None
    assert yugioh.type.length == "24"  # a number on the wire, a string in the reference
    assert yugioh.type.series == 27
    torrent = yugioh.torrents.list[0] if yugioh.torrents else None
    assert torrent is not None and torrent.quality is not None
    assert torrent.quality.resolution == "720p"
    assert torrent.quality.lq_audio is None
    assert torrent.hash == "3a01dc0da4d7f300bc4286eb3d5d9df982ab756a"
    assert torrent.url == "/public/torrent/download.php?id=19905"
    week_days = {t.season.week_day for t in feed if t.season}
    assert week_days == {raw["season"]["week_day"] for raw in feed_raw}
    assert week_days <= set(range(7))
    assert any(t.announce and "<" in t.announce for t in feed)  # HTML inside announce, kept raw
    shadow = by_code["shadowverse-flame"]
    assert shadow.type is not None and shadow.type.series is None
    assert yugioh.team is not None and yugioh.team.editing == []
    assert yugioh.posters is not None and yugioh.posters.best_url is not None
    episode = yugioh.player.playlist[1] if yugioh.player else None
    assert episode is not None and episode.hls is not None
    assert episode.hls.fhd is None and episode.hls.hd is not None
    assert episode.skips == {"opening": [1, 70], "ending": []}


def test_real_title_update_title_with_description_object() -> None:
    frame = _load("ws_title_update_9174_2022-06-29.json")
    raw = frame["title_update"]["title"]
    title = Title.model_validate(raw)
    assert title.id == 9174
    assert title.code == "summer-time-render"
    assert title.description_variants is not None
    assert set(title.description_variants) == {"html", "plain", "no_view_order"}
    assert title.description == raw["description"]["plain"]
    assert title.player is not None and title.player.host == "de4.libria.fun"
    assert title.last_episode == 11


def test_real_playlist_update_player_and_episode() -> None:
    frame = _load("ws_playlist_update_8700_2022-06-29.json")["playlist_update"]
    player = Player.model_validate(frame["player"])
    assert player.host is None
    assert player.alternative_player is None
    assert player.episode_numbers == [1, 2]
    assert player.last_episode == 2
    assert player.playlist[2].created_timestamp == 1656505664
    updated = Episode.model_validate(frame["updated_episode"])
    assert updated.serie == 2
    # the frame's own "episode": "2" is the same episode
    assert Episode.model_validate({"episode": frame["episode"]}).serie == 2


def test_real_posters_without_url_fragment() -> None:
    fragment = (
        FIXTURES / "issue_payloads" / "posters_missing_url_fragment_2022-05-28.txt"
    ).read_text()
    raw = json.loads('{"id": 1, ' + fragment.strip().rstrip(",") + "}")
    title = Title.model_validate(raw)
    assert title.posters is not None
    assert title.posters.small is not None
    assert title.posters.small.url is None
    assert title.posters.original is not None and title.posters.original.raw_base64_file is None
    assert title.posters.best_url is None


def test_doc_example_8500_after_repairing_its_placeholders() -> None:
    text = (
        FIXTURES / "docs_examples" / "doc_v2.13.18_getTitle_8500_example.jsonish.txt"
    ).read_text()
    repaired = re.sub(r"\},\s*\n\s*\.\.\.\s*\n(\s*)\},", r"}\n}\n\1},", text, count=1)
    repaired = re.sub(r",\s*\n\s*\.\.\.\s*\n", "\n", repaired)
    assert "..." not in repaired
    title = Title.model_validate(json.loads(repaired))
    assert title.id == 8500
    assert title.type is not None and title.type.length == "25"
    assert title.player is not None and title.player.episode_numbers == [1]
    assert title.last_episode == 1
    assert title.torrents is not None and title.torrents.list[0].torrent_id == 10725


# -- synthetic edge cases ----------------------------------------------------------------------


def _episode(n: int) -> dict[str, Any]:
    return {"serie": n, "created_timestamp": 1000 + n, "hls": {"sd": f"/{n}.m3u8"}}


@pytest.mark.parametrize(
    ("playlist", "expected"),
    [
        ({"1": _episode(1), "3": _episode(3)}, [1, 3]),
        ([_episode(2), _episode(1)], [1, 2]),
        ([None, _episode(1)], [1]),
        ([], []),
        ({}, []),
        (None, []),
        ({"5": {"hls": {"sd": "/5.m3u8"}}}, [5]),  # number only in the key
    ],
)
def test_playlist_shapes_are_normalised(playlist: Any, expected: list[int]) -> None:
    player = Player.model_validate({"playlist": playlist, "series": {"last": "7"}})
    assert player.episode_numbers == expected
    assert all(player.playlist[n].serie == n for n in expected)
    assert player.last_episode == (max(expected) if expected else 7)


def test_playlist_without_key_defaults_to_empty() -> None:
    assert Player.model_validate({}).playlist == {}
    assert Player.model_validate({}).last_episode is None


def test_non_integer_episode_is_kept_raw() -> None:
    episode = Episode.model_validate({"serie": "10.5"})
    assert episode.serie is None
    assert episode.model_extra == {"serie_raw": "10.5"}
    player = Player.model_validate({"playlist": {"10": _episode(10), "10.5": {"serie": "10.5"}}})
    assert player.episode_numbers == [10]
    assert player.model_extra is not None
    assert player.model_extra["playlist_unparsed"] == {"10.5": {"serie": "10.5"}}


def test_numbers_as_strings_are_coerced() -> None:
    title = Title.model_validate(
        {
            "id": "9174",
            "updated": "1656519543",
            "in_favorites": "12",
            "season": {"year": "2022", "week_day": "1", "code": "2"},
            "type": {"series": "25", "length": 24, "code": "1"},
            "player": {"playlist": {"2": {"serie": "2", "created_timestamp": "1656505664"}}},
            "torrents": {"list": [{"torrent_id": "19893", "total_size": "1000"}]},
        }
    )
    assert title.id == 9174
    assert title.updated == 1656519543
    assert title.in_favorites == 12
    assert title.season is not None and (title.season.year, title.season.week_day) == (2022, 1)
    assert title.type is not None and title.type.series == 25 and title.type.length == "24"
    assert title.last_episode == 2
    assert title.torrents is not None and title.torrents.list[0].torrent_id == 19893
    assert title.torrents.list[0].total_size == 1000


def test_filtered_title_has_only_an_id() -> None:
    title = Title.model_validate({"id": 1})
    assert title.names.ru is None
    assert title.genres == []
    assert title.player is None and title.last_episode is None
    assert title.name_ru == "#1" and title.name_en == "#1"


def test_title_without_id_fails() -> None:
    with pytest.raises(ValueError, match="id"):
        Title.model_validate({"code": "x"})


def test_nulls_become_empty_lists() -> None:
    title = Title.model_validate(
        {"id": 1, "genres": None, "team": {"voice": None, "timing": ["A", None]}, "torrents": None}
    )
    assert title.genres == []
    assert title.team is not None
    assert title.team.voice == [] and title.team.timing == ["A"]
    assert title.torrents is None
    assert Title.model_validate({"id": 1, "torrents": {"list": None}}).torrents.list == []  # type: ignore[union-attr]


def test_broken_parts_do_not_fail_the_title() -> None:
    title = Title.model_validate(
        {
            "id": 1,
            "names": None,
            "status": "ongoing",  # not an object
            "updated": "yesterday",
            "posters": {"small": "nope", "medium": {"url": "/m.jpg"}},
            "genres": ["Экшен", {"weird": True}, 5],
            "torrents": {
                "list": [
                    {"torrent_id": "not a number"},
                    {"no_id": 1},
                    "garbage",
                    {"torrent_id": 7, "quality": {"resolution": 720}, "metadata": "x"},
                ]
            },
            "player": {"playlist": {"1": "garbage", "2": _episode(2)}, "host": None},
        }
    )
    assert title.status is None and title.updated is None
    assert title.names.ru is None
    assert title.posters is not None and title.posters.small is None
    assert title.posters.best_url == "/m.jpg"
    assert title.genres == ["Экшен", "5"]
    assert title.torrents is not None
    assert [t.torrent_id for t in title.torrents.list] == [7]
    torrent = title.torrents.list[0]
    assert torrent.quality is not None and torrent.quality.resolution == "720"
    assert torrent.metadata is None
    assert title.player is not None and title.player.episode_numbers == [2]


def test_description_object_fallbacks() -> None:
    plain = Title.model_validate({"id": 1, "description": {"html": "<b>h</b>", "plain": "p"}})
    assert plain.description == "p"
    no_view = Title.model_validate(
        {"id": 1, "description": {"html": "<b>h</b>", "plain": "", "no_view_order": "n"}}
    )
    assert no_view.description == "n"
    html = Title.model_validate({"id": 1, "description": {"html": "<b>h</b>"}})
    assert html.description == "<b>h</b>"
    assert html.description_variants == {"html": "<b>h</b>"}
    text = Title.model_validate({"id": 1, "description": "just text"})
    assert text.description == "just text" and text.description_variants is None


def test_unknown_fields_are_kept() -> None:
    title = Title.model_validate({"id": 1, "franchises": [1], "names": {"ru": "Р", "jp": "J"}})
    assert title.model_extra == {"franchises": [1]}
    assert title.names.model_extra == {"jp": "J"}


@pytest.mark.parametrize(
    ("names", "code", "ru", "en"),
    [
        ({"ru": "Р", "en": "E", "alternative": "A"}, "c", "Р", "E"),
        ({"ru": None, "en": "E", "alternative": "A"}, "c", "E", "E"),
        ({"ru": "Р", "en": None, "alternative": "A"}, "c", "Р", "A"),
        ({"ru": None, "en": None, "alternative": "A"}, "c", "A", "A"),
        ({"ru": None, "en": None, "alternative": None}, "c", "c", "c"),
        ({"ru": "Р", "en": None, "alternative": None}, None, "Р", "Р"),
        ({}, None, "#5", "#5"),
    ],
)
def test_name_fallbacks(names: dict[str, Any], code: str | None, ru: str, en: str) -> None:
    title = Title.model_validate({"id": 5, "code": code, "names": names})
    assert (title.name_ru, title.name_en) == (ru, en)


def test_torrent_metadata() -> None:
    torrent = Torrent.model_validate(
        {
            "torrent_id": 1,
            "metadata": {
                "hash": "h",
                "announce": ["http://t/announce", None],
                "created_timestamp": "5",
                "files_list": [{"file": "a.mkv", "size": "10", "offset": 0}, "bad"],
            },
        }
    )
    assert torrent.metadata is not None
    assert torrent.metadata.announce == ["http://t/announce"]
    assert torrent.metadata.created_timestamp == 5
    assert [(f.file, f.size) for f in torrent.metadata.files_list] == [("a.mkv", 10)]


def test_schedule_day_drops_broken_titles() -> None:
    day = ScheduleDay.model_validate({"day": "5", "list": [{"id": 1}, {"code": "no-id"}]})
    assert day.day == 5
    assert [t.id for t in day.list] == [1]


def test_feed_items_and_small_models() -> None:
    title_item = FeedItem.model_validate({"title": {"id": 3}})
    video_item = FeedItem.model_validate(
        {"youtube": {"id": 341, "youtube_id": "OXBO4h3l3rM", "timestamp": "1503824801"}}
    )
    assert title_item.title is not None and title_item.youtube is None
    assert video_item.youtube is not None and video_item.youtube.timestamp == 1503824801
    assert YouTubeVideo.model_validate({"title": "x"}).id is None
    stat = SeedStat.model_validate({"downloaded": "1", "uploaded": 2, "user": "u"})
    assert (stat.downloaded, stat.uploaded, stat.user) == (1, 2, "u")
    roster = TeamRoster.model_validate({"voice": ["a"], "decor": None})
    assert roster.voice == ["a"] and roster.decor == []
    assert FavoriteResult.model_validate({"success": True}).success is True
    assert Posters.model_validate({}).best_url is None


def test_login_result_keeps_session_out_of_repr() -> None:
    result = LoginResult(session="s3cr3t-session-value", key="success", message="Успех")
    assert result.session == "s3cr3t-session-value"
    assert "s3cr3t" not in repr(result)
    assert "s3cr3t" not in str(result)


def test_round_trip_through_json(feed: list[Title]) -> None:
    for title in feed:
        again = Title.model_validate_json(title.model_dump_json())
        assert again == title
