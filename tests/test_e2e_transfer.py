"""AniLibria's videos, /export and /import end to end, on v1 and on v2: videos told once to the
chats that switched them on (none of the old ones), /videos; an export imported into a fresh
chat, and into a fresh bot, gives the same /subscriptions and /rules; bad files are refused
with a clear reply and change nothing; /export opml on each API."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.e2e_helpers import ask, press, send_file
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import Facts, Upstream

WATCHER, BYSTANDER = 9401, 9402
SOURCE, TARGET, BAD, BARE, ELSEWHERE = 9411, 9412, 9413, 9414, 9415


def video_notices(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent(chat_id) if (m.text or "").startswith("📹 <b>")]


async def test_videos_told_once_to_who_asked(
    tmp_path: Path, telegram: FakeTelegram, upstream: Upstream
) -> None:
    upstream.add_video("Старый трейлер")  # there before the first start: never news
    bot = BotProcess(tmp_path, telegram, upstream, env={"VIDEOS_POLL_SECONDS": "0.2"})
    try:
        await bot.start()
        menu = await ask(telegram, WATCHER, "/settings")
        await press(telegram, menu, "set:kinds:")
        await press(telegram, menu, "set:kind:32")
        assert bot.db("SELECT kinds & 32 FROM chats WHERE id = ?", (WATCHER,)) == [(32,)]
        await ask(telegram, BYSTANDER, "/start")
        polls = upstream.video_polls()
        await poll(lambda: upstream.video_polls() >= polls + 2, message="two video polls")
        upstream.add_video("Новый <трейлер>")
        await poll(lambda: video_notices(telegram, WATCHER), timeout=10, message="the video")
        polls = upstream.video_polls()
        await poll(lambda: upstream.video_polls() >= polls + 3, message="three more polls")
        await bot.settled()
        [notice] = video_notices(telegram, WATCHER)
        assert "Новый &lt;трейлер&gt;" in notice and "Старый" not in notice
        assert video_notices(telegram, BYSTANDER) == []
        latest = await ask(telegram, BYSTANDER, "/videos")
        assert "Новый &lt;трейлер&gt;" in (latest.text or "")
        assert (latest.text or "").index("Новый") < (latest.text or "").index("Старый")
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            await bot.kill()


def rows(bot: BotProcess, chat_id: int) -> tuple[object, ...]:
    subs = bot.db("SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", (chat_id,))[0][0]
    rules = bot.db("SELECT COUNT(*) FROM rules WHERE chat_id = ?", (chat_id,))[0][0]
    settings = bot.db(
        "SELECT language, timezone, quiet_start, quiet_end, kinds FROM chats WHERE id = ?",
        (chat_id,),
    )
    return subs, rules, settings


async def test_export_then_import_gives_the_same_chat(
    tmp_path: Path, any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    upstream.add_title(8501, "export-one", "Первый экспорт", "Export One")
    upstream.add_title(8502, "export-two", "Второй экспорт", "Export Two")
    upstream.add_title(8503, "genres", "Жанры", "Genres", facts=Facts(("Комедия",), ("Anzen",)))
    await any_bot.start()
    for text in ("/subscribe export-one", "/subscribe export-two", "/follow genre комедия"):
        await ask(telegram, SOURCE, text)
    await ask(telegram, SOURCE, "/follow voice anzen type TV")
    await ask(telegram, SOURCE, "/settings lang en")
    await ask(telegram, SOURCE, "/settings quiet 23:00-08:00")

    exported = await ask(telegram, SOURCE, "/export")
    assert exported.kind == "document"
    data = exported.files["document"]
    content = json.loads(data)
    assert content["format"] == "anilibria-bot" and content["version"] == 1
    assert {s["id"] for s in content["subscriptions"]} == {8501, 8502}
    assert content["settings"]["language"] == "en"

    # Bad files: a clear reply each, and nothing changes.
    before = rows(any_bot, SOURCE)
    await ask(telegram, BAD, "/start")
    bad_before = rows(any_bot, BAD)
    foreign = json.dumps({"feeds": ["https://example.org/rss"]}).encode()
    newer = json.dumps({**content, "version": 7}).encode()
    broken = json.dumps({**content, "subscriptions": [{"id": "many"}]}).encode()
    for raw, name, expected in [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.png", "вообще не JSON"),
        (foreign, "feeds.json", "Это не выгрузка этого бота"),
        (newer, "newer.json", "более новой версией"),
        (broken, "broken.json", "неверное поле «subscriptions.0.id»"),
        (b"{" + b" " * 300_000 + b"}", "huge.json", "слишком велик"),
    ]:
        answer = await send_file(telegram, BAD, raw, name, caption="/import")
        assert expected in (answer.text or "") and "Ничего не изменено" in (answer.text or "")
    assert rows(any_bot, BAD) == bad_before and rows(any_bot, SOURCE) == before

    # Into a fresh chat: the same subscriptions, rules and settings.
    done = await send_file(telegram, TARGET, data, "export.json", caption="/import")
    assert "2 new subscriptions, 2 new rules" in (done.text or ""), done.text
    assert rows(any_bot, TARGET)[:2] == (2, 2)
    assert rows(any_bot, TARGET)[2] == rows(any_bot, SOURCE)[2]
    for command in ("/subscriptions", "/rules"):
        mine = await ask(telegram, SOURCE, command)
        theirs = await ask(telegram, TARGET, command)
        assert mine.text == theirs.text
        assert [b["text"] for b in mine.buttons] == [b["text"] for b in theirs.buttons]
        assert "Export One" in (mine.text or "") or "genre Комедия" in (mine.text or "")

    # A bare /import waits for the file.
    prompt = await ask(telegram, BARE, "/import")
    assert "Пришлите файл" in (prompt.text or "")
    done = await send_file(telegram, BARE, data, "export.json")
    assert "Imported" in (done.text or "")

    # Into another bot (a fresh database): the titles are read from the API.
    assert await any_bot.stop(signal.SIGTERM) == 0
    other = BotProcess(tmp_path / "other", telegram, upstream)
    (tmp_path / "other").mkdir()
    try:
        await other.start()
        done = await send_file(telegram, ELSEWHERE, data, "export.json", caption="/import")
        assert "2 new subscriptions, 2 new rules" in (done.text or ""), done.text
        listed = await ask(telegram, ELSEWHERE, "/subscriptions")
        assert "Export One" in (listed.text or "") and "Export Two" in (listed.text or "")
        assert other.db("SELECT COUNT(*) FROM rules WHERE chat_id = ?", (ELSEWHERE,)) == [(2,)]
    finally:
        if other.proc is not None and other.proc.returncode is None:
            await other.kill()


async def test_export_opml(any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream) -> None:
    upstream.add_title(8601, "opml-show", "Лента <&>", "Feed Show")
    await any_bot.start()
    await ask(telegram, 9601, "/subscribe opml-show")
    answer = await ask(telegram, 9601, "/export opml")
    if upstream.name == "v2":
        assert answer.kind == "text" and "нет торрент-ленты" in (answer.text or "")
        return
    assert answer.kind == "document"
    opml = answer.files["document"].decode()
    assert opml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert 'text="Лента &lt;&amp;&gt;"' in opml
    assert "/anime/torrents/rss/release/8601" in opml and "pk=" not in opml
    assert "/login" in (answer.text or "")
