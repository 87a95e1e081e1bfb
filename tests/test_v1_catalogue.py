"""V1Catalogue over a MockTransport answering with the real captures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.anilibria._roles import Catalogue
from bot.anilibria._types import TitleKind, Torrent
from bot.anilibria.errors import ServerError
from bot.anilibria.v1 import V1Catalogue, V1Client
from tests.fakes.aniliberty_mock import API, SITE, MockAniLiberty, load_fixture


def json_answer(name: str) -> httpx.Response:
    return httpx.Response(200, json=load_fixture(name))


@pytest.fixture
def fake() -> MockAniLiberty:
    return MockAniLiberty()


@pytest.fixture
async def catalogue(fake: MockAniLiberty) -> AsyncIterator[V1Catalogue]:
    client = V1Client(API, SITE, transport=fake.transport, retries=0)
    yield V1Catalogue(client, SITE + "/")
    await client.aclose()


def test_implements_the_role(catalogue: V1Catalogue) -> None:
    role: Catalogue = catalogue
    assert role.site_url == SITE


def test_title_url(catalogue: V1Catalogue) -> None:
    assert catalogue.title_url("dandadan", 9789) == f"{SITE}/anime/releases/release/dandadan"
    assert catalogue.title_url(None, 9789) == f"{SITE}/anime/releases/release/9789"
    assert catalogue.title_url("  ", 9789) == f"{SITE}/anime/releases/release/9789"
    odd = catalogue.title_url("a b/c?d", 1)
    assert odd == f"{SITE}/anime/releases/release/a%20b%2Fc%3Fd"


async def test_search_slices_a_bare_array(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.routes[("GET", "/app/search/releases")] = lambda r: json_answer(
        "releases_latest_limit10.json"
    )
    page = await catalogue.search("  сигарета ", limit=3, offset=2)
    assert [t.id for t in page] == [10281, 10290, 10227]
    assert fake.requests[0].params == {"query": "сигарета"}
    assert page[0].episodes is None  # a list answer
    assert [t.id for t in await catalogue.search("x", limit=5, offset=9)] == [10241]
    assert len(await catalogue.search("x", limit=50)) == 10
    before = len(fake.requests)
    assert await catalogue.search("   ", limit=5) == []
    assert len(fake.requests) == before  # no request for an empty query


async def test_title_by_id_and_alias(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.add(10292, 1_790_000_000, episodes=4)
    by_id = await catalogue.title(10292)
    by_alias = await catalogue.title("release-10292")
    assert by_id is not None and by_alias is not None
    assert by_id.id == by_alias.id == 10292
    assert by_id.episodes is not None and len(by_id.episodes) == 4
    assert by_id.torrents is not None and len(by_id.torrents) == 2
    assert by_id.voices == ("SlivciS", "Malevich", "Dejz", "Hekomi")
    assert fake.paths() == ["/anime/releases/10292", "/anime/releases/release-10292"]


async def test_unknown_title_is_none(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    assert await catalogue.title("no-such/thing") is None
    assert await catalogue.title(" ") is None
    assert [s.raw_path for s in fake.requests] == ["/api/v1/anime/releases/no-such%2Fthing"]


async def test_title_server_error_is_not_none(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.faults.append(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ServerError):
        await catalogue.title(1)


async def test_random_title(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.routes[("GET", "/anime/releases/random")] = lambda r: json_answer(
        "latest_releases_limit1.json"
    )
    title = await catalogue.random_title()
    assert title.id == 10126
    assert fake.requests[0].params == {"limit": "1"}


async def test_schedule(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.routes[("GET", "/anime/schedule/week")] = lambda r: json_answer(
        "schedule_week_sample.json"
    )
    days = await catalogue.schedule()
    assert [(d.day, [t.id for t in d.titles]) for d in days] == [(0, [8986]), (6, [8452])]
    # the shape the spec documents ({"data": [...]}) is read too
    wrapped = {"data": load_fixture("schedule_week_sample.json")}
    fake.routes[("GET", "/anime/schedule/week")] = lambda r: httpx.Response(200, json=wrapped)
    assert [d.day for d in await catalogue.schedule()] == [0, 6]


async def test_torrent_file(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.routes[("GET", "/anime/torrents/40138/file")] = lambda r: httpx.Response(
        200, content=b"d4:infode", headers={"content-type": "application/x-bittorrent"}
    )
    assert await catalogue.torrent_file(Torrent(id=40138)) == b"d4:infode"


async def test_genres(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    genres = [{"id": 1, "name": "Экшен"}, {"id": 5, "name": "Сейнен"}, {"id": 9, "name": ""}]
    fake.routes[("GET", "/anime/catalog/references/genres")] = lambda r: httpx.Response(
        200, json=genres
    )
    assert await catalogue.genres() == ["Экшен", "Сейнен"]
    assert await catalogue.genre_ids() == [("Экшен", 1), ("Сейнен", 5)]


async def test_videos_newest_first(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    shuffled = list(reversed(load_fixture("media_videos_limit10.json")))
    fake.routes[("GET", "/media/videos")] = lambda r: httpx.Response(200, json=shuffled)
    videos = await catalogue.videos(3)
    assert [v.id for v in videos] == ["1042", "1040", "1041"]
    assert fake.requests[0].params == {"limit": "3"}
    await catalogue.videos(500)
    assert fake.requests[1].params == {"limit": "50"}


async def test_is_alive(fake: MockAniLiberty, catalogue: V1Catalogue) -> None:
    fake.routes[("GET", "/app/status")] = lambda r: json_answer("app_status.json")
    assert await catalogue.is_alive()


async def test_catalogue_releases_with_filters(
    fake: MockAniLiberty, catalogue: V1Catalogue
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_answer("catalog_releases_page1_limit3.json")

    fake.routes[("GET", "/anime/catalog/releases")] = answer
    page = await catalogue.releases(
        genres=[20, 15],
        kinds=[TitleKind.TV, TitleKind.OTHER],
        seasons=["Winter"],
        years=(2020, None),
        search=" арне ",
        page=2,
        limit=500,
    )
    params = dict(seen[0].url.params)
    assert params == {
        "page": "2",
        "limit": "50",
        "f[sorting]": "FRESH_AT_DESC",
        "f[genres]": "15,20",
        "f[types]": "DORAMA,OAD,TV",
        "f[seasons]": "winter",
        "f[years][from_year]": "2020",
        "f[search]": "арне",
    }
    assert [t.id for t in page.titles] == [10126, 10096, 10149]
    assert page.total == 1811 and page.total_pages == 604 and page.has_more
    assert page.page == 1  # as the answer says


async def test_schedule_is_revalidated_by_etag(
    fake: MockAniLiberty, catalogue: V1Catalogue
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"week-1"':
            return httpx.Response(304, headers={"etag": '"week-1"'})
        return httpx.Response(
            200, json=load_fixture("schedule_week_sample.json"), headers={"etag": '"week-1"'}
        )

    fake.routes[("GET", "/anime/schedule/week")] = answer
    first = await catalogue.schedule()
    second = await catalogue.schedule()
    assert first == second and [d.day for d in second] == [0, 6]
    assert [s.status for s in fake.requests] == [200, 304]
