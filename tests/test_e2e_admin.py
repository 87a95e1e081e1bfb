"""Operations: /stats for ADMIN_IDS only, a clean stop under load, and the health check.

SIGTERM in the middle of a fan-out: the process exits 0 within 10 seconds, leaves no row
claimed, and after a restart every chat has the notice exactly once. `python -m bot.health`
(the Docker HEALTHCHECK) exits 0 while the bot hears Telegram and the feed, 1 when either
has been lost for longer than HEALTH_MAX_AGE, when the heartbeat is stale, or missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bot.health import Heartbeat, check
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import REPO, BotProcess, poll
from tests.notify_helpers import (
    add_show,
    notice_counts,
    push_episode,
    seed_followers,
    settled_after_barrier,
    subscribe,
)

ADMIN = 4343
STRANGER = 4344
GROUP = -4345
TITLE = 9401


async def test_stats_for_admins_only(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    bot.extra_env["ADMIN_IDS"] = f"{ADMIN}, 1"
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, STRANGER, TITLE)
    await push_episode(anilibria, TITLE, 4)
    await settled_after_barrier(bot)

    telegram.message(ADMIN, "/stats", language_code="en")
    [stats] = await telegram.wait_sent(ADMIN)
    text = stats.text or ""
    for expected in (
        "Chats: 2 active, 0 inactive",  # the stranger, and the admin who just spoke
        "Subscriptions: 1",
        "Socket: connected, last event",
        "reconnects: 0",
        "Telegram: last answered",
        "Outbox: 0 waiting, 0 being sent, 0 parked",
        "Last hour: 1 sent, 0 failed",
    ):
        assert expected in text, (expected, text)

    # In Russian for a Russian-speaking admin.
    telegram.message(ADMIN, "/stats", language_code="ru")
    replies = await telegram.wait_sent(ADMIN, 2)
    assert "Состояние бота" in (replies[1].text or "") and "Сокет: подключён" in (
        replies[1].text or ""
    )

    # Others: a polite refusal in private, silence in a group; no figures either way.
    telegram.message(STRANGER, "/stats", language_code="en")
    replies = await telegram.wait_sent(STRANGER, 3)  # subscribe reply, notice, refusal
    assert "only for the bot's administrators" in (replies[-1].text or "")
    telegram.set_admins(GROUP, [STRANGER, ADMIN])
    telegram.message(GROUP, "/stats", chat_type="supergroup", user_id=STRANGER)
    telegram.message(GROUP, "/stats", chat_type="supergroup", user_id=ADMIN, language_code="en")
    [group_reply] = await telegram.wait_sent(GROUP)
    await settled_after_barrier(bot)
    assert len(telegram.sent(GROUP)) == 1 and "Subscriptions: 1" in (group_reply.text or "")
    assert await bot.stop() == 0


async def test_sigterm_during_a_fan_out(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    fans = range(200_001, 200_201)  # 200 chats at 40 a second: 5 seconds of sending
    bot.extra_env["SEND_RATE"] = "40"
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    await subscribe(telegram, fans[0], TITLE)
    assert await bot.stop() == 0
    seed_followers(bot.db_path, TITLE, fans)
    await bot.start()

    await push_episode(anilibria, TITLE, 4)
    await poll(lambda: len(notice_counts(telegram, TITLE, 4)) >= 20, message="the fan-out going")
    signalled_at = time.monotonic()
    code = await bot.stop(signal.SIGTERM, timeout=10)
    took = time.monotonic() - signalled_at
    delivered = len(notice_counts(telegram, TITLE, 4))
    print(f"SIGTERM during a fan-out: exit {code} after {took:.2f} s, {delivered}/200 delivered")
    assert code == 0 and took < 10
    assert delivered < 200, "the fan-out finished before the signal: nothing proven"
    states = dict(bot.db("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
    assert "sending" not in states, states  # nothing left claimed
    assert "stopped" in bot.log().splitlines()[-1]

    # The rest goes out after a restart; a clean stop duplicates nothing.
    await bot.start()
    await poll(
        lambda: len(notice_counts(telegram, TITLE, 4)) == 200,
        timeout=30,
        message="the rest of the fan-out",
    )
    await bot.settled(timeout=20)
    assert set(notice_counts(telegram, TITLE, 4).values()) == {1}
    assert await bot.stop(signal.SIGINT) == 0


async def health(bot: BotProcess, **env: str) -> tuple[int, str]:
    """Run `python -m bot.health` as Docker would, in the bot's environment."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.health",
        cwd=bot.workdir,
        env={**bot.environment(), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def wait_health(bot: BotProcess, code: int, blame: str = "", timeout: float = 15.0) -> str:
    """Poll the health check until it exits ``code`` (naming ``blame`` in its line)."""
    deadline = time.monotonic() + timeout
    while True:
        got, out = await health(bot)
        if got == code and blame in out:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"health stayed {got} ({out.strip()}), wanted {code}")
        await asyncio.sleep(0.2)


