"""The fake AniLiberty API v1 itself, driven over HTTP with httpx against a started server."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.aniliberty import DEFAULT_IDS, FakeAniLiberty
from tests.fakes.aniliberty_data import FIXTURES_DIR, bencode, parse_iso

JSON = "application/json"
COUNTERS = {
    "added_in_users_favorites",
    "added_in_planned_collection",
    "added_in_watched_collection",
    "added_in_watching_collection",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeAniLiberty]:
    async with FakeAniLiberty() as server:
        yield server


@pytest.fixture
async def api(fake: FakeAniLiberty) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.api_url, timeout=5) as client:
        yield client


def capture(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_bytes())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ok_json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    return response.json()


# -- the default catalogue ---------------------------------------------------------------------


async def test_release_10292_is_the_capture_byte_for_byte(api: httpx.AsyncClient) -> None:
    response = await api.get("/anime/releases/10292")
    assert response.headers["content-type"] == JSON
    assert response.content == (FIXTURES_DIR / "release_10292.json").read_bytes()


async def test_latest_is_a_bare_array_like_the_capture(api: httpx.AsyncClient) -> None:
    got = await ok_json(await api.get("/anime/releases/latest", params={"limit": 10}))
    real = capture("releases_latest_limit10.json")
    assert isinstance(got, list)
    assert [r["id"] for r in got] == [r["id"] for r in real] == list(DEFAULT_IDS)
    for mine, theirs in zip(got, real, strict=True):
        # 10292 comes from the full capture, whose favourite counters were a bit different
        assert {k: v for k, v in mine.items() if k not in COUNTERS} == {
            k: v for k, v in theirs.items() if k not in COUNTERS
        }


async def test_full_releases_are_consistent_with_their_latest_episode(
    api: httpx.AsyncClient,
) -> None:
    latest = await ok_json(await api.get("/anime/releases/latest", params={"limit": 50}))
    for item in latest:
        full = await ok_json(await api.get(f"/anime/releases/{item['alias']}"))
        assert full["id"] == item["id"]
        assert full["episodes"][-1] == item["latest_episode"]
        assert [e["sort_order"] for e in full["episodes"]] == list(
            range(1, len(full["episodes"]) + 1)
        )
        assert full["torrents"] and all(t["release"]["id"] == item["id"] for t in full["torrents"])
        assert "latest_episode" not in full and "torrents" not in item


# -- /anime/releases/latest --------------------------------------------------------------------


async def test_latest_limit_above_50_is_the_real_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/anime/releases/latest", params={"limit": 51})
    assert response.status_code == 422
    assert response.headers["content-type"] == JSON
    assert response.json() == capture("validation_error_422.json")
    low = await api.get("/anime/releases/latest", params={"limit": 0})
    assert low.status_code == 422
    assert low.json()["errors"] == {"limit": ["The limit field must be at least 1."]}
    text = await api.get("/anime/releases/latest", params={"limit": "ten"})
    assert text.json()["message"] == "The limit field must be an integer."


async def test_new_episode_moves_fresh_at_and_latest_episode(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    episode_id = fake.add_episode(10241, 13)
    second = fake.add_episode(10171, 25)
    latest = await ok_json(await api.get("/anime/releases/latest", params={"limit": 3}))
    assert [r["id"] for r in latest] == [10171, 10241, 10292]
    assert latest[0]["latest_episode"]["id"] == second
    assert latest[1]["latest_episode"]["id"] == episode_id
    assert latest[1]["latest_episode"]["ordinal"] == 13
    # both within one second, still strictly ordered
    assert parse_iso(latest[0]["fresh_at"]) > parse_iso(latest[1]["fresh_at"])


async def test_bump_is_strictly_monotonic(fake: FakeAniLiberty) -> None:
    before = int(time.time())
    stamps = [parse_iso(fake.bump(release_id)) for release_id in DEFAULT_IDS]
    assert stamps == sorted(set(stamps))
    assert stamps[0] >= before


async def test_conditional_get_answers_304_until_the_list_changes(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    first = await api.get("/anime/releases/latest", params={"limit": 5})
    etag = first.headers["etag"]
    same = await api.get(
        "/anime/releases/latest", params={"limit": 5}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    weak = await api.get(
        "/anime/releases/latest", params={"limit": 5}, headers={"If-None-Match": f"W/{etag}"}
    )
    assert weak.status_code == 304
    fake.bump(10241)
    changed = await api.get(
        "/anime/releases/latest", params={"limit": 5}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()[0]["id"] == 10241
    fake.etags = False
    plain = await api.get("/anime/releases/latest", headers={"If-None-Match": etag})
    assert plain.status_code == 200 and "etag" not in plain.headers


async def test_unplayable_episode_then_playable(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    episode_id = fake.add_episode(10292, 13, playable=False)
    before = (await ok_json(await api.get("/anime/releases/latest", params={"limit": 1})))[0]
    episode = before["latest_episode"]
    assert episode["id"] == episode_id
    assert (episode["hls_480"], episode["hls_720"], episode["hls_1080"]) == (None, None, None)
    fake.make_playable(10292, episode_id)
    after = (await ok_json(await api.get("/anime/releases/latest", params={"limit": 1})))[0]
    assert after["latest_episode"]["hls_1080"].endswith("isWithVideoAdsAlways=1")
    assert parse_iso(after["fresh_at"]) > parse_iso(before["fresh_at"])


async def test_reupload_gives_the_same_ordinal_a_new_uuid(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    old = (await ok_json(await api.get("/anime/releases/10292")))["episodes"][-1]
    new_id = fake.reupload(10292, 12)
    latest = (await ok_json(await api.get("/anime/releases/latest", params={"limit": 1})))[0]
    assert latest["id"] == 10292
    assert latest["latest_episode"]["ordinal"] == 12
    assert latest["latest_episode"]["id"] == new_id != old["id"]
    with pytest.raises(ValueError):
        fake.add_episode(10292, 12)


async def test_bump_many_pushes_fillers_over_a_page(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    fake.add_episode(10241, 13)
    ids = fake.bump_many(55)
    latest = await ok_json(await api.get("/anime/releases/latest", params={"limit": 50}))
    assert [r["id"] for r in latest] == ids[::-1][:50]
    assert 10241 not in [r["id"] for r in latest]
    again = fake.bump_many(2)
    assert again == ids[:2]
    top = await ok_json(await api.get("/anime/releases/latest", params={"limit": 2}))
    assert [r["id"] for r in top] == again[::-1]
    assert top[0]["latest_episode"]["ordinal"] == 2


# -- catalogue ---------------------------------------------------------------------------------


async def test_catalog_pages_to_the_end_by_links_next(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    fake.bump_many(5)
    url: str | None = f"{fake.api_url}/anime/catalog/releases?limit=4&page=1"
    pages = []
    while url:
        body = await ok_json(await api.get(url))
        assert set(body) == {"data", "meta"}
        pages.append(body["meta"]["pagination"])
        url = body["meta"]["pagination"]["links"].get("next")
        assert url is None or url.startswith(fake.api_url + "/anime/catalog/releases?limit=4&")
        pages[-1]["ids"] = [r["id"] for r in body["data"]]
    assert [p["current_page"] for p in pages] == [1, 2, 3, 4]
    assert all(p["total"] == 15 and p["total_pages"] == 4 and p["per_page"] == 4 for p in pages)
    assert [p["count"] for p in pages] == [4, 4, 4, 3]
    assert "previous" not in pages[0]["links"] and "next" not in pages[-1]["links"]
    assert pages[-1]["links"]["previous"].endswith("page=3")
    ids = [i for p in pages for i in p["ids"]]
    assert ids == [r["id"] for r in fake.by_fresh()]


async def test_catalog_single_page_links_are_an_empty_php_array(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    body = await ok_json(await api.get("/anime/catalog/releases", params={"limit": 50}))
    assert body["meta"]["pagination"]["links"] == []
    fake.links_style = "null"
    body = await ok_json(await api.get("/anime/catalog/releases", params={"limit": 50}))
    assert body["meta"]["pagination"]["links"] == {"previous": None, "next": None}


async def test_catalog_filters_in_query_and_body(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    fake.add_release(
        777,
        "old-movie",
        "Старый фильм",
        "Old Movie",
        type="MOVIE",
        year=1999,
        season="winter",
        genres=["Комедия", "Новый жанр"],
        episodes=1,
    )
    query = {
        "f[genres]": "1",
        "f[types]": "MOVIE",
        "f[years][from_year]": "1990",
        "f[years][to_year]": "2000",
        "f[seasons]": "winter",
    }
    got = await ok_json(await api.get("/anime/catalog/releases", params=query))
    assert [r["id"] for r in got["data"]] == [777]
    assert {g["name"] for g in got["data"][0]["genres"]} == {"Комедия", "Новый жанр"}
    body = {"f": {"genres": [1], "types": ["MOVIE"], "years": {"from_year": 1990}}}
    posted = await ok_json(await api.post("/anime/catalog/releases", json=body))
    assert [r["id"] for r in posted["data"]] == [777]
    search = await ok_json(await api.get("/anime/catalog/releases", params={"f[search]": "OLD"}))
    assert [r["id"] for r in search["data"]] == [777]
    by_year = await ok_json(
        await api.get("/anime/catalog/releases", params={"f[sorting]": "YEAR_ASC", "limit": 2})
    )
    assert [r["year"] for r in by_year["data"]] == [1999, 1999]  # One Piece (1999) and 777
    bad = await api.get("/anime/catalog/releases", params={"f[sorting]": "NEWEST"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"f.sorting": ["The selected f.sorting is invalid."]}


async def test_release_lookups(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    missing = await api.get("/anime/releases/no-such-alias")
    assert missing.status_code == 404 and missing.headers["content-type"] == JSON
    assert "message" in missing.json()
    members = await ok_json(await api.get("/anime/releases/10292/members"))
    assert isinstance(members, list) and len(members) == 8
    assert members[0]["role"] == {"value": "voicing", "description": "Озвучка"}
    listed = await ok_json(
        await api.get("/anime/releases/list", params={"ids": "10292,1", "aliases": "one-piece"})
    )
    assert [r["id"] for r in listed["data"]] == [10292, 10290]
    assert listed["meta"]["pagination"]["total"] == 2
    random = await ok_json(await api.get("/anime/releases/random", params={"limit": 3}))
    assert len(random) == 3 and {r["id"] for r in random} <= set(DEFAULT_IDS)
    assert "genres" not in random[0]


async def test_search_is_a_bare_array_matching_names_and_alias(api: httpx.AsyncClient) -> None:
    by_russian = await ok_json(await api.get("/app/search/releases", params={"query": "ПЕРЕКУР"}))
    assert [r["id"] for r in by_russian] == [10292]
    by_english = await ok_json(await api.get("/app/search/releases", params={"query": "yani suu"}))
    by_alias = await ok_json(await api.get("/app/search/releases", params={"query": "one-pie"}))
    assert [r["id"] for r in by_english] == [10292] and [r["id"] for r in by_alias] == [10290]
    assert await ok_json(await api.get("/app/search/releases", params={"query": "zzz"})) == []
    empty = await api.get("/app/search/releases")
    assert empty.status_code == 422 and "query" in empty.json()["errors"]


async def test_include_and_exclude_shrink_answers(api: httpx.AsyncClient) -> None:
    got = await ok_json(
        await api.get(
            "/anime/releases/latest",
            params={"limit": 2, "include": "id,alias,latest_episode.ordinal"},
        )
    )
    assert got == [
        {
            "id": 10292,
            "alias": "super-no-ura-de-yani-suu-futari",
            "latest_episode": {"ordinal": 12},
        },
        {"id": 10293, "alias": got[1]["alias"], "latest_episode": {"ordinal": 8}},
    ]
    full = await ok_json(
        await api.get("/anime/releases/10292", params={"exclude": "episodes,torrents.release"})
    )
    assert "episodes" not in full and "release" not in full["torrents"][0]


async def test_schedule_week_and_now(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    week = await ok_json(await api.get("/anime/schedule/week"))
    real = capture("schedule_week_sample.json")
    assert isinstance(week, list) and week
    assert all(set(item) == set(real[0]) for item in week)
    in_production = {r["id"] for r in fake.releases.values() if r["is_in_production"]}
    assert {item["release"]["id"] for item in week} == in_production
    days = [item["release"]["publish_day"]["value"] for item in week]
    assert days == sorted(days)
    episode_id = fake.add_episode(10293, 9)
    fake.set_schedule(10251, listed=False)
    fake.set_schedule(10292, listed=True, next_episode=None, full_season=True)
    week = {i["release"]["id"]: i for i in await ok_json(await api.get("/anime/schedule/week"))}
    assert week[10293]["published_release_episode"]["id"] == episode_id
    assert week[10293]["next_release_episode_number"] == 10
    assert 10251 not in week
    assert week[10292]["full_season_is_released"] is True
    now = await ok_json(await api.get("/anime/schedule/now"))
    assert set(now) == {"today", "tomorrow", "yesterday"}


async def test_genres_and_references(api: httpx.AsyncClient) -> None:
    refs = await ok_json(await api.get("/anime/catalog/references/genres"))
    assert refs and all(set(g) == {"id", "name"} for g in refs)
    assert {"id": 5, "name": "Сейнен"} in refs
    genres = await ok_json(await api.get("/anime/genres"))
    seinen = next(g for g in genres if g["id"] == 5)
    assert seinen["total_releases"] == 203 and seinen["image"]["preview"].startswith("/storage/")


async def test_release_flags(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.set_in_production(10293, False, ongoing=False)
    fake.set_notification(10293, "Новые серии по мере готовности")
    release = await ok_json(await api.get("/anime/releases/10293"))
    assert release["is_in_production"] is False and release["is_ongoing"] is False
    assert release["notification"] == "Новые серии по мере готовности"
    latest = await ok_json(await api.get("/anime/releases/latest", params={"limit": 1}))
    assert latest[0]["id"] == 10292  # flags alone do not bump fresh_at


async def test_add_release_shapes(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.add_release(
        500,
        "new-show",
        "Новое шоу",
        voices=["Голос"],
        publish_day=3,
        notification="Скоро",
        episodes_total=12,
    )
    fresh = (await ok_json(await api.get("/anime/releases/latest", params={"limit": 1})))[0]
    assert fresh["id"] == 500 and fresh["latest_episode"] is None
    assert fresh["publish_day"] == {"value": 3, "description": "Среда"}
    full = await ok_json(await api.get("/anime/releases/new-show"))
    assert full["episodes"] == [] and full["torrents"] == []
    assert full["members"][0]["nickname"] == "Голос"
    poster = await api.get(fake.site_url + full["poster"]["src"])
    assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")


# -- torrents ----------------------------------------------------------------------------------


async def test_torrents_page_newest_first(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    first = await ok_json(await api.get("/anime/torrents", params={"limit": 50}))
    assert first["meta"]["pagination"]["total"] == 11
    assert first["data"][0]["id"] == 40138 and first["data"][0]["release"]["id"] == 10292
    assert (await api.get("/anime/torrents", params={"limit": 51})).status_code == 422
    new_id = fake.add_torrent(10241, quality="720p", episodes="1-12")
    before = next(t for t in first["data"] if t["id"] == 40079)
    fake.update_torrent(40079, episodes="1-12")
    top = (await ok_json(await api.get("/anime/torrents", params={"limit": 2})))["data"]
    assert [t["id"] for t in top] == [40079, new_id]
    assert top[0]["hash"] != before["hash"] and top[0]["description"] == "1-12"
    assert top[0]["label"].endswith("[1-12]") and top[0]["size"] > before["size"]
    fake.update_torrent(new_id, hash_only=True)
    again = (await ok_json(await api.get("/anime/torrents", params={"limit": 2})))["data"]
    assert again[1]["id"] == new_id and again[1]["updated_at"] == top[1]["updated_at"]
    assert again[1]["hash"] != top[1]["hash"] and again[1]["hash"] in again[1]["magnet"]


async def test_release_torrents_bare_array(api: httpx.AsyncClient) -> None:
    got = await ok_json(await api.get("/anime/torrents/release/10292"))
    assert [t["id"] for t in got] == [40079, 40138]
    assert set(got[0]) == set(capture("release_10292.json")["torrents"][0])
    assert (await api.get("/anime/torrents/release/1")).status_code == 404


async def test_torrent_file_is_bencoded_and_honours_pk(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    response = await api.get("/anime/torrents/40138/file", params={"pk": "abc123"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-bittorrent"
    assert response.content.startswith(b"d8:announce") and response.content.endswith(b"ee")
    assert bencode("http://tr.libria.fun:2710/announce?pk=abc123") in response.content
    by_hash = await api.get("/anime/torrents/fc4aa88b27a9839819ed783a0c3cd637866c7c91/file")
    assert b"pk=" not in by_hash.content and b"4:info" in by_hash.content
    token = fake.token_for(fake.default_user_id)
    own = await api.get("/anime/torrents/40138/file", headers=bearer(token))
    assert f"pk={fake.users[fake.default_user_id].passkey}".encode() in own.content
    assert (await api.get("/anime/torrents/1/file")).status_code == 404


async def test_torrent_rss_echoes_pk(api: httpx.AsyncClient) -> None:
    response = await api.get("/anime/torrents/rss", params={"pk": "secret", "limit": 3})
    assert response.status_code == 200 and response.headers["content-type"] == "application/xml"
    items = ET.fromstring(response.content).findall("./channel/item")
    assert len(items) == 3
    assert all(i.findtext("link", "").endswith("/file?pk=secret") for i in items)
    one = await api.get("/anime/torrents/rss/release/10292")
    links = [i.findtext("link", "") for i in ET.fromstring(one.content).findall(".//item")]
    assert len(links) == 2 and all("pk=" not in link for link in links)
    assert (await api.get("/anime/torrents/rss/release/1")).status_code == 404


# -- media, app, site --------------------------------------------------------------------------


async def test_videos_status_and_site(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    videos = await ok_json(await api.get("/media/videos", params={"limit": 10}))
    assert videos == capture("media_videos_limit10.json")
    fake.add_video("Новый трейлер", video_id="abcdefghijk")
    top = await ok_json(await api.get("/media/videos", params={"limit": 1}))
    assert top[0]["video_id"] == "abcdefghijk" and top[0]["origin"] == videos[0]["origin"]
    status = await ok_json(await api.get("/app/status"))
    assert status["is_alive"] is True and status["available_api_endpoints"] == [fake.base]
    page = await api.get(f"{fake.site_url}/app/auth/otp/linkDevice")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


# -- accounts ----------------------------------------------------------------------------------


async def test_login_profile_logout(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    user_id = fake.add_user("alice", "pw-alice")
    login = {"login": "alice", "password": "pw-alice"}
    token = (await ok_json(await api.post("/accounts/users/auth/login", json=login)))["token"]
    wrong = await api.post("/accounts/users/auth/login", json={**login, "password": "nope"})
    assert wrong.status_code == 401
    missing = await api.post("/accounts/users/auth/login", json={})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"login", "password"}
    assert missing.json()["message"].endswith("(and 1 more error)")
    profile = await ok_json(await api.get("/accounts/users/me/profile", headers=bearer(token)))
    assert profile["id"] == user_id and profile["login"] == "alice"
    assert profile["torrents"]["passkey"] == fake.users[user_id].passkey
    out = await ok_json(await api.post("/accounts/users/auth/logout", headers=bearer(token)))
    assert out == {"token": None}
    gone = await api.get("/accounts/users/me/profile", headers=bearer(token))
    assert gone.status_code == 401


async def test_otp_flow(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    before = time.time()
    got = await ok_json(await api.post("/accounts/otp/get", json={"device_id": "chat-42"}))
    after = time.time()
    otp = got["otp"]
    assert isinstance(otp["code"], str) and len(otp["code"]) == 6 and otp["code"].isdigit()
    assert otp["device_id"] == "chat-42" and otp["user_id"] is None
    assert got["remaining_time"] == 120
    assert int(before) + 120 <= parse_iso(otp["expired_at"]) <= int(after) + 120
    login = {"code": int(otp["code"]), "device_id": "chat-42"}
    assert (await api.post("/accounts/otp/login", json=login)).status_code == 401
    user_token = fake.token_for(fake.default_user_id)
    accept = await api.post(
        "/accounts/otp/accept", json={"code": int(otp["code"])}, headers=bearer(user_token)
    )
    assert accept.status_code == 200
    wrong_device = await api.post("/accounts/otp/login", json={**login, "device_id": "other"})
    assert wrong_device.status_code == 404
    token = (await ok_json(await api.post("/accounts/otp/login", json=login)))["token"]
    assert token != user_token
    profile = await ok_json(await api.get("/accounts/users/me/profile", headers=bearer(token)))
    assert profile["id"] == fake.default_user_id
    assert (await api.post("/accounts/otp/login", json=login)).status_code == 404  # used up


async def test_otp_accept_needs_a_user_token(api: httpx.AsyncClient) -> None:
    got = await ok_json(await api.post("/accounts/otp/get", json={"device_id": "d"}))
    response = await api.post("/accounts/otp/accept", json={"code": int(got["otp"]["code"])})
    assert response.status_code == 401


async def test_otp_expiry_and_bad_input(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.next_otp_code("058701")
    got = await ok_json(await api.post("/accounts/otp/get", json={"device_id": "d1"}))
    assert got["otp"]["code"] == "058701" and fake.latest_otp() is fake.otps["058701"]
    fake.accept_otp("058701", fake.default_user_id)
    as_string = await api.post("/accounts/otp/login", json={"code": "058701", "device_id": "d1"})
    assert as_string.status_code == 422  # Laravel's integer rule refuses the leading zero
    assert as_string.json()["errors"] == {"code": ["The code field must be an integer."]}
    no_device = await api.post("/accounts/otp/login", json={"code": 58701})
    assert no_device.status_code == 422 and "device_id" in no_device.json()["errors"]
    no_device_id = await api.post("/accounts/otp/get", json={})
    assert no_device_id.status_code == 422
    fake.expire_otp("058701")
    expired = await api.post("/accounts/otp/login", json={"code": 58701, "device_id": "d1"})
    assert expired.status_code == 404
    unknown = await api.post("/accounts/otp/login", json={"code": 999999, "device_id": "d1"})
    assert unknown.status_code == 404


async def test_favorites_add_list_remove(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    token = fake.token_for(fake.default_user_id)
    path = "/accounts/users/me/favorites"
    before = (await ok_json(await api.get("/anime/releases/10293")))["added_in_users_favorites"]
    added = await api.post(
        path, json=[{"release_id": 10293}, {"release_id": 10292}], headers=bearer(token)
    )
    assert await ok_json(added) == [10293, 10292]
    assert fake.favorites_of(fake.default_user_id) == [10293, 10292]
    ids = await ok_json(await api.get(f"{path}/ids", headers=bearer(token)))
    assert ids == [10293, 10292]
    page = await ok_json(
        await api.get(f"{path}/releases", params={"limit": 1}, headers=bearer(token))
    )
    assert [r["id"] for r in page["data"]] == [10292]  # the newest favourite first
    assert page["meta"]["pagination"]["total"] == 2 and "genres" in page["data"][0]
    after = (await ok_json(await api.get("/anime/releases/10293")))["added_in_users_favorites"]
    assert after == before + 1
    removed = await api.request("DELETE", path, json=[{"release_id": 10293}], headers=bearer(token))
    assert await ok_json(removed) == [10292]
    bad = await api.post(path, json=[{"release_id": 1}, {}], headers=bearer(token))
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "0.release_id": ["The selected 0.release_id is invalid."],
        "1.release_id": ["The 1.release_id field is required."],
    }


async def test_expired_or_missing_token_is_401_or_403(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    token = fake.token_for(fake.default_user_id)
    assert (await api.get("/accounts/users/me/favorites/ids", headers=bearer(token))).is_success
    fake.expire_token(token)
    for headers in (bearer(token), {}, bearer("made-up")):
        response = await api.get("/accounts/users/me/favorites/ids", headers=headers)
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    fake.auth_failure_status = 403
    response = await api.get("/accounts/users/me/profile", headers=bearer(token))
    assert response.status_code == 403 and response.headers["content-type"] == JSON


# -- inspection and faults ---------------------------------------------------------------------


async def test_requests_are_recorded_without_secrets(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    await api.post("/accounts/users/auth/login", json={"login": "x", "password": "hunter2"})
    await api.get("/anime/releases/latest", params={"limit": 2}, headers=bearer("t0ken"))
    await api.get(f"{fake.site_url}/storage/releases/posters/1/x.jpg")
    login, latest, poster = fake.requests
    assert login.body == {"login": "x", "password": "***"} and login.status == 401
    assert latest.authed and latest.query == {"limit": "2"} and latest.status == 200
    assert all(k.lower() != "authorization" for k in latest.headers)
    assert "t0ken" not in repr(fake.requests)
    assert not poster.authed and poster.path.startswith("/storage/")
    assert fake.count("/anime/releases/latest") == 1
    assert fake.count("/api/v1/anime/releases/") == 1
    assert fake.count("/storage") == 1 and fake.count("/", method="POST") == 1


async def test_fail_429_with_retry_after_then_recovers(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    fake.fail("/anime/releases/latest", 429, times=2, retry_after=2)
    for _ in range(2):
        response = await api.get("/anime/releases/latest")
        assert response.status_code == 429 and response.headers["retry-after"] == "2"
        assert response.json() == {"message": "Too Many Attempts."}
    assert (await api.get("/anime/releases/latest")).status_code == 200
    assert (await api.get("/anime/releases/10292")).status_code == 200
    assert fake.count("/anime/releases/latest") == 3


async def test_fail_503_is_a_cloudflare_page(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.fail("/anime/", 503, times=None)
    for path in ("/anime/releases/latest", "/anime/torrents"):
        response = await api.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["server"] == "cloudflare" and "Cloudflare" in response.text
    assert (await api.get("/app/status")).status_code == 200
    fake.clear_faults()
    assert (await api.get("/anime/releases/latest")).status_code == 200


async def test_fail_with_custom_body(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.fail("/anime/releases/unknown", 200, body="<html>Not Found</html>")
    fake.fail("/app/status", 500, body={"message": "Server Error"}, content_type="application/json")
    mirror = await api.get("/anime/releases/unknown")
    assert mirror.status_code == 200 and mirror.headers["content-type"].startswith("text/html")
    broken = await api.get("/app/status")
    assert broken.status_code == 500 and broken.json() == {"message": "Server Error"}


async def test_reset_closes_the_connection_without_an_answer(
    fake: FakeAniLiberty, api: httpx.AsyncClient
) -> None:
    fake.reset("/anime/releases/latest")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await api.get("/anime/releases/latest")
    assert fake.requests[-1].status is None
    assert (await api.get("/anime/releases/latest")).status_code == 200
    assert fake.count("/anime/releases/latest") == 2


async def test_delay_holds_the_answer(fake: FakeAniLiberty, api: httpx.AsyncClient) -> None:
    fake.delay("/app/status", 0.5)
    started = time.monotonic()
    assert (await api.get("/app/status")).status_code == 200
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert (await api.get("/app/status")).status_code == 200  # only the next one waited
    assert time.monotonic() - started < 0.5
    fake.delay("/anime/releases/latest", 5)
    with pytest.raises(httpx.ReadTimeout):
        await api.get("/anime/releases/latest", timeout=0.2)
