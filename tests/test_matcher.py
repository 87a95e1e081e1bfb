"""The matcher's rules of what is news, on a real SQLite file.

High-water marks, re-uploads, batch ranges, title news (finished, announce, torrents, including
the recorded title_update of title 9174, a torrent swap that is not news), duplicate hashes and
the per-chat / per-subscription kinds switches. Also Outbox.prune.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import storage
from bot.anilibria import Change, EpisodesReleased, TitleSeen
from bot.anilibria.v2._convert import title_from_v2
from bot.anilibria.v2.events import PlaylistUpdate, TitleUpdate, parse_event
from bot.anilibria.v2.feed import change_of
from bot.anilibria.v2.models import Title
from bot.notify.kinds import NoticeKind
from bot.notify.matcher import Matcher
from tests.fakes.anilibria_rest import FakeAniLibriaRest, load_fixture
from tests.fakes.anilibria_ws import playlist_update_frame, title_update_frame

TITLE = 7001
ALL_KINDS = int(NoticeKind.EPISODE | NoticeKind.FINISHED | NoticeKind.ANNOUNCE | NoticeKind.TORRENT)
REST = FakeAniLibriaRest(load_real=False)
SITE = "https://www.anilibria.tv"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[storage.Database]:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def matcher(db: storage.Database) -> Matcher:
    return Matcher(db)


def make_title(episodes: int = 3, **changes: Any) -> dict[str, Any]:
    title = REST.make_title(TITLE, "matcher-show", "Шоу", "Show", episodes=episodes)
    title.update(changes)
    return title


def model(title: dict[str, Any]) -> TitleSeen:
    """A title as REST shows it, as the v2 feed hands it to the matcher."""
    return TitleSeen(title_from_v2(Title.model_validate(title), SITE))


def v2(event: object) -> Change:
    """A parsed socket event as the v2 feed hands it to the matcher."""
    change = change_of(event, SITE)  # type: ignore[arg-type]  # any parsed frame
    assert change is not None
    return change


async def add_chat(
    db: storage.Database, chat_id: int, *, kinds: int | None = None, sub_kinds: int | None = None
) -> None:
    chats = storage.ChatRepo(db)
    await chats.touch(chat_id, "private" if chat_id > 0 else "supergroup")
    if kinds is not None:
        await chats.update(chat_id, kinds=kinds)
    await storage.SubscriptionRepo(db).add(chat_id, TITLE)
    if sub_kinds is not None:
        await db.execute(
            "UPDATE subscriptions SET kinds = ? WHERE chat_id = ? AND title_id = ?",
            (sub_kinds, chat_id, TITLE),
        )


def playlist_event(
    episode: int, *, quality: str = "hd", reupload: bool = False
) -> EpisodesReleased:
    frame = playlist_update_frame(TITLE, episode, quality, reupload=reupload)
    event = parse_event(frame)
    assert isinstance(event, PlaylistUpdate)
    change = v2(event)
    assert isinstance(change, EpisodesReleased)
    return change


def title_event(title: dict[str, Any], hash: str | None = None) -> Change:
    event = parse_event(title_update_frame(title, hash=hash))
    assert isinstance(event, TitleUpdate)
    return v2(event)


async def rows(db: storage.Database, kind: str | None = None) -> list[tuple[Any, ...]]:
    """(chat_id, kind, payload) of every outbox row, oldest first."""
    found = await db.fetchall(
        "SELECT o.chat_id, n.kind, n.payload FROM outbox o JOIN notices n ON n.id = o.notice_id"
        " WHERE ? IS NULL OR n.kind = ? ORDER BY o.id",
        (kind, kind),
    )
    return [(row[0], row[1], json.loads(row[2])) for row in found]


async def high_water(db: storage.Database) -> int:
    return int(await db.scalar("SELECT high_water FROM titles WHERE id = ?", (TITLE,)))


async def test_high_water_marks(db: storage.Database, matcher: Matcher) -> None:
    # First sight of a title: what it has is the baseline, not news.
    assert await matcher.handle(model(make_title(episodes=3))) == 0
    assert await high_water(db) == 3
    await add_chat(db, 1)

    # Episode 4 in three qualities: one notice.
    assert await matcher.handle(playlist_event(4, quality="sd")) == 1
    assert await matcher.handle(playlist_event(4, quality="hd")) == 0
    assert await matcher.handle(playlist_event(4, quality="fhd")) == 0
    assert await high_water(db) == 4
    [(chat, kind, payload)] = await rows(db)
    assert (chat, kind, payload["first"], payload["last"]) == (1, "episode", 4, 4)

    # An old episode (at or below the mark) is never news, by socket or by REST.
    assert await matcher.handle(playlist_event(2)) == 0
    assert await matcher.handle(model(make_title(episodes=4))) == 0

    # The same episode seen first over REST (catch-up), then over the socket: one notice.
    title = make_title(episodes=4)
    REST.titles[TITLE] = title
    REST.add_episode(TITLE, 5)
    assert await matcher.handle(model(title)) == 1
    assert await matcher.handle(playlist_event(5)) == 0
    assert [p["last"] for _, _, p in await rows(db)] == [4, 5]
    assert await db.scalar("SELECT COUNT(*) FROM announced WHERE title_id = ?", (TITLE,)) == 2


async def test_unknown_title_is_baseline_only(db: storage.Database, matcher: Matcher) -> None:
    assert await matcher.handle(playlist_event(12)) == 0
    assert await high_water(db) == 12
    await add_chat(db, 1)
    assert await matcher.handle(playlist_event(12, quality="fhd")) == 0
    assert await matcher.handle(playlist_event(13)) == 1


async def test_reupload_is_never_news(db: storage.Database, matcher: Matcher) -> None:
    await matcher.handle(model(make_title(episodes=3)))
    await add_chat(db, 1)
    assert await matcher.handle(playlist_event(3, reupload=True)) == 0
    # Even numbered above the mark, a re-upload announces nothing.
    assert await matcher.handle(playlist_event(4, reupload=True)) == 0
    assert await rows(db) == []
    assert await high_water(db) == 3


async def test_batch_release_is_one_notice_with_the_range(
    db: storage.Database, matcher: Matcher
) -> None:
    await matcher.handle(model(make_title(episodes=2)))
    await add_chat(db, 1)
    # A whole season dropped at once: the player of the event holds 3..12.
    event = parse_event(
        playlist_update_frame(TITLE, 12, "hd", player=make_title(episodes=12)["player"])
    )
    assert await matcher.handle(v2(event)) == 1
    [(_, _, payload)] = await rows(db)
    assert (payload["first"], payload["last"]) == (3, 12)
    # The other qualities of the same batch add nothing.
    assert await matcher.handle(playlist_event(12, quality="fhd")) == 0
    assert await high_water(db) == 12


async def test_recorded_torrent_swap_of_9174_is_not_news(tmp_path: Path) -> None:
    frame = load_fixture("ws_title_update_9174_2022-06-29.json")
    after = frame["title_update"]["title"]
    # The title as it was before the frame: the diff holds the previous values.
    before = copy.deepcopy(after)
    old = frame["title_update"]["diff"]["torrents"]["list"]["0"]
    swapped = next(
        t for t in before["torrents"]["list"] if t["quality"]["string"] == "WEBRip 1080p"
    )
    swapped.update(old)
    before["player"]["host"] = frame["title_update"]["diff"]["player"]["host"]
    assert swapped["torrent_id"] == 19893 and swapped["series"]["string"] == "1-11"

    database = await storage.connect(tmp_path / "bot.sqlite3")
    try:
        matcher = Matcher(database)
        await matcher.handle(model(before))
        await storage.ChatRepo(database).touch(1, "private")
        await storage.ChatRepo(database).update(1, kinds=ALL_KINDS)
        await storage.SubscriptionRepo(database).add(1, 9174)

        event = parse_event(frame)
        assert isinstance(event, TitleUpdate) and event.title_id == 9174
        swap = v2(event)
        assert await matcher.handle(swap) == 0, "a swap of the same quality and range is no news"
        assert await database.scalar("SELECT COUNT(*) FROM outbox") == 0

        # A new quality of the same range is news ...
        fresh = copy.deepcopy(after)
        torrent = copy.deepcopy(fresh["torrents"]["list"][0])
        torrent.update(torrent_id=20001, total_size=700_000_000, hash="ab" * 20)
        torrent["quality"] = dict(torrent["quality"], string="WEBRip 720p", resolution="720p")
        fresh["torrents"]["list"].append(torrent)
        assert await matcher.handle(title_event(fresh, hash="9174-720p")) == 1
        # ... and so is a new series range of a known quality.
        wider = copy.deepcopy(fresh)
        wider["torrents"]["list"][0]["series"] = {"first": 1, "last": 12, "string": "1-12"}
        wider["torrents"]["list"][0]["torrent_id"] = 20002
        assert await matcher.handle(title_event(wider, hash="9174-1-12")) == 1
        found = await database.fetchall(
            "SELECT n.payload FROM outbox o JOIN notices n ON n.id = o.notice_id ORDER BY o.id"
        )
        added = [json.loads(row[0])["torrents"] for row in found]
        assert [[(t["quality"], t["series"]) for t in news] for news in added] == [
            [("WEBRip 720p", "1-11")],
            [("WEBRip 1080p", "1-12")],
        ]
        assert added[0][0]["size"] == 700_000_000
    finally:
        await database.close()


async def test_host_only_change_is_not_news(db: storage.Database, matcher: Matcher) -> None:
    title = make_title(episodes=3)
    await matcher.handle(model(title))
    await add_chat(db, 1, kinds=ALL_KINDS)
    moved = copy.deepcopy(title)
    moved["player"]["host"] = "de3.libria.fun"
    moved["updated"] = int(time.time()) + 5
    assert await matcher.handle(title_event(moved)) == 0
    assert await rows(db) == []


async def test_finished_once(db: storage.Database, matcher: Matcher) -> None:
    title = make_title(episodes=12)
    await matcher.handle(model(title))
    await add_chat(db, 1)
    finished = copy.deepcopy(title)
    finished["status"] = {"string": "Завершен", "code": 2}
    assert await matcher.handle(title_event(finished, hash="fin-1")) == 1
    # The same status again (another diff, another hash): not news again.
    finished["player"]["host"] = "de1.libria.fun"
    assert await matcher.handle(title_event(finished, hash="fin-2")) == 0
    assert await matcher.handle(model(finished)) == 0
    [(_, kind, payload)] = await rows(db)
    assert kind == "finished" and payload["title_id"] == TITLE
    assert await db.scalar("SELECT finished_at FROM titles WHERE id = ?", (TITLE,)) is not None


async def test_announce_change(db: storage.Database, matcher: Matcher) -> None:
    title = make_title(episodes=3, announce="Новая серия каждую субботу")
    await matcher.handle(model(title))
    await add_chat(db, 1, kinds=ALL_KINDS)
    # The same text: nothing.
    assert await matcher.handle(title_event(title, hash="ann-0")) == 0
    changed = dict(title, announce="Перенос: серия выйдет в воскресенье")
    assert await matcher.handle(title_event(changed, hash="ann-1")) == 1
    assert await matcher.handle(title_event(changed, hash="ann-2")) == 0
    [(_, kind, payload)] = await rows(db)
    assert kind == "announce" and payload["announce"] == "Перенос: серия выйдет в воскресенье"


async def test_duplicate_hash_is_ignored(db: storage.Database, matcher: Matcher) -> None:
    title = make_title(episodes=3)
    await matcher.handle(model(title))
    await add_chat(db, 1)
    REST.titles[TITLE] = title
    newer = copy.deepcopy(REST.add_episode(TITLE, 4))
    assert await matcher.handle(title_event(newer, hash="same")) == 1
    REST.add_episode(TITLE, 5)
    # A frame with a hash already handled is skipped, whatever it carries.
    assert await matcher.handle(title_event(REST.titles[TITLE], hash="same")) == 0
    assert [p["last"] for _, _, p in await rows(db)] == [4]
    assert await high_water(db) == 4


async def test_kinds_per_chat_and_per_subscription(db: storage.Database, matcher: Matcher) -> None:
    title = make_title(episodes=3, announce="Анонс")
    await matcher.handle(model(title))
    await add_chat(db, 1)  # defaults: episodes and finished
    await add_chat(db, 2, kinds=int(NoticeKind.FINISHED))  # no episodes
    await add_chat(db, 3, kinds=ALL_KINDS)  # everything
    await add_chat(db, -1004, sub_kinds=int(NoticeKind.TORRENT))  # this title: torrents only
    await add_chat(db, 5, kinds=ALL_KINDS, sub_kinds=int(NoticeKind.EPISODE))
    await add_chat(db, 6)
    await storage.ChatRepo(db).set_active(6, False)  # inactive chats get nothing

    REST.titles[TITLE] = title
    updated = copy.deepcopy(REST.add_episode(TITLE, 4))
    updated["status"] = {"string": "Завершен", "code": 2}
    updated["announce"] = "Финал"
    updated["torrents"]["list"].append(REST.make_torrent(70019, 1, 4, int(time.time())))
    updated["torrents"]["list"][-1]["quality"]["string"] = "WEBRip 720p"
    await matcher.handle(title_event(updated, hash="kinds"))

    recipients: dict[str, set[int]] = {}
    for chat, kind, _ in await rows(db):
        recipients.setdefault(kind, set()).add(chat)
    assert recipients == {
        "episode": {1, 3, 5},
        "finished": {1, 2, 3},
        "announce": {3},
        "torrent": {3, -1004},
    }


async def test_prune_keeps_what_is_still_needed(db: storage.Database) -> None:
    outbox = storage.Outbox(db)
    await storage.ChatRepo(db).touch(1, "private")
    now = time.time()
    day = 86400.0
    async with db.transaction() as conn:
        for index, (state, age) in enumerate(
            [
                ("sent", 10 * day),  # old delivered: goes
                ("sent", 1 * day),  # recent delivered: stays
                ("parked", 10 * day),  # parked, still within the parked window: stays
                ("parked", 40 * day),  # parked long ago: goes
                ("pending", 60 * day),  # never delivered: stays, whatever its age
            ]
        ):
            await storage.Outbox.enqueue_for_chat(
                conn,
                chat_id=1,
                kind="text",
                payload={"html": f"row {index}"},
                dedupe_key=f"row-{index}",
                priority=storage.Priority.MESSAGE,
            )
            await conn.execute(
                "UPDATE outbox SET state = ?, done_at = ? WHERE dedupe_key = ?",
                (state, now - age if state != "pending" else None, f"row-{index}"),
            )
        await conn.execute(
            "INSERT INTO seen_hashes (hash, seen_at) VALUES ('old', ?), ('new', ?)",
            (int(now - 10 * day), int(now)),
        )
    removed = await outbox.prune(now - 7 * day, now - 30 * day)
    assert removed == 2
    left = await db.fetchall("SELECT dedupe_key FROM outbox ORDER BY id")
    assert [row[0] for row in left] == ["row-1", "row-2", "row-4"]
    # Notices of pruned rows go too; those still referenced stay.
    assert await db.scalar("SELECT COUNT(*) FROM notices") == 3
    assert [row[0] for row in await db.fetchall("SELECT hash FROM seen_hashes")] == ["new"]
    # Pruning again finds nothing; the file stays consistent.
    assert await outbox.prune(now - 7 * day, now - 30 * day) == 0
    assert await db.scalar("PRAGMA foreign_key_check") is None
