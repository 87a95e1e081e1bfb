"""Exceptions raised by both upstreams (v1 and v2): callers catch these, never httpx's.

::

    AniLibriaError
    ├── ApiError                (an error body or an HTTP error status;
    │   │                        .code, .message, .status_code, .url)
    │   ├── NotFoundError           404
    │   ├── UnknownParametersError  412 (v2), 422 (v1: a Laravel validation error)
    │   ├── UnauthorizedError       401/403, or the session was refused (expired session)
    │   ├── RateLimitedError        429; .retry_after (seconds) when the server said
    │   └── ServerError             5xx (incl. HTTP 500 carrying the real code in the body,
    │                               a 502 with an HTML body, 504, a Cloudflare page)
    ├── TransportError          timeouts, connection errors and bad URLs, after retries
    ├── ResponseShapeError      a 200 whose body is not JSON or not of the expected shape
    ├── ExpiredCodeError        a one-time login code that is no longer valid (v1)
    └── LoginError              the login was refused; .key, .message
        ├── WrongPasswordError      key "wrongPasswd"
        ├── InvalidUserError        key "invalidUser"
        ├── EmptyCredentialsError   key "empty"
        ├── AlreadyAuthorizedError  key "authorized"
        └── WrongUserAgentError     key "wrongUserAgent"  (any other key: LoginError itself)

The API classifies by the body's ``error.code``: the HTTP status duplicates it, except for 5xx,
which all arrive as HTTP 500 with the real code in the body. A title that does not exist has been
answered ``{"error": {"code": 504, "message": "Gateway Timeout"}}`` (anilibria/docs#48) instead of
404: that stays a :class:`ServerError` (and is retried), because it cannot be told apart from a
real gateway timeout; callers that look a title up by a user-typed code should treat a
``ServerError`` with ``code == 504`` after retries as "not found or unavailable".

No message or ``repr`` ever contains a session or a password: URLs are passed through
:func:`redact` (``session=...`` -> ``session=***``) before they become part of a message.

The v2 notes below are about that API's habits.
"""

from __future__ import annotations

import re

__all__ = [
    "AlreadyAuthorizedError",
    "AniLibriaError",
    "ApiError",
    "EmptyCredentialsError",
    "ExpiredCodeError",
    "InvalidUserError",
    "LoginError",
    "NotFoundError",
    "RateLimitedError",
    "ResponseShapeError",
    "ServerError",
    "TransportError",
    "UnauthorizedError",
    "UnknownParametersError",
    "WrongPasswordError",
    "WrongUserAgentError",
    "api_error",
    "login_error",
    "redact",
]

_SECRET_RE = re.compile(
    r"(?P<name>\b(?:session|sessionId|passwd|password|PHPSESSID)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^&\s\"';,#]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Hide secret values in a URL or a message: ``session=abc`` -> ``session=***``.

    Covers ``session``, ``sessionId``, ``passwd``, ``password`` and ``PHPSESSID`` written as
    query parameters, cookies or ``"key": "value"`` JSON pairs.
    """
    return _SECRET_RE.sub(lambda m: m.group("name") + "***", text)


class AniLibriaError(Exception):
    """Base of every error of the AniLibria client."""


class ApiError(AniLibriaError):
    """The API answered with an error body or an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status_code: int | None = None,
        url: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.code = code
        self.status_code = status_code
        self.url = redact(url) if url is not None else None
        text = f"{code} {self.message}" if code is not None else self.message
        if self.url:
            text = f"{text} ({self.url})"
        super().__init__(text)


class NotFoundError(ApiError):
    """404: the title (or another object) does not exist."""


class UnknownParametersError(ApiError):
    """412: the request carried a parameter the API does not know."""


class UnauthorizedError(ApiError):
    """401/403, or the API refused the session (expired or never valid)."""


class RateLimitedError(ApiError):
    """429: too many requests. ``retry_after`` is the server's ``Retry-After`` in seconds."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status_code: int | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, url=url)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: HTTP 500 with the real code in the body, a 502 HTML page, a 504 body...

    Note: a missing title has been answered with code 504 (see the module docstring).
    """


class TransportError(AniLibriaError):
    """The server could not be reached or did not answer in time (after retries)."""


class ResponseShapeError(AniLibriaError):
    """A successful answer whose body is not JSON or not of the expected shape."""


class ExpiredCodeError(AniLibriaError):
    """The one-time login code expired or is unknown: ask for a new one."""


class LoginError(AniLibriaError):
    """``login.php`` answered ``err != "ok"``. ``key`` is the site's machine-readable reason."""

    def __init__(self, key: str | None, message: str | None = None) -> None:
        self.key = key
        self.message = redact(message) if message else None
        text = f"login refused: {key or 'unknown'}"
        if self.message:
            text = f"{text} ({self.message})"
        super().__init__(text)


class WrongPasswordError(LoginError):
    """key ``wrongPasswd``: «Неправильный пароль»."""


class InvalidUserError(LoginError):
    """key ``invalidUser``: «Неправильный пользователь»."""


class EmptyCredentialsError(LoginError):
    """key ``empty``: «Пустое значение, заполните поля»."""


class AlreadyAuthorizedError(LoginError):
    """key ``authorized``: «Уже авторизован» (the request carried a live session cookie)."""


class WrongUserAgentError(LoginError):
    """key ``wrongUserAgent``: the User-Agent was longer than 256 characters."""


_LOGIN_ERRORS: dict[str, type[LoginError]] = {
    "wrongPasswd": WrongPasswordError,
    "invalidUser": InvalidUserError,
    "empty": EmptyCredentialsError,
    "authorized": AlreadyAuthorizedError,
    "wrongUserAgent": WrongUserAgentError,
}


def login_error(key: str | None, message: str | None = None) -> LoginError:
    """The :class:`LoginError` subclass for a ``login.php`` error key."""
    cls = _LOGIN_ERRORS.get(key or "", LoginError)
    return cls(key, message)


def api_error(
    code: int | None,
    message: str,
    *,
    status_code: int | None = None,
    url: str | None = None,
) -> ApiError:
    """The :class:`ApiError` subclass for an error code (the body's, else the HTTP status)."""
    effective = code if code is not None else status_code
    cls: type[ApiError]
    if effective == 404:
        cls = NotFoundError
    elif effective == 412:
        cls = UnknownParametersError
    elif effective in (401, 403):
        cls = UnauthorizedError
    elif effective == 429:
        cls = RateLimitedError
    elif effective is not None and effective >= 500:
        cls = ServerError
    elif (status_code or 0) >= 500 and not (effective is not None and 400 <= effective < 500):
        cls = ServerError  # HTTP 5xx with an odd body code (0, 200...): still the server's fault
    else:
        cls = ApiError
    return cls(message, code=effective, status_code=status_code, url=url)
