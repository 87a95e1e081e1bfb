"""Liveness for Docker's HEALTHCHECK: has the bot heard from Telegram and AniLibria lately?

A process that is running is not necessarily working: a long-poll can hang on a dead proxy and
the news feed can stay down for hours while the process idles in its backoff. So the bot writes
a small heartbeat file (``HEALTH_FILE``, by default ``health.json`` beside the database) every
``HEALTH_INTERVAL`` seconds with the time Telegram last answered a ``getUpdates``, the time
the feed last worked (v2: the socket was connected; v1: a poll succeeded), and the time delivery
last moved (now while nothing is due in the outbox; else the last row sent or parked).
``python -m bot.health`` reads it and exits 1 when the file, Telegram, the feed or delivery is
older than ``HEALTH_MAX_AGE`` seconds (default 180), 0 otherwise; Docker marks the container
unhealthy and an orchestrator can restart it.

The check reads only the file, never the network: it is cheap, and it judges what the bot
itself saw rather than whether Telegram happens to answer a second process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config import Settings

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import Response, TelegramType

    from bot.anilibria import NewsFeed

__all__ = [
    "Heartbeat",
    "TelegramPulse",
    "check",
    "health_path",
    "main",
    "read_heartbeat",
    "write_heartbeat_forever",
]

log = logging.getLogger(__name__)

LONG_POLL_GRACE = 60.0  # an open getUpdates younger than this is a live connection
_NO_TOKEN = "0:health-check-needs-no-token"  # noqa: S105 - a stand-in, not a secret


def health_path(settings: Settings) -> Path:
    """HEALTH_FILE, or ``health.json`` in the database's folder (a volume in Docker)."""
    if settings.health_file is not None:
        return settings.health_file
    return settings.database_path.parent / "health.json"


class TelegramPulse:
    """When Telegram was last heard: a getUpdates answered (an empty answer counts).

    A long poll holds its request open for up to aiogram's polling timeout (10 s) when there
    is nothing new, so an open poll counts as "heard now" too, unless the previous one failed
    or this one is older than LONG_POLL_GRACE: a poll hanging longer, or polls that fail,
    stop the clock.

    An aiogram request middleware by shape; it does not import aiogram so that the health
    check, which shares this module, starts in a fraction of a second.
    """

    def __init__(self) -> None:
        self.last_ok_at: float | None = None
        self._poll_started: float | None = None
        self._failing = False

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ != "getUpdates":
            return await make_request(bot, method)
        self._poll_started = time.time()
        try:
            response = await make_request(bot, method)
        except BaseException:
            self._failing = True
            raise
        finally:
            self._poll_started = None
        self._failing = False
        self.last_ok_at = time.time()
        return response

    def heard_at(self, now: float) -> float | None:
        started = self._poll_started
        if started is not None and not self._failing and now - started <= LONG_POLL_GRACE:
            return now
        return self.last_ok_at


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the file holds; times are Unix seconds."""

    pid: int
    started_at: float
    written_at: float
    telegram_at: float
    feed_at: float
    feed_state: str
    delivery_at: float


def _write_atomically(path: Path, beat: Heartbeat) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(beat)), encoding="utf-8")
    os.replace(temporary, path)  # a reader never sees half a file


async def write_heartbeat_forever(
    path: Path,
    interval: float,
    pulse: TelegramPulse,
    feed: NewsFeed,
    *,
    delivery: Callable[[float], Awaitable[float]] | None = None,
    started_at: float | None = None,
) -> None:
    """Rewrite the heartbeat every ``interval`` seconds until cancelled.

    Before the first answer from either side the start time stands in, so a bot that never
    reaches Telegram or AniLibria turns unhealthy HEALTH_MAX_AGE after it started.
    """
    started = time.time() if started_at is None else started_at
    while True:
        now = time.time()
        # A socket that went quiet is dropped by the stream's watchdog (WS_IDLE_TIMEOUT); a poll
        # that hangs is bounded by the client's timeout: either stops the feed's clock.
        feed_health = feed.health()
        try:
            delivery_at = now if delivery is None else await delivery(now)
        except Exception as exc:  # the database busy or gone: the check will see the clock stop
            log.warning("heartbeat: cannot read the outbox: %s", exc)
            delivery_at = started
        beat = Heartbeat(
            pid=os.getpid(),
            started_at=started,
            written_at=now,
            telegram_at=pulse.heard_at(now) or started,
            feed_at=feed_health.ok_at or started,
            feed_state=f"{feed_health.mode}:{feed_health.state}",
            delivery_at=delivery_at,
        )
        try:
            await asyncio.to_thread(_write_atomically, path, beat)
        except OSError as exc:  # a full disk must not stop the bot; the check will notice
            log.warning("cannot write the heartbeat file %s: %s", path, exc)
        await asyncio.sleep(interval)


def read_heartbeat(path: Path) -> Heartbeat:
    """Raises OSError, ValueError (bad JSON) or TypeError/KeyError (wrong fields)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Heartbeat(
        pid=int(data["pid"]),
        started_at=float(data["started_at"]),
        written_at=float(data["written_at"]),
        telegram_at=float(data["telegram_at"]),
        feed_at=float(data["feed_at"]),
        feed_state=str(data["feed_state"]),
        # A file written before delivery was watched: judge it by its age alone.
        delivery_at=float(data.get("delivery_at", data["written_at"])),
    )


def check(path: Path, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    now = time.time() if now is None else now
    try:
        beat = read_heartbeat(path)
    except FileNotFoundError:
        return False, f"unhealthy: no heartbeat file at {path}"
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return False, f"unhealthy: unreadable heartbeat file {path}: {exc}"
    ages = {
        "heartbeat": now - beat.written_at,
        "telegram": now - beat.telegram_at,
        "feed": now - beat.feed_at,
        "delivery": now - beat.delivery_at,
    }
    stale = [f"{name} {age:.0f}s ago" for name, age in ages.items() if age > max_age]
    if stale:
        return False, f"unhealthy (limit {max_age:g}s): " + ", ".join(stale)
    return True, "healthy: " + ", ".join(f"{name} {age:.0f}s ago" for name, age in ages.items())


def _settings() -> Settings | None:
    """The settings the bot reads (environment, then .env). The check needs no token: when
    none is set anywhere, a well-formed stand-in lets the rest be read."""
    try:
        return Settings()
    except ValidationError as exc:
        if any(error["loc"] != ("bot_token",) for error in exc.errors()):
            print(f"unhealthy: invalid settings: {exc.errors()[0]['msg']}", file=sys.stderr)
            return None
    try:
        return Settings(bot_token=_NO_TOKEN)
    except ValidationError as exc:
        print(f"unhealthy: invalid settings: {exc.errors()[0]['msg']}", file=sys.stderr)
        return None


def main() -> int:
    settings = _settings()
    if settings is None:
        return 1
    healthy, reason = check(health_path(settings), settings.health_max_age)
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
