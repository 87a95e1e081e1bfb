"""Helpers shared by the end-to-end tests of notices: follow a title, release an episode, count.

Everything goes through the fakes and the bot's real SQLite file; nothing of the bot is imported.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Literal

from aiogram.utils.i18n import gettext

from bot.ui.i18n import LANGUAGES, LOCALES_DIR, PoI18n
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

__all__ = [
    "add_show",
    "episode_notices",
    "notice_counts",
    "push_episode",
    "seed_followers",
    "settled_after_barrier",
    "subscribe",
    "wait_notice",
]

Shape = Literal["envelope", "named", "bare"]


def add_show(anilibria: FakeAniLibria, title_id: int, episodes: int = 3) -> None:
    """A title of the fake catalogue, code ``show-<id>``, with ``episodes`` episodes."""
    anilibria.rest.add_title(
        anilibria.rest.make_title(
            title_id,
            f"show-{title_id}",
            f"Сериал {title_id}",
            f"Show {title_id}",
            episodes=episodes,
        )
    )


_I18N = PoI18n(path=LOCALES_DIR, default_locale="ru")


@functools.cache
def _episode_lines(episode: int) -> frozenset[str]:
    """The notice's "Episode N is out" line in every language, as the bot words it."""
    lines = set()
    for language in LANGUAGES:
        with _I18N.context(), _I18N.use_locale(language):
            lines.add(gettext("Episode {n} is out").format(n=episode))
    return frozenset(lines)


def _is_notice(text: str | None, title_id: int, episode: int) -> bool:
    text = text or ""
    return (
        text.startswith("🎬")
        and f"/release/show-{title_id}.html" in text
        and not _episode_lines(episode).isdisjoint(text.split("\n"))
    )


def episode_notices(telegram: FakeTelegram, chat_id: int, title_id: int, episode: int) -> list[str]:
    """Texts of the episode notices delivered to the chat for (title, episode)."""
    return [m.text or "" for m in telegram.sent(chat_id) if _is_notice(m.text, title_id, episode)]


def notice_counts(telegram: FakeTelegram, title_id: int, episode: int) -> Counter[int]:
    """How many times each chat received the notice of (title, episode)."""
    return Counter(m.chat_id for m in telegram.sent() if _is_notice(m.text, title_id, episode))


async def subscribe(
    telegram: FakeTelegram,
    chat_id: int,
    title_id: int,
    *,
    chat_type: str = "private",
    user_id: int | None = None,
) -> None:
    """/subscribe ID from the chat, waiting for the bot's confirmation."""
    before = len(telegram.sent(chat_id))
    telegram.message(
        chat_id, f"/subscribe {title_id}", chat_type=chat_type, user_id=user_id, language_code="en"
    )
    replies = await telegram.wait_sent(chat_id, before + 1, timeout=10)
    assert "Subscribed" in (replies[-1].text or ""), replies[-1].text


async def push_episode(
    anilibria: FakeAniLibria,
    title_id: int,
    episode: int,
    *,
    shape: Shape = "envelope",
    qualities: tuple[str, ...] = ("sd", "hd", "fhd"),
) -> float:
    """The episode appears over REST and the socket (once per quality); returns the push time."""
    title = anilibria.rest.add_episode(title_id, episode)
    pushed_at = time.monotonic()
    for quality in qualities:
        await anilibria.ws.push(
            playlist_update_frame(title_id, episode, quality, player=title["player"], shape=shape)
        )
    return pushed_at


async def wait_notice(
    telegram: FakeTelegram, chat_id: int, title_id: int, episode: int, timeout: float = 10.0
) -> None:
    await poll(
        lambda: episode_notices(telegram, chat_id, title_id, episode),
        timeout=timeout,
        message=f"the notice of episode {episode} of {title_id} in chat {chat_id}",
    )


def seed_followers(db_path: Path, title_id: int, chat_ids: range | list[int]) -> None:
    """Write private chats following ``title_id`` straight into the (stopped) bot's file."""
    now = int(time.time())
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.executemany(
                "INSERT OR IGNORE INTO chats (id, type, seen_language, created_at, updated_at)"
                " VALUES (?, 'private', 'en', ?, ?)",
                [(chat, now, now) for chat in chat_ids],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO subscriptions (chat_id, title_id, created_at)"
                " VALUES (?, ?, ?)",
                [(chat, title_id, now) for chat in chat_ids],
            )
    finally:
        conn.close()


async def settled_after_barrier(bot: BotProcess, timeout: float = 10.0) -> None:
    """Every frame pushed so far handled, and nothing left to send."""
    await bot.barrier(timeout)
    await bot.settled(timeout)
