"""The sender's error branches that are not about one chat: a revoked or wrong token, another
process on the token, answers that are not JSON, a failing database in the error path, and
workers that end.

The real Sender, Outbox (a SQLite file), SendLimiter and aiogram Bot, in this process, against
the fake Telegram server. Each of these failed before the branch existed: the rows were parked
as "internal error", or the workers died and the feed stopped delivering for good.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

import storage
from bot.anilibria.v2._convert import title_url
from bot.notify import sender as sender_module
from bot.notify.limiter import RateLimitMiddleware, SendLimiter
from bot.notify.sender import Sender
from bot.ui.i18n import LOCALES_DIR, PoI18n
from storage import Database, Outbox, Priority
from tests.fakes.telegram import FakeTelegram
from tests.harness import poll, query_db

TOKEN = "777000111:AAHfakeTokenForTests_0123456789abcdef"
CHATS = range(100, 106)


@dataclass
class Rig:
    db: Database
    outbox: Outbox
    telegram: FakeTelegram
    bot: Bot
    sender: Sender
    task: asyncio.Task[None]
    path: Path

    def states(self) -> dict[str, int]:
        return dict(query_db(self.path, "SELECT state, COUNT(*) FROM outbox GROUP BY state"))

    async def queue(self, chats: range | list[int], key: str = "n") -> None:
        async with self.db.transaction() as conn:
            for chat in chats:
                await conn.execute(
                    "INSERT OR IGNORE INTO chats (id, type, created_at, updated_at)"
                    " VALUES (?, 'private', 0, 0)",
                    (chat,),
                )
                await Outbox.enqueue_for_chat(
                    conn,
                    chat_id=chat,
                    kind="text",
                    payload={"html": f"notice {key} for {chat}"},
                    dedupe_key=f"{key}:{chat}",
                    priority=Priority.MESSAGE,
                )
        self.sender.wake()

    def delivered(self, key: str = "n") -> dict[int, int]:
        counts: dict[int, int] = {}
        for message in self.telegram.sent():
            if (message.text or "").startswith(f"notice {key} "):
                counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
        return counts

    async def all_delivered(self, chats: range | list[int], key: str = "n") -> None:
        await poll(
            lambda: set(self.delivered(key)) == set(chats),
            timeout=20,
            message=f"notices {key} delivered",
        )
        await poll(lambda: self.states().keys() <= {"sent"}, message="every row marked sent")
        assert set(self.delivered(key).values()) == {1}, "a notice went out twice"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    telegram = FakeTelegram()
    await telegram.start()
    path = tmp_path / "bot.sqlite3"
    db = await storage.connect(path)
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url))
    limiter = SendLimiter(200)
    session.middleware(RateLimitMiddleware(limiter))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    outbox = Outbox(db)
    sender = Sender(
        bot,
        outbox,
        storage.ChatRepo(db),
        limiter,
        PoI18n(path=LOCALES_DIR, default_locale="en"),
        links=functools.partial(title_url, "https://example.org"),
        default_language="en",
        default_timezone="UTC",
    )
    task = asyncio.create_task(sender.run())
    yield Rig(db, outbox, telegram, bot, sender, task, path)
    await sender.stop()
    await asyncio.wait_for(task, 10)
    if session._session is not None:
        await session._session.close()
    await db.close()
    await telegram.stop()
    assert telegram.internal_errors == []


def lines(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if words in r.getMessage()]


async def test_a_revoked_token_pauses_delivery_and_parks_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.notify.sender")
    rig.telegram.revoke_token()
    await rig.queue(CHATS)
    await poll(lambda: rig.telegram.calls_of("sendMessage"), message="a refused send")
    await poll(lambda: "sending" not in rig.states(), message="the refused rows settled")
    assert rig.states().get("parked", 0) == 0, "a revoked token parked the notices"
    assert rig.states() == {"pending": len(CHATS)}, rig.states()
    await poll(lambda: rig.telegram.calls_of("getMe"), message="a getMe probe")
    [paused] = lines(caplog, "refuses the bot token")  # one line, not one per row
    assert "Traceback" not in paused
    assert not [r for r in caplog.records if r.exc_info]

    rig.telegram.restore_token()
    await rig.all_delivered(CHATS)
    assert len(lines(caplog, "accepts the bot token again")) == 1


async def test_not_found_pauses_like_a_wrong_token(rig: Rig) -> None:
    rig.telegram.fail_next("sendMessage", 404, "Not Found", times=3)
    await rig.queue(CHATS)
    await rig.all_delivered(CHATS)
    assert rig.telegram.calls_of("getMe"), "no probe of the token"


async def test_another_process_on_the_token_is_retried_not_parked(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sender_module, "CONFLICT_RETRY", 0.2, raising=False)
    rig.telegram.fail_next(
        "sendMessage",
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot"
        " instance is running",
        times=4,
    )
    await rig.queue(CHATS)
    await rig.all_delivered(CHATS)
    assert len(lines(caplog, "another process uses this bot token")) == 1


async def test_a_proxy_error_page_is_retried(rig: Rig) -> None:
    rig.telegram.fail_next(
        "sendMessage", 502, "", raw_body="<html><h1>502 Bad Gateway</h1></html>", times=2
    )
    await rig.queue(CHATS)
    await rig.all_delivered(CHATS)
    [(attempts,)] = query_db(rig.path, "SELECT MAX(attempts) FROM outbox")
    assert attempts == 2  # counted like a 5xx: one failure, then the send


async def test_a_failing_park_kills_no_worker(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = 12  # more than the workers
    calls = {"park": 0}
    real_park = rig.outbox.park

    async def park(item_id: int, error: str) -> Any:
        calls["park"] += 1
        if calls["park"] <= refusals:
            raise RuntimeError("database is locked")
        return await real_park(item_id, error)

    monkeypatch.setattr(rig.outbox, "park", park)
    rig.telegram.fail_next("sendMessage", 400, "Bad Request: message is too long", times=refusals)
    bad = range(200, 200 + refusals)
    await rig.queue(bad, key="bad")
    await poll(lambda: calls["park"] >= refusals, message="the parks that fail")
    good = range(300, 305)
    await rig.queue(good)
    await rig.all_delivered(good)
    await poll(
        lambda: rig.states().get("sending", 0) == 0 and rig.states().get("pending", 0) == 0,
        message="the rows the error path could not settle, settled",
    )
    assert lines(caplog, "could not park row")
    assert all(not task.done() for task in asyncio.all_tasks() if task.get_name() == "sender-0")


async def test_the_feed_replaces_workers_that_ended(rig: Rig) -> None:
    await poll(
        lambda: [t for t in asyncio.all_tasks() if t.get_name().startswith("sender-")],
        message="the workers",
    )
    workers = [t for t in asyncio.all_tasks() if t.get_name().startswith("sender-")]
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    await rig.queue(CHATS)
    await rig.all_delivered(CHATS)
