"""What follow rules ask of v1, against the loopback AniLiberty fake: previews through the
catalogue's filters (genre names as ids, all genres required, members read for voice rules),
voice actors from /teams/users, and every title's torrent feed with one passkey read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.anilibria import TitleFilter, TitleKind
from bot.anilibria.v1 import V1Account, V1Catalogue, V1Client
from bot.anilibria.v1._rules import MEMBER_READS
from tests.fakes.aniliberty import FakeAniLiberty


@pytest.fixture
async def fake() -> AsyncIterator[FakeAniLiberty]:
    server = FakeAniLiberty(load_real=False)
    await server.start()
    server.add_release(1, "comedy-tv", "Комедия ТВ", genres=("Комедия", "Школа"), voices=("Anzen",))
    server.add_release(2, "comedy-movie", "Комедия фильм", genres=("Комедия",), type="MOVIE")
    server.add_release(3, "drama", "Драма", genres=("Драма",), voices=("Other",))
    server.add_release(
        4, "spring", "Весна", genres=("Школа",), season="spring", year=2025, voices=("Anzen",)
    )
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: FakeAniLiberty) -> AsyncIterator[V1Client]:
    http = V1Client(fake.api_url, fake.site_url, retries=0)
    yield http
    await http.aclose()


async def ids(catalogue: V1Catalogue, rule: TitleFilter) -> list[int]:
    return sorted(t.id for t in await catalogue.preview(rule, limit=10))


async def test_preview_uses_the_catalogue_filters(fake: FakeAniLiberty, client: V1Client) -> None:
    catalogue = V1Catalogue(client, fake.site_url)
    assert await ids(catalogue, TitleFilter(genres=("комедия",))) == [1, 2]
    request = fake.requests_to("/anime/catalog/releases")[-1]
    genre_id = next(g["id"] for g in fake.genres.values() if g["name"] == "Комедия")
    assert request.query["f[genres]"] == str(genre_id)
    assert await ids(catalogue, TitleFilter(genres=("Комедия", "Школа"))) == [1]
    assert await ids(catalogue, TitleFilter(kind=TitleKind.MOVIE)) == [2]
    assert fake.requests_to("/anime/catalog/releases")[-1].query["f[types]"] == "MOVIE"
    assert await ids(catalogue, TitleFilter(season="spring", year=2025)) == [4]
    before = fake.count("/anime/catalog/releases")
    assert await ids(catalogue, TitleFilter(genres=("Нет такого",))) == []
    assert fake.count("/anime/catalog/releases") == before  # unknown genre: nothing to ask


async def test_voice_preview_reads_members_a_bounded_number_of_times(
    fake: FakeAniLiberty, client: V1Client
) -> None:
    catalogue = V1Catalogue(client, fake.site_url)
    assert await ids(catalogue, TitleFilter(voices=("anzen",))) == [1, 4]
    assert await ids(catalogue, TitleFilter(genres=("Школа",), voices=("Other",))) == []
    for n in range(30):
        fake.add_release(100 + n, f"filler-{n}", f"Тайтл {n}", voices=("Nobody",))
    before = fake.count("/anime/releases/")
    await catalogue.preview(TitleFilter(voices=("Anzen",)), limit=5)
    assert fake.count("/anime/releases/") - before <= MEMBER_READS


async def test_voice_actors_from_the_team(fake: FakeAniLiberty, client: V1Client) -> None:
    fake.add_member(3, "Timer", role="timing")
    voices = await V1Catalogue(client, fake.site_url).voices()
    assert voices is not None and sorted(voices) == ["Anzen", "Other"]


async def test_title_feeds_read_the_passkey_once(fake: FakeAniLiberty, client: V1Client) -> None:
    account = V1Account(client, fake.site_url)
    user = fake.add_user("fan", "secret")
    token = fake.token_for(user)
    passkey = fake.users[user].passkey
    urls = await account.title_feed_urls(token, [1, 2, 3])
    assert sorted(urls) == [1, 2, 3]
    assert urls[2] == f"{fake.api_url}/anime/torrents/rss/release/2?pk={passkey}"
    assert fake.count("/accounts/users/me/profile") == 1
    anonymous = await account.title_feed_urls(None, [1])
    assert anonymous == {1: f"{fake.api_url}/anime/torrents/rss/release/1"}
