"""V1Account: password login, one-time-code linking, favorites, feed links."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.anilibria._roles import Account
from bot.anilibria._types import OneTimeCode
from bot.anilibria.errors import (
    EmptyCredentialsError,
    ExpiredCodeError,
    LoginError,
    NotFoundError,
    UnauthorizedError,
    WrongPasswordError,
)
from bot.anilibria.v1 import V1Account, V1Client
from tests.fakes.aniliberty_mock import API, SITE, MockAniLiberty, load_fixture

TOKEN = "eyJpdiI6Ik9UUFRPS0VOIn0="
PASSKEY = "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> MockAniLiberty:
    return MockAniLiberty()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def account(fake: MockAniLiberty, clock: Clock) -> AsyncIterator[V1Account]:
    client = V1Client(API, SITE, transport=fake.transport, retries=0, clock=clock)
    yield V1Account(client, SITE, clock=clock)
    await client.aclose()


def body(fake: MockAniLiberty, index: int = -1) -> Any:
    return json.loads(fake.requests[index].body)


def test_implements_the_role(account: V1Account) -> None:
    role: Account = account
    assert role.supports_one_time_code is True


# -- password ---------------------------------------------------------------------------------


async def test_log_in(fake: MockAniLiberty, account: V1Account) -> None:
    fake.routes[("POST", "/accounts/users/auth/login")] = lambda r: httpx.Response(
        200, json={"token": TOKEN}
    )
    assert await account.log_in(" user@example.com ", "pa ss") == TOKEN
    assert body(fake) == {"login": "user@example.com", "password": "pa ss"}
    assert fake.requests[-1].headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "error"), [(401, WrongPasswordError), (422, EmptyCredentialsError)]
)
async def test_log_in_refused(
    fake: MockAniLiberty, account: V1Account, status: int, error: type[LoginError]
) -> None:
    fake.routes[("POST", "/accounts/users/auth/login")] = lambda r: httpx.Response(
        status, json={"message": "Неверный логин или пароль"}
    )
    with pytest.raises(error) as caught:
        await account.log_in("user", "hunter2")
    assert "hunter2" not in str(caught.value)


async def test_log_in_with_nothing_asks_nothing(fake: MockAniLiberty, account: V1Account) -> None:
    with pytest.raises(EmptyCredentialsError):
        await account.log_in("  ", "x")
    with pytest.raises(EmptyCredentialsError):
        await account.log_in("user", "")
    assert fake.requests == []


# -- one-time code ----------------------------------------------------------------------------


def otp_answer(code: Any = "058701") -> httpx.Response:
    otp = {"code": code, "device_id": "chat-42", "expired_at": None, "user_id": None}
    return httpx.Response(200, json={"otp": otp, "remaining_time": 120})


async def test_code_then_pending_then_token(
    fake: MockAniLiberty, account: V1Account, clock: Clock
) -> None:
    fake.routes[("POST", "/accounts/otp/get")] = lambda r: otp_answer()
    code = await account.request_code("chat-42")
    assert code == OneTimeCode(
        code="058701",
        device_id="chat-42",
        expires_at=clock.now + 120,
        link_url=f"{SITE}/app/auth/otp/linkDevice",
    )
    assert body(fake) == {"device_id": "chat-42"}

    answers = [
        httpx.Response(401, json={"message": "Unauthenticated."}),
        httpx.Response(200, json={"token": TOKEN}),
    ]
    fake.routes[("POST", "/accounts/otp/login")] = lambda r: answers.pop(0)
    assert await account.redeem_code(code) is None  # not entered on the site yet
    clock.now += 5
    assert await account.redeem_code(code) == TOKEN
    assert body(fake) == {"code": 58701, "device_id": "chat-42"}  # an integer here
    assert "authorization" not in fake.requests[-1].headers


async def test_numeric_code_keeps_its_zeros(fake: MockAniLiberty, account: V1Account) -> None:
    fake.routes[("POST", "/accounts/otp/get")] = lambda r: otp_answer(1234)
    assert (await account.request_code("d")).code == "001234"


async def test_expired_code_is_not_asked_about(
    fake: MockAniLiberty, account: V1Account, clock: Clock
) -> None:
    code = OneTimeCode("058701", "chat-42", expires_at=clock.now + 120, link_url="x")
    clock.now += 121
    with pytest.raises(ExpiredCodeError):
        await account.redeem_code(code)
    assert fake.requests == []


async def test_forgotten_code_is_expired(
    fake: MockAniLiberty, account: V1Account, clock: Clock
) -> None:
    fake.routes[("POST", "/accounts/otp/login")] = lambda r: httpx.Response(
        404, json={"message": "OTP not found"}
    )
    code = OneTimeCode("058701", "chat-42", expires_at=clock.now + 60, link_url="x")
    with pytest.raises(ExpiredCodeError):
        await account.redeem_code(code)
    assert len(fake.requests) == 1


async def test_code_could_not_be_made(fake: MockAniLiberty, account: V1Account) -> None:
    fake.routes[("POST", "/accounts/otp/get")] = lambda r: httpx.Response(
        404, json={"message": "could not create OTP"}
    )
    with pytest.raises(NotFoundError):
        await account.request_code("chat-42")


# -- the user's data --------------------------------------------------------------------------


def favorites_route(fake: MockAniLiberty, total: int) -> None:
    template = load_fixture("catalog_releases_page1_limit3.json")["data"][0]

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        limit = int(request.url.params["limit"])
        ids = list(range(1, total + 1))[(page - 1) * limit : page * limit]
        pages = (total + limit - 1) // limit
        data = [dict(template, id=i, alias=f"t{i}") for i in ids]
        meta = {"pagination": {"total": total, "current_page": page, "total_pages": pages}}
        return httpx.Response(200, json={"data": data, "meta": meta})

    fake.routes[("GET", "/accounts/users/me/favorites/releases")] = answer


async def test_favorites_through_every_page(fake: MockAniLiberty, account: V1Account) -> None:
    favorites_route(fake, 107)
    titles = await account.favorites(TOKEN)
    assert [t.id for t in titles] == list(range(1, 108))
    assert [r.params for r in fake.requests] == [
        {"page": "1", "limit": "50"},
        {"page": "2", "limit": "50"},
        {"page": "3", "limit": "50"},
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)


async def test_no_favorites(fake: MockAniLiberty, account: V1Account) -> None:
    favorites_route(fake, 0)
    assert await account.favorites(TOKEN) == []
    assert len(fake.requests) == 1


async def test_set_favorite(fake: MockAniLiberty, account: V1Account) -> None:
    for method in ("POST", "DELETE"):
        fake.routes[(method, "/accounts/users/me/favorites")] = lambda r: httpx.Response(
            200, json=[10292]
        )
    await account.set_favorite(TOKEN, 10292, True)
    await account.set_favorite(TOKEN, 10292, False)
    assert [r.method for r in fake.requests] == ["POST", "DELETE"]
    assert [json.loads(r.body) for r in fake.requests] == [[{"release_id": 10292}]] * 2


@pytest.mark.parametrize("status", [401, 403])
async def test_a_dead_token_is_unauthorized_everywhere(
    fake: MockAniLiberty, account: V1Account, status: int
) -> None:
    refuse = lambda r: httpx.Response(status, json={"message": "Unauthenticated."})  # noqa: E731
    for key in [
        ("GET", "/accounts/users/me/favorites/releases"),
        ("POST", "/accounts/users/me/favorites"),
        ("DELETE", "/accounts/users/me/favorites"),
        ("GET", "/accounts/users/me/profile"),
    ]:
        fake.routes[key] = refuse
    with pytest.raises(UnauthorizedError):
        await account.favorites(TOKEN)
    with pytest.raises(UnauthorizedError):
        await account.set_favorite(TOKEN, 1, True)
    with pytest.raises(UnauthorizedError):
        await account.set_favorite(TOKEN, 1, False)
    with pytest.raises(UnauthorizedError):
        await account.feed_links(TOKEN)
    with pytest.raises(UnauthorizedError):
        await account.title_feed_url(TOKEN, 1)
    assert len(fake.requests) == 5


def profile_route(fake: MockAniLiberty, passkey: str | None) -> None:
    profile = {
        "id": 1,
        "login": "user",
        "torrents": {"passkey": passkey, "uploaded": 0, "downloaded": 0},
    }
    fake.routes[("GET", "/accounts/users/me/profile")] = lambda r: httpx.Response(200, json=profile)


async def test_feed_links(fake: MockAniLiberty, account: V1Account) -> None:
    profile_route(fake, PASSKEY)
    links = await account.feed_links(TOKEN)
    assert [(link.key, link.url) for link in links] == [
        ("torrents", f"{API}/anime/torrents/rss?pk={PASSKEY}")
    ]
    assert PASSKEY not in repr(links[0])  # FeedLink hides its URL from repr
    profile_route(fake, None)
    assert await account.feed_links(TOKEN) == []


async def test_title_feed_url(fake: MockAniLiberty, account: V1Account) -> None:
    assert await account.title_feed_url(None, 9789) == f"{API}/anime/torrents/rss/release/9789"
    assert fake.requests == []  # no token, no request
    profile_route(fake, PASSKEY)
    url = await account.title_feed_url(TOKEN, 9789)
    assert url == f"{API}/anime/torrents/rss/release/9789?pk={PASSKEY}"
