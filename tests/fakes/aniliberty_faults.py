"""Recording and fault injection of the fake AniLiberty API v1.

Private to :mod:`tests.fakes.aniliberty`. :class:`FaultsMixin` holds the request log and the fault
queues; its middleware records every request (matched or not), then applies delays, resets and
canned failures, and turns :class:`ApiError` into the API's JSON error bodies.

Path prefixes (``count``, ``fail``, ``reset``, ``delay``) match either the full path
(``/api/v1/anime/...``, ``/storage/...``) or, for API requests, the path after ``/api/v1``
(``/anime/releases/latest``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.aniliberty_http import API_PREFIX, REASONS, ApiError, dumps, json_response

__all__ = ["FaultsMixin", "Recorded"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><title>aniliberty.top | {status}: {reason}</title>
<meta charset="UTF-8" /><meta name="robots" content="noindex, nofollow" /></head>
<body><div id="cf-wrapper"><div id="cf-error-details">
<h1><span>Error</span> <span>{status}</span></h1>
<h2>{reason}</h2>
<p>The web server reported an error. Please try again in a few minutes.</p>
<div class="cf-footer">Cloudflare Ray ID: <strong>{ray}</strong>
 &bull; Performance &amp; security by Cloudflare</div>
</div></div></body>
</html>
"""
_CLOUDFLARE_REASONS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway time-out",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    524: "A timeout occurred",
}


# -- recording and faults ----------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the fake saw it. ``headers`` never hold Authorization: ``authed`` says
    whether there was one; a ``password`` in a JSON body is masked."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    authed: bool
    time: float
    body: Any = None
    status: int | None = None  # None: no answer (a reset, or still running)


@dataclass
class _Rule:
    prefix: str
    times: int | None  # None: until cleared
    status: int = 0
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _matches(path: str, prefix: str) -> bool:
    if path.startswith(prefix):
        return True
    return path.startswith(API_PREFIX + "/") and path[len(API_PREFIX) :].startswith(prefix)


def _take(rules: list[_Rule], path: str) -> _Rule | None:
    for rule in rules:
        if _matches(path, rule.prefix):
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    rules.remove(rule)
            return rule
    return None


class FaultsMixin:
    """The request log and the fault controls of :class:`FakeAniLiberty`."""

    def _init_faults(self) -> None:
        self.requests: list[Recorded] = []
        self._fails: list[_Rule] = []
        self._resets: list[_Rule] = []
        self._delays: list[_Rule] = []

    # -- inspection --------------------------------------------------------------------------

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if _matches(r.path, path_prefix) and (method is None or r.method == method.upper())
        ]

    def count(self, path_prefix: str, method: str | None = None) -> int:
        """How many requests went to paths under ``path_prefix`` (faulted ones included)."""
        return len(self.requests_to(path_prefix, method))

    # -- faults ------------------------------------------------------------------------------

    def fail(
        self,
        path_prefix: str,
        status: int,
        *,
        times: int | None = 1,
        body: str | bytes | dict[str, Any] | list[Any] | None = None,
        content_type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The next ``times`` requests under ``path_prefix`` (None: all, until
        :meth:`clear_faults`) answer ``status`` with ``body``.

        Default bodies: 5xx a Cloudflare error page (``text/html``, ``Server: cloudflare``),
        429 Laravel's ``{"message": "Too Many Attempts."}``, others ``{"message": ...}``. A str
        body goes out as ``text/html``, a dict/list as JSON, bytes as octet-stream.
        """
        headers: dict[str, str] = {}
        if body is None and status >= 500:
            ray = f"{abs(hash((path_prefix, status, time.monotonic_ns()))):016x}"[:16]
            reason = _CLOUDFLARE_REASONS.get(status, "Error")
            body = _CLOUDFLARE_PAGE.format(status=status, reason=reason, ray=ray)
            headers = {"Server": "cloudflare", "CF-RAY": f"{ray}-AMS"}
            content_type = content_type or "text/html; charset=UTF-8"
        elif body is None:
            body = {"message": REASONS.get(status, "Error")}
        if isinstance(body, dict | list):
            raw, default_type = dumps(body), "application/json"
        elif isinstance(body, str):
            raw, default_type = body.encode(), "text/html; charset=UTF-8"
        else:
            raw, default_type = body, "application/octet-stream"
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        rule = _Rule(path_prefix, times, status, raw, content_type or default_type, headers)
        self._fails.append(rule)

    def reset(self, path_prefix: str, times: int | None = 1) -> None:
        """The next ``times`` requests under ``path_prefix`` get no answer: the connection is
        closed with a TCP reset (SO_LINGER 0) as soon as the request is read."""
        self._resets.append(_Rule(path_prefix, times))

    def delay(self, path_prefix: str, seconds: float, times: int | None = 1) -> None:
        """The next ``times`` requests under ``path_prefix`` wait ``seconds`` first."""
        self._delays.append(_Rule(path_prefix, times, seconds=seconds))

    def clear_faults(self) -> None:
        self._fails.clear()
        self._resets.clear()
        self._delays.clear()

    # -- the middleware ----------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Recorded:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            if isinstance(body, dict) and "password" in body:
                body = {**body, "password": "***"}
        entry = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=headers,
            authed="Authorization" in request.headers,
            time=time.time(),
            body=body,
        )
        self.requests.append(entry)
        return entry

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        entry = await self._record(request)
        if rule := _take(self._delays, request.path):
            await asyncio.sleep(rule.seconds)
        if _take(self._resets, request.path):
            transport = request.transport
            if transport is not None:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            # aiohttp drops a cancelled handler quietly: no answer, no error log
            raise asyncio.CancelledError
        response: web.StreamResponse
        if rule := _take(self._fails, request.path):
            response = web.Response(status=rule.status, body=rule.body, headers=rule.headers)
            response.headers["Content-Type"] = rule.content_type
        else:
            try:
                response = await handler(request)
            except ApiError as error:
                response = json_response(error.body, error.status, error.headers)
            except web.HTTPException as error:
                if not request.path.startswith(API_PREFIX + "/"):
                    raise
                response = json_response(
                    {"message": REASONS.get(error.status, error.reason)}, error.status
                )
        entry.status = response.status
        return response
