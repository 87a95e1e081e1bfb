"""The matcher's rules for episodes the API keys by its own id (AniLiberty v1's UUIDs).

A new episode is an id not seen before, playable, whose ordinal was not announced: one notice
per (title, ordinal); a new id for an announced ordinal is a re-upload; an unplayable episode is
news when it first becomes playable; ordinals may be fractional; the first sight of a title is
a baseline; a database made under v2 (no ids, a high-water mark) announces nothing old.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import storage
from bot.anilibria import Episode, Names, Title, TitleSeen, TitleStatus
from bot.notify.kinds import NoticeKind
from bot.notify.matcher import Matcher

TITLE = 10292
ALL_KINDS = int(NoticeKind.EPISODE | NoticeKind.FINISHED | NoticeKind.ANNOUNCE | NoticeKind.TORRENT)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[storage.Database]:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def matcher(db: storage.Database) -> Matcher:
    return Matcher(db)


def ep(ordinal: float, *, playable: bool = True, uid: str | None = None) -> Episode:
    return Episode(ordinal=ordinal, id=uid or f"uuid-{ordinal}", playable=playable)


def snapshot(*episodes: Episode, baseline: bool = False, **changes: Any) -> TitleSeen:
    fields: dict[str, Any] = {
        "alias": "super-no-ura-de-yani-suu-futari",
        "names": Names("Покурим за супермаркетом", "Smoking Behind the Supermarket"),
        "status": TitleStatus.ONGOING,
        "announcement": "",
        "episodes": tuple(episodes),
    }
    title = Title(id=TITLE, **(fields | changes))
    return TitleSeen(title, baseline=baseline)


async def follow(db: storage.Database, chat_id: int = 1) -> None:
    chats = storage.ChatRepo(db)
    await chats.touch(chat_id, "private")
    await chats.update(chat_id, kinds=ALL_KINDS)
    await storage.SubscriptionRepo(db).add(chat_id, TITLE)


async def notices(db: storage.Database) -> list[tuple[str, dict[str, Any]]]:
    rows = await db.fetchall(
        "SELECT n.kind, n.payload FROM outbox o JOIN notices n ON n.id = o.notice_id ORDER BY o.id"
    )
    return [(row[0], json.loads(row[1])) for row in rows]


async def test_first_sight_is_a_baseline_and_a_new_id_is_news(
    db: storage.Database, matcher: Matcher
) -> None:
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3))) == 0
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3))) == 0, "nothing changed"
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3), ep(4))) == 1
    [(kind, payload)] = await notices(db)
    assert kind == "episode" and (payload["first"], payload["last"], payload["count"]) == (4, 4, 1)
    # The same snapshot again (a restart, a second poll): no double.
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3), ep(4))) == 0


async def test_a_new_id_for_an_announced_ordinal_is_a_reupload(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(snapshot(ep(1), ep(2)))
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3))) == 1
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3, uid="re-uploaded-3"))) == 0
    # A baseline episode re-uploaded is no news either.
    assert await matcher.handle(snapshot(ep(1, uid="re-uploaded-1"), ep(2), ep(3))) == 0
    assert len(await notices(db)) == 1


async def test_an_unplayable_episode_is_news_when_it_becomes_playable(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(snapshot(ep(1), ep(2, playable=False)))
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), ep(2, playable=False), ep(3, playable=False))) == 0
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3, playable=False))) == 1
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3))) == 1
    assert [p["last"] for _, p in await notices(db)] == [2, 3]


async def test_fractional_ordinals_are_kept_as_given(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(snapshot(ep(11), ep(12)))
    await follow(db)
    assert await matcher.handle(snapshot(ep(11), ep(12), ep(12.5))) == 1
    [(_, payload)] = await notices(db)
    assert payload["last"] == 12.5
    assert await db.scalar("SELECT episode FROM announced WHERE title_id = ?", (TITLE,)) == 12.5
    assert await db.scalar("SELECT dedupe_key FROM outbox") == f"ep:{TITLE}:12.5"


async def test_a_batch_is_one_notice_naming_the_range(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(snapshot(ep(1)))
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3), ep(3.5), ep(4))) == 1
    [(_, payload)] = await notices(db)
    assert (payload["first"], payload["last"], payload["count"]) == (2, 4, 4)


async def test_the_first_listing_of_a_title_known_only_from_a_list_is_a_baseline(
    db: storage.Database, matcher: Matcher
) -> None:
    # Stored from a favorites list or a catalogue page: no episodes, no latest one.
    await matcher.remember([snapshot(episodes=None).title])
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3))) == 0, "old episodes are no news"
    assert await matcher.handle(snapshot(ep(1), ep(2), ep(3), ep(4))) == 1
    assert [p["last"] for _, p in await notices(db)] == [4]


async def test_the_first_episode_of_a_title_listed_without_any_is_news(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(snapshot())  # announced: listed, no episode yet
    await follow(db)
    assert await matcher.handle(snapshot(ep(1, playable=False))) == 0
    assert await matcher.handle(snapshot(ep(1))) == 1
    assert [p["last"] for _, p in await notices(db)] == [1]


async def test_a_v2_database_switched_to_v1_announces_nothing_old(
    db: storage.Database, matcher: Matcher
) -> None:
    # Under v2 the title was known by number only: a high-water mark of 5, no ids.
    await storage.TitleRepo(db).save(storage.TitleRecord(id=TITLE, last_episode=5))
    await follow(db)
    # The v1 feed's first start reads every followed title once, as a baseline...
    assert await matcher.handle(snapshot(*[ep(n) for n in range(1, 9)], baseline=True)) == 0
    # ... so the next new episode is the only news.
    assert await matcher.handle(snapshot(*[ep(n) for n in range(1, 10)])) == 1
    assert [p["last"] for _, p in await notices(db)] == [9]


async def test_without_the_baseline_only_episodes_above_the_v2_mark_are_news(
    db: storage.Database, matcher: Matcher
) -> None:
    await storage.TitleRepo(db).save(storage.TitleRecord(id=TITLE, last_episode=5))
    await follow(db)
    assert await matcher.handle(snapshot(*[ep(n) for n in range(1, 8)])) == 1
    [(_, payload)] = await notices(db)
    assert (payload["first"], payload["last"]) == (6, 7)


async def test_finished_and_a_new_announcement(db: storage.Database, matcher: Matcher) -> None:
    await matcher.handle(snapshot(ep(1)))
    await follow(db)
    assert await matcher.handle(snapshot(ep(1), announcement="Новая серия в субботу")) == 1
    assert await matcher.handle(snapshot(ep(1), status=TitleStatus.FINISHED)) == 1
    assert [kind for kind, _ in await notices(db)] == ["announce", "finished"]
    # A list answer without episodes changes nothing about episodes.
    listed = Title(id=TITLE, names=Names("Покурим за супермаркетом"), last_episode=1)
    assert await matcher.handle(TitleSeen(listed)) == 0


async def test_the_first_episode_of_a_title_followed_before_it_had_any_is_news(
    db: storage.Database, matcher: Matcher
) -> None:
    # Followed while only announced: the full answer lists no episode at all.
    assert await matcher.handle(snapshot()) == 0
    await follow(db)
    assert await matcher.handle(snapshot()) == 0
    assert await matcher.handle(snapshot(ep(1))) == 1
    assert [p["last"] for _, p in await notices(db)] == [1]


async def test_following_stores_the_title_and_the_subscription_in_one_transaction(
    db: storage.Database, matcher: Matcher
) -> None:
    """An episode handled between storing a title and subscribing to it would be missed: the
    two are one transaction, so a subscription that fails leaves no title behind either."""
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):  # chat 404 does not exist: the foreign key
        await matcher.follow(404, snapshot(ep(1)).title, None)
    assert await db.scalar("SELECT COUNT(*) FROM titles") == 0
    await storage.ChatRepo(db).touch(1, "private")
    assert await matcher.follow(1, snapshot(ep(1)).title, None) is True
    assert await db.scalar("SELECT COUNT(*) FROM subscriptions WHERE title_id = ?", (TITLE,)) == 1
