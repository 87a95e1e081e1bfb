"""Helpers of :mod:`bot.anilibria.v2.client`: query parameters, URLs, cookies, bodies."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal, TypeAlias, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.anilibria._lenient import brief, parse_list, parse_one
from bot.anilibria.errors import (
    ApiError,
    ResponseShapeError,
    ServerError,
    TransportError,
    UnauthorizedError,
    api_error,
    login_error,
    redact,
)
from bot.anilibria.v2.models import LoginResult

__all__ = [
    "MISSING",
    "DescriptionType",
    "Include",
    "ParamValue",
    "PlaylistType",
    "RssType",
    "SeedSortBy",
    "absolute_url",
    "brief",
    "build_params",
    "error_from_body",
    "error_from_status",
    "login_result",
    "no_cookies_jar",
    "parse_adapted",
    "parse_json",
    "parse_model",
    "parse_models",
    "transport_error",
]

DescriptionType: TypeAlias = Literal["html", "plain", "no_view_order"]
PlaylistType: TypeAlias = Literal["object", "array"]
RssType: TypeAlias = Literal["rss", "atom", "json"]
Include: TypeAlias = Literal["raw_poster", "raw_torrent", "torrent_meta"]
SeedSortBy: TypeAlias = Literal["downloaded", "uploaded", "user"]

ParamValue: TypeAlias = str | int | float | Sequence[str] | Sequence[int] | None

MISSING: Any = object()

_log = logging.getLogger("bot.anilibria.v2.client")

# Words that, in an error of a session-protected method, mean "your session was refused".
_SESSION_WORDS = ("session", "сесси", "auth", "авториз", "login", "логин")


def _one(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def build_params(**values: ParamValue) -> dict[str, str]:
    """Query parameters: ``None`` omitted, sequences joined with commas, bools as 1/0."""
    params: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, str):
            params[name] = value
        elif isinstance(value, Sequence):
            params[name] = ",".join(_one(item) for item in value)
        else:
            params[name] = _one(value)
    return params


class _RejectAllCookies(http.cookiejar.DefaultCookiePolicy):
    """A policy under which the shared client never stores nor sends a cookie."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


def no_cookies_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that refuses every cookie: one user's session never reaches another's call."""
    return http.cookiejar.CookieJar(policy=_RejectAllCookies())


def absolute_url(site_url: str, url_or_path: str) -> str:
    """``https://...`` as is, ``//host/x`` with the site's scheme, anything else under the site."""
    if url_or_path.startswith(("http://", "https://")):
        return url_or_path
    if url_or_path.startswith("//"):
        return f"{httpx.URL(site_url).scheme}:{url_or_path}"
    return f"{site_url.rstrip('/')}/{url_or_path.lstrip('/')}"


def parse_json(content: bytes) -> Any:
    """The decoded JSON body, or :data:`MISSING` when it is not JSON."""
    try:
        return json.loads(content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return MISSING


def _as_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _session_refused(error: ApiError) -> UnauthorizedError:
    return UnauthorizedError(
        error.message, code=error.code, status_code=error.status_code, url=error.url
    )


def error_from_body(error: object, *, status_code: int, url: str, authed: bool = False) -> ApiError:
    """The exception for an ``{"error": ...}`` body (``error`` is the inner value)."""
    if isinstance(error, dict):
        code = _as_code(error.get("code"))
        raw_message = error.get("message")
        message = str(raw_message) if raw_message is not None else "API error"
    else:
        code, message = None, str(error)
    if code is None and status_code >= 400:
        code = status_code
    exc = api_error(code, message, status_code=status_code, url=redact(url))
    refused = any(word in message.lower() for word in _SESSION_WORDS)
    if authed and refused and not isinstance(exc, UnauthorizedError):
        return _session_refused(exc)
    return exc


def error_from_status(response: httpx.Response, *, authed: bool = False) -> ApiError:
    """The exception for an HTTP error status whose body carries no ``error`` object."""
    message = response.reason_phrase or f"HTTP {response.status_code}"
    content_type = response.headers.get("content-type", "")
    if "html" in content_type.lower():
        message = f"{message} (HTML body)"
    exc = api_error(None, message, status_code=response.status_code, url=redact(str(response.url)))
    if authed and response.status_code in (401, 403):
        return _session_refused(exc)
    return exc


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


parse_model = parse_one


def parse_models(model: type[M], data: Any, what: str) -> list[M]:
    """A list of models; invalid items are dropped (all invalid: ResponseShapeError)."""
    if isinstance(data, dict) and isinstance(data.get("list"), list):
        data = data["list"]  # paged v2 answers: {"list": [...], "pagination": {...}}
    return parse_list(model, data, what)


def parse_adapted(adapter: TypeAdapter[T], data: Any, what: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise ResponseShapeError(f"{what}: unexpected answer: {brief(exc)}") from None


def transport_error(
    method: str, url: str, exc: httpx.RequestError | httpx.InvalidURL
) -> TransportError:
    detail = redact(str(exc)) or type(exc).__name__
    return TransportError(f"{method} {redact(url)}: {type(exc).__name__}: {detail}")


def _session_cookie(response: httpx.Response) -> str | None:
    value: str | None = None
    for cookie in response.cookies.jar:
        if cookie.name == "PHPSESSID" and cookie.value:
            value = cookie.value
    return value


def login_result(response: httpx.Response) -> LoginResult:
    """The session of a ``login.php`` answer, or the exception the answer stands for.

    ``sessionId`` in the body comes first, else the response's own ``PHPSESSID`` cookie.
    """
    body = parse_json(response.content)
    if isinstance(body, dict) and "err" in body:
        key = body.get("key")
        message = body.get("mes")
        message = str(message) if message is not None else None
        if body.get("err") != "ok":
            raise login_error(str(key) if key is not None else None, message)
        session = body.get("sessionId") or _session_cookie(response)
        if not isinstance(session, str) or not session:
            raise ResponseShapeError("login.php said ok but gave neither sessionId nor PHPSESSID")
        return LoginResult(session=session, key=str(key or "success"), message=message)
    if not response.is_success:
        raise error_from_status(response)
    raise ServerError(
        "login.php answered something that is not its JSON "
        f"({response.headers.get('content-type', 'no content-type')})",
        status_code=response.status_code,
    )
