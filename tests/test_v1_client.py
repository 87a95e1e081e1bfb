"""V1Client's faults, retries, conditional GETs, tokens and downloads, over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bot.anilibria.errors import (
    AniLibriaError,
    ApiError,
    NotFoundError,
    RateLimitedError,
    ResponseShapeError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnknownParametersError,
)
from bot.anilibria.v1 import V1Client
from tests.fakes.aniliberty_mock import API, SITE, load_fixture

NOW = 1_800_000_000.0
TOKEN = "eyJpdiI6IlNFQ1JFVFRPS0VOIn0="
CLOUDFLARE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
HTML = {"content-type": "text/html; charset=UTF-8"}

Answer = httpx.Response | Exception


class Server:
    """A MockTransport handler giving its answers in turn (the last one forever)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers: list[Answer] = list(answers) or [httpx.Response(200, json=[])]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(server: Server | httpx.MockTransport | None, **options: Any) -> V1Client:
    settings: dict[str, Any] = {"retries": 2, "backoff": 0.01, "clock": lambda: NOW}
    settings.update(options)
    transport = httpx.MockTransport(server) if isinstance(server, Server) else server
    return V1Client(API, SITE, transport=transport, **settings)


async def test_headers_and_url() -> None:
    server = Server()
    async with client_for(server, user_agent="test-bot/1.0") as client:
        assert await client.get("/anime/releases/latest", {"limit": 5}) == []
    request = server.requests[0]
    assert str(request.url) == f"{API}/anime/releases/latest?limit=5"
    assert request.headers["user-agent"] == "test-bot/1.0"
    assert request.headers["accept"] == "application/json"
    assert "gzip" in request.headers["accept-encoding"]
    assert "authorization" not in request.headers


async def test_gzip_body_is_decoded() -> None:
    body = gzip.compress(json.dumps({"ok": "да"}).encode())
    server = Server(httpx.Response(200, content=body, headers={"content-encoding": "gzip"}))
    async with client_for(server) as client:
        assert await client.get("/x") == {"ok": "да"}


async def test_429_with_long_retry_after_seconds_is_raised_at_once() -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "120"}, json={}))
    async with client_for(server) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.get("/anime/releases/latest")
    assert caught.value.retry_after == 120
    assert caught.value.status_code == 429
    assert len(server.requests) == 1


async def test_429_with_retry_after_date() -> None:
    when = datetime.fromtimestamp(NOW + 90, UTC)
    server = Server(httpx.Response(429, headers={"Retry-After": format_datetime(when, True)}))
    async with client_for(server) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.get("/anime/releases/latest")
    assert caught.value.retry_after == pytest.approx(90, abs=1)
    assert len(server.requests) == 1


async def test_429_without_usable_retry_after() -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "soon"}))
    async with client_for(server) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.get("/x")
    assert caught.value.retry_after is None
    assert len(server.requests) == 1


async def test_429_with_short_retry_after_is_waited_out() -> None:
    server = Server(
        httpx.Response(429, headers={"Retry-After": "0.05"}), httpx.Response(200, json=[1])
    )
    async with client_for(server) as client:
        assert await client.get("/x") == [1]
    assert len(server.requests) == 2


async def test_503_html_page_is_retried_then_server_error() -> None:
    server = Server(httpx.Response(503, content=CLOUDFLARE, headers=HTML))
    async with client_for(server, retries=2) as client:
        with pytest.raises(ServerError) as caught:
            await client.get("/anime/releases/latest")
    assert len(server.requests) == 3  # the first try and two retries
    assert caught.value.status_code == 503
    assert "HTML" in str(caught.value)


async def test_5xx_then_success() -> None:
    server = Server(httpx.Response(502), httpx.Response(500), httpx.Response(200, json={"a": 1}))
    async with client_for(server, retries=3) as client:
        assert await client.get("/x") == {"a": 1}
    assert len(server.requests) == 3


async def test_cloudflare_page_with_200_is_a_server_error() -> None:
    server = Server(httpx.Response(200, content=CLOUDFLARE, headers=HTML))
    async with client_for(server, retries=1) as client:
        with pytest.raises(ServerError):
            await client.get("/anime/releases/unknown-alias")
    assert len(server.requests) == 2


async def test_non_json_200_is_a_shape_error_not_retried() -> None:
    server = Server(httpx.Response(200, content=b"\x00\x01", headers={"content-type": "x/y"}))
    async with client_for(server) as client:
        with pytest.raises(ResponseShapeError):
            await client.get("/x")
    assert len(server.requests) == 1


async def test_connection_reset_becomes_transport_error_after_retries() -> None:
    server = Server(httpx.ReadError("[Errno 104] Connection reset by peer"))
    async with client_for(server, retries=2) as client:
        with pytest.raises(TransportError) as caught:
            await client.get("/anime/releases/latest")
    assert len(server.requests) == 3
    assert "ReadError" in str(caught.value)


