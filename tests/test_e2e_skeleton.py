"""The walking skeleton end to end: subscribe in Telegram, an episode over the socket, one message.

The bot runs as a process (`python -m bot`) against the fake Telegram and AniLibria servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame
from tests.fakes.telegram import FakeTelegram
from tests.harness import REPO, BotProcess, poll

SUBSCRIBER = 1001
BYSTANDER = 1002
TITLE_ID = 9001


def notices(telegram: FakeTelegram, chat_id: int, episode: int) -> list[str]:
    return [
        m.text or ""
        for m in telegram.sent(chat_id)
        if "🎬" in (m.text or "") and f" {episode} " in (m.text or "")
    ]


async def push_episode(anilibria: FakeAniLibria, episode: int, shape: str = "envelope") -> float:
    """The episode appears over REST and the socket, in three qualities; returns push time."""
    title = anilibria.rest.add_episode(TITLE_ID, episode)
    pushed_at = time.monotonic()
    for quality in ("sd", "hd", "fhd"):
        await anilibria.ws.push(
            playlist_update_frame(
                TITLE_ID,
                episode,
                quality,
                player=title["player"],
                shape=shape,  # type: ignore[arg-type]
            )
        )
    return pushed_at


async def test_subscribe_then_episode_arrives_once(
    bot: BotProcess,
    telegram: FakeTelegram,
    anilibria: FakeAniLibria,
    record_property: Callable[[str, object], None],
) -> None:
    anilibria.rest.add_title(
        anilibria.rest.make_title(
            TITLE_ID, "test-show", "Тестовый сериал <b>", "Test Show & Co", episodes=3
        )
    )
    await bot.start()

    telegram.message(SUBSCRIBER, "/start")
    telegram.message(BYSTANDER, "/start", language_code="en")
    [greeting] = await telegram.wait_sent(SUBSCRIBER)
    assert "/subscribe" in (greeting.text or "")
    [greeting_en] = await telegram.wait_sent(BYSTANDER)
    assert "I tell you the moment" in (greeting_en.text or "")

    telegram.message(SUBSCRIBER, "/subscribe test-show")
    replies = await telegram.wait_sent(SUBSCRIBER, 2)
    assert "Тестовый сериал &lt;b&gt;" in (replies[1].text or "")

    # Episode 4 in three qualities: exactly one notice, and none for the bystander.
    pushed_at = await push_episode(anilibria, 4)
    await poll(lambda: notices(telegram, SUBSCRIBER, 4), message="the episode notice")
    [call] = [
        c for c in telegram.calls_of("sendMessage", chat_id=SUBSCRIBER) if "🎬" in c.params["text"]
    ]
    first_latency = (call.at - pushed_at) * 1000  # includes the 1 msg/s per-chat spacing
    await bot.barrier()
    await bot.settled()
    assert len(notices(telegram, SUBSCRIBER, 4)) == 1
    assert notices(telegram, BYSTANDER, 4) == []
    text = notices(telegram, SUBSCRIBER, 4)[0]
    assert "Тестовый сериал &lt;b&gt;" in text and "Test Show &amp; Co" in text
    assert f"{anilibria.site_url}/release/test-show.html" in text
    [notice] = [m for m in telegram.sent(SUBSCRIBER) if "🎬" in (m.text or "")]
    buttons = [b for row in notice.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert any(b.get("url", "").endswith("/release/test-show.html") for b in buttons)
    assert any(b.get("callback_data", "").startswith("sub:") for b in buttons)

    # The same episode again in a title_update: nothing more.
    title = anilibria.rest.titles[TITLE_ID]
    await anilibria.ws.push({"title_update": {"hash": "h-ep4", "title": title, "diff": {}}})
    await bot.barrier()
    await bot.settled()
    assert len(notices(telegram, SUBSCRIBER, 4)) == 1

    # The socket drops and comes back: the next episode still arrives.
    connections = anilibria.ws.total_connections
    await anilibria.ws.drop_all()
    await anilibria.ws.wait_for_connections(connections + 1, timeout=10)
    # Telegram allows one message a second per chat and the bot keeps to it: let the window
    # since the last message pass, so the figure below is the bot's own latency.
    last_sent = max(c.at for c in telegram.calls_of("sendMessage", chat_id=SUBSCRIBER))
    await poll(lambda: time.monotonic() - last_sent > 1.0, message="the per-chat window")
    pushed_at = await push_episode(anilibria, 5, shape="bare")
    await poll(lambda: notices(telegram, SUBSCRIBER, 5), message="the episode after reconnect")
    [call] = [
        c
        for c in telegram.calls_of("sendMessage", chat_id=SUBSCRIBER)
        if "🎬" in c.params["text"] and " 5 " in c.params["text"]
    ]
    record_property(  # listed under "figures" at the end of the run (tests/conftest.py)
        "figure",
        f"socket event -> sendMessage: {(call.at - pushed_at) * 1000:.1f} ms"
        f" (first notice, right after the /subscribe reply: {first_latency:.1f} ms)",
    )

    # SIGTERM: a clean exit with code 0.
    assert await bot.stop(signal.SIGTERM) == 0

    # A restart keeps the subscription.
    await bot.start()
    telegram.message(SUBSCRIBER, "/subscriptions")
    await poll(
        lambda: any(
            "Тестовый сериал" in (m.text or "") and "follows" not in (m.text or "")
            for m in telegram.sent(SUBSCRIBER)[-1:]
        ),
        message="the subscription list after restart",
    )
    assert await bot.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_missing_token_exits_with_one_line(tmp_path: Path, token: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    env["DATABASE_PATH"] = str(tmp_path / "data" / "bot.sqlite3")
    if token is not None:
        env["BOT_TOKEN"] = token  # as in a .env copied from .env.example and not filled in
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was created
