"""Key rotation end to end: a changed SECRET_KEY never silently expires every session.

A new key first and the old one after it (SECRET_KEY=NEW,OLD) keeps every session, and each
moves to the new key when it is used; a new key alone, with sessions only the old one opens,
is refused at start with one line saying what to do; `python -m bot forget-sessions` is the
deliberate way to drop them (their users are told).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bot.account.vault import SessionVault
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

USER = 5151
OLD, NEW = "the old passphrase", "the new passphrase"


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("error:")]


async def say(telegram: FakeTelegram, text: str) -> str:
    before = len(telegram.sent(USER))
    telegram.message(USER, text, language_code="en")
    replies = await telegram.wait_sent(USER, before + 1)
    return replies[before].text or ""


def stored(bot: BotProcess) -> bytes:
    [(ciphertext,)] = bot.db("SELECT ciphertext FROM sessions WHERE user_id = ?", (USER,))
    return bytes(ciphertext)


def told(telegram: FakeTelegram) -> int:
    return sum("no longer accepts the session" in (m.text or "") for m in telegram.sent(USER))


async def test_rotation_keeps_sessions_and_a_bare_new_key_is_refused(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    session = anilibria.rest.new_session()
    bot.extra_env["SECRET_KEY"] = OLD
    await bot.start()
    await say(telegram, f"/login {session}")
    sealed_old = stored(bot)
    assert SessionVault.from_secret(OLD).opens(USER, sealed_old)
    assert await bot.stop() == 0

    # The key changed and the old one is not listed: refused, nothing dropped.
    bot.extra_env["SECRET_KEY"] = NEW
    await bot.start(wait=False)
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 30) == 2, bot.log()
    [line] = error_lines(bot.log())
    assert "SECRET_KEY=NEW,OLD" in line and "forget-sessions" in line
    assert stored(bot) == sealed_old

    # New first, old after: the session works and is re-sealed with the new key on use.
    bot.extra_env["SECRET_KEY"] = f"{NEW},{OLD}"
    await bot.start()
    await say(telegram, "/favorites")
    await poll(lambda: stored(bot) != sealed_old, message="the session to be re-sealed")
    assert SessionVault.from_secret(NEW).opens(USER, stored(bot))
    assert await bot.stop() == 0

    # Now the new key alone is enough.
    bot.extra_env["SECRET_KEY"] = NEW
    await bot.start()
    await say(telegram, "/favorites")
    assert told(telegram) == 0  # nobody was told their session expired
    assert await bot.stop() == 0


async def test_forget_sessions_is_the_deliberate_way_to_drop_them(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    bot.extra_env["SECRET_KEY"] = OLD
    await bot.start()
    await say(telegram, f"/login {anilibria.rest.new_session()}")
    assert await bot.stop() == 0

    bot.extra_env["SECRET_KEY"] = "a key with the old one lost"
    env = bot.environment()
    del env["BOT_TOKEN"]  # the command needs no token
    done = subprocess.run(
        [sys.executable, "-m", "bot", "forget-sessions"],
        cwd=bot.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "dropped 1 of 1" in done.stdout
    assert bot.db("SELECT COUNT(*) FROM sessions") == [(0,)]

    await bot.start()  # starts now, and the user hears about it once
    await poll(lambda: told(telegram) == 1, message="the user to be told")
    assert await bot.stop() == 0


async def test_forget_sessions_refuses_while_the_bot_runs(bot: BotProcess) -> None:
    await bot.start()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "forget-sessions"],
        cwd=bot.workdir,
        env=bot.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: another bot is running")
    assert await bot.stop() == 0
