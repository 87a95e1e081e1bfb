"""A fake Telegram Bot API server for end-to-end tests of the bot.

Start it, point the bot at it with ``TELEGRAM_API_URL=fake.url`` (aiogram's
``TelegramAPIServer.from_base``), inject updates, then assert on what the bot sent::

    fake = FakeTelegram()
    await fake.start()
    fake.message(42, "/start")
    [reply] = await fake.wait_sent(42)

Requests arrive at ``{url}/bot{token}/{method}`` (GET or POST; query string,
urlencoded, multipart or JSON bodies) and file downloads at
``{url}/file/bot{token}/{file_path}``. Answers have the real shapes aiogram parses and
errors the real ``{"ok": false, "error_code", "description", "parameters"?}`` body.

Validation is at least as strict as Telegram (see telegram_validate.py,
telegram_html.py, telegram_markdown.py); HTML is stricter by default
(``strict_html``): a bare ``&`` or ``>`` and ``<a>`` without href are refused.
Rate limits (opt-in, ``enforce_rate_limits``) are described in telegram_limits.py.

Paid broadcasts: sends with ``allow_paid_broadcast`` count against a window of their own
(``enforce_rate_limits(paid_per_second=1000)``) and cost 0.1 Star each; with a balance set
(``set_star_balance``) a paid send the balance cannot cover answers 400
``Bad Request: BALANCE_TOO_LOW``, Telegram's error for too few Stars; ``getMyStarBalance``
answers the balance. ``revoke_token()`` makes every request answer 401 Unauthorized until
``restore_token()``, as Telegram does after @BotFather revokes a token.

Updates of the default ``allowed_updates`` exclude chat_member, message_reaction and
message_reaction_count, like Telegram. ``my_chat_member`` updates also change the bot's
status in that chat: "kicked" in a private chat means the user blocked the bot (sends
answer 403 until a "member" update), "kicked"/"left" in a group make sends answer 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from tests.fakes.telegram_limits import RateLimiter
from tests.fakes.telegram_state import FailRule
from tests.fakes.telegram_types import Call, SentMessage, TelegramError, Upload, decode_param
from tests.fakes.telegram_updates import TelegramUpdates

__all__ = ["Call", "FakeTelegram", "SentMessage", "TelegramError", "Upload"]

_TOKEN = re.compile(r"\d+:[\w-]+")


class _RawAnswer(Exception):
    """An injected answer that is not the Bot API's JSON (a proxy's error page, garbage)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


