"""Accounts of the fake AniLiberty API v1: login, one-time codes (device linking), the profile
and favorites, with their control methods.

Private to :mod:`tests.fakes.aniliberty`. Tokens are opaque strings (base64 of a Laravel-style
``{"iv","value","mac","tag"}`` blob, like the spec's examples) sent as ``Authorization: Bearer``.
A missing, unknown or expired token on a protected endpoint answers ``auth_failure_status``
(401 ``{"message": "Unauthenticated."}``; set it to 403 as some clients report of the live API).

Guesses where the reference is silent: the 401 body of wrong credentials
(``{"message": "Invalid credentials"}``); ``otp/accept`` answers ``{}``; a code is consumed by a
successful ``otp/login``; ``otp/get`` again gives a new code and leaves older ones valid;
favorites ids are listed in the order they were added; favorites releases sort
``CREATED_AT_DESC`` (newest favorite first) by default. Codes and ``code`` fields follow
Laravel's ``integer`` rule: a JSON number, or a string without a leading zero.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.aniliberty_data import iso
from tests.fakes.aniliberty_filters import SORTINGS, haystack
from tests.fakes.aniliberty_http import ApiError, not_found, php_int, validation_error
from tests.fakes.aniliberty_routes import AnimeRoutesMixin

__all__ = ["AccountsMixin", "Otp", "User"]


@dataclass
class User:
    id: int
    login: str
    password: str
    email: str
    nickname: str
    passkey: str
    created_at: float
    favorites: dict[int, float] = field(default_factory=dict)  # release id -> when (in order)


@dataclass
class Otp:
    code: str  # six digits, may start with 0
    device_id: str
    expires_at: float
    user_id: int | None = None
    used: bool = False

    def alive(self) -> bool:
        return not self.used and time.time() < self.expires_at


def _new_token() -> str:
    blob = {
        "iv": base64.b64encode(secrets.token_bytes(16)).decode(),
        "value": base64.b64encode(secrets.token_bytes(48)).decode(),
        "mac": secrets.token_hex(32),
        "tag": "",
    }
    return base64.b64encode(json.dumps(blob, separators=(",", ":")).encode()).decode()


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, {"message": "Malformed JSON"}) from None


class AccountsMixin(AnimeRoutesMixin):
    """Users, tokens, one-time codes and favorites."""

    DEFAULT_LOGIN = "tester"
    DEFAULT_EMAIL = "tester@example.com"
    DEFAULT_PASSWORD = "correct horse battery staple"

    def _init_accounts(self) -> None:
        self.users: dict[int, User] = {}
        self.tokens: dict[str, int] = {}  # live token -> user id
        self.otps: dict[str, Otp] = {}
        self.auth_failure_status = 401
        self.otp_ttl = 120.0
        self._next_codes: deque[str] = deque()
        self._next_user_id = 1337
        self.default_user_id = self.add_user(
            self.DEFAULT_LOGIN, self.DEFAULT_PASSWORD, email=self.DEFAULT_EMAIL
        )

    def _add_account_routes(self, app: web.Application, api: str) -> None:
        post = app.router.add_post
        post(f"{api}/accounts/users/auth/login", self._login)
        post(f"{api}/accounts/users/auth/logout", self._logout)
        post(f"{api}/accounts/otp/get", self._otp_get)
        post(f"{api}/accounts/otp/accept", self._otp_accept)
        post(f"{api}/accounts/otp/login", self._otp_login)
        app.router.add_get(f"{api}/accounts/users/me/profile", self._profile)
        app.router.add_get(f"{api}/accounts/users/me/favorites/ids", self._favorite_ids)
        app.router.add_get(f"{api}/accounts/users/me/favorites/releases", self._favorite_releases)
        post(f"{api}/accounts/users/me/favorites", self._favorites_add)
        app.router.add_delete(f"{api}/accounts/users/me/favorites", self._favorites_remove)

    # -- control -------------------------------------------------------------------------------

    def add_user(
        self, login: str, password: str, *, email: str | None = None, nickname: str | None = None
    ) -> int:
        """A new account (login or email + password log in). Returns the user id."""
        user_id = self._next_user_id
        self._next_user_id += 1
        self.users[user_id] = User(
            id=user_id,
            login=login,
            password=password,
            email=email or f"{login}@example.com",
            nickname=nickname or login,
            passkey=secrets.token_hex(16),
            created_at=time.time(),
        )
        return user_id

    def token_for(self, user_id: int) -> str:
        """A fresh valid token of ``user_id``, as a login would give."""
        if user_id not in self.users:
            raise KeyError(f"no user {user_id}")
        token = _new_token()
        self.tokens[token] = user_id
        return token

    def expire_token(self, token: str) -> None:
        """The token stops working (protected endpoints answer ``auth_failure_status``)."""
        self.tokens.pop(token, None)

    def tokens_of(self, user_id: int) -> list[str]:
        return [t for t, uid in self.tokens.items() if uid == user_id]

    def next_otp_code(self, code: str) -> None:
        """The code the next ``otp/get`` hands out (e.g. "058701" to test a leading zero)."""
        if len(code) != 6 or not code.isdigit():
            raise ValueError("a code is six digits")
        self._next_codes.append(code)

    def latest_otp(self) -> Otp | None:
        """The code handed out last (what the bot showed its user)."""
        return next(reversed(self.otps.values()), None)

    def accept_otp(self, code: str, user_id: int) -> None:
        """What the site does when the user types ``code`` on the linkDevice page."""
        if user_id not in self.users:
            raise KeyError(f"no user {user_id}")
        self.otps[code].user_id = user_id

    def expire_otp(self, code: str) -> None:
        self.otps[code].expires_at = time.time() - 1

    def favorites_of(self, user_id: int) -> list[int]:
        return list(self.users[user_id].favorites)

    def add_favorite(self, user_id: int, *release_ids: int) -> None:
        user = self.users[user_id]
        for release_id in release_ids:
            self._favor(user, release_id, True)

    def _favor(self, user: User, release_id: int, add: bool) -> None:
        release = self.releases.get(release_id)
        if add and release_id not in user.favorites:
            user.favorites[release_id] = time.time()
            if release is not None:
                release["added_in_users_favorites"] += 1
        elif not add and release_id in user.favorites:
            del user.favorites[release_id]
            if release is not None:
                release["added_in_users_favorites"] -= 1

    # -- auth ----------------------------------------------------------------------------------

    def optional_user(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user_id = self.tokens.get(token.strip())
        return self.users.get(user_id) if user_id is not None else None

    def _user(self, request: web.Request) -> User:
        user = self.optional_user(request)
        if user is None:
            raise ApiError(self.auth_failure_status)
        return user

    async def _login(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        body = body if isinstance(body, dict) else {}
        errors = {
            name: f"The {name} field is required."
            for name in ("login", "password")
            if not isinstance(body.get(name), str) or not body[name]
        }
        if errors:
            raise validation_error(errors)
        for user in self.users.values():
            if body["login"] in (user.login, user.email) and body["password"] == user.password:
                return self._answer(request, {"token": self.token_for(user.id)})
        raise ApiError(401, {"message": "Invalid credentials"})

    async def _logout(self, request: web.Request) -> web.Response:
        self._user(request)
        token = request.headers["Authorization"].partition(" ")[2].strip()
        self.expire_token(token)
        return self._answer(request, {"token": None})

    # -- one-time codes ------------------------------------------------------------------------

    async def _otp_get(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        device_id = body.get("device_id") if isinstance(body, dict) else None
        if not isinstance(device_id, str) or not device_id:
            raise validation_error({"device_id": "The device id field is required."})
        code = self._next_codes.popleft() if self._next_codes else None
        while code is None or (code in self.otps and self.otps[code].alive()):
            code = f"{self.rng.randrange(1_000_000):06d}"
        otp = Otp(code=code, device_id=device_id, expires_at=time.time() + self.otp_ttl)
        self.otps.pop(code, None)
        self.otps[code] = otp
        return self._answer(request, self._otp_view(otp))

    def _otp_view(self, otp: Otp) -> dict[str, Any]:
        remaining = max(0, round(otp.expires_at - time.time()))
        return {
            "otp": {
                "code": otp.code,
                "device_id": otp.device_id,
                "expired_at": iso(otp.expires_at),
                "user_id": otp.user_id,
            },
            "remaining_time": remaining,
        }

    def _find_otp(self, raw: Any) -> Otp | None:
        number = php_int(raw)
        for otp in self.otps.values():
            if number is not None and int(otp.code) == number and otp.alive():
                return otp
        return None

    def _code_errors(self, body: Any) -> dict[str, str]:
        raw = body.get("code") if isinstance(body, dict) else None
        if raw is None or raw == "":
            return {"code": "The code field is required."}
        if php_int(raw) is None:
            return {"code": "The code field must be an integer."}
        return {}

    async def _otp_accept(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _json_body(request)
        if errors := self._code_errors(body):
            raise validation_error(errors)
        otp = self._find_otp(body["code"])
        if otp is None:
            raise not_found("OTP not found")
        otp.user_id = user.id
        return self._answer(request, {})

    async def _otp_login(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        errors = self._code_errors(body)
        device_id = body.get("device_id") if isinstance(body, dict) else None
        if not isinstance(device_id, str) or not device_id:
            errors["device_id"] = "The device id field is required."
        if errors:
            raise validation_error(errors)
        otp = self._find_otp(body["code"])
        if otp is None or otp.device_id != device_id:
            raise not_found("OTP not found")
        if otp.user_id is None:
            raise ApiError(401, {"message": "OTP is not accepted yet"})
        otp.used = True
        return self._answer(request, {"token": self.token_for(otp.user_id)})

    # -- me ------------------------------------------------------------------------------------

    async def _profile(self, request: web.Request) -> web.Response:
        user = self._user(request)
        folder = f"/storage/accounts/users/avatars/{user.id}"
        profile = {
            "id": user.id,
            "login": user.login,
            "email": user.email,
            "nickname": user.nickname,
            "avatar": {
                "preview": f"{folder}/a.jpg",
                "thumbnail": f"{folder}/t.jpg",
                "optimized": {"preview": f"{folder}/a.webp", "thumbnail": f"{folder}/t.webp"},
            },
            "is_banned": False,
            "created_at": iso(user.created_at),
            "is_with_ads": False,
            "torrents": {"passkey": user.passkey, "uploaded": 0, "downloaded": 0},
        }
        return self._answer(request, profile)

    async def _favorite_ids(self, request: web.Request) -> web.Response:
        user = self._user(request)
        return self._answer(request, list(user.favorites))

    async def _favorite_releases(self, request: web.Request) -> web.Response:
        user = self._user(request)
        sorting = request.query.get("f[sorting]") or "CREATED_AT_DESC"
        found = [
            (place, release)
            for place, release_id in enumerate(user.favorites)
            if (release := self.releases.get(release_id)) is not None
        ]
        if sorting in ("CREATED_AT_DESC", "CREATED_AT_ASC"):
            found.sort(key=lambda p: p[0], reverse=sorting.endswith("DESC"))
        elif sorting in SORTINGS:
            key, descending = SORTINGS[sorting]
            found.sort(key=lambda p: (key(p[1]), p[1]["id"]), reverse=descending)
        else:
            raise validation_error({"f.sorting": "The selected f.sorting is invalid."})
        if search := (request.query.get("f[search]") or "").strip().lower():
            found = [(a, r) for a, r in found if search in haystack(r)]
        items = [self.listed(r) for _, r in found]
        return self._answer(request, self._paged(request, items, request.query))

    async def _change_favorites(self, request: web.Request, add: bool) -> web.Response:
        user = self._user(request)
        body = await _json_body(request)
        if not isinstance(body, list) or not body:
            raise validation_error({"0.release_id": "The 0.release_id field is required."})
        errors: dict[str, str] = {}
        wanted: list[int] = []
        for i, item in enumerate(body):
            raw = item.get("release_id") if isinstance(item, dict) else None
            release_id = php_int(raw)
            if raw is None:
                errors[f"{i}.release_id"] = f"The {i}.release_id field is required."
            elif release_id is None:
                errors[f"{i}.release_id"] = f"The {i}.release_id field must be an integer."
            elif release_id not in self.releases:
                errors[f"{i}.release_id"] = f"The selected {i}.release_id is invalid."
            else:
                wanted.append(release_id)
        if errors:
            raise validation_error(errors)
        for release_id in wanted:
            self._favor(user, release_id, add)
        return self._answer(request, list(user.favorites))

    async def _favorites_add(self, request: web.Request) -> web.Response:
        return await self._change_favorites(request, add=True)

    async def _favorites_remove(self, request: web.Request) -> web.Response:
        return await self._change_favorites(request, add=False)
