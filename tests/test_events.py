"""parse_event against the real recorded frames, their re-shapes, the documents, and garbage."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bot.anilibria.v2.events import (
    ConnectionGreeting,
    EncodeEnd,
    EncodeEvent,
    EncodeFinish,
    EncodeProgress,
    EncodeStart,
    ErrorFrame,
    PlaylistUpdate,
    SubscribeAck,
    TitleUpdate,
    TorrentUpdate,
    UnknownEvent,
    parse_event,
)
from tests.fakes.anilibria_ws import (
    ENCODE_KINDS,
    encode_frame,
    playlist_update_frame,
    title_update_frame,
    torrent_update_frame,
)

FIXTURES = Path(__file__).parent / "fixtures" / "anilibria"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def playlist_frame() -> dict[str, Any]:
    frame: dict[str, Any] = load("ws_playlist_update_8700_2022-06-29.json")
    return frame


@pytest.fixture
def title_frame() -> dict[str, Any]:
    frame: dict[str, Any] = load("ws_title_update_9174_2022-06-29.json")
    return frame


ENCODE_BUNDLE: list[dict[str, Any]] = load("ws_encode_events_8700_bundle.json")["amogus"]


# --------------------------------------------------------------- real frames
def test_real_playlist_update_envelope(playlist_frame: dict[str, Any]) -> None:
    text = (FIXTURES / "ws_playlist_update_8700_2022-06-29.json").read_text(encoding="utf-8")
    event = parse_event(text)
    assert isinstance(event, PlaylistUpdate)
    assert event.shape == "envelope"
    assert (event.title_id, event.episode, event.reupload) == (8700, 2, False)
    assert event.quality is None  # the live body has no quality key; the diff shows none new
    assert event.player is not None
    assert event.player.last_episode == 2
    assert sorted(event.player.playlist) == [1, 2]
    assert event.updated_episode is not None
    assert event.updated_episode.serie == 2
    assert event.updated_episode.created_timestamp == 1656505664
    assert event.diff == {
        "host": "de3.libria.fun",
        "series": {"last": 1, "string": "1-1"},
        "playlist": {},
    }
    assert event.is_new_episode_hint is True
    assert event.raw == playlist_frame
    assert event.player_raw == playlist_frame["playlist_update"]["player"]


def test_real_playlist_update_bytes_and_mapping_inputs(playlist_frame: dict[str, Any]) -> None:
    from_bytes = parse_event(json.dumps(playlist_frame).encode())
    from_mapping = parse_event(playlist_frame)
    assert isinstance(from_bytes, PlaylistUpdate)
    assert from_bytes == from_mapping


def test_real_playlist_body_named_form(playlist_frame: dict[str, Any]) -> None:
    event = parse_event({"playlist_update": playlist_frame["playlist_update"]})
    assert isinstance(event, PlaylistUpdate)
    assert event.shape == "named"
    assert (event.title_id, event.episode) == (8700, 2)
    assert event.is_new_episode_hint is True


def test_real_playlist_body_as_bare_frame(playlist_frame: dict[str, Any]) -> None:
    # the body itself without any wrapper (keys id + player tell it apart)
    body = playlist_frame["playlist_update"]
    event = parse_event(body)
    assert isinstance(event, PlaylistUpdate)
    assert event.shape == "bare"
    assert (event.title_id, event.episode) == (8700, 2)


def test_real_playlist_reshaped_to_v2_13_1_flat(playlist_frame: dict[str, Any]) -> None:
    body = playlist_frame["playlist_update"]
    flat = {
        "id": body["id"],
        "serie": int(body["episode"]),
        "quality": "fhd",
        "player": body["player"],
    }
    event = parse_event(json.dumps(flat))
    assert isinstance(event, PlaylistUpdate)
    assert (event.title_id, event.episode, event.quality) == (8700, 2, "fhd")
    assert event.player is not None
    assert event.player.last_episode == 2
    assert event.updated_episode is None
    assert event.is_new_episode_hint is None  # no diff in this form: cannot tell


def test_serie_int_and_episode_string_are_the_same_episode(playlist_frame: dict[str, Any]) -> None:
    body = playlist_frame["playlist_update"]
    as_string = parse_event({"playlist_update": {**body, "episode": "2"}})
    as_serie = parse_event(
        {"playlist_update": {**{k: v for k, v in body.items() if k != "episode"}, "serie": 2}}
    )
    assert isinstance(as_string, PlaylistUpdate)
    assert isinstance(as_serie, PlaylistUpdate)
    assert as_string.episode == as_serie.episode == 2


def test_real_title_update_envelope(title_frame: dict[str, Any]) -> None:
    event = parse_event(json.dumps(title_frame, ensure_ascii=False))
    assert isinstance(event, TitleUpdate)
    assert event.shape == "envelope"
    assert event.hash == "588ead7f86d34655c69f990209787852b5016d75"
    assert event.title.id == event.title_id == 9174
    assert event.title.code == "summer-time-render"
    # description arrived as an object {html, plain, no_view_order}
    assert isinstance(title_frame["title_update"]["title"]["description"], dict)
    assert isinstance(event.title.description, str)
    assert event.title.description.startswith("Узнав")
    assert set(event.diff) == {"last_change", "player", "torrents"}
    assert event.title_raw == title_frame["title_update"]["title"]
    assert "9174" in repr(event)
    assert len(repr(event)) < 300


def test_real_title_update_named_and_bare(title_frame: dict[str, Any]) -> None:
    body = title_frame["title_update"]
    named = parse_event({"title_update": body})
    bare = parse_event(body)
    assert isinstance(named, TitleUpdate)
    assert isinstance(bare, TitleUpdate)
    assert (named.shape, bare.shape) == ("named", "bare")
    assert named.title.id == bare.title.id == 9174
    assert named.hash == bare.hash == body["hash"]


@pytest.mark.parametrize(
    ("index", "cls", "quality", "resolution"),
    [(0, EncodeProgress, "hd", "720"), (1, EncodeStart, "hd", "720"), (2, EncodeEnd, "sd", "480")],
)
def test_real_encode_events(index: int, cls: type[Any], quality: str, resolution: str) -> None:
    frame = ENCODE_BUNDLE[index]
    for shaped in (frame, {frame["type"]: frame[frame["type"]]}):
        event = parse_event(json.dumps(shaped))
        assert type(event) is cls
        assert isinstance(event, EncodeEvent)
        assert (event.title_id, event.episode) == (8700, 4)  # strings "8700", "4" on the wire
        assert (event.quality, event.resolution) == (quality, resolution)
        assert event.name == frame["type"]
        assert event.is_reupload is None
    if cls is EncodeProgress:
        assert parse_event(frame).percent == 75  # type: ignore[union-attr]


def test_real_encode_progress_bare_body() -> None:
    event = parse_event(ENCODE_BUNDLE[0]["encode_progress"])
    assert isinstance(event, EncodeProgress)
    assert event.shape == "bare"
    assert event.percent == 75


def test_bare_encode_start_or_end_body_is_ambiguous() -> None:
    # {id, episode, resolution, quality} is the body of both encode_start and encode_end
    event = parse_event(ENCODE_BUNDLE[1]["encode_start"])
    assert isinstance(event, UnknownEvent)
    assert "ambiguous" in event.reason


# ------------------------------------------------------ documented examples
DOC_2_13_1_PLAYLIST = """{
    "id": 8500, "serie": 1, "quality": "hd",
    "player": {
        "alternative_player": "//kodik.info/serial/19248/803944eb832adacd4d4bec7d4221f941/720p\
?translations=false",
        "host": "de4.libria.fun",
        "series": {"first": 1, "last": 24, "string": "1-24"},
        "playlist": {"1": {"serie": 1, "hls": {
            "fhd": "/videos/ts/8500/0001-hd/playlist.m3u8",
            "hd": "/videos/ts/8500/0001/playlist.m3u8",
            "sd": "/videos/ts/8500/0001-sd/playlist.m3u8"}}}
    }
}"""


def test_doc_v2_13_1_flat_playlist_update() -> None:
    event = parse_event(DOC_2_13_1_PLAYLIST)
    assert isinstance(event, PlaylistUpdate)
    assert (event.title_id, event.episode, event.quality, event.shape) == (8500, 1, "hd", "bare")
    assert event.player is not None
    assert event.player.host == "de4.libria.fun"
    assert event.player.playlist[1].hls is not None
    assert event.player.playlist[1].hls.hd == "/videos/ts/8500/0001/playlist.m3u8"


def test_doc_v2_13_1_title_update_without_type() -> None:
    frame = {
        "title_update": {
            "hash": "c3499c2729730a7f807efb8676a92dcb6f8a3f8f",
            "title": {"id": 8500, "code": "x"},
            "diff": {"code": "y"},
        }
    }
    event = parse_event(frame)
    assert isinstance(event, TitleUpdate)
    assert (event.title.id, event.hash, event.diff, event.shape) == (
        8500,
        "c3499c2729730a7f807efb8676a92dcb6f8a3f8f",
        {"code": "y"},
        "named",
    )


def test_doc_v2_13_1_start_and_end_encode_bare() -> None:
    start = parse_event('{"id": 8500, "serie": 1, "quality": "hd"}')
    end = parse_event('{"id": 8500, "serie": 1}')
    assert isinstance(start, EncodeStart)
    assert (start.title_id, start.episode, start.quality, start.name) == (
        8500,
        1,
        "hd",
        "start_encode",
    )
    # v2.13.1 end_encode = "encoded in all qualities" = v2.13.18 encode_finish
    assert isinstance(end, EncodeFinish)
    assert (end.title_id, end.episode, end.name) == (8500, 1, "end_encode")


def test_old_encode_names_in_envelopes() -> None:
    start = parse_event(
        {"type": "start_encode", "start_encode": {"id": 1, "serie": 2, "quality": "sd"}}
    )
    end = parse_event({"end_encode": {"id": 1, "serie": 2}})
    assert isinstance(start, EncodeStart)
    assert isinstance(end, EncodeFinish)
    assert start.episode == end.episode == 2


def test_doc_v2_13_18_encode_start_with_is_reupload() -> None:
    frame = {
        "type": "encode_start",
        "encode_start": {
            "id": "8700",
            "episode": "4",
            "resolution": "480",
            "quality": "sd",
            "isReupload": False,
        },
    }
    event = parse_event(frame)
    assert isinstance(event, EncodeStart)
    assert (event.title_id, event.episode, event.quality, event.resolution, event.is_reupload) == (
        8700,
        4,
        "sd",
        "480",
        False,
    )


def test_doc_v2_13_18_encode_finish_bare_and_enveloped() -> None:
    bare = parse_event('{"id": "8700", "episode": "4"}')
    enveloped = parse_event(
        {"type": "encode_finish", "encode_finish": {"id": "8700", "episode": "4"}}
    )
    flat_typed = parse_event({"type": "encode_finish", "id": "8700", "episode": "4"})
    for event in (bare, enveloped, flat_typed):
        assert isinstance(event, EncodeFinish)
        assert (event.title_id, event.episode, event.name) == (8700, 4, "encode_finish")


DOC_TORRENT_UPDATE = {
    "type": "torrent_update",
    "torrent_update": {
        "id": "9215",
        "torrents": {
            "series": {"first": 1, "last": 1, "string": "1-1"},
            "list": [
                {
                    "torrent_id": 19973,
                    "series": {"first": 1, "last": 1, "string": "1"},
                    "quality": {
                        "string": "WEBRip 1080p",
                        "type": "WEBRip",
                        "resolution": "1080p",
                        "encoder": "h264",
                        "lq_audio": None,
                    },
                    "leechers": 2,
                    "seeders": 25,
                    "downloads": 32,
                    "total_size": 547428705,
                    "url": "/public/torrent/download.php?id=19973",
                    "uploaded_timestamp": 1657158936,
                    "hash": "51a8800ca1a6486b352227a37da0c5d3dbba59c7",
                    "metadata": None,
                    "raw_base64_file": None,
                }
            ],
        },
        "updated_torrent_id": 19973,
        "diff": {"list": {"0": {"torrent_id": 19972, "leechers": 4}}},
        "hash": "81f7dbc27a1a445105b90c3096e3168008f2886e",
    },
}


def test_doc_v2_13_18_torrent_update() -> None:
    event = parse_event(json.dumps(DOC_TORRENT_UPDATE))
    assert isinstance(event, TorrentUpdate)
    assert (event.title_id, event.updated_torrent_id) == (9215, 19973)
    assert event.hash == "81f7dbc27a1a445105b90c3096e3168008f2886e"
    assert event.torrents is not None
    assert event.torrents.list[0].torrent_id == 19973
    assert event.torrents.list[0].quality is not None
    assert event.torrents.list[0].quality.resolution == "1080p"
    assert event.diff["list"]["0"]["torrent_id"] == 19972
    named = parse_event({"torrent_update": DOC_TORRENT_UPDATE["torrent_update"]})
    assert isinstance(named, TorrentUpdate)
    assert named.title_id == 9215


def test_v3_style_data_envelope_is_accepted() -> None:
    event = parse_event(
        {"type": "encode_end", "data": {"id": "5", "episode": "6", "quality": "hd"}}
    )
    assert isinstance(event, EncodeEnd)
    assert (event.title_id, event.episode) == (5, 6)


# ------------------------------------------------------------ control frames
def test_control_frames() -> None:
    greeting = parse_event('{"connection": "success", "api_version": "2.13.1"}')
    ack = parse_event('{"subscribe": "success", "subscription_id": 3}')
    error = parse_event('{"error": {"code": 400, "message": "bad filter"}}')
    assert greeting == ConnectionGreeting(api_version="2.13.1", success=True, raw=greeting.raw)  # type: ignore[union-attr]
    assert isinstance(ack, SubscribeAck)
    assert (ack.subscription_id, ack.success) == (3, True)
    assert isinstance(error, ErrorFrame)
    assert error.error == {"code": 400, "message": "bad filter"}
    odd = parse_event('{"connection": "failed"}')
    assert isinstance(odd, ConnectionGreeting)
    assert (odd.api_version, odd.success) == (None, False)


# ------------------------------------------------------------------ garbage
@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        (b"\xff", "UTF-8"),
        ("", "empty"),
        ("   ", "empty"),
        ("null", "not an object"),
        ("[]", "not an object"),
        ("42", "not an object"),
        ('"text"', "not an object"),
        ("{not json", "not JSON"),
        ('{"type":"playlist_update"}', "body"),
        ('{"type":"playlist_update","playlist_update":[1]}', "body"),
        ('{"playlist_update": {"id": "abc"}}', "id"),
        ('{"playlist_update": "x"}', "not an object"),
        ('{"playlist_update": {"id": 1, "episode": "two"}}', "episode"),
        ('{"playlist_update": {"id": true, "episode": "2"}}', "id"),
        ('{"playlist_update": {"id": 1, "episode": "2", "reupload": "maybe"}}', "reupload"),
        ('{"playlist_update": {"episode": "2"}}', "id is missing"),
        ('{"type":"title_update","title_update":{"hash":"x","title":{"code":"no-id"}}}', "title"),
        ('{"type":"title_update","title_update":{"hash":"x","title":null}}', "title"),
        ('{"type":"encode_start","encode_start":{"id":"x1","episode":"4"}}', "id"),
        ('{"type":"nonsense","nonsense":{}}', "unknown event type"),
        ('{"type":5}', "unrecognised"),
        ('{"hello":"world"}', "unrecognised"),
        ('{"title_update":{"title":{"id":1}},"playlist_update":{"id":1}}', "ambiguous"),
        ("[" * 100_000 + "]" * 100_000, ""),
    ],
)
def test_garbage_is_unknown_never_raises(raw: str | bytes, reason_part: str) -> None:
    event = parse_event(raw)
    assert isinstance(event, UnknownEvent)
    assert reason_part in event.reason
    assert len(event.excerpt) <= 200


def test_unknown_event_excerpt_is_the_start() -> None:
    event = parse_event('{"type":"nonsense","nonsense":{"x":"' + "y" * 1000 + '"}}')
    assert isinstance(event, UnknownEvent)
    assert event.excerpt.startswith('{"type":"nonsense"')
    assert len(event.excerpt) == 200
    mapping = parse_event({"type": "nonsense", "big": "z" * 1000})
    assert isinstance(mapping, UnknownEvent)
    assert len(mapping.excerpt) == 200


def test_five_megabyte_frames(playlist_frame: dict[str, Any]) -> None:
    garbage = "x" * (5 * 2**20)
    event = parse_event(garbage)
    assert isinstance(event, UnknownEvent)
    assert event.excerpt == "x" * 200
    big = copy.deepcopy(playlist_frame)
    big["playlist_update"]["player"]["filler"] = "y" * (5 * 2**20)
    text = json.dumps(big)
    assert len(text) > 5 * 2**20
    parsed = parse_event(text.encode())
    assert isinstance(parsed, PlaylistUpdate)
    assert parsed.episode == 2
    truncated = parse_event(text[: len(text) // 2])
    assert isinstance(truncated, UnknownEvent)


def test_unknown_fields_are_ignored(playlist_frame: dict[str, Any]) -> None:
    frame = copy.deepcopy(playlist_frame)
    frame["brand_new"] = {"a": 1}
    frame["playlist_update"]["another_new"] = [1, 2]
    frame["playlist_update"]["player"]["shiny"] = True
    event = parse_event(frame)
    assert isinstance(event, PlaylistUpdate)
    assert (event.title_id, event.episode) == (8700, 2)
    assert event.raw["brand_new"] == {"a": 1}


def test_nulls_everywhere() -> None:
    frame = {
        "type": "playlist_update",
        "playlist_update": {
            "id": 8700,
            "player": None,
            "updated_episode": None,
            "episode": None,
            "diff": None,
            "reupload": None,
        },
    }
    event = parse_event(frame)
    assert isinstance(event, PlaylistUpdate)
    assert (event.episode, event.player, event.updated_episode, event.reupload, event.diff) == (
        None,
        None,
        None,
        False,
        {},
    )
    assert event.is_new_episode_hint is None
    torrent = parse_event(
        {
            "type": "torrent_update",
            "torrent_update": {
                "id": "1",
                "torrents": None,
                "updated_torrent_id": None,
                "diff": None,
                "hash": None,
            },
        }
    )
    assert isinstance(torrent, TorrentUpdate)
    assert (torrent.torrents, torrent.updated_torrent_id, torrent.hash) == (None, None, None)
    progress = parse_event(
        {
            "type": "encode_progress",
            "encode_progress": {"id": "1", "episode": None, "encoded_percent": None},
        }
    )
    assert isinstance(progress, EncodeProgress)
    assert (progress.episode, progress.percent) == (None, None)


def test_episode_falls_back_to_updated_episode(playlist_frame: dict[str, Any]) -> None:
    body = {k: v for k, v in playlist_frame["playlist_update"].items() if k != "episode"}
    event = parse_event({"playlist_update": body})
    assert isinstance(event, PlaylistUpdate)
    assert event.episode == 2


def test_lenient_descriptive_fields() -> None:
    frame = {
        "type": "encode_progress",
        "encode_progress": {
            "id": "1",
            "episode": "2",
            "quality": 7,
            "resolution": 720,
            "encoded_percent": "lots",
            "isReupload": "perhaps",
        },
    }
    event = parse_event(frame)
    assert isinstance(event, EncodeProgress)
    assert (event.quality, event.resolution, event.percent, event.is_reupload) == (
        None,
        "720",
        None,
        None,
    )
    playlist = parse_event(
        {"playlist_update": {"id": "3", "episode": 4, "player": "not an object", "reupload": 1}}
    )
    assert isinstance(playlist, PlaylistUpdate)
    assert (playlist.title_id, playlist.player, playlist.player_raw, playlist.reupload) == (
        3,
        None,
        None,
        True,
    )


def test_mutated_real_frames_never_raise(
    playlist_frame: dict[str, Any], title_frame: dict[str, Any]
) -> None:
    """Replace every top-level body field of each real frame by values of every odd type."""
    odd_values: list[Any] = [None, "abc", "", 1.5, -1, [], {}, True, [1, "x"], {"k": None}]
    frames = [playlist_frame, title_frame, *ENCODE_BUNDLE, DOC_TORRENT_UPDATE]
    seen: set[str] = set()
    for frame in frames:
        name = frame["type"]
        for key in frame[name]:
            for value in odd_values:
                mutated = copy.deepcopy(frame)
                mutated[name][key] = value
                for raw in (mutated, json.dumps(mutated), {name: mutated[name]}, mutated[name]):
                    event = parse_event(raw)
                    seen.add(type(event).__name__)
    assert "UnknownEvent" in seen
    assert {"PlaylistUpdate", "TitleUpdate", "EncodeStart", "TorrentUpdate"} <= seen


def test_events_are_frozen(playlist_frame: dict[str, Any]) -> None:
    event = parse_event(playlist_frame)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.title_id = 1  # type: ignore[misc,union-attr]


# ------------------------------------------------------------------- hints
@pytest.mark.parametrize(
    ("diff", "reupload", "expected"),
    [
        ({"playlist": {}}, False, True),
        ({"playlist": []}, False, True),  # PHP's empty array
        ({"playlist": {"2": None}}, False, True),
        ({"playlist": {"1": {"hls": {"hd": "/a"}}}}, False, True),
        ({"playlist": {"2": {"hls": {"hd": None}}}}, False, False),
        ({"host": "de1.libria.fun"}, False, False),
        ({"playlist": {}}, True, False),
        ({}, False, None),
    ],
)
def test_is_new_episode_hint(diff: dict[str, Any], reupload: bool, expected: bool | None) -> None:
    event = parse_event(
        {"playlist_update": {"id": 1, "episode": "2", "diff": diff, "reupload": reupload}}
    )
    assert isinstance(event, PlaylistUpdate)
    assert event.is_new_episode_hint is expected


def test_quality_inferred_from_diff() -> None:
    # the diff Damego's client recorded for a v3 playlist_update: hd of episode 10 was null before
    diff = {
        "host": "cache.libria.fun",
        "playlist": {"10": {"created_timestamp": 1672061904, "hls": {"hd": None}}},
    }
    event = parse_event(
        {
            "type": "playlist_update",
            "playlist_update": {"id": 1, "episode": "10", "diff": diff, "reupload": False},
        }
    )
    assert isinstance(event, PlaylistUpdate)
    assert event.quality == "hd"
    assert event.is_new_episode_hint is False
    two_new = {"playlist": {"10": {"hls": {"hd": None, "sd": None}}}}
    ambiguous = parse_event({"playlist_update": {"id": 1, "episode": "10", "diff": two_new}})
    assert isinstance(ambiguous, PlaylistUpdate)
    assert ambiguous.quality is None


# ------------------------------------------------- the fake's frame builders
@pytest.mark.parametrize("shape", ["envelope", "named", "bare"])
@pytest.mark.parametrize("new", [True, False])
def test_playlist_builder_round_trip(shape: Any, new: bool) -> None:
    frame = playlist_update_frame(9000, 5, "sd", shape=shape, new=new)
    event = parse_event(json.dumps(frame))
    assert isinstance(event, PlaylistUpdate)
    assert (event.title_id, event.episode, event.shape) == (9000, 5, shape)
    assert event.player is not None
    assert event.player.last_episode == 5
    if shape == "bare":
        assert event.quality == "sd"
        assert event.is_new_episode_hint is None
    else:
        assert event.is_new_episode_hint is new
        assert event.quality == (None if new else "sd")


def test_playlist_builder_reupload() -> None:
    event = parse_event(playlist_update_frame(9000, 3, reupload=True))
    assert isinstance(event, PlaylistUpdate)
    assert event.reupload is True
    assert event.is_new_episode_hint is False


@pytest.mark.parametrize("kind", ENCODE_KINDS)
def test_encode_builder_round_trip(kind: str) -> None:
    expected = {
        "encode_start": EncodeStart,
        "start_encode": EncodeStart,
        "encode_progress": EncodeProgress,
        "encode_end": EncodeEnd,
        "encode_finish": EncodeFinish,
        "end_encode": EncodeFinish,
    }[kind]
    event = parse_event(json.dumps(encode_frame(kind, 8700, 4, "fhd")))
    assert type(event) is expected
    assert isinstance(event, EncodeEvent)
    assert (event.title_id, event.episode, event.name) == (8700, 4, kind)


def test_title_and_torrent_builders_round_trip() -> None:
    titles = load("feed_titles.json")
    for shape in ("envelope", "named"):
        frame = title_update_frame(titles[0], {"last_change": 1}, shape=shape)
        event = parse_event(frame)
        assert isinstance(event, TitleUpdate)
        assert event.title.id == titles[0]["id"]
        assert event.hash is not None
        assert len(event.hash) == 40
    torrent = parse_event(torrent_update_frame(77, updated_torrent_id=5))
    assert isinstance(torrent, TorrentUpdate)
    assert (torrent.title_id, torrent.updated_torrent_id) == (77, 5)


def test_every_feed_title_parses_in_a_title_update() -> None:
    for title in load("feed_titles.json"):
        event = parse_event(
            json.dumps(
                {"type": "title_update", "title_update": {"hash": "h", "title": title, "diff": {}}}
            )
        )
        assert isinstance(event, TitleUpdate), event
