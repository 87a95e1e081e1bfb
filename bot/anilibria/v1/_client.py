"""V1Client: the one HTTP client of the AniLiberty API v1 package.

One :class:`httpx.AsyncClient` serves every call; it refuses every cookie (one user's Laravel
session never rides along with another user's call) and follows no redirect on API calls.

* Errors: 404 :class:`NotFoundError`, 422 (a Laravel ``{"message", "errors"}`` body)
  :class:`UnknownParametersError`, 401/403 :class:`UnauthorizedError` (a 403 of a call made
  without a token is a geo or copyright block: a plain :class:`ApiError`), 429
  :class:`RateLimitedError` with ``retry_after`` from ``Retry-After`` (seconds or an HTTP date),
  5xx and any HTML page where JSON was asked for (Cloudflare) :class:`ServerError`, every
  transport failure (timeouts, resets, bad URLs) :class:`TransportError`. No httpx exception
  ever escapes.
* Retries: 5xx, HTML pages and transport failures are retried with exponential backoff within
  a total deadline (9 s) so a chat reply comes within 10 s; a 429 only when its ``Retry-After``
  is short and fits the deadline; any other 4xx never.
* Conditional GETs (``revalidate=True``): the ``ETag``/``Last-Modified`` of an answer are kept
  per URL with its body and sent back as ``If-None-Match``/``If-Modified-Since``; a 304 reuses
  the body.
* A token goes into ``Authorization: Bearer`` of the one call it is given to; it is never kept,
  logged, nor put into an exception (see :func:`._redact.hide`).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import random
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx

from bot.anilibria.errors import (
    AniLibriaError,
    ApiError,
    RateLimitedError,
    ResponseShapeError,
    ServerError,
    TransportError,
)
from bot.anilibria.v1._answers import (
    bearer,
    http_error,
    is_html,
    parse_json,
    transport_error,
)
from bot.anilibria.v1._redact import hide

__all__ = ["DEFAULT_MAX_DOWNLOAD", "Reply", "V1Client"]

_log = logging.getLogger("bot.anilibria.v1")
logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every URL at INFO

DEFAULT_MAX_DOWNLOAD = 20 * 1024 * 1024
_MIN_ATTEMPT = 0.05  # seconds: no retry starts with less time than this left
_MAX_REDIRECTS = 5
_CACHE_ENTRIES = 16
_CACHE_MAX_BODY = 4 * 1024 * 1024
_ERROR_BODY_CAP = 64 * 1024
# InvalidURL is not an httpx.HTTPError; StreamError is a RuntimeError.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, UnicodeError)

T = TypeVar("T")
Params = Mapping[str, str | int | float]


class _RejectAllCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded JSON answer; ``not_modified`` when it is the cached body of a 304."""

    data: Any
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class _Cached:
    etag: str | None
    last_modified: str | None
    body: bytes


