"""Fair queues in the outbox: fan-outs interleave, news first, a chat's notices in order.

On a real SQLite file through the storage API: followers are written as the matcher would, and
rows are claimed as the sender claims them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import storage
from storage import Database, Outbox, Priority

BIG, SMALL, OTHER = 1, 2, 3


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def follow(db: Database, title_id: int, chats: range | list[int]) -> None:
    now = int(time.time())
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT OR IGNORE INTO chats (id, type, created_at, updated_at)"
            " VALUES (?, 'private', ?, ?)",
            [(chat, now, now) for chat in chats],
        )
        await conn.executemany(
            "INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (?, ?, ?)",
            [(chat, title_id, now) for chat in chats],
        )


async def announce(db: Database, title_id: int, episode: int, priority: int = 0) -> int:
    async with db.transaction() as conn:
        return await Outbox.enqueue_for_followers(
            conn,
            kind="episode",
            kind_bit=1,
            title_id=title_id,
            payload={"title_id": title_id, "episodes": [episode]},
            dedupe_key=f"ep:{title_id}:{episode}",
            priority=priority,
        )


async def send(outbox: Outbox, rows: int) -> list[tuple[int, int]]:
    """Claim and mark sent one row at a time, as a busy sender does: (chat, title) in order."""
    order = []
    for _ in range(rows):
        [item] = await outbox.claim_due(1)
        await outbox.mark_sent(item.id)
        order.append((item.chat_id, item.title_id or 0))
    return order


async def test_a_small_fan_out_interleaves_with_a_big_one(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, range(1000, 2000))
    await follow(db, SMALL, range(5000, 5010))
    assert await announce(db, BIG, 1) == 1000
    first = await send(outbox, 30)  # the fan-out is under way when the small notice comes
    assert {title for _, title in first} == {BIG}
    assert await announce(db, SMALL, 1) == 10

    after = [title for _, title in await send(outbox, 21)]
    assert after.count(SMALL) == 10  # row by row with the big one, not after it
    assert longest_run(after) <= 2, after
    assert (await outbox.stats()).pending == 1000 - 41


def longest_run(titles: list[int]) -> int:
    best = run = 0
    for index, title in enumerate(titles):
        run = run + 1 if index and titles[index - 1] == title else 1
        best = max(best, run)
    return best


async def test_three_fan_outs_share_the_sender_round_robin(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, range(1000, 1300))
    await follow(db, SMALL, range(2000, 2300))
    await follow(db, OTHER, range(3000, 3300))
    await announce(db, BIG, 1)
    await send(outbox, 100)
    await announce(db, SMALL, 1)
    await send(outbox, 50)
    await announce(db, OTHER, 1)
    order = [title for _, title in await send(outbox, 90)]
    assert all(29 <= order.count(title) <= 31 for title in (BIG, SMALL, OTHER)), order


async def test_episode_news_before_the_digest_and_title_news(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, range(1000, 1100))
    await follow(db, SMALL, range(2000, 2005))
    await announce(db, SMALL, 1, priority=Priority.TITLE_NEWS)
    async with db.transaction() as conn:
        for chat in range(2000, 2005):
            await Outbox.enqueue_for_chat(
                conn,
                chat_id=chat,
                kind="text",
                payload={"html": "digest"},
                dedupe_key=f"digest:{chat}",
                priority=Priority.DIGEST,
            )
    await announce(db, BIG, 1)
    order = [item.priority for item in await outbox.claim_due(200)]
    assert order == sorted(order) and order[:100] == [Priority.EPISODE] * 100


async def test_a_chat_gets_its_notices_in_order_and_one_at_a_time(db: Database) -> None:
    outbox = Outbox(db)
    both = 1999  # follows both titles: its row of the big fan-out is near the end
    await follow(db, BIG, [*range(1000, 1999), both])
    await follow(db, SMALL, [both, *range(5000, 5009)])
    await announce(db, BIG, 1)
    await send(outbox, 30)
    await announce(db, SMALL, 1)

    sent = await send(outbox, 970 + 10)
    assert sent.index((both, BIG)) < sent.index((both, SMALL))
    small_chats = [chat for chat, title in sent if title == SMALL]
    assert small_chats[:9] == list(range(5000, 5009))  # the others were not held back
    assert sent[-1] == (both, SMALL)


async def test_a_row_waits_while_its_chat_has_one_being_sent_or_retried(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, [7])
    await follow(db, SMALL, [7])
    await announce(db, BIG, 1)
    await announce(db, SMALL, 1)
    [first] = await outbox.claim_due(10)
    assert first.title_id == BIG
    assert await outbox.claim_due(10) == []  # one row per chat in flight

    await outbox.retry_later(first.id, time.time() + 60, "502 Bad Gateway")
    assert await outbox.claim_due(10) == []  # the older notice, waiting to be retried, first
    await outbox.retry_later(first.id, 0.0, None)
    [again] = await outbox.claim_due(10)
    assert again.id == first.id
    await outbox.mark_sent_many([again.id])
    [second] = await outbox.claim_due(10)
    assert second.title_id == SMALL

    await outbox.release([second.id])  # back in line untouched, no attempt counted
    [same] = await outbox.claim_due(10)
    assert (same.id, same.attempts) == (second.id, 0)


async def test_largest_pending_fan_outs_and_the_due_count(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, range(1000, 1050))
    await follow(db, SMALL, range(2000, 2010))
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO titles (id, code, name_ru, name_en, first_seen, refreshed_at)"
            " VALUES (?, 'big-show', 'Большой', 'Big', 0, 0)",
            (BIG,),
        )
    await announce(db, BIG, 1)
    await announce(db, SMALL, 1)
    await send(outbox, 4)
    assert await outbox.due_count() == 56
    largest = await outbox.largest_pending(5)
    assert [(f.title_id, f.pending, f.name_en) for f in largest] == [
        (BIG, 48, "Big"),
        (SMALL, 8, None),
    ]


async def test_the_next_row_due_ignores_rows_held_back_by_their_chat(db: Database) -> None:
    outbox = Outbox(db)
    await follow(db, BIG, [7, 8])
    await follow(db, SMALL, [7])
    await announce(db, BIG, 1)
    await announce(db, SMALL, 1)
    now = time.time()
    claimed = await outbox.claim_due(10)  # chat 7's second row waits for its first
    assert sorted(item.chat_id for item in claimed) == [7, 8]
    assert await outbox.next_due_after(now) is None  # nothing falls due later
    eight = next(item for item in claimed if item.chat_id == 8)
    await outbox.retry_later(eight.id, now + 30, "502 Bad Gateway")
    assert await outbox.next_due_after(now) == pytest.approx(now + 30)
