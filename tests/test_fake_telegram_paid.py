"""The fake Telegram server's paid broadcasts, Stars, revoked token and raw answers.

Driven by aiogram's real client session, like tests/test_fake_telegram.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Message

from tests.fakes.telegram import FakeTelegram

TOKEN = "777000111:AAHfakeTokenForTests_0123456789abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()
    assert server.internal_errors == []


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    yield Bot(TOKEN, session=session)
    if session._session is not None:
        await session._session.close()


async def test_paid_sends_have_a_window_of_their_own(bot: Bot, fake: FakeTelegram) -> None:
    fake.enforce_rate_limits(global_per_second=30, paid_per_second=1000)
    free = await asyncio.gather(
        *(bot.send_message(1000 + i, "free") for i in range(40)), return_exceptions=True
    )
    assert sum(isinstance(r, TelegramRetryAfter) for r in free) >= 9  # 31 fit in a second
    paid = await asyncio.gather(
        *(bot.send_message(2000 + i, "paid", allow_paid_broadcast=True) for i in range(200))
    )
    assert all(isinstance(m, Message) for m in paid)
    assert fake.paid_messages == 200


async def test_paid_window_and_per_chat_limit_still_hold(bot: Bot, fake: FakeTelegram) -> None:
    now = [1000.0]
    fake.clock = lambda: now[0]
    fake.enforce_rate_limits(paid_per_second=50)
    for i in range(51):
        await bot.send_message(3000 + i, "paid", allow_paid_broadcast=True)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(4000, "the 52nd in one second", allow_paid_broadcast=True)
    now[0] += 1.0
    await bot.send_message(5000, "1", allow_paid_broadcast=True)
    await bot.send_message(5000, "2", allow_paid_broadcast=True)  # the +1 tolerance
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(5000, "paying lifts no per-chat limit", allow_paid_broadcast=True)
    assert fake.paid_messages == 53


async def test_stars_pay_for_paid_sends_until_they_run_out(bot: Bot, fake: FakeTelegram) -> None:
    fake.set_star_balance(0.3)
    balance = await bot.get_my_star_balance()
    assert (balance.amount, balance.nanostar_amount) == (0, 300_000_000)
    for i in range(3):
        await bot.send_message(6000 + i, "paid", allow_paid_broadcast=True)
    with pytest.raises(TelegramBadRequest, match="BALANCE_TOO_LOW"):
        await bot.send_message(6100, "one too many", allow_paid_broadcast=True)
    assert await bot.send_message(6100, "free messages cost nothing")
    assert fake.paid_messages == 3 and len(fake.sent()) == 4
    fake.set_star_balance(12)
    assert (await bot.get_my_star_balance()).amount == 12


async def test_revoked_token_and_raw_answers(bot: Bot, fake: FakeTelegram) -> None:
    fake.revoke_token()
    with pytest.raises(TelegramUnauthorizedError):
        await bot.get_me()
    with pytest.raises(TelegramUnauthorizedError):
        await bot.send_message(7000, "x")
    fake.restore_token()
    assert (await bot.get_me()).id == fake.bot_id

    fake.fail_next("sendMessage", 502, "", raw_body="<html>502 Bad Gateway</html>")
    with pytest.raises(ClientDecodeError):
        await bot.send_message(7000, "behind a proxy")
    assert fake.sent(7000) == []
    assert await bot.send_message(7000, "and again")
