from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def anilibria() -> AsyncIterator[FakeAniLibria]:
    fake = FakeAniLibria()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(
    tmp_path: Path, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> AsyncIterator[BotProcess]:
    """The bot as a process, not yet started (tests may set env first)."""
    process = BotProcess(tmp_path, telegram, anilibria)
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()
    if process.starts:
        print(f"--- bot log ({process.log_path}) ---\n{process.log()[-6000:]}")
