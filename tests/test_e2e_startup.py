"""Start-up and exit codes, as an operator meets them (the bot runs as a process).

0 a clean stop, 1 a crash, 2 configuration, 3 a token Telegram rejects, 4 another bot on the
database. A rejected token is one line, no traceback, and nothing created on disk; an
unreachable Telegram is waited for, logged once when it goes and once when it comes back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import stat
import time
from pathlib import Path

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

USER = 4242


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("error:")]


async def exit_code(bot: BotProcess, within: float) -> int:
    """The process's exit code; fails when it is still running after `within` seconds."""
    assert bot.proc is not None
    try:
        return await asyncio.wait_for(bot.proc.wait(), within)
    except TimeoutError:
        raise AssertionError(f"the bot still runs after {within}s:\n{bot.log()[-3000:]}") from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_rejected_token_exits_3_with_one_line_and_creates_nothing(
    bot: BotProcess, telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.fail_next("getMe", 401, "Unauthorized", times=100)
    started = time.monotonic()
    await bot.start(wait=False)
    code = await exit_code(bot, within=20)
    log = bot.log()
    assert code == 3, log
    assert time.monotonic() - started < 20
    assert "Traceback" not in log, log
    [line] = error_lines(log)
    assert "BOT_TOKEN" in line and "401" in line and "@BotFather" in line
    assert not (tmp_path / "data").exists()  # no database, key, lock or heartbeat
    assert telegram.calls_of("getUpdates") == []


async def test_a_token_revoked_while_polling_exits_3(
    bot: BotProcess, telegram: FakeTelegram
) -> None:
    await bot.start()
    telegram.fail_next("getUpdates", 401, "Unauthorized", times=1000)
    telegram.message(USER, "/help")  # ends the open long poll; the next one is refused
    code = await exit_code(bot, within=20)
    assert code == 3, bot.log()
    [line] = error_lines(bot.log())
    assert "BOT_TOKEN" in line and "401" in line


async def test_an_unreachable_telegram_is_waited_for_then_served(
    tmp_path: Path, anilibria: FakeAniLibria
) -> None:
    telegram = FakeTelegram()
    port = free_port()
    telegram.url = f"http://127.0.0.1:{port}"  # nothing listens there yet: refused
    bot = BotProcess(tmp_path, telegram, anilibria)
    await bot.start(wait=False)
    try:
        # getMe refused at about 0, 1 and 3 s (DEBUG logs each retry): one warning for all.
        await poll(
            lambda: bot.log().count("Telegram still unreachable") >= 2,
            timeout=30,
            message="two retries",
        )
        assert bot.proc is not None and bot.proc.returncode is None, bot.log()
        log = bot.log()
        assert log.count("Telegram is unreachable") == 1, log
        assert "Cannot connect" in log, log
        assert not (tmp_path / "data").exists()  # nothing created before the token is good

        await telegram.start(port=port)
        await poll(lambda: telegram.calls_of("getUpdates"), timeout=30, message="polling to begin")
        telegram.message(USER, "/start")
        await telegram.wait_sent(USER)
        log = bot.log()
        assert log.count("Telegram answers again") == 1, log
        assert log.count("Telegram is unreachable") == 1
        assert await bot.stop() == 0
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            await bot.kill()
        await telegram.stop()


async def test_a_signal_while_waiting_for_telegram_is_a_clean_stop(
    tmp_path: Path, anilibria: FakeAniLibria
) -> None:
    telegram = FakeTelegram()
    telegram.url = f"http://127.0.0.1:{free_port()}"
    bot = BotProcess(tmp_path, telegram, anilibria)
    await bot.start(wait=False)
    await poll(
        lambda: "Telegram is unreachable" in bot.log(), timeout=30, message="the first refusal"
    )
    assert await bot.stop(signal.SIGTERM, timeout=5) == 0
    assert error_lines(bot.log()) == []
    assert not (tmp_path / "data").exists()


async def test_a_crash_exits_1(bot: BotProcess, telegram: FakeTelegram) -> None:
    await bot.start()
    assert await bot.stop() == 0
    conn = sqlite3.connect(bot.db_path)
    conn.execute("DROP TABLE outbox")  # the sender and the pruner now fail at once
    conn.commit()
    conn.close()
    await bot.start(wait=False)
    code = await exit_code(bot, within=20)
    assert code == 1, bot.log()
    assert error_lines(bot.log())[-1].endswith("crashed (the traceback is above)")


async def test_a_second_bot_on_the_database_exits_4_and_the_first_keeps_working(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria, tmp_path: Path
) -> None:
    await bot.start()
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = BotProcess(second_dir, telegram, anilibria, env={"DATABASE_PATH": str(bot.db_path)})
    await second.start(wait=False)
    code = await exit_code(second, within=20)
    assert code == 4, second.log()
    assert "Traceback" not in second.log()
    [line] = error_lines(second.log())
    assert "another bot is running" in line and str(bot.db_path) in line
    assert f"process {bot.proc.pid}" in line  # type: ignore[union-attr]

    telegram.message(USER, "/start")  # the first one still answers
    await telegram.wait_sent(USER)

    # kill -9 leaves the lock file but not the lock: a new start is not refused.
    await bot.kill()
    await bot.start()
    telegram.message(USER, "/help")
    await telegram.wait_sent(USER, 2)
    assert await bot.stop() == 0


async def test_the_database_its_wal_shm_key_and_lock_are_0600(
    bot: BotProcess, telegram: FakeTelegram
) -> None:
    old_umask = os.umask(0o022)  # the operator's usual umask, inherited by the bot
    try:
        await bot.start()
    finally:
        os.umask(old_umask)
    telegram.message(USER, "/start")
    await telegram.wait_sent(USER)
    data = bot.db_path.parent
    names = ["bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm", "secret.key", "bot.sqlite3.lock"]
    modes = {name: stat.S_IMODE((data / name).stat().st_mode) for name in names}
    assert modes == dict.fromkeys(names, 0o600), modes
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert await bot.stop() == 0


async def test_polling_handles_a_bounded_number_of_updates_at_once(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    """150 searches against a slow AniLibria: at most POLLING_TASKS are handled at once (the
    rest wait in Telegram's queue, not as tasks in memory), and every one is answered."""
    from bot.app import POLLING_TASKS

    users = range(300_001, 300_151)
    await bot.start()
    anilibria.rest.delay("searchTitles", 2.5, times=len(users))
    for user in users:
        telegram.message(user, f"/search show{user}")
    await poll(
        lambda: anilibria.rest.count("searchTitles") >= POLLING_TASKS,
        timeout=30,
        message="the first searches",
    )
    await asyncio.sleep(1.0)  # well before the first of them answers
    assert anilibria.rest.count("searchTitles") == POLLING_TASKS
    await poll(lambda: all(telegram.sent(user) for user in users), timeout=90, message="replies")
    assert await bot.stop() == 0


async def test_a_stop_lets_the_update_being_handled_answer(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    await bot.start()
    anilibria.rest.delay("searchTitles", 1.5)
    telegram.message(USER, "/search slow")
    await poll(lambda: anilibria.rest.count("searchTitles") == 1, message="the search to start")
    assert await bot.stop(signal.SIGTERM) == 0
    assert telegram.sent(USER), bot.log()  # answered before the process left