async def test_health_check(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    bot.extra_env.update({"HEALTH_INTERVAL": "0.2", "HEALTH_MAX_AGE": "2"})
    heartbeat = Path(bot.db_path).parent / "health.json"
    assert (await health(bot))[0] == 1  # nothing written yet: unhealthy
    await bot.start()
    await poll(lambda: heartbeat.exists(), message="the heartbeat file")
    out = await wait_health(bot, 0)
    assert out.startswith("healthy")
    await poll(
        lambda: json.loads(heartbeat.read_text())["feed_state"] == "socket:connected",
        message="the heartbeat to see the socket connected",
    )

    # The socket lost for longer than HEALTH_MAX_AGE: unhealthy; back: healthy again.
    anilibria.ws.refuse = True
    lost_at = time.monotonic()
    await anilibria.ws.drop_all()
    out = await wait_health(bot, 1, "feed")
    print(f"health turned 1 {time.monotonic() - lost_at:.1f} s after the socket was lost")
    assert "telegram" not in out
    anilibria.ws.refuse = False
    await wait_health(bot, 0)

    # Telegram stops answering getUpdates: unhealthy, and only Telegram is blamed.
    telegram.fail_next("getUpdates", 502, "Bad Gateway", times=1000)
    telegram.message(STRANGER, "/help")  # ends the long poll in progress
    out = await wait_health(bot, 1, "telegram")
    assert "feed" not in out

    # The bot gone: the heartbeat goes stale. A heartbeat file elsewhere that is missing: 1.
    assert await bot.stop() == 0
    await wait_health(bot, 1, "heartbeat")
    code, out = await health(bot, HEALTH_FILE=str(bot.workdir / "nowhere" / "health.json"))
    assert code == 1 and "no heartbeat file" in out


def test_health_check_judges_every_clock(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    now = 1_000_000.0
    beat = Heartbeat(
        pid=1,
        started_at=now - 600,
        written_at=now - 5,
        telegram_at=now - 10,
        feed_at=now - 20,
        feed_state="socket:connected",
        delivery_at=now - 30,
    )
    path.write_text(json.dumps(asdict(beat)))
    assert check(path, 180, now)[0] is True
    for field, blamed in (
        ("written_at", "heartbeat"),
        ("telegram_at", "telegram"),
        ("feed_at", "feed"),
        ("delivery_at", "delivery"),
    ):
        stale = {**asdict(beat), field: now - 181}
        path.write_text(json.dumps(stale))
        healthy, line = check(path, 180, now)
        assert not healthy and blamed in line, line
    path.write_text("{not json")
    healthy, line = check(path, 180, now)
    assert not healthy and "unreadable" in line
    path.write_text(json.dumps({"pid": 1}))
    assert check(path, 180, now)[0] is False


def test_health_check_reads_the_settings_the_bot_reads(tmp_path: Path) -> None:
    """A token that lives only in .env (as .env.example suggests) must not fail the check."""
    now = time.time()
    beat = Heartbeat(
        pid=1,
        started_at=now - 60,
        written_at=now,
        telegram_at=now,
        feed_at=now,
        feed_state="polling:ok",
        delivery_at=now,
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "health.json").write_text(json.dumps(asdict(beat)))
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123456789:TEST-token-in-the-dotenv-file\nDATABASE_PATH=data/bot.sqlite3\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_PATH")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "bot.health"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("healthy")


async def test_health_check_sees_a_stalled_delivery(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    """Notices due and none delivered for HEALTH_MAX_AGE: unhealthy, and delivery is blamed;
    once Telegram takes messages again the notices go out and the bot is healthy again."""
    bot.extra_env.update({"HEALTH_INTERVAL": "0.2", "HEALTH_MAX_AGE": "2"})
    anilibria.rest.add_title(
        anilibria.rest.make_title(7301, "stalled-show", "Застрявший", "Stalled", episodes=2)
    )
    await bot.start()
    for chat in (7302, 7303, 7304):
        telegram.message(chat, "/subscribe stalled-show")
        await telegram.wait_sent(chat)
    await wait_health(bot, 0)

    # Telegram answers every message with a long flood wait: the rows stay due, nothing moves.
    telegram.fail_next("sendMessage", 429, "Too Many Requests", times=1, retry_after=30)
    await bot.upstream.release(7301, 3)
    out = await wait_health(bot, 1, "delivery", timeout=40)
    assert "telegram" not in out and "feed" not in out
    await poll(
        lambda: all(
            any("🎬" in (m.text or "") for m in telegram.sent(chat)) for chat in (7302, 7303, 7304)
        ),
        timeout=60,
        message="the notices after the flood wait",
    )
    await wait_health(bot, 0, timeout=20)
