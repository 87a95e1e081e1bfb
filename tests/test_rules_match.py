"""Follow rules in the matcher, on a real SQLite file: who hears of a new title, once; what is
not new; also-subscribe; a title that comes to match later; the feed's interest in titles a
voice rule may want; and the videos watch with its mark."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import storage
from bot.anilibria import Names, Title, TitleFilter, TitleKind, TitleSeen, Video
from bot.notify.interest import FollowedTitles
from bot.notify.kinds import DEFAULT_KINDS, NoticeKind
from bot.notify.matcher import Matcher
from bot.notify.rules import BASELINE_KEY, rule_terms
from bot.notify.videos import MARK_KEY, VideoWatch
from storage import RuleSpec
from storage.rules import index_of

NEW_KINDS = int(DEFAULT_KINDS | NoticeKind.NEW_TITLE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[storage.Database]:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    await storage.StateRepo(database).set(BASELINE_KEY, int(time.time()) - 3600)
    yield database
    await database.close()


async def chat(db: storage.Database, chat_id: int, *, kinds: int = NEW_KINDS) -> None:
    chats = storage.ChatRepo(db)
    await chats.touch(chat_id, "private")
    await chats.update(chat_id, kinds=kinds)


async def rule(
    db: storage.Database, chat_id: int, spec: RuleSpec, *, also_subscribe: bool = False
) -> None:
    kind = TitleKind(spec.kind) if spec.kind else None
    filter_ = TitleFilter(spec.genres, spec.voices, kind, spec.season, spec.year)
    await storage.RuleRepo(db).add(
        chat_id, spec, rule_terms(filter_), also_subscribe=also_subscribe
    )


def new_title(title_id: int = 500, **fields: object) -> Title:
    base: dict[str, object] = {
        "id": title_id,
        "alias": f"title-{title_id}",
        "names": Names("Новинка", "Novelty"),
        "poster": f"https://example.org/{title_id}.jpg",
        "kind": TitleKind.TV,
        "season": "spring",
        "year": 2026,
        "genres": ("Комедия", "Драма"),
        "voices": ("Anzen",),
        "created_at": int(time.time()),
        "updated_at": int(time.time()),
    }
    base.update(fields)
    return Title(**base)  # type: ignore[arg-type]


async def rows(
    db: storage.Database, kind: str = "new_title"
) -> list[tuple[int, dict[str, object]]]:
    found = await db.fetchall(
        "SELECT o.chat_id, n.payload FROM outbox o JOIN notices n ON n.id = o.notice_id"
        " WHERE n.kind = ? ORDER BY o.chat_id",
        (kind,),
    )
    return [(int(r[0]), json.loads(r[1])) for r in found]


async def test_one_notice_per_matching_chat_whatever_the_rules(db: storage.Database) -> None:
    for chat_id in (1, 2, 3, 4, 5, 6, 7):
        await chat(db, chat_id)
    await rule(db, 1, RuleSpec(genres=("комедия",)))
    await rule(db, 2, RuleSpec(voices=("Anzen",)))
    await rule(db, 3, RuleSpec(kind="MOVIE"))  # not a movie
    await rule(db, 4, RuleSpec(season="spring", year=2026))
    await rule(db, 5, RuleSpec())  # every new title
    for spec in (RuleSpec(), RuleSpec(genres=("Драма",)), RuleSpec(kind="TV")):
        await rule(db, 6, spec)  # three rules that match: one notice
    await rule(db, 7, RuleSpec(genres=("Комедия", "Ужасы")))  # both genres needed
    await storage.ChatRepo(db).touch(8, "private")
    await rule(db, 8, RuleSpec())  # the new-title kind is off: told nothing
    matcher = Matcher(db)

    queued = await matcher.handle(TitleSeen(new_title()))
    told = await rows(db)
    assert [chat_id for chat_id, _ in told] == [1, 2, 4, 5, 6]
    assert queued == 5
    payload = told[0][1]
    assert payload["genres"] == ["Комедия", "Драма"] and payload["voices"] == ["Anzen"]
    assert payload["poster"] == "https://example.org/500.jpg" and payload["kind"] == "TV"
    assert payload["subscribed"] is False

    # The same title again (and an updated one): nobody is told twice.
    assert await matcher.handle(TitleSeen(new_title(voices=("Anzen", "Other")))) == 0
    assert len(await rows(db)) == 5


async def test_old_titles_and_the_first_start_are_not_news(db: storage.Database) -> None:
    await chat(db, 1)
    await rule(db, 1, RuleSpec())
    matcher = Matcher(db)
    old = new_title(600, created_at=int(time.time()) - 400 * 86400)
    assert await matcher.handle(TitleSeen(old)) == 0
    assert await matcher.handle(TitleSeen(new_title(601), baseline=True)) == 0
    # v2 without a creation time: an old year is an old series touched.
    assert await matcher.handle(TitleSeen(new_title(602, created_at=None, year=2012))) == 0
    assert await rows(db) == []
    novelty = await db.fetchall("SELECT id, novelty FROM titles ORDER BY id")
    assert [tuple(r) for r in novelty] == [(600, 0), (601, 0), (602, 0)]


async def test_without_a_baseline_the_first_title_sets_it_and_is_not_new(
    tmp_path: Path,
) -> None:
    database = await storage.connect(tmp_path / "fresh.sqlite3")
    try:
        await chat(database, 1)
        await rule(database, 1, RuleSpec())
        assert await Matcher(database).handle(TitleSeen(new_title())) == 0
        assert await storage.StateRepo(database).get_int(BASELINE_KEY) is not None
    finally:
        await database.close()


async def test_also_subscribe_and_a_title_that_comes_to_match(db: storage.Database) -> None:
    await chat(db, 1)
    await chat(db, 2)
    await rule(db, 1, RuleSpec(voices=("Later",)), also_subscribe=True)
    await rule(db, 2, RuleSpec(genres=("Драма",)))
    matcher = Matcher(db)
    await matcher.handle(TitleSeen(new_title()))
    assert [c for c, _ in await rows(db)] == [2]
    assert await storage.SubscriptionRepo(db).title_ids(1) == set()

    await matcher.handle(TitleSeen(new_title(voices=("Anzen", "Later"))))
    told = await rows(db)
    assert [c for c, _ in told] == [1, 2]
    assert told[0][1]["subscribed"] is True
    assert await storage.SubscriptionRepo(db).title_ids(1) == {500}
    await matcher.handle(TitleSeen(new_title(voices=("Later",))))
    assert len(await rows(db)) == 2


async def test_an_inactive_chat_is_not_told_and_a_moved_chat_keeps_its_rules(
    db: storage.Database,
) -> None:
    await chat(db, 1)
    await chat(db, -5)
    await rule(db, 1, RuleSpec())
    await rule(db, -5, RuleSpec())
    await storage.ChatRepo(db).set_active(1, False)
    await storage.ChatRepo(db).migrate(-5, -1005)
    await Matcher(db).handle(TitleSeen(new_title()))
    assert [c for c, _ in await rows(db)] == [-1005]


async def test_the_feed_reads_possible_new_titles_in_full_while_a_voice_rule_exists(
    db: storage.Database,
) -> None:
    interest = FollowedTitles(
        storage.SubscriptionRepo(db), storage.RuleRepo(db), storage.TitleRepo(db)
    )
    await chat(db, 1)
    await storage.SubscriptionRepo(db).add(1, 10)
    old = new_title(11, created_at=int(time.time()) - 400 * 86400)
    await Matcher(db).handle(TitleSeen(old))
    assert await interest.wanted([10, 11, 12]) == {10}
    await rule(db, 1, RuleSpec(voices=("Anzen",)))
    assert await interest.wanted([10, 11, 12]) == {10, 12}  # 11 is judged old
    assert await interest.wanted(None) == {10}


async def test_videos_are_told_once_and_none_at_the_first_look(db: storage.Database) -> None:
    await chat(db, 1, kinds=int(DEFAULT_KINDS | NoticeKind.VIDEO))
    await chat(db, 2)
    now = int(time.time())
    shown = [Video("a", "Old trailer", "https://youtu.be/a", created_at=now - 100)]

    async def fetch(limit: int) -> list[Video]:
        return list(shown)

    watch = VideoWatch(fetch, db, interval=60)
    assert await watch.poll_once() == 0
    assert await storage.StateRepo(db).get(MARK_KEY) is not None
    shown.append(Video("b", "New trailer", "https://youtu.be/b", created_at=now))
    shown.append(Video("c", "Same second", "https://youtu.be/c", created_at=now))
    assert await watch.poll_once() == 2
    assert await watch.poll_once() == 0
    told = await rows(db, "video")
    assert sorted(p["video_id"] for _, p in told) == ["b", "c"]
    assert {c for c, _ in told} == {1}
    shown.append(Video("d", "Also that second", "https://youtu.be/d", created_at=now))
    assert await watch.poll_once() == 1


async def test_hits_of_titles_no_longer_new_are_forgotten(db: storage.Database) -> None:
    await chat(db, 1)
    await rule(db, 1, RuleSpec())
    await Matcher(db).handle(TitleSeen(new_title()))
    repo = storage.RuleRepo(db)
    assert await repo.prune_hits(int(time.time()) - 60) == 0
    assert await repo.prune_hits(int(time.time()) + 60) == 1
    assert await db.scalar("SELECT COUNT(*) FROM rule_hits") == 0


async def test_the_index_follows_the_rules_table(db: storage.Database) -> None:
    repo = storage.RuleRepo(db)
    index = index_of(db)
    for chat_id in (1, 2):
        await chat(db, chat_id)
    await rule(db, 1, RuleSpec(genres=("Комедия",)))

    async def matched(*terms: str) -> list[int]:
        async with db.transaction() as conn:
            await index.ensure(conn)
        return sorted(index.match(terms))

    assert await matched("*", "g:комедия") == [1]
    loads = index.loads
    await rule(db, 2, RuleSpec(genres=("Комедия", "Драма")))  # through the repo: no reload
    assert await matched("*", "g:комедия") == [1]
    assert await matched("*", "g:комедия", "g:драма") == [1, 2]
    assert await repo.delete(1, 1)
    assert await matched("*", "g:комедия", "g:драма") == [2]
    assert index.loads == loads
    async with db.transaction() as conn:  # an import writes in its own transaction
        await storage.RuleRepo.add_in(conn, 1, RuleSpec(), ["*"])
    assert await matched("*") == [3]
    assert index.loads == loads + 1
    await storage.ChatRepo(db).forget(2)  # a cascade the repo never saw
    assert await matched("*", "g:комедия", "g:драма") == [3]
    assert index.loads == loads + 2
    await storage.ChatRepo(db).migrate(1, -1001)  # the group became a supergroup
    async with db.transaction() as conn:
        told = await repo.told(conn, ["*"])
    assert told.chats == [-1001] and index.loads == loads + 3


async def test_a_rule_made_in_a_forum_topic_is_told_there(db: storage.Database) -> None:
    await chat(db, -100)
    await storage.RuleRepo(db).add(-100, RuleSpec(kind="TV"), ["k:TV"], thread_id=42)
    await storage.RuleRepo(db).add(-100, RuleSpec(), ["*"], also_subscribe=True, thread_id=7)
    await Matcher(db).handle(TitleSeen(new_title()))
    hits = await db.fetchall("SELECT thread_id, subscribe FROM rule_hits")
    assert [tuple(r) for r in hits] == [(42, 1)]
    rows_ = await db.fetchall("SELECT o.thread_id FROM outbox o")
    assert [tuple(r) for r in rows_] == [(42,)]
    assert await storage.SubscriptionRepo(db).title_ids(-100) == {500}
