"""The daily digest end to end, on both upstreams: the bot as a process, a digest set a minute
ahead, arriving once.

Two private chats follow a title; one of them takes the digest instead of instant notices. A new
episode comes out (v2: over the socket; v1: found by a poll): only the other chat hears at once.
At the digest minute (Moscow, the default zone) both get one digest naming the episode and the
title scheduled today; a restart does not send it again. The wait for the minute is real: up to
~70 seconds.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from zoneinfo import ZoneInfo

from bot.ui.callbacks import DigestCb
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import Upstream

DIGEST_ONLY = 2001  # Russian, digest instead of instant notices
BOTH = 2002  # English, instant notices and the digest
GROUP = -100_2003
GROUP_ADMIN = 700_001
GROUP_MEMBER = 700_002
TITLE_ID = 9101
MOSCOW = ZoneInfo("Europe/Moscow")


def digests(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent(chat_id) if (m.text or "").startswith("📰")]


def notices(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent(chat_id) if (m.text or "").startswith("🎬")]


async def reply(telegram: FakeTelegram, chat_id: int, text: str, **kwargs: object) -> str:
    before = len(telegram.sent(chat_id))
    telegram.message(chat_id, text, **kwargs)  # type: ignore[arg-type]
    sent = await telegram.wait_sent(chat_id, before + 1)
    return sent[before].text or ""


async def test_digest_a_minute_ahead_arrives_once(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    bot = any_bot
    upstream.add_title(TITLE_ID, "digest-show", "Сводный <сериал>", "Digest & Show", episodes=3)
    await bot.start()
    assert "Сводный" in await reply(telegram, DIGEST_ONLY, "/subscribe digest-show")
    assert "Subscribed" in await reply(telegram, BOTH, "/subscribe digest-show", language_code="en")

    # Bad input changes nothing; a group member who is not an admin changes nothing.
    assert "Не понял" in await reply(telegram, DIGEST_ONLY, "/digest 25:61")
    telegram.set_admins(GROUP, [GROUP_ADMIN])
    refused = await reply(telegram, GROUP, "/digest 10:00", chat_type="group", user_id=GROUP_MEMBER)
    assert "администраторы" in refused
    assert bot.db("SELECT digest_time FROM chats WHERE id IN (?, ?)", (DIGEST_ONLY, GROUP)) == [
        (None,),
        (None,),
    ]

    # A minute ahead in Moscow (two when under 20 s of this minute are left); airs today.
    now = dt.datetime.now(MOSCOW)
    target = (now + dt.timedelta(minutes=1 if now.second < 40 else 2)).replace(
        second=0, microsecond=0
    )
    upstream.set_weekday(TITLE_ID, target.weekday())
    hhmm = target.strftime("%H:%M")
    saved = await reply(telegram, DIGEST_ONLY, f"/digest {hhmm}")
    assert "Сохранено" in saved and f"<b>{hhmm}</b>" in saved and "Europe/Moscow" in saved
    assert bot.db(
        "SELECT digest_time, digest_next_due FROM chats WHERE id = ?", (DIGEST_ONLY,)
    ) == [(hhmm, int(target.timestamp()))]
    assert "Saved" in await reply(telegram, BOTH, f"/digest {hhmm}", language_code="en")

    # /digest alone: the setting with its switches, and a preview sent now.
    before = len(telegram.sent(DIGEST_ONLY))
    telegram.message(DIGEST_ONLY, "/digest")
    sent = await telegram.wait_sent(DIGEST_ONLY, before + 2)
    setting, preview = sent[before], sent[before + 1]
    assert "Ежедневная сводка" in (setting.text or "")
    assert "Сегодня по расписанию" in (preview.text or "")
    assert "Сводный &lt;сериал&gt;" in (preview.text or "")
    telegram.callback(
        DIGEST_ONLY, DigestCb(action="only", value="1").pack(), message_id=setting.message_id
    )
    await poll(
        lambda: bot.db("SELECT digest_only FROM chats WHERE id = ?", (DIGEST_ONLY,)) == [(1,)],
        message="digest only to be switched on",
    )
    await poll(
        lambda: "✅" in str(telegram.get_message(DIGEST_ONLY, setting.message_id)),
        message="the switch to show it is on",
    )

    # A new episode: an instant notice for one chat, nothing yet for the digest-only one.
    await upstream.release(TITLE_ID, 4)
    await poll(lambda: notices(telegram, BOTH), message="the instant notice")
    await bot.barrier()
    await bot.settled()
    assert notices(telegram, DIGEST_ONLY) == []
    assert len(digests(telegram, DIGEST_ONLY)) == 1  # the preview

    # The digest minute.
    wait = target.timestamp() - time.time() + 20
    await poll(lambda: len(digests(telegram, DIGEST_ONLY)) == 2, timeout=wait, message="digest")
    await poll(lambda: digests(telegram, BOTH), timeout=10, message="the English digest")
    await bot.settled()
    ru = digests(telegram, DIGEST_ONLY)[-1]
    assert ru.startswith("📰 <b>Сводка за день</b>")
    assert f'{upstream.title_url("digest-show")}">Сводный &lt;сериал&gt;</a>' in ru
    assert "— серия 4" in ru and "Сегодня по расписанию" in ru
    [en] = digests(telegram, BOTH)
    assert "Digest &amp; Show</a> — episode 4" in en and "Expected today" in en
    tomorrow = int((target + dt.timedelta(days=1)).timestamp())
    assert bot.db(
        "SELECT id, digest_last_date, digest_next_due FROM chats WHERE id IN (?, ?) ORDER BY id",
        (DIGEST_ONLY, BOTH),
    ) == [
        (DIGEST_ONLY, target.date().isoformat(), tomorrow),
        (BOTH, target.date().isoformat(), tomorrow),
    ]

    # A restart right after: the first pass finds nothing due, nothing is sent twice.
    assert await bot.stop(signal.SIGTERM) == 0
    await bot.start()
    await poll(
        lambda: bot.log().count("digest: first pass after start done") == 2,
        message="the digest scheduler's first pass after the restart",
    )
    await bot.settled()
    assert len(digests(telegram, DIGEST_ONLY)) == 2 and len(digests(telegram, BOTH)) == 1
    assert bot.db(
        "SELECT chat_id, COUNT(*) FROM outbox WHERE dedupe_key LIKE 'digest:%'"
        " GROUP BY chat_id ORDER BY chat_id"
    ) == [(DIGEST_ONLY, 1), (BOTH, 1)]
    assert await bot.stop(signal.SIGTERM) == 0