async def test_connection_refused_then_success() -> None:
    server = Server(httpx.ConnectError("refused"), httpx.Response(200, json=[]))
    async with client_for(server) as client:
        assert await client.get("/x") == []
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "api_url", ["ftp://aniliberty.test/api/v1", "http://[::1/api/v1", "aniliberty.test/api/v1"]
)
async def test_bad_url_becomes_transport_error(api_url: str) -> None:
    async with V1Client(api_url, SITE, retries=0) as client:
        with pytest.raises(TransportError):
            await client.get("/anime/releases/latest")


async def test_no_answer_within_the_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=[])

    started = time.monotonic()
    transport = httpx.MockTransport(hang)
    async with client_for(transport, timeout=0.1, total_timeout=0.35, retries=5) as client:
        with pytest.raises(TransportError):
            await client.get("/x")
    assert time.monotonic() - started < 2.0


async def test_422_is_unknown_parameters_with_the_laravel_message() -> None:
    server = Server(httpx.Response(422, json=load_fixture("validation_error_422.json")))
    async with client_for(server) as client:
        with pytest.raises(UnknownParametersError) as caught:
            await client.get("/anime/releases/latest", {"limit": 51})
    assert caught.value.message == "The limit field must not be greater than 50."
    assert caught.value.status_code == 422
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "token", "error"),
    [
        (404, None, NotFoundError),
        (401, None, UnauthorizedError),
        (401, TOKEN, UnauthorizedError),
        (403, TOKEN, UnauthorizedError),
        (400, None, ApiError),
    ],
)
async def test_4xx_statuses(status: int, token: str | None, error: type[Exception]) -> None:
    server = Server(httpx.Response(status, json={"message": "no"}))
    async with client_for(server) as client:
        with pytest.raises(error) as caught:
            await client.get("/accounts/users/me/profile", token=token)
    assert type(caught.value) is error
    assert len(server.requests) == 1  # a 4xx is never retried


async def test_403_without_a_token_is_a_block_not_an_expired_token() -> None:
    server = Server(httpx.Response(403, json={"message": "blocked in your country"}))
    async with client_for(server) as client:
        with pytest.raises(ApiError) as caught:
            await client.get("/anime/torrents/release/9789")
    assert not isinstance(caught.value, UnauthorizedError)
    assert caught.value.status_code == 403


async def test_cloudflare_403_with_a_token_does_not_kill_the_token() -> None:
    server = Server(httpx.Response(403, content=CLOUDFLARE, headers=HTML))
    async with client_for(server, retries=0) as client:
        with pytest.raises(ServerError):
            await client.get("/accounts/users/me/profile", token=TOKEN)


async def test_token_goes_in_one_call_and_never_into_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = Server(
        httpx.Response(500, json={"message": f"Bearer {TOKEN} broke"}),
        httpx.Response(401, json={"message": f"token: {TOKEN} is invalid"}),
        httpx.Response(200, json=[]),
    )
    async with client_for(server, retries=1) as client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.get("/accounts/users/me/favorites/ids", token=TOKEN)
        await client.get("/anime/releases/latest")
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert server.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in server.requests[2].headers  # not kept on the client
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    assert "SECRETTOKEN" not in caplog.text and TOKEN not in caplog.text


async def test_malformed_token_is_refused_without_a_request() -> None:
    server = Server()
    async with client_for(server) as client:
        with pytest.raises(UnauthorizedError):
            await client.get("/accounts/users/me/profile", token="abc\r\nX-Evil: 1")
    assert server.requests == []


async def test_json_body_for_post_and_delete() -> None:
    server = Server(httpx.Response(200, json=[10292]))
    async with client_for(server) as client:
        body = [{"release_id": 10292}]
        assert await client.send("POST", "/accounts/users/me/favorites", body, token=TOKEN) == [
            10292
        ]
        await client.send("DELETE", "/accounts/users/me/favorites", body, token=TOKEN)
    for request, method in zip(server.requests, ("POST", "DELETE"), strict=True):
        assert request.method == method
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body


async def test_empty_answer_is_none() -> None:
    server = Server(httpx.Response(204))
    async with client_for(server) as client:
        assert await client.send("DELETE", "/x", [], token=TOKEN) is None


async def test_cookies_are_never_kept() -> None:
    server = Server(
        httpx.Response(200, json={}, headers={"set-cookie": "laravel_session=abc; Path=/"}),
        httpx.Response(200, json={}),
    )
    async with client_for(server) as client:
        await client.get("/accounts/users/me/profile", token=TOKEN)
        await client.get("/anime/releases/latest")
    assert "cookie" not in server.requests[1].headers


