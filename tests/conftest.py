from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess
from tests.upstreams import Upstream, V1Upstream, V2Upstream


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
async def aniliberty() -> AsyncIterator[FakeAniLiberty]:
    fake = FakeAniLiberty()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(params=["v1", "v2"])
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[Upstream]:
    """Each upstream in turn: a test that takes it runs once on v1 and once on v2."""
    if request.param == "v1":
        v1 = FakeAniLiberty(load_real=False)
        await v1.start()
        yield V1Upstream(v1)
        await v1.stop()
    else:
        v2 = FakeAniLibria(load_real=False)
        await v2.start()
        yield V2Upstream(v2)
        await v2.stop()


@pytest.fixture
async def any_bot(
    tmp_path: Path, telegram: FakeTelegram, upstream: Upstream
) -> AsyncIterator[BotProcess]:
    """The bot as a process on the upstream of this run (v1 or v2), not yet started."""
    process = BotProcess(tmp_path, telegram, upstream)
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()
    if process.starts:
        print(f"--- bot log ({process.log_path}) ---\n{process.log()[-6000:]}")


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


@pytest.fixture
async def v1_bot(
    tmp_path: Path, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> AsyncIterator[BotProcess]:
    """The bot as a process on the fake AniLiberty v1 (its ten real releases), not yet started."""
    process = BotProcess(tmp_path, telegram, V1Upstream(aniliberty))
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()
    if process.starts:
        print(f"--- bot log ({process.log_path}) ---\n{process.log()[-6000:]}")
