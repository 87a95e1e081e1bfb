"""V1Account: the Account role on AniLiberty v1 (a Bearer token per user).

Linking: :meth:`V1Account.request_code` gets a one-time code for a device id the bot chooses;
the user enters it at ``<site>/app/auth/otp/linkDevice``; :meth:`V1Account.redeem_code` polls
until the API hands out the token (401 meanwhile). A login and password also work.

A 401 or 403 of any call made with a token raises :class:`UnauthorizedError`: the bot then
forgets the token. Tokens and passkeys are never kept here nor put into a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

from bot.anilibria._lenient import parse_one
from bot.anilibria._types import FeedLink, OneTimeCode, Title
from bot.anilibria.errors import (
    EmptyCredentialsError,
    ExpiredCodeError,
    NotFoundError,
    ResponseShapeError,
    UnauthorizedError,
    UnknownParametersError,
    WrongPasswordError,
)
from bot.anilibria.v1 import _convert as convert
from bot.anilibria.v1 import _models as m
from bot.anilibria.v1._client import V1Client

__all__ = ["FAVORITES_PAGE", "MAX_FAVORITE_PAGES", "V1Account"]

_log = logging.getLogger("bot.anilibria.v1")

FAVORITES_PAGE = 50
MAX_FAVORITE_PAGES = 200  # 10 000 favorites: a guard against a server that never ends paging
_DEFAULT_CODE_LIFETIME = 120.0  # seconds, when the answer says nothing usable


class V1Account:
    supports_one_time_code = True

    def __init__(
        self, client: V1Client, site_url: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._site_url = site_url.rstrip("/")
        self._clock = clock

    # -- linking ----------------------------------------------------------------------------

    async def log_in(self, login: str, password: str) -> str:
        """The token for these credentials: 401 WrongPasswordError, 422 EmptyCredentialsError."""
        if not login.strip() or not password:
            raise EmptyCredentialsError("empty", "login and password are required")
        body = {"login": login.strip(), "password": password}
        try:
            data = await self._client.send("POST", "/accounts/users/auth/login", body)
        except UnauthorizedError as exc:
            raise WrongPasswordError("wrongPasswd", exc.message) from None
        except UnknownParametersError as exc:
            raise EmptyCredentialsError("empty", exc.message) from None
        return self._token(data, "login")

    async def request_code(self, device_id: str) -> OneTimeCode:
        data = await self._client.send("POST", "/accounts/otp/get", {"device_id": device_id})
        answer = parse_one(m.OtpAnswer, data, "otp/get")
        code = (answer.otp.code or "").strip()
        if not code.isdigit():
            raise ResponseShapeError("otp/get: the answer has no numeric code")
        now = self._clock()
        if answer.remaining_time is not None and answer.remaining_time > 0:
            expires_at = now + answer.remaining_time
        elif answer.otp.expired_at is not None:
            expires_at = float(convert.unix(answer.otp.expired_at) or now)
        else:
            expires_at = now + _DEFAULT_CODE_LIFETIME
        return OneTimeCode(
            code=code,
            device_id=answer.otp.device_id or device_id,
            expires_at=expires_at,
            link_url=f"{self._site_url}/app/auth/otp/linkDevice",
        )

    async def redeem_code(self, code: OneTimeCode) -> str | None:
        """The token once the user entered ``code`` on the site, None while they have not;
        ExpiredCodeError once it expired (then without asking) or the API forgot it (404)."""
        if self._clock() >= code.expires_at:
            raise ExpiredCodeError("the one-time code expired")
        if not code.code.isdigit():
            raise ExpiredCodeError("the one-time code is not a number")
        body = {"code": int(code.code), "device_id": code.device_id}
        try:
            data = await self._client.send("POST", "/accounts/otp/login", body)
        except UnauthorizedError:
            return None  # not accepted on the site yet
        except NotFoundError:
            raise ExpiredCodeError("the one-time code is unknown or expired") from None
        return self._token(data, "otp/login")

    @staticmethod
    def _token(data: object, what: str) -> str:
        token = parse_one(m.TokenAnswer, data, what).token
        if not token or not token.strip():
            raise ResponseShapeError(f"{what}: the answer has no token")
        return token.strip()

    # -- the user's own data ----------------------------------------------------------------

    async def favorites(self, token: str) -> list[Title]:
        """Every favorite, through every page."""
        titles: dict[int, Title] = {}
        for page in range(1, MAX_FAVORITE_PAGES + 1):
            data = await self._client.get(
                "/accounts/users/me/favorites/releases",
                {"page": page, "limit": FAVORITES_PAGE},
                token=token,
            )
            envelope = parse_one(m.ReleasePage, data, "favorites")
            for release in envelope.data:
                titles.setdefault(release.id, convert.title(release, self._site_url))
            if not envelope.data or not envelope.has_more:
                break
        else:
            _log.warning("AniLiberty favorites: stopped after %d pages", MAX_FAVORITE_PAGES)
        return list(titles.values())

    async def set_favorite(self, token: str, title_id: int, add: bool) -> None:
        method = "POST" if add else "DELETE"
        body = [{"release_id": title_id}]
        await self._client.send(method, "/accounts/users/me/favorites", body, token=token)

    async def _passkey(self, token: str) -> str | None:
        data = await self._client.get("/accounts/users/me/profile", token=token)
        profile = parse_one(m.Profile, data, "profile")
        passkey = profile.torrents.passkey if profile.torrents is not None else None
        return passkey.strip() if passkey and passkey.strip() else None

    async def feed_links(self, token: str) -> list[FeedLink]:
        """The user's torrent RSS (tracker links carry their passkey); none without one."""
        passkey = await self._passkey(token)
        if passkey is None:
            return []
        url = self._client.url("/anime/torrents/rss", {"pk": passkey})
        return [FeedLink("torrents", "Torrent RSS", url)]

    async def title_feed_url(self, token: str | None, title_id: int) -> str | None:
        return (await self.title_feed_urls(token, [title_id]))[title_id]

    async def title_feed_urls(self, token: str | None, title_ids: Sequence[int]) -> dict[int, str]:
        """One profile read for the passkey, whatever the number of titles."""
        passkey = await self._passkey(token) if token is not None else None
        params = {"pk": passkey} if passkey else None
        return {
            title_id: self._client.url(
                f"/anime/torrents/rss/release/{quote(str(title_id), safe='')}", params
            )
            for title_id in title_ids
        }