class FakeTelegram(TelegramUpdates):
    """The fake Bot API server. Public state, besides the methods below:

    * ``url`` — base URL for TELEGRAM_API_URL (set by ``start``);
    * ``calls`` — every request, in order (see Call);
    * ``deleted`` — (chat_id, message_id) of every successful deleteMessage(s);
    * ``too_many_requests`` — how many 429s the rate limiter answered;
    * ``paid_messages`` — messages sent with ``allow_paid_broadcast``;
    * ``star_balance_nano`` — the bot's Stars in nanostars (None: endless, never refused);
    * ``token_revoked`` — every request answers 401 (see ``revoke_token``);
    * ``refuse_photo_urls`` — sendPhoto with an http(s) URL answers 400;
    * ``strict_html`` (True) — refuse bare ``&``/``>`` and ``<a>`` without href;
    * ``accept_unknown_file_ids`` (False) — otherwise a file_id this server didn't issue
      answers 400 "wrong file identifier/HTTP URL specified";
    * ``clock`` — time source of Call.at and the rate limiter (time.monotonic),
      replaceable to test minute-long windows instantly;
    * ``internal_errors`` — exceptions of the fake itself (answered as 500), should stay [];
    * ``bot_id``, ``username``.

    Helpers are split over telegram_state / _media / _methods / _updates (handlers),
    telegram_validate / _html / _markdown (checks) and telegram_limits (flood control).
    """

    def __init__(self, *, bot_id: int = 777000111, username: str = "anilibria_test_bot") -> None:
        super().__init__(bot_id=bot_id, username=username)
        self.url = ""
        self.internal_errors: list[Exception] = []
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP

    async def _serve_api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if not _TOKEN.fullmatch(token):
            error = TelegramError(404, "Not Found")
            return web.json_response(error.body(), status=404)
        params, uploads = await self._read_params(request)
        call = Call(method, params, _files_by_param(params, uploads), self.clock(), token, uploads)
        self.calls.append(call)
        try:
            if self.token_revoked:
                raise TelegramError(401, "Unauthorized")
            self._injected_failure(call)
            handler = self._handlers.get(method.lower())
            result = await handler(call) if handler is not None else True
        except TelegramError as error:
            return web.json_response(error.body(), status=error.code)
        except _RawAnswer as answer:
            return web.Response(text=answer.body, status=answer.status, content_type="text/html")
        except Exception as exc:  # a bug of the fake: surface it, don't hang the bot
            self.internal_errors.append(exc)
            failure = TelegramError(500, f"Internal Server Error: fake Telegram failed: {exc!r}")
            return web.json_response(failure.body(), status=500)
        finally:
            self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = {
            key: decode_param(key, value) for key, value in request.query.items()
        }
        uploads: dict[str, Upload] = {}
        if not request.can_read_body:
            return params, uploads
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                for key, value in body.items():
                    params[key] = decode_param(key, value) if isinstance(value, str) else value
            return params, uploads
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content_type = value.content_type or "application/octet-stream"
                uploads[key] = Upload(value.file.read(), value.filename, content_type)
            elif isinstance(value, bytes | bytearray):
                uploads[key] = Upload(bytes(value), key, "application/octet-stream")
            else:
                params[key] = decode_param(key, value)
        return params, uploads

    async def _serve_file(self, request: web.Request) -> web.Response:
        stored = self._paths.get(request.match_info["path"])
        if stored is None or not _TOKEN.fullmatch(request.match_info["token"]):
            return web.json_response(TelegramError(404, "Not Found").body(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ---------------------------------------------------- failure injection

    def set_admins(self, chat_id: int, user_ids: Iterable[int]) -> None:
        """Make these users administrators (the bot too, if its id is listed); others: members."""
        self._admins[chat_id] = set(user_ids)

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)
        if self._bot_status.get(chat_id) == "kicked":
            del self._bot_status[chat_id]

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        self._migrated[old_chat_id] = new_chat_id
        if new_chat_id not in self._chats:
            self.set_chat(new_chat_id, chat_type="supergroup")

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: int | None = None,
        raw_body: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, if given) with an error.

        429 gets ``parameters.retry_after`` (default 1); other statuses a plain error body.
        ``raw_body``: answer that text (as text/html) instead, as a proxy in front of the Bot
        API does with its own error pages; nothing is sent.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._fail_rules.append(
            FailRule(method.lower(), status, description, times, retry_after, chat_id, raw_body)
        )

    def _injected_failure(self, call: Call) -> None:
        for rule in self._fail_rules:
            if rule.method != call.method.lower() or rule.times <= 0:
                continue
            if rule.chat_id is not None and call.params.get("chat_id") != rule.chat_id:
                continue
            rule.times -= 1
            if rule.raw_body is not None:
                raise _RawAnswer(rule.status, rule.raw_body)
            parameters = {"retry_after": rule.retry_after} if rule.retry_after is not None else None
            raise TelegramError(rule.status, rule.description, parameters)

    def enforce_rate_limits(
        self,
        *,
        global_per_second: float = 30,
        per_chat_per_second: float = 1,
        group_per_minute: int = 20,
        paid_per_second: float = 1000,
    ) -> None:
        """Answer 429 to sends over Telegram's flood limits (see telegram_limits.py).

        Sends with ``allow_paid_broadcast`` count against ``paid_per_second`` instead of
        ``global_per_second``; the per-chat and per-group limits hold for both.
        """
        self._limiter = RateLimiter(
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            group_per_minute=group_per_minute,
            paid_per_second=paid_per_second,
        )

    def set_star_balance(self, stars: float | None) -> None:
        """The bot's Stars; paid sends cost 0.1 each and are refused when it cannot pay.

        ``None`` (the default): an endless balance, paid sends are never refused.
        """
        self.star_balance_nano = None if stars is None else round(stars * 1_000_000_000)

    def revoke_token(self) -> None:
        """Every request answers 401 Unauthorized (the token was revoked with @BotFather)."""
        self.token_revoked = True

    def restore_token(self) -> None:
        self.token_revoked = False

    # ---------------------------------------------------------- inspection

    def calls_of(self, method: str, *, chat_id: int | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method.lower() == method.lower()
            and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Every message the bot created (deleted ones too, flagged), in order."""
        return [s for s in self._sent if chat_id is None or s.chat_id == chat_id]

    def get_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of any message (the bot's or injected), None if deleted/unknown."""
        found = self._messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found is not None else None

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, message: str = ""
    ) -> None:
        """Wait until ``predicate()`` is true; AssertionError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(message or f"condition not met within {timeout} s")
            changed = self._changed
            # woken by any request; re-checks at least every 50 ms for state outside the fake
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def wait_sent(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; return all of them."""
        await self.wait_for(
            lambda: len(self.sent(chat_id)) >= count,
            timeout,
            f"expected {count} message(s) to chat {chat_id}, got "
            f"{[s.text for s in self.sent(chat_id)]}",
        )
        return self.sent(chat_id)


def _files_by_param(params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, bytes]:
    """Uploaded bytes keyed by the parameter referring to them (see Call)."""
    files: dict[str, bytes] = {}
    used: set[str] = set()

    def visit(name: str, value: Any) -> None:
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part in uploads:
                files[name] = uploads[part].data
                used.add(part)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(f"{name}[{index}]", item)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(name if key == "media" else f"{name}.{key}", item)

    for key, value in params.items():
        visit(key, value)
    for part, upload in uploads.items():
        if part not in used:
            files[part] = upload.data
    return files