async def test_304_reuses_the_cached_body_by_etag() -> None:
    first = httpx.Response(200, json=[{"id": 1}], headers={"ETag": '"v1"'})
    server = Server(first, httpx.Response(304, headers={"ETag": '"v1"'}))
    async with client_for(server) as client:
        one = await client.get_reply("/anime/releases/latest", {"limit": 50}, revalidate=True)
        two = await client.get_reply("/anime/releases/latest", {"limit": 50}, revalidate=True)
    assert "if-none-match" not in server.requests[0].headers
    assert server.requests[1].headers["if-none-match"] == '"v1"'
    assert not one.not_modified and two.not_modified
    assert two.data == one.data == [{"id": 1}]


async def test_304_by_last_modified_and_only_for_the_same_url() -> None:
    stamp = "Sat, 26 Sep 2026 12:50:50 GMT"
    server = Server(
        httpx.Response(200, json=[1], headers={"Last-Modified": stamp}),
        httpx.Response(200, json=[2]),
        httpx.Response(304),
    )
    async with client_for(server) as client:
        await client.get_reply("/a", revalidate=True)
        await client.get_reply("/a", {"page": 2}, revalidate=True)
        again = await client.get_reply("/a", revalidate=True)
    assert "if-modified-since" not in server.requests[1].headers  # another URL
    assert server.requests[2].headers["if-modified-since"] == stamp
    assert again.not_modified and again.data == [1]


async def test_no_conditional_request_with_a_token_or_without_revalidate() -> None:
    server = Server(httpx.Response(200, json=[], headers={"ETag": '"e"'}))
    async with client_for(server) as client:
        await client.get_reply("/a", revalidate=True, token=TOKEN)
        await client.get_reply("/a", revalidate=True, token=TOKEN)
        await client.get_reply("/b")
        await client.get_reply("/b")
    assert all("if-none-match" not in r.headers for r in server.requests)


async def test_no_httpx_exception_escapes() -> None:
    for fault in (
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadTimeout("slow"),
        httpx.ProxyError("proxy"),
        httpx.UnsupportedProtocol("gopher"),
        httpx.DecodingError("bad gzip"),
    ):
        async with client_for(Server(fault), retries=0) as client:
            with pytest.raises(AniLibriaError):
                await client.get("/x")


# -- downloads -------------------------------------------------------------------------------


async def test_download_a_torrent() -> None:
    payload = b"d8:announce3:url4:infod4:name1:xee"
    server = Server(
        httpx.Response(200, content=payload, headers={"content-type": "application/x-bittorrent"})
    )
    async with client_for(server) as client:
        assert await client.download("/anime/torrents/40138/file") == payload
    assert server.requests[0].url.path == "/api/v1/anime/torrents/40138/file"


async def test_download_size_cap() -> None:
    big = b"d" + b"x" * 2000
    declared = Server(httpx.Response(200, content=big))
    async with client_for(declared, max_download=1000) as client:
        with pytest.raises(ResponseShapeError):
            await client.download("/anime/torrents/1/file")

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 100

    streamed = Server(httpx.Response(200, content=chunks()))
    async with client_for(streamed, max_download=1000) as client:
        with pytest.raises(ResponseShapeError):
            await client.download("/anime/torrents/1/file")


async def test_download_follows_redirects_only_to_own_hosts() -> None:
    server = Server(
        httpx.Response(302, headers={"location": f"{SITE}/storage/torrents/1.torrent"}),
        httpx.Response(200, content=b"d4:infode"),
    )
    async with client_for(server) as client:
        assert await client.download("/anime/torrents/1/file") == b"d4:infode"
    assert str(server.requests[1].url) == f"{SITE}/storage/torrents/1.torrent"

    evil = Server(httpx.Response(302, headers={"location": "https://evil.test/x.torrent"}))
    async with client_for(evil) as client:
        with pytest.raises(ApiError) as caught:
            await client.download("/anime/torrents/1/file")
    assert "foreign host" in str(caught.value)
    assert len(evil.requests) == 1


async def test_download_errors() -> None:
    async with client_for(Server(httpx.Response(404, json={"message": "no"}))) as client:
        with pytest.raises(NotFoundError):
            await client.download("/anime/torrents/1/file")
    html = Server(httpx.Response(200, content=CLOUDFLARE, headers=HTML))
    async with client_for(html, retries=0) as client:
        with pytest.raises(ServerError):
            await client.download("/anime/torrents/1/file")
    reset = Server(httpx.ReadError("reset"))
    async with client_for(reset, retries=1) as client:
        with pytest.raises(TransportError):
            await client.download("/anime/torrents/1/file")
    assert len(reset.requests) == 2
