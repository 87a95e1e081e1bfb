"""The socket misbehaves in every way we know, and the next episode is still announced once.

One bot process lives through: a dropped connection, handshakes refused (HTTP 503) for a while,
a connection that stays open but says nothing (no frames, no pongs: WS_IDLE_TIMEOUT=3 in the
harness), and garbage frames; episodes arrive in the live server's envelope, in the named form
and in the documented bare form.
"""

from __future__ import annotations

import time

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.notify_helpers import (
    add_show,
    notice_counts,
    push_episode,
    settled_after_barrier,
    subscribe,
    wait_notice,
)

FAN = 2001
TITLE = 9101
IDLE_TIMEOUT = 3.0  # WS_IDLE_TIMEOUT of the harness
BACKOFF_MAX = 0.5  # WS_BACKOFF_MAX of the harness


async def test_socket_dropped_refused_silent_and_garbage(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    ws = anilibria.ws
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, FAN, TITLE)

    # Documented bare frames work as well as the live envelope.
    await push_episode(anilibria, TITLE, 4, shape="bare")
    await wait_notice(telegram, FAN, TITLE, 4)

    # 1. Dropped without a close frame: back within the backoff.
    before = ws.total_connections
    dropped_at = time.monotonic()
    await ws.drop_all()
    await ws.wait_for_connections(before + 1, timeout=5)
    print(f"reconnect after a drop: {(time.monotonic() - dropped_at) * 1000:.0f} ms")
    await push_episode(anilibria, TITLE, 5, shape="envelope")
    await wait_notice(telegram, FAN, TITLE, 5)

    # 2. Refused (HTTP 503) for a while: the bot keeps trying, then comes back.
    refusals_before = bot.log().count("cannot connect (HTTP 503)")
    ws.refuse = True
    before = ws.total_connections
    await ws.drop_all()
    await poll(
        lambda: bot.log().count("cannot connect (HTTP 503)") >= refusals_before + 4,
        timeout=10,
        message="four refused handshakes",
    )
    assert ws.total_connections == before
    ws.refuse = False
    accepted_at = time.monotonic()
    await ws.wait_for_connections(before + 1, timeout=5)
    print(f"reconnect after refusals end: {(time.monotonic() - accepted_at) * 1000:.0f} ms")
    await push_episode(anilibria, TITLE, 6, shape="named")
    await wait_notice(telegram, FAN, TITLE, 6)

    # 3. Silent: the connection opens but nothing comes back, not even pongs.
    ws.silent = True
    before = ws.total_connections
    await ws.drop_all()
    await ws.wait_for_connections(before + 1, timeout=5)
    silent_since = time.monotonic()
    await ws.wait_for_connections(before + 2, timeout=IDLE_TIMEOUT + BACKOFF_MAX + 3)
    silence_detected = time.monotonic() - silent_since
    print(f"silent connection abandoned after {silence_detected:.2f} s (idle timeout 3 s)")
    assert silence_detected <= IDLE_TIMEOUT + BACKOFF_MAX + 1.0
    assert f"nothing heard for {IDLE_TIMEOUT:g}s" in bot.log()
    ws.silent = False
    before = ws.total_connections
    await ws.wait_for_connections(before + 1, timeout=IDLE_TIMEOUT + BACKOFF_MAX + 3)
    await ws.wait_until_open()
    await poll(lambda: ws.connections == 1, timeout=5, message="only the live connection open")
    await push_episode(anilibria, TITLE, 7)
    await wait_notice(telegram, FAN, TITLE, 7)

    # 4. Garbage: logged, skipped, and the connection stays.
    before = ws.total_connections
    skipped_before = bot.log().count("skipping a message")
    for frame in (
        "not json",
        b"\xff\xfe binary",
        "[1, 2, 3]",
        '{"type": "mystery_event", "mystery_event": {"id": 1}}',
        {"type": "playlist_update", "playlist_update": {"id": "abc", "episode": [4]}},
        {"title_update": {"hash": "x", "title": "not a title", "diff": []}},
        {"type": "playlist_update", "playlist_update": {"id": TITLE, "episode": {"n": 8}}},
        {"id": {"x": 1}, "serie": "eight", "quality": "hd", "player": 5},
        '{"connection": "success", "api_version": 2',
    ):
        await ws.push(frame)
    await ws.push({"error": {"code": 400, "message": "a server error frame"}})
    await push_episode(anilibria, TITLE, 8, shape="bare")
    await wait_notice(telegram, FAN, TITLE, 8)
    await poll(
        lambda: bot.log().count("skipping a message") >= skipped_before + 1,
        message="the skipped frames in the log",
    )
    assert ws.total_connections == before, "garbage must not cost the connection"
    assert "error frame" in bot.log()

    # Every episode exactly once, and nobody else was told.
    await settled_after_barrier(bot)
    for episode in range(4, 9):
        assert notice_counts(telegram, TITLE, episode) == {FAN: 1}, episode
    assert "Traceback" not in bot.log()
    assert await bot.stop() == 0
