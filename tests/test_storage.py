"""Storage on a real SQLite file: connecting, migrating, and the repositories' promises."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import storage
from storage import db as storage_db


async def test_connect_creates_the_folder_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "bot.sqlite3"
    database = await storage.connect(path)
    try:
        assert await database.scalar("PRAGMA journal_mode") == "wal"
        assert await database.scalar("PRAGMA foreign_keys") == 1
        assert await database.scalar("PRAGMA user_version") == len(storage_db.migrations())
    finally:
        await database.close()
    again = await storage.connect(path)  # a restart applies nothing twice
    await again.close()


async def test_an_old_file_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(path)
    for version, _name, sql in storage_db.migrations()[:2]:
        conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute("INSERT INTO chats (id, type, created_at, updated_at) VALUES (7, 'private', 0, 0)")
    conn.execute("INSERT INTO subscriptions (chat_id, title_id, created_at) VALUES (7, 42, 0)")
    conn.commit()
    conn.close()

    database = await storage.connect(path)
    try:
        assert await database.scalar("PRAGMA user_version") == len(storage_db.migrations())
        assert await storage.SubscriptionRepo(database).title_ids(7) == {42}
        chat = await storage.ChatRepo(database).get(7)
        assert chat is not None and chat.digest_time is None  # a column from a later migration
    finally:
        await database.close()


async def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(storage.MigrationError):
        await storage.connect(path)


async def test_followers_of_a_title_are_found_through_the_index(tmp_path: Path) -> None:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    try:
        plan = await database.fetchall(
            "EXPLAIN QUERY PLAN SELECT chat_id FROM subscriptions WHERE title_id = ?", (1,)
        )
        details = " ".join(str(row[3]) for row in plan)
        assert "subscriptions_by_title" in details and "SCAN" not in details
    finally:
        await database.close()


async def test_a_failed_or_cancelled_transaction_leaves_nothing_and_jams_nothing(
    tmp_path: Path,
) -> None:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    chats = storage.ChatRepo(database)
    try:
        with pytest.raises(RuntimeError):
            async with database.transaction() as conn:
                await conn.execute(
                    "INSERT INTO chats (id, type, created_at, updated_at)"
                    " VALUES (1, 'private', 0, 0)"
                )
                raise RuntimeError("boom")
        assert await chats.get(1) is None

        entered = asyncio.Event()

        async def slow_writer() -> None:
            async with database.transaction() as conn:
                await conn.execute(
                    "INSERT INTO chats (id, type, created_at, updated_at)"
                    " VALUES (2, 'private', 0, 0)"
                )
                entered.set()
                await asyncio.Event().wait()  # until cancelled

        task = asyncio.create_task(slow_writer())
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await chats.touch(3, "private")  # the next writer works
        assert await chats.get(2) is None and await chats.get(3) is not None
    finally:
        await database.close()


async def test_migrating_a_chat_keeps_its_settings_whichever_side_spoke_first(
    tmp_path: Path,
) -> None:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    chats, subs = storage.ChatRepo(database), storage.SubscriptionRepo(database)
    try:
        for old, new, new_spoke_first in ((-1, -1001, True), (-2, -1002, False)):
            await chats.touch(old, "group")
            await chats.update(old, language="en", timezone="Asia/Tokyo", digest_time="09:00")
            await subs.add(old, 42)
            if new_spoke_first:
                await chats.touch(new, "supergroup")  # its "upgraded" service message
            await chats.migrate(old, new)
            await chats.migrate(old, new)  # Telegram tells both chats: the second does nothing
            moved = await chats.get(new)
            assert moved is not None
            assert (moved.language, moved.timezone, moved.digest_time) == (
                "en",
                "Asia/Tokyo",
                "09:00",
            )
            assert await subs.title_ids(new) == {42}
            assert await chats.get(old) is None
    finally:
        await database.close()


async def test_one_row_per_chat_whatever_arrives_twice(tmp_path: Path) -> None:
    database = await storage.connect(tmp_path / "bot.sqlite3")
    chats, subs = storage.ChatRepo(database), storage.SubscriptionRepo(database)
    accounts, outbox = storage.SessionRepo(database), storage.Outbox(database)
    try:
        for chat_id in (10, 11, 12):
            await chats.touch(chat_id, "private")
        await subs.add(10, 5, thread_id=None)
        await subs.add(11, 5, thread_id=None)
        # Chat 11 also follows user 11's favorites, which hold title 5: still one row.
        await accounts.save(11, b"sealed", None)
        await accounts.replace_favorites(11, [5])
        await chats.update(11, follow_favorites_of=11)
        await chats.set_active(12, False)
        await subs.add(12, 5)
        for _ in range(2):
            async with database.transaction() as conn:
                await storage.Outbox.enqueue_for_followers(
                    conn,
                    kind="episode",
                    kind_bit=1,
                    title_id=5,
                    payload={"title_id": 5},
                    dedupe_key="ep:5:3",
                    priority=storage.Priority.EPISODE,
                )
        async with database.transaction() as conn:
            await storage.Outbox.enqueue_for_chat(
                conn,
                chat_id=10,
                kind="text",
                payload={"html": "digest"},
                dedupe_key="digest:x",
                priority=storage.Priority.DIGEST,
            )
        claimed = await outbox.claim_due(10)
        assert [(i.chat_id, i.kind) for i in claimed][:2] in (
            [(10, "episode"), (11, "episode")],
            [(11, "episode"), (10, "episode")],
        )
        assert [i.kind for i in claimed] == ["episode", "episode", "text"]  # news first
        assert await outbox.release_in_flight() == 3  # a restart sends them again
        assert (await outbox.stats()).pending == 3
    finally:
        await database.close()


async def test_database_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # a usual umask: without care the file would be 0644
    try:
        path = tmp_path / "data" / "bot.sqlite3"
        database = await storage.connect(path)
        try:
            await storage.ChatRepo(database).touch(1, "private")  # the WAL gets written
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode)
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            }
            assert modes == dict.fromkeys(modes, 0o600), modes
        finally:
            await database.close()
        # A file left 0644 by an older version is narrowed on the next start.
        path.chmod(0o644)
        database = await storage.connect(path)
        await database.close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


async def test_touching_an_unchanged_chat_takes_no_write_lock(tmp_path: Path) -> None:
    """Every message touches its chat: with nothing new that must be one read, not a write
    that queues behind the fan-out holding the lock."""
    database = await storage.connect(tmp_path / "bot.sqlite3")
    chats = storage.ChatRepo(database)
    try:
        await chats.touch(5, "group", "Club", None)
        await chats.touch(6, "private", None, "ru")
        holding = asyncio.Event()
        release = asyncio.Event()

        async def long_writer() -> None:
            async with database.transaction():
                holding.set()
                await release.wait()

        writer = asyncio.create_task(long_writer())
        await holding.wait()
        try:
            same = await asyncio.wait_for(chats.touch(5, "group", "Club", None), 1.0)
            assert same.title == "Club" and same.active
            private = await asyncio.wait_for(chats.touch(6, "private", None, None), 1.0)
            assert private.seen_language == "ru"  # no language given: nothing to change
            changed = asyncio.create_task(chats.touch(5, "group", "Club, renamed", None))
            await asyncio.sleep(0.2)
            assert not changed.done()  # a real change does wait for the writer
        finally:
            release.set()
            await writer
        assert (await changed).title == "Club, renamed"
        await database.execute("UPDATE chats SET active = 0 WHERE id = 6")
        assert (await chats.touch(6, "private", None, "ru")).active  # speaking reactivates
        assert (await chats.touch(6, "private", None, "en")).seen_language == "en"
    finally:
        await database.close()


async def test_a_writer_cancelled_before_its_begin_ran_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    """Cancelled while its BEGIN waited behind another statement on aiosqlite's thread, a
    writer must not leave that BEGIN open for the next one ("cannot start a transaction within
    a transaction" stopped the sender at a shutdown once)."""
    db = await storage.connect(tmp_path / "bot.sqlite3")
    gate = threading.Event()
    try:
        # A statement that holds aiosqlite's thread until the test opens the gate.
        await db.conn.create_function("wait_for_gate", 0, lambda: int(gate.wait(30)))
        held = asyncio.create_task(db.scalar("SELECT wait_for_gate()"))

        async def write() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO state (key, value) VALUES ('a', '1')")

        writer = asyncio.create_task(write())
        await poll_until(lambda: db._write_lock.locked())  # its BEGIN is queued behind
        writer.cancel()
        await asyncio.sleep(0)
        after = asyncio.create_task(storage.StateRepo(db).set("b", 2))  # the next writer
        await asyncio.sleep(0)
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await writer
        await after
        assert await held == 1
        assert await storage.StateRepo(db).get_int("b") == 2
        assert await storage.StateRepo(db).get("a") is None
        assert not db.conn.in_transaction
    finally:
        gate.set()
        await db.close()


async def poll_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)