class V1Client:
    """Async HTTP client of the AniLiberty API v1 (``api_url`` e.g.
    ``https://aniliberty.top/api/v1``); ``site_url`` names the site (posters, redirects)."""

    def __init__(
        self,
        api_url: str,
        site_url: str,
        *,
        user_agent: str = "anilibria-bot",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        total_timeout: float = 9.0,
        retries: int = 3,
        backoff: float = 0.3,
        max_download: int = DEFAULT_MAX_DOWNLOAD,
        short_retry_after: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``short_retry_after``: a 429 asking to wait at most this long (and fitting in the
        deadline) is waited out inside the call; a longer one is raised at once."""
        if retries < 0 or timeout <= 0 or total_timeout <= 0 or backoff < 0:
            raise ValueError("timeout/total_timeout must be > 0, retries/backoff >= 0")
        self.api_url = api_url.rstrip("/")
        self.site_url = site_url.rstrip("/")
        self._timeout = timeout
        self._total_timeout = total_timeout
        self._retries = retries
        self._backoff = backoff
        self._max_download = max_download
        self._short_retry_after = short_retry_after
        self._clock = clock
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._hosts = {
            host for host in (self._host(self.api_url), self._host(self.site_url)) if host
        }
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            cookies=http.cookiejar.CookieJar(policy=_RejectAllCookies()),
            follow_redirects=False,
        )

    @staticmethod
    def _host(url: str) -> str | None:
        try:
            return httpx.URL(url).host.lower() or None
        except httpx.InvalidURL:
            return None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def url(self, path: str, params: Params | None = None) -> str:
        """The absolute API URL of ``path`` (already percent-encoded) with ``params``."""
        url = f"{self.api_url}/{path.lstrip('/')}"
        if not params:
            return url
        return str(httpx.URL(url, params={k: str(v) for k, v in params.items()}))

    # -- calls ------------------------------------------------------------------------------

    async def get(
        self, path: str, params: Params | None = None, *, token: str | None = None
    ) -> Any:
        return (await self.get_reply(path, params, token=token)).data

    async def get_reply(
        self,
        path: str,
        params: Params | None = None,
        *,
        token: str | None = None,
        revalidate: bool = False,
    ) -> Reply:
        """GET a JSON answer; ``revalidate`` makes it conditional (never with a token)."""
        return await self._json("GET", path, params, None, token, revalidate and token is None)

    async def send(self, method: str, path: str, body: Any, *, token: str | None = None) -> Any:
        """POST/DELETE/PUT a JSON body; the decoded answer (None for an empty one)."""
        return (await self._json(method, path, None, body, token, False)).data

    async def _json(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Any,
        token: str | None,
        revalidate: bool,
    ) -> Reply:
        url = self.url(path)
        headers = {} if token is None else {"Authorization": bearer(token)}
        query = {k: str(v) for k, v in (params or {}).items()}
        what = f"{method} /{path.lstrip('/')}"

        async def attempt(budget: float) -> Reply:
            try:
                request = self._http.build_request(
                    method,
                    url,
                    params=query or None,
                    json=body,
                    headers=headers,
                    timeout=budget,
                )
                key = str(request.url) if revalidate else None
                cached = self._cache.get(key) if key is not None else None
                if cached is not None and cached.etag:
                    request.headers["If-None-Match"] = cached.etag
                if cached is not None and cached.last_modified:
                    request.headers["If-Modified-Since"] = cached.last_modified
                response = await self._http.send(request)
            except _HTTPX_ERRORS as exc:
                raise transport_error(what, url, exc) from None
            return self._decode(response, authed=token is not None, key=key, cached=cached)

        return await self._retrying(what, attempt)

    def _decode(
        self, response: httpx.Response, *, authed: bool, key: str | None, cached: _Cached | None
    ) -> Reply:
        content = response.content
        url = hide(str(response.request.url))
        if response.status_code == 304 and cached is not None and key is not None:
            self._cache.move_to_end(key)
            ok, data = parse_json(cached.body)
            if ok:
                return Reply(data, not_modified=True)
        if not response.is_success:
            raise http_error(response, content, authed=authed, now=self._clock())
        if response.status_code == 204 or not content.strip():
            return Reply(None)
        ok, data = parse_json(content)
        if not ok:
            if is_html(response, content):
                raise ServerError(
                    "an HTML page instead of JSON (Cloudflare?)",
                    code=response.status_code,
                    status_code=response.status_code,
                    url=url,
                )
            content_type = response.headers.get("content-type", "no content-type")
            raise ResponseShapeError(
                f"{response.request.method} {url}: the answer is not JSON ({hide(content_type)})"
            )
        if key is not None:
            self._remember(key, response, content)
        return Reply(data)

    def _remember(self, key: str, response: httpx.Response, content: bytes) -> None:
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if not (etag or last_modified) or len(content) > _CACHE_MAX_BODY:
            self._cache.pop(key, None)
            return
        self._cache[key] = _Cached(etag, last_modified, content)
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)

    # -- errors and retries -----------------------------------------------------------------

    async def _retrying(self, what: str, attempt: Callable[[float], Awaitable[T]]) -> T:
        if self._http.is_closed:
            raise TransportError(f"{what}: the client is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_timeout
        n = 0
        while True:
            budget = max(min(self._timeout, deadline - loop.time()), _MIN_ATTEMPT)
            error: AniLibriaError
            try:
                async with asyncio.timeout(budget):
                    return await attempt(budget)
            except TimeoutError:
                error = TransportError(f"{what}: no answer within {budget:.1f} s")
                wait = self._backoff * 2**n
            except RateLimitedError as exc:
                if exc.retry_after is None or exc.retry_after > self._short_retry_after:
                    raise
                error, wait = exc, max(exc.retry_after, self._backoff)
            except (ServerError, TransportError) as exc:
                error = exc
                wait = self._backoff * 2**n
            wait *= random.uniform(1.0, 1.25)  # jitter: instances do not retry in step
            if n >= self._retries or deadline - loop.time() < wait + _MIN_ATTEMPT:
                raise error
            _log.info("AniLiberty %s failed (%s); retry %d/%d", what, error, n + 1, self._retries)
            await asyncio.sleep(wait)
            n += 1

    # -- files ------------------------------------------------------------------------------

    async def download(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """Bytes of a file under the API (a ``.torrent``), at most ``max_bytes`` (20 MB);
        redirects are followed only to the API's and the site's hosts."""
        cap = self._max_download if max_bytes is None else max_bytes
        url = self.url(path)
        what = f"GET /{path.lstrip('/')}"

        async def attempt(budget: float) -> bytes:
            current = url
            for _ in range(_MAX_REDIRECTS + 1):
                try:
                    request = self._http.build_request(
                        "GET", current, headers={"Accept": "*/*"}, timeout=budget
                    )
                    response = await self._http.send(request, stream=True)
                except _HTTPX_ERRORS as exc:
                    raise transport_error(what, current, exc) from None
                try:
                    if response.is_redirect:
                        current = self._redirect_target(response)
                        continue
                    return await self._read_file(response, what, cap)
                except _HTTPX_ERRORS as exc:
                    raise transport_error(what, current, exc) from None
                finally:
                    await response.aclose()
            raise ApiError(f"{what}: more than {_MAX_REDIRECTS} redirects", url=hide(url))

        return await self._retrying(what, attempt)

    def _redirect_target(self, response: httpx.Response) -> str:
        location = response.headers.get("location", "")
        target = response.url.join(location)
        if target.scheme not in ("http", "https") or target.host.lower() not in self._hosts:
            raise ApiError(
                f"a redirect to a foreign host ({hide(str(target.host))}) was not followed",
                status_code=response.status_code,
                url=hide(str(response.request.url)),
            )
        return str(target)

    async def _read_file(self, response: httpx.Response, what: str, cap: int) -> bytes:
        shown = hide(str(response.request.url))
        if not response.is_success:
            head = await self._read_capped(response, _ERROR_BODY_CAP, truncate=True)
            raise http_error(response, head, authed=False, now=self._clock())
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ResponseShapeError(f"{what} ({shown}): {declared} bytes, over {cap}")
        body = await self._read_capped(response, cap, truncate=False)
        if is_html(response, body[:512]):
            raise ServerError(
                "an HTML page instead of a file", status_code=response.status_code, url=shown
            )
        return body

    @staticmethod
    async def _read_capped(response: httpx.Response, cap: int, *, truncate: bool) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cap:
                if truncate:
                    return bytes(body[:cap])
                raise ResponseShapeError(f"{hide(str(response.request.url))}: over {cap} bytes")
        return bytes(body)
