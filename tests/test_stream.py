"""EventStream against FakeAniLibriaSocket on a real aiohttp server (127.0.0.1, random port)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.anilibria.v2.events import (
    ConnectionGreeting,
    EncodeFinish,
    EncodeProgress,
    PlaylistUpdate,
    SubscribeAck,
    TitleUpdate,
    TorrentUpdate,
)
from bot.anilibria.v2.stream import EventStream, StreamConnected, StreamState, backoff_delay
from tests.fakes.anilibria_ws import (
    FakeAniLibriaSocket,
    encode_frame,
    playlist_update_frame,
    title_update_frame,
    torrent_update_frame,
)

FAST: dict[str, Any] = {
    "backoff_initial": 0.05,
    "backoff_max": 0.4,
    "idle_timeout": 0.5,
    "healthy_after": 0.3,
    "ping_interval": 0.2,
    "open_timeout": 2.0,
}
Item = Any


class MaxRandom(random.Random):
    """uniform() returns its upper bound: backoff delays become deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeAniLibriaSocket, str]]:
    fake = FakeAniLibriaSocket()
    app = web.Application()
    fake.add_routes(app)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"ws://127.0.0.1:{port}/v2/ws/"
    await runner.cleanup()


@pytest.fixture
async def streams() -> AsyncIterator[list[EventStream]]:
    made: list[EventStream] = []
    yield made
    for stream in made:
        await stream.close()


async def next_item(it: AsyncIterator[Item], timeout: float = 3.0) -> Item:
    async with asyncio.timeout(timeout):
        return await anext(it)


async def next_matching(
    it: AsyncIterator[Item], pred: Callable[[Item], bool], timeout: float = 3.0
) -> Item:
    async with asyncio.timeout(timeout):
        async for item in it:
            if pred(item):
                return item
    raise AssertionError("stream ended")


