from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess
from tests.upstreams import Upstream, V1Upstream, V2Upstream

# The bot process a test started, so that a failing test's report can carry its log.
BOT_PROCESS = pytest.StashKey[BotProcess]()
LOG_TAIL = 6000


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
    request: pytest.FixtureRequest, tmp_path: Path, telegram: FakeTelegram, upstream: Upstream
) -> AsyncIterator[BotProcess]:
    """The bot as a process on the upstream of this run (v1 or v2), not yet started."""
    process = BotProcess(tmp_path, telegram, upstream)
    request.node.stash[BOT_PROCESS] = process
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest, tmp_path: Path, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> AsyncIterator[BotProcess]:
    """The bot as a process, not yet started (tests may set env first)."""
    process = BotProcess(tmp_path, telegram, anilibria)
    request.node.stash[BOT_PROCESS] = process
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test's report gets the end of the bot's log as a section of its own; a
    passing test prints nothing."""
    report = yield
    process = item.stash.get(BOT_PROCESS, None)
    if report.failed and process is not None and process.starts:
        report.sections.append((f"bot log ({process.log_path})", process.log()[-LOG_TAIL:]))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Figures that tests record (`record_property("figure", text)`), once, after the run."""
    figures = [
        value
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "figure"
    ]
    if figures:
        terminalreporter.write_sep("-", "figures")
        for figure in figures:
            terminalreporter.write_line(str(figure))


@pytest.fixture
async def v1_bot(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    telegram: FakeTelegram,
    aniliberty: FakeAniLiberty,
) -> AsyncIterator[BotProcess]:
    """The bot as a process on the fake AniLiberty v1 (its ten real releases), not yet started."""
    process = BotProcess(tmp_path, telegram, V1Upstream(aniliberty))
    request.node.stash[BOT_PROCESS] = process
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill()
