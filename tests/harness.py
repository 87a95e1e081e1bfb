"""Running the bot as a process (`python -m bot`) against the fakes, as an operator would.

The environment points TELEGRAM_API_URL and ANILIBRIA_* at the fakes (v2's REST and socket, or
v1's REST: see tests/upstreams.py) and DATABASE_PATH at a real SQLite file in the test's folder.
Nothing of the bot is imported or mocked here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.upstreams import Upstream, V2Upstream

__all__ = ["BOT_TOKEN", "REPO", "BotProcess", "callback_answer", "poll", "query_db"]

REPO = Path(__file__).resolve().parents[1]
# Importing aiogram alone takes seconds of CPU; with the suite's workers sharing two cores a start
# can take long. Generous on purpose: this bounds a hang, it does not measure the start.
START_TIMEOUT = 90.0
BOT_TOKEN = "123456789:TEST-token-for-the-fake-telegram-server"
_OUR_VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "ANILIBRIA_API",
    "ANILIBRIA_API_URL",
    "ANILIBRIA_WS_URL",
    "ANILIBRIA_SITE_URL",
    "DATABASE_PATH",
    "SECRET_KEY",
    "DEFAULT_LANGUAGE",
    "DEFAULT_TIMEZONE",
    "SEND_RATE",
    "ADMIN_IDS",
    "LOG_LEVEL",
    "POLL_INTERVAL",
)


async def poll(
    predicate: Callable[[], Any], timeout: float = 10.0, message: str = "condition"
) -> Any:
    """Wait until predicate() is truthy (returning its value), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.02)


async def callback_answer(telegram: FakeTelegram, update: dict[str, Any]) -> dict[str, Any]:
    """The bot's answerCallbackQuery parameters for an injected callback update (exactly one)."""
    query_id = update["callback_query"]["id"]

    def answers() -> list[dict[str, Any]]:
        return [
            call.params
            for call in telegram.calls_of("answerCallbackQuery")
            if call.params.get("callback_query_id") == query_id
        ]

    found: list[dict[str, Any]] = await poll(
        answers, message=f"the answer to {update['callback_query']['data']}"
    )
    [answer] = found
    return answer


def query_db(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the bot's database from outside, as an operator with sqlite3 would."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


class BotProcess:
    """The bot as a process. `upstream` is a FakeAniLibria (v2, most tests) or any driver of
    tests/upstreams.py; `anilibria` is the v2 fake when there is one."""

    def __init__(
        self,
        workdir: Path,
        telegram: FakeTelegram,
        upstream: FakeAniLibria | Upstream,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.telegram = telegram
        self.upstream: Upstream = (
            V2Upstream(upstream) if isinstance(upstream, FakeAniLibria) else upstream
        )
        self.anilibria: FakeAniLibria | None = (
            self.upstream.fake if isinstance(self.upstream, V2Upstream) else None
        )
        self.extra_env = dict(env or {})
        self.db_path = workdir / "data" / "bot.sqlite3"
        self.log_path = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _OUR_VARIABLES}
        env.update(
            {
                "BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_API_URL": self.telegram.url,
                **self.upstream.env(),
                "DATABASE_PATH": str(self.db_path),
                "LOG_LEVEL": "DEBUG",
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    async def start(self, *, wait: bool = True) -> None:
        polls_before = len(self.telegram.calls_of("getUpdates"))
        upstream_before = self.upstream.progress()
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.workdir,
            env=self.environment(),
            stdout=log,
            stderr=log,
        )
        log.close()
        self.starts += 1
        if wait:
            await poll(
                lambda: (
                    len(self.telegram.calls_of("getUpdates")) > polls_before
                    and self.upstream.progress() > upstream_before
                ),
                timeout=START_TIMEOUT,
                message="the bot to poll Telegram and reach the upstream",
            )

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the process; returns its exit code (fails if it outlives `timeout`)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(
                f"the bot did not exit within {timeout}s of signal {sig}"
            ) from None

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""

    def db(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return query_db(self.db_path, sql, params)

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has nothing pending or in flight."""
        await poll(
            lambda: (
                self.db("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")[0][0]
                == 0
            ),
            timeout=timeout,
            message="the outbox to drain",
        )

    async def barrier(self, timeout: float = 10.0) -> None:
        """Wait until everything the upstream told so far has been handled."""
        await self.upstream.settle(self, timeout)