async def until(pred: Callable[[], bool], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def open_stream(
    url: str, streams: list[EventStream], **kw: Any
) -> tuple[EventStream, AsyncIterator[Item]]:
    stream = EventStream(url, **{**FAST, **kw})
    streams.append(stream)
    it = aiter(stream)
    return stream, it


async def connected(it: AsyncIterator[Item], *, reconnected: bool) -> StreamConnected:
    marker = await next_item(it)
    assert isinstance(marker, StreamConnected)
    assert marker.reconnected is reconnected
    greeting = await next_item(it)
    assert isinstance(greeting, ConnectionGreeting)
    assert greeting.api_version == "2.13.1"
    return marker


# ------------------------------------------------------------------- backoff
def test_backoff_delay_doubles_caps_and_jitters() -> None:
    top = [backoff_delay(n, initial=1.0, maximum=60.0, rng=MaxRandom()) for n in range(9)]
    assert top == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert backoff_delay(10_000, initial=1.0, maximum=60.0, rng=MaxRandom()) == 60.0
    rng = random.Random(7)
    for n in range(12):
        base = min(60.0, 2.0**n)
        delay = backoff_delay(n, initial=1.0, maximum=60.0, rng=rng)
        assert base / 2 <= delay <= base  # equal jitter: never less than half
    assert len({backoff_delay(5, initial=1.0, maximum=60.0, rng=rng) for _ in range(20)}) > 1


# --------------------------------------------------------------- happy paths
async def test_greeting_then_playlist_update_of_each_shape(server: Any, streams: Any) -> None:
    fake, url = server
    stream, it = await open_stream(url, streams)
    initial_state = stream.state
    marker = await connected(it, reconnected=False)
    assert initial_state is StreamState.DISCONNECTED
    assert marker.attempt == 1
    assert stream.state is StreamState.CONNECTED
    assert stream.api_version == "2.13.1"
    assert stream.connected_since is not None
    for shape in ("envelope", "named", "bare"):
        assert await fake.push(playlist_update_frame(8700, 3, "hd", shape=shape)) == 1
        event = await next_item(it)
        assert isinstance(event, PlaylistUpdate)
        assert (event.title_id, event.episode, event.shape) == (8700, 3, shape)
    assert stream.last_event_at is not None
    assert abs(stream.last_event_at - time.time()) < 5
    assert fake.received == []  # no subscribe filter by default


async def test_every_event_kind_passes_through(server: Any, streams: Any) -> None:
    fake, url = server
    _, it = await open_stream(url, streams)
    await connected(it, reconnected=False)
    await fake.push(title_update_frame({"id": 9174, "code": "summer-time-render"}))
    await fake.push(encode_frame("encode_progress", 9174, 12, percent=40))
    await fake.push(encode_frame("encode_finish", 9174, 12))
    await fake.push(torrent_update_frame(9174))
    kinds = [type(await next_item(it)) for _ in range(4)]
    assert kinds == [TitleUpdate, EncodeProgress, EncodeFinish, TorrentUpdate]


async def test_subscribe_is_sent_when_given(server: Any, streams: Any) -> None:
    fake, url = server
    subscribe = {"subscribe": {"playlist_update": {"id": 8700}}}
    _, it = await open_stream(url, streams, subscribe=subscribe)
    await connected(it, reconnected=False)
    ack = await next_item(it)
    assert isinstance(ack, SubscribeAck)
    assert ack.subscription_id == 0
    assert fake.received == [subscribe]


async def test_large_frame_is_received(server: Any, streams: Any) -> None:
    fake, url = server
    _, it = await open_stream(url, streams)
    await connected(it, reconnected=False)
    frame = playlist_update_frame(1, 2)
    frame["playlist_update"]["player"]["filler"] = "x" * (5 * 2**20)  # > websockets' 1 MiB default
    await fake.push(frame)
    event = await next_item(it, timeout=5)
    assert isinstance(event, PlaylistUpdate)
    assert event.episode == 2
    assert fake.total_connections == 1


async def test_garbage_frames_are_skipped(
    server: Any, streams: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = server
    _, it = await open_stream(url, streams)
    await connected(it, reconnected=False)
    caplog.set_level(logging.DEBUG, logger="bot.anilibria.v2.stream")
    for junk in (
        b"\xff",
        "",
        "null",
        "[]",
        '{"type":"playlist_update"}',
        '{"playlist_update": {"id": "abc"}}',
    ):
        await fake.push(junk)
    await fake.push(playlist_update_frame(5, 1))
    event = await next_item(it)
    assert isinstance(event, PlaylistUpdate)
    assert event.title_id == 5
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "skipping" in r.getMessage()
    ]
    assert len(warnings) == 6
    assert fake.total_connections == 1  # the same connection carried on


# ------------------------------------------------------------- failures
async def test_survives_drop_all(server: Any, streams: Any) -> None:
    fake, url = server
    stream, it = await open_stream(url, streams)
    await connected(it, reconnected=False)
    await fake.drop_all()
    marker = await connected(it, reconnected=True)
    assert marker.attempt == 1
    assert stream.reconnects == 1
    assert fake.total_connections == 2
    await fake.push(playlist_update_frame(8700, 4))
    event = await next_item(it)
    assert isinstance(event, PlaylistUpdate)
    assert event.episode == 4


async def test_refused_for_a_while_then_accepted(
    server: Any, streams: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.anilibria.v2.stream")
    fake, url = server
    fake.refuse = True
    stream, it = await open_stream(url, streams)
    first = asyncio.ensure_future(anext(it))
    await until(lambda: len(stream.recent_delays) >= 3)
    assert not first.done()
    assert fake.total_connections == 0
    assert stream.state in (StreamState.CONNECTING, StreamState.DISCONNECTED)
    fake.refuse = False
    marker = await asyncio.wait_for(first, 3)
    assert isinstance(marker, StreamConnected)
    assert marker.attempt >= 4
    assert marker.reconnected is False
    refused = [r for r in caplog.records if "HTTP 503" in r.getMessage()]
    assert len(refused) >= 3
    for record in refused:  # INFO on the first failure and after 4, 16, ... tries; else DEBUG
        assert isinstance(record.args, tuple)
        loud = record.args[1] in (1, 4, 16)
        assert record.levelno == (logging.INFO if loud else logging.DEBUG), record.getMessage()


async def test_connection_refused_and_dns_failure_just_retry(streams: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for url in (f"ws://127.0.0.1:{port}/v2/ws/", "ws://nonexistent.invalid/v2/ws/"):
        stream, it = await open_stream(url, streams, open_timeout=0.5)
        pending = asyncio.ensure_future(anext(it))
        await until(lambda s=stream: len(s.recent_delays) >= 2, timeout=5)  # type: ignore[misc]
        assert not pending.done()
        await stream.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, 1)


@pytest.mark.parametrize("ping_interval", [None, 0.2], ids=["watchdog", "protocol-pings"])
async def test_silent_connection_is_detected(
    server: Any, streams: Any, ping_interval: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.anilibria.v2.stream")
    fake, url = server
    fake.silent = True
    _, it = await open_stream(url, streams, ping_interval=ping_interval)
    marker = await next_item(it)
    assert isinstance(marker, StreamConnected)
    fake.silent = False  # the open connection stays dead; the next one will be fine
    started = time.monotonic()
    again = await next_item(it, timeout=3)
    elapsed = time.monotonic() - started
    assert isinstance(again, StreamConnected)
    assert again.reconnected is True
    assert elapsed < FAST["idle_timeout"] + 1.0
    assert fake.total_connections == 2
    if ping_interval is None:  # only our own watchdog could have noticed
        assert any("nothing heard" in r.getMessage() for r in caplog.records)


async def test_backoff_grows_and_resets_after_healthy_period(server: Any, streams: Any) -> None:
    fake, url = server
    clock = FakeClock()
    fake.refuse = True
    stream, it = await open_stream(url, streams, clock=clock, rng=MaxRandom())
    pending = asyncio.ensure_future(anext(it))
    await until(lambda: len(stream.recent_delays) >= 4)
    fake.refuse = False
    assert isinstance(await asyncio.wait_for(pending, 3), StreamConnected)
    assert list(stream.recent_delays)[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(stream.recent_delays) == 0.4  # capped at backoff_max
    # dropped before healthy_after: the backoff keeps growing (capped)
    await fake.drop_all()
    await next_matching(it, lambda i: isinstance(i, StreamConnected))
    assert stream.recent_delays[-1] == 0.4
    # stayed up healthy_after (per the injected clock): reset to backoff_initial
    clock.now += FAST["healthy_after"] + 0.01
    await fake.drop_all()
    await next_matching(it, lambda i: isinstance(i, StreamConnected))
    assert stream.recent_delays[-1] == 0.05
    # and grows again after an unhealthy drop
    await fake.drop_all()
    await next_matching(it, lambda i: isinstance(i, StreamConnected))
    assert stream.recent_delays[-1] == 0.1


# ------------------------------------------------------------------- close
async def test_close_from_another_task_ends_iteration_promptly(server: Any, streams: Any) -> None:
    fake, url = server
    stream = EventStream(url, **FAST)
    streams.append(stream)
    seen: list[Item] = []

    async def consume() -> None:
        async for item in stream:
            seen.append(item)

    consumer = asyncio.create_task(consume())
    await until(lambda: len(seen) >= 2)  # StreamConnected + greeting
    await fake.wait_until_open()
    started = time.monotonic()
    await stream.close()
    await asyncio.wait_for(consumer, 1)
    assert time.monotonic() - started < 1
    assert stream.state is StreamState.CLOSED
    await until(lambda: fake.connections == 0)


async def test_close_interrupts_backoff_sleep(server: Any, streams: Any) -> None:
    fake, url = server
    fake.refuse = True
    stream, it = await open_stream(url, streams, backoff_initial=30.0, backoff_max=30.0)
    pending = asyncio.ensure_future(anext(it))
    await until(lambda: len(stream.recent_delays) >= 1)
    started = time.monotonic()
    await stream.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 1)
    assert time.monotonic() - started < 1
    assert stream.state is StreamState.CLOSED


async def test_close_before_iterating_yields_nothing(server: Any, streams: Any) -> None:
    fake, url = server
    stream, it = await open_stream(url, streams)
    await stream.close()
    with pytest.raises(StopAsyncIteration):
        await next_item(it)
    assert fake.total_connections == 0
