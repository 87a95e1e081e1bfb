"""Reading an HTTP answer of the v1 API: JSON or not, HTML or not, and the error it stands for.

* 429: RateLimitedError, ``retry_after`` in seconds (from ``Retry-After``);
* 5xx, and 401/403 with an HTML page: ServerError (a Cloudflare page is no verdict);
* 404: NotFoundError;
* 422 (a Laravel ``{"message", "errors"}`` body): UnknownParametersError with the message;
* 401, and 403 of a call made with a token: UnauthorizedError (the token is dead);
* 403 without a token (a geo or copyright block) and any other status: ApiError.

Every message and URL goes through :func:`._redact.hide`.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.anilibria.errors import (
    AniLibriaError,
    ApiError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnknownParametersError,
)
from bot.anilibria.v1._models import ErrorBody
from bot.anilibria.v1._redact import hide

__all__ = [
    "bearer",
    "http_error",
    "is_html",
    "parse_json",
    "retry_after",
    "transport_error",
]


def is_html(response: httpx.Response, content: bytes) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    return "html" in content_type or content.lstrip()[:1] == b"<"


def parse_json(content: bytes) -> tuple[bool, Any]:
    """``(True, value)`` for a JSON body, ``(False, None)`` for anything else."""
    try:
        return True, json.loads(content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False, None


def bearer(token: str) -> str:
    """The ``Authorization`` value; a token that cannot be a header value is refused."""
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise UnauthorizedError("the token is malformed")
    return f"Bearer {token}"


def retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now``: a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(moment.timestamp() - now, 0.0)


def http_error(
    response: httpx.Response, content: bytes, *, authed: bool, now: float
) -> AniLibriaError:
    """The exception an error status stands for (see the table above)."""
    status = response.status_code
    url = hide(str(response.request.url))
    html = is_html(response, content)
    ok, body = parse_json(content)
    message = response.reason_phrase or f"HTTP {status}"
    if ok and isinstance(body, dict):
        message = ErrorBody.model_validate(body).message or message
    message = hide(message) + (" (an HTML page)" if html else "")
    if status == 429:
        wait = retry_after(response.headers.get("retry-after"), now)
        return RateLimitedError(message, code=status, status_code=status, url=url, retry_after=wait)
    if status >= 500 or (html and status in (401, 403)):
        return ServerError(message, code=status, status_code=status, url=url)
    if status == 404:
        return NotFoundError(message, code=status, status_code=status, url=url)
    if status == 422:
        return UnknownParametersError(message, code=status, status_code=status, url=url)
    if status == 401 or (status == 403 and authed):
        return UnauthorizedError(message, code=status, status_code=status, url=url)
    return ApiError(message, code=status, status_code=status, url=url)


def transport_error(what: str, url: str, exc: BaseException) -> TransportError:
    detail = hide(str(exc)) or type(exc).__name__
    return TransportError(f"{what} ({hide(url)}): {type(exc).__name__}: {detail}")
