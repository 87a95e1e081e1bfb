"""AniLibriaClient against FakeAniLibriaRest served by a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from bot.anilibria.client import AniLibriaClient
from bot.anilibria.errors import (
    AlreadyAuthorizedError,
    AniLibriaError,
    ApiError,
    EmptyCredentialsError,
    InvalidUserError,
    LoginError,
    NotFoundError,
    RateLimitedError,
    ResponseShapeError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnknownParametersError,
    WrongPasswordError,
    WrongUserAgentError,
    api_error,
    login_error,
    redact,
)
from tests.fakes.anilibria_rest import FakeAniLibriaRest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "anilibria"
MAIL = FakeAniLibriaRest.DEFAULT_MAIL
PASSWORD = FakeAniLibriaRest.DEFAULT_PASSWORD


@pytest.fixture
def fake() -> FakeAniLibriaRest:
    return FakeAniLibriaRest()


@pytest.fixture
async def base_url(fake: FakeAniLibriaRest) -> AsyncIterator[str]:
    app = web.Application()
    fake.add_routes(app)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _client(base_url: str, **kwargs: object) -> AniLibriaClient:
    options: dict[str, object] = {"timeout": 2.0, "retries": 2, "backoff": 0.01}
    options.update(kwargs)
    return AniLibriaClient(f"{base_url}/v2", base_url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[AniLibriaClient]:
    async with _client(base_url) as c:
        yield c


def client_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What the client side logged (the fake server's own access log is not the client's)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp"))


def last_query(fake: FakeAniLibriaRest, path_end: str) -> dict[str, str]:
    return next(q for _, path, q in reversed(fake.requests) if path.endswith(path_end))


# -- titles ------------------------------------------------------------------------------------


async def test_get_title_by_id_code_and_torrent_id(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    by_id = await client.get_title(9174)
    by_code = await client.get_title(code="aoashi")
    by_torrent = await client.get_title(torrent_id=19905)
    assert (by_id.code, by_code.id, by_torrent.id) == ("summer-time-render", 9182, 9202)
    assert by_id.last_episode == 11
    assert [q for _, _, q in fake.requests] == [
        {"id": "9174"},
        {"code": "aoashi"},
        {"torrent_id": "19905"},
    ]


async def test_get_title_needs_a_key(client: AniLibriaClient) -> None:
    with pytest.raises(ValueError, match="id, code or torrent_id"):
        await client.get_title()


async def test_get_title_lists_are_joined_and_options_sent(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    title = await client.get_title(
        8700,
        filter=["id", "names.ru", "player", "torrents"],
        remove=["names.ru"],
        include=["raw_poster", "torrent_meta"],
        description_type="html",
        playlist_type="array",
    )
    assert fake.requests[-1][2] == {
        "id": "8700",
        "filter": "id,names.ru,player,torrents",
        "remove": "names.ru",
        "include": "raw_poster,torrent_meta",
        "description_type": "html",
        "playlist_type": "array",
    }
    assert title.id == 8700 and title.code is None and title.names.ru is None
    assert title.player is not None and title.player.episode_numbers == [1, 2]  # array -> dict
    assert title.torrents is not None
    metadata = title.torrents.list[0].metadata
    assert metadata is not None and metadata.files_list[0].size == 1024


async def test_get_titles(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    titles = await client.get_titles([9202, 8700], ["aoashi"], filter=["id", "code"])
    assert [t.id for t in titles] == [9202, 8700, 9182]
    assert fake.requests[-1][2] == {
        "id_list": "9202,8700",
        "code_list": "aoashi",
        "filter": "id,code",
    }


async def test_get_updates_paging_and_since(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    first = await client.get_updates()
    assert len(first) == 5
    updated = [t.updated or 0 for t in first]
    assert updated == sorted(updated, reverse=True)
    rest = await client.get_updates(limit=-1, after=5)
    assert len(rest) == 5 and {t.id for t in rest}.isdisjoint({t.id for t in first})
    newest = first[0].updated or 0
    assert await client.get_updates(since=newest) == []
    fake.add_title(fake.make_title(1, "new-one", "Новый", "New", episodes=1, updated=newest + 10))
    fresh = await client.get_updates(since=newest, description_type="plain", playlist_type="object")
    assert [t.id for t in fresh] == [1]
    assert fake.requests[-1][2] == {
        "since": str(newest),
        "description_type": "plain",
        "playlist_type": "object",
    }


async def test_get_changes(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    changes = await client.get_changes(limit=3, filter=["id", "last_change"], after=1)
    assert len(changes) == 3
    stamps = [t.last_change or 0 for t in changes]
    assert stamps == sorted(stamps, reverse=True)
    assert fake.requests[-1][2] == {"filter": "id,last_change", "limit": "3", "after": "1"}


async def test_get_schedule(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    days = await client.get_schedule([0, 6], filter=["id", "season"])
    assert fake.requests[-1][2] == {"days": "0,6", "filter": "id,season"}
    assert [d.day for d in days] == [0, 6]
    for day in days:
        assert day.list and all(t.season and t.season.week_day == day.day for t in day.list)
    everything = await client.get_schedule()
    assert {d.day for d in everything} == {0, 1, 2, 6}


async def test_get_random_title(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    title = await client.get_random_title(remove=["torrents"])
    assert title.id in fake.titles
    assert title.torrents is None
    assert fake.requests[-1][2] == {"remove": "torrents"}


async def test_search_titles(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    found = await client.search_titles(
        "летнее", year=[2022], season_code=[2], genres=["Детектив"], limit=10, after=0
    )
    assert [t.code for t in found] == ["summer-time-render"]
    assert fake.requests[-1][2] == {
        "search": "летнее",
        "year": "2022",
        "season_code": "2",
        "genres": "Детектив",
        "limit": "10",
        "after": "0",
    }
    voiced = await client.search_titles(voice=["Itashi", "Nobody"], translator=["2R"], limit=-1)
    assert "yu-gi-oh-shadow-game" in {t.code for t in voiced}
    assert last_query(fake, "searchTitles")["voice"] == "Itashi,Nobody"
    await client.search_titles(editing=["a"], decor=["b", "c"], timing=["d"])
    assert last_query(fake, "searchTitles") == {"editing": "a", "decor": "b,c", "timing": "d"}


async def test_advanced_search(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    found = await client.advanced_search(
        "{season.year} == 2022 and {type.series} >= 24",
        filter=["id", "code", "in_favorites", "type", "season"],
        order_by="in_favorites",
        sort_direction=1,
        limit=-1,
    )
    assert found and all(t.season and t.season.year == 2022 for t in found)
    assert all(t.type and (t.type.series or 0) >= 24 for t in found)
    favs = [t.in_favorites or 0 for t in found]
    assert favs == sorted(favs, reverse=True)
    assert fake.requests[-1][2]["query"] == "{season.year} == 2022 and {type.series} >= 24"
    old = await client.advanced_search("{season.year} == 1998")
    assert [t.code for t in old] == ["yu-gi-oh-shadow-game"]


# -- feed, YouTube, catalogue facts ------------------------------------------------------------


async def test_youtube_and_feed(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    videos = await client.get_youtube(limit=2, after=1, since=0, filter=["id", "youtube_id"])
    assert [v.id for v in videos] == [342, 341]
    assert videos[0].youtube_id == "video2" and videos[0].title is None
    feed = await client.get_feed(limit=-1, remove=["player", "torrents"])
    kinds = {("title" if item.title else "youtube") for item in feed}
    assert kinds == {"title", "youtube"}
    assert len(feed) == len(fake.titles) + len(fake.youtube)
    assert fake.requests[-1][2] == {"remove": "player,torrents", "limit": "-1"}


async def test_years_genres_nodes_team_seed_stats(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    assert await client.get_years() == [1998, 2003, 2022]
    genres = await client.get_genres()
    assert genres == sorted(genres) and "Комедия" in genres
    by_rating = await client.get_genres(sorting_type=1)
    assert sorted(by_rating) == genres and fake.requests[-1][2] == {"sorting_type": "1"}
    assert await client.get_caching_nodes() == fake.caching_nodes
    team = await client.get_team()
    assert "Itashi" in team.voice and "2R" in team.translator
    stats = await client.get_seed_stats(["alice", "bob"], sort_by="uploaded", order=1, limit=5)
    assert [s.user for s in stats] == ["bob", "alice"]
    assert fake.requests[-1][2] == {
        "users": "alice,bob",
        "sort_by": "uploaded",
        "order": "1",
        "limit": "5",
    }


async def test_rss(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    rss = await client.get_rss(limit=2)
    assert rss.startswith('<rss version="2.0">') and rss.count("<item>") == 2
    atom = await client.get_rss("atom", session="sess-123", since=0, after=1)
    assert "<feed" in atom
    assert fake.requests[-1][2] == {
        "rss_type": "atom",
        "session": "sess-123",
        "since": "0",
        "after": "1",
    }
    feed = json.loads(await client.get_rss("json"))
    assert len(feed["items"]) == 10


async def test_rss_url_makes_no_request(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    url = client.rss_url("json", "abc", limit=20)
    parts = urlsplit(url)
    assert url.startswith(client.api_url + "/getRSS?")
    assert parse_qs(parts.query) == {"rss_type": ["json"], "session": ["abc"], "limit": ["20"]}
    assert parse_qs(urlsplit(client.rss_url()).query) == {"rss_type": ["rss"]}
    assert fake.requests == []


# -- login and favorites -----------------------------------------------------------------------


async def test_login_and_favorites_round_trip(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    result = await client.login(MAIL, PASSWORD)
    assert len(result.session) == 32 and result.session in fake.sessions
    assert result.key == "success" and result.message == "Успех"
    assert fake.login_forms[-1] == {"mail": MAIL, "passwd": PASSWORD}
    assert len(client.cookies.jar) == 0
    session = result.session
    assert await client.get_favorites(session) == []
    await client.add_favorite(session, 9174)
    await client.add_favorite(session, 8700)
    assert fake.requests[-1][:2] == ("PUT", "/v2/addFavorite")
    assert fake.requests[-1][2] == {"session": session, "title_id": "8700"}
    favorites = await client.get_favorites(session, filter=["id"], limit=-1, after=0)
    assert [t.id for t in favorites] == [8700, 9174]
    await client.del_favorite(session, 9174)
    assert fake.requests[-1][:2] == ("DELETE", "/v2/delFavorite")
    assert [t.id for t in await client.get_favorites(session)] == [8700]


async def test_login_via_cookie_only_and_jar_stays_empty(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    fake.login_sends_session_id = False
    first = await client.login(MAIL, PASSWORD)
    assert first.session in fake.sessions
    assert len(client.cookies.jar) == 0
    # had the cookie been kept, the site would answer the next login "authorized"
    second = await client.login(MAIL, PASSWORD)
    assert second.session != first.session
    assert len(client.cookies.jar) == 0


@pytest.mark.parametrize(
    ("mail", "passwd", "error", "key"),
    [
        (MAIL, "wrong password", WrongPasswordError, "wrongPasswd"),
        ("nobody@example.com", "x", InvalidUserError, "invalidUser"),
        ("", "", EmptyCredentialsError, "empty"),
    ],
)
async def test_login_failures(
    client: AniLibriaClient, mail: str, passwd: str, error: type[LoginError], key: str
) -> None:
    with pytest.raises(error) as caught:
        await client.login(mail, passwd)
    assert caught.value.key == key
    if passwd:
        assert passwd not in str(caught.value) and passwd not in repr(caught.value)


async def test_login_wrong_user_agent(base_url: str) -> None:
    async with _client(base_url, user_agent="x" * 300) as client:
        with pytest.raises(WrongUserAgentError) as caught:
            await client.login(MAIL, PASSWORD)
    assert caught.value.key == "wrongUserAgent"


async def test_login_unknown_key_is_plain_login_error(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    fake.fail("login", 200, {"err": "error", "mes": "Капча", "key": "captcha"})
    with pytest.raises(LoginError) as caught:
        await client.login(MAIL, PASSWORD)
    assert type(caught.value) is LoginError and caught.value.key == "captcha"


async def test_login_server_trouble(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    fake.fail("login", 200, "<html>maintenance</html>", times=3)
    with pytest.raises(ServerError):
        await client.login(MAIL, PASSWORD)
    fake.fail("login", 503, "<html>down</html>", times=1)
    assert (await client.login(MAIL, PASSWORD)).session  # retried
    assert fake.count("login") == 5


async def test_expired_session_is_unauthorized_and_never_shown(
    client: AniLibriaClient, fake: FakeAniLibriaRest, caplog: pytest.LogCaptureFixture
) -> None:
    session = fake.new_session()
    await client.add_favorite(session, 9174)
    fake.expire_session(session)
    caplog.set_level(logging.DEBUG)
    for call in (
        client.get_favorites(session),
        client.add_favorite(session, 9174),
        client.del_favorite(session, 9174),
    ):
        with pytest.raises(UnauthorizedError) as caught:
            await call
        assert caught.value.code == 401
        assert session not in str(caught.value) and session not in repr(caught.value)
        assert "session=***" in str(caught.value)
    assert fake.count("getFavorites") == 1  # a 4xx is not retried
    assert session not in client_logs(caplog)


async def test_session_refused_by_message_is_unauthorized(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    fake.fail("getFavorites", 400, {"error": {"code": 400, "message": "Session expired"}})
    with pytest.raises(UnauthorizedError):
        await client.get_favorites("whatever")


async def test_add_favorite_success_false(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    session = fake.new_session()
    fake.fail("addFavorite", 200, {"success": False})
    with pytest.raises(ApiError, match="success=false"):
        await client.add_favorite(session, 9174)
    with pytest.raises(NotFoundError):
        await client.add_favorite(session, 1)


async def test_session_in_retried_server_errors_is_redacted(
    client: AniLibriaClient, fake: FakeAniLibriaRest, caplog: pytest.LogCaptureFixture
) -> None:
    session = fake.new_session()
    caplog.set_level(logging.DEBUG)
    fake.fail(
        "getFavorites", 500, {"error": {"code": 500, "message": "Internal Server Error!"}}, times=3
    )
    with pytest.raises(ServerError) as caught:
        await client.get_favorites(session)
    assert fake.count("getFavorites") == 3
    assert session not in str(caught.value) and session not in repr(caught.value)
    assert session not in client_logs(caplog)
    assert "retry" in client_logs(caplog)


# -- error classification, retries, timeouts ---------------------------------------------------


async def test_not_found(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get_title(code="blablabla")
    assert caught.value.code == 404 and caught.value.status_code == 404
    assert 'Title "blablabla" not found!' in caught.value.message
    assert fake.count("getTitle") == 1


async def test_unknown_parameters(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    fake.fail("getYears", 412, {"error": {"code": 412, "message": "Unknown parameters: code, id"}})
    with pytest.raises(UnknownParametersError) as caught:
        await client.get_years()
    assert caught.value.code == 412 and fake.count("getYears") == 1


async def test_fake_rejects_unknown_parameters_like_the_reference(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{base_url}/v2/getChanges", params={"playlist_type": "array", "x": "1"}
        )
    assert response.status_code == 412
    assert response.json() == {
        "error": {"code": 412, "message": "Unknown parameters: playlist_type, x"}
    }
    assert response.headers["API-Version"] == "2.13.1"


async def test_500_carrying_503_is_retried_then_raises(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    fake.fail("getGenres", 500, {"error": {"code": 503, "message": "Service Unavailable"}}, times=3)
    with pytest.raises(ServerError) as caught:
        await client.get_genres()
    assert (caught.value.code, caught.value.status_code) == (503, 500)
    assert fake.count("getGenres") == 3  # 1 + retries


async def test_5xx_retried_then_succeeds(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    fake.fail(
        "getTitle", 500, {"error": {"code": 500, "message": "Internal Server Error!"}}, times=2
    )
    title = await client.get_title(9174)
    assert title.id == 9174 and fake.count("getTitle") == 3


async def test_502_html_is_a_retried_server_error(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    fake.fail("getCachingNodes", 502, html, times=1)
    assert await client.get_caching_nodes() == fake.caching_nodes
    fake.fail("getCachingNodes", 502, html, times=3)
    with pytest.raises(ServerError) as caught:
        await client.get_caching_nodes()
    assert caught.value.code == 502 and "HTML" in caught.value.message
    assert fake.count("getCachingNodes") == 2 + 3


async def test_504_body_of_a_missing_title(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    body = (
        FIXTURES / "issue_payloads" / "error_v3_title_code_blablabla_504_2024-08-18.json"
    ).read_text()
    fake.fail("getTitle", 500, body, times=3, content_type="application/json")
    with pytest.raises(ServerError) as caught:
        await client.get_title(code="blablabla")
    assert caught.value.code == 504 and caught.value.message == "Gateway Timeout"


async def test_error_body_at_http_200(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    fake.fail("getTitle", 200, {"error": {"code": 404, "message": 'Title "x" not found!'}})
    with pytest.raises(NotFoundError):
        await client.get_title(code="x")
    assert fake.count("getTitle") == 1


async def test_bad_shapes(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    fake.fail("getTitle", 200, "<html>not json</html>")
    with pytest.raises(ResponseShapeError):
        await client.get_title(1)
    fake.fail("getTitle", 200, {"code": "no-id"})
    with pytest.raises(ResponseShapeError):
        await client.get_title(1)
    fake.fail("getUpdates", 200, {"unexpected": True})
    with pytest.raises(ResponseShapeError):
        await client.get_updates()
    fake.fail("getYears", 200, {"years": []})
    with pytest.raises(ResponseShapeError):
        await client.get_years()
    assert fake.count("getTitle") == 2  # shape errors are not retried


async def test_invalid_list_items_are_dropped(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    fake.fail("getUpdates", 200, [{"id": 1}, {"code": "no-id"}, "junk"])
    assert [t.id for t in await client.get_updates()] == [1]


async def test_timeouts_become_transport_error_within_bound(
    base_url: str, fake: FakeAniLibriaRest
) -> None:
    fake.delay("getYears", 3.0, times=5)
    async with _client(base_url, timeout=0.2, retries=1) as client:
        started = time.monotonic()
        with pytest.raises(TransportError):
            await client.get_years()
        elapsed = time.monotonic() - started
    assert elapsed < 1.6
    assert fake.count("getYears") == 2


async def test_total_timeout_bounds_all_retries(base_url: str, fake: FakeAniLibriaRest) -> None:
    fake.delay("getYears", 3.0, times=10)
    async with _client(base_url, timeout=0.3, retries=8, total_timeout=0.7) as client:
        started = time.monotonic()
        with pytest.raises(TransportError):
            await client.get_years()
        elapsed = time.monotonic() - started
    assert elapsed < 1.6
    assert 2 <= fake.count("getYears") <= 3


def test_default_retry_budget_stays_under_ten_seconds() -> None:
    client = AniLibriaClient("http://127.0.0.1:9/v2", "http://127.0.0.1:9")
    assert client._total_timeout < 10.0
    assert client._timeout == 5.0 and client._retries == 2


async def test_connection_refused_is_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    async with AniLibriaClient(f"{base}/v2", base, retries=1, backoff=0.01) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await client.get_favorites("secret-session-1")
        assert time.monotonic() - started < 3.0
    assert "secret-session-1" not in str(caught.value)
    assert isinstance(caught.value, AniLibriaError)


async def test_api_version_logged_once(
    client: AniLibriaClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.anilibria.client")
    assert client.api_version is None
    await client.get_years()
    await client.get_caching_nodes()
    await client.get_genres()
    records = [r for r in caplog.records if "2.13.1" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    assert client.api_version == "2.13.1"


def test_httpx_url_logging_is_quiet() -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


async def test_transport_seam() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[2001, "2002"], headers={"API-Version": "9.9"})

    transport = httpx.MockTransport(handler)
    async with AniLibriaClient(
        "https://api.test/v2/", "https://site.test", transport=transport
    ) as client:
        assert await client.get_years() == [2001, 2002]
        assert client.api_version == "9.9"
    assert str(seen[0].url) == "https://api.test/v2/getYears"
    assert seen[0].headers["User-Agent"] == "anilibria-bot/0.1"


# -- downloads ---------------------------------------------------------------------------------


async def test_download_poster_and_torrent(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    title = await client.get_title(9174)
    assert title.posters is not None and title.posters.best_url is not None
    poster = await client.download(title.posters.best_url)
    assert poster.startswith(b"\x89PNG\r\n\x1a\n")
    assert title.torrents is not None and title.torrents.list[0].url is not None
    torrent = await client.download(title.torrents.list[0].url)
    assert torrent.startswith(b"d8:announce")
    absolute = await client.download(f"{client.site_url}/storage/x.jpg")
    assert absolute == poster
    assert fake.count("storage") == 2 and fake.count("download") == 1


async def test_download_errors(client: AniLibriaClient, fake: FakeAniLibriaRest) -> None:
    with pytest.raises(NotFoundError):
        await client.download("/public/torrent/download.php?id=1")
    with pytest.raises(ResponseShapeError, match="over 10"):
        await client.download("/storage/big.jpg", max_bytes=10)
    fake.fail("storage", 503, "<html>busy</html>", times=1)
    assert (await client.download("storage/again.jpg")).startswith(b"\x89PNG")


# -- the fake's own state helpers --------------------------------------------------------------


async def test_fake_add_episode_shows_in_updates(
    client: AniLibriaClient, fake: FakeAniLibriaRest
) -> None:
    title = fake.add_title(
        fake.make_title(77, "made-up", "Выдумка", "Made up", episodes=2, series_total=12)
    )
    before = title["updated"]
    fake.add_episode(77, 3, timestamp=before + 100)
    newest = (await client.get_updates(limit=1))[0]
    assert newest.id == 77 and newest.last_episode == 3 and newest.updated == before + 100
    assert newest.player is not None and newest.player.series is not None
    assert newest.player.series.string == "1-3"
    assert newest.type is not None and newest.type.series == 12
    fake.remove_title(77)
    with pytest.raises(NotFoundError):
        await client.get_title(77)


# -- the error hierarchy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (404, 404, NotFoundError),
        (412, 412, UnknownParametersError),
        (401, 401, UnauthorizedError),
        (403, 403, UnauthorizedError),
        (503, 500, ServerError),
        (504, 500, ServerError),
        (None, 502, ServerError),
        (400, 400, ApiError),
        (None, 429, RateLimitedError),
    ],
)
def test_api_error_classification(code: int | None, status: int, expected: type[ApiError]) -> None:
    error = api_error(code, "m", status_code=status, url="http://x/v2/getFavorites?session=abc&y=1")
    assert type(error) is expected
    assert error.code == (code if code is not None else status)
    assert "abc" not in str(error) and error.url == "http://x/v2/getFavorites?session=***&y=1"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("wrongPasswd", WrongPasswordError),
        ("invalidUser", InvalidUserError),
        ("empty", EmptyCredentialsError),
        ("authorized", AlreadyAuthorizedError),
        ("wrongUserAgent", WrongUserAgentError),
        ("somethingNew", LoginError),
        (None, LoginError),
    ],
)
def test_login_error_classification(key: str | None, expected: type[LoginError]) -> None:
    error = login_error(key, "message")
    assert type(error) is expected and error.key == key
    assert isinstance(error, AniLibriaError)


def test_redact_hides_every_secret_shape() -> None:
    text = 'GET /v2/getRSS?session=s1&limit=2 Cookie: PHPSESSID=s2; {"sessionId": "s3"} passwd=s4'
    redacted = redact(text)
    assert not any(secret in redacted for secret in ("s1", "s2", "s3", "s4"))
    assert "limit=2" in redacted and redacted.count("***") == 4
