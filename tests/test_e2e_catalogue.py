"""The catalogue end to end: /search with paging and subscribe buttons, /title cards (photo and
text fallback, "More", torrent files), /random, inline mode, the API down, forged buttons.

The bot runs as a process against the fake Telegram and AniLibria servers. Each scenario uses its
own chats so that the per-user flood limit never gets in the way.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.harness import BotProcess, callback_answer, poll

LONG_ID = 5001
LONG_DESCRIPTION = " ".join(f"Предложение номер {n} & <тег>." for n in range(150))


def buttons(message: SentMessage) -> list[dict[str, Any]]:
    return message.buttons


def data_of(message: SentMessage, prefix: str) -> list[str]:
    return [
        b["callback_data"] for b in message.buttons if b.get("callback_data", "").startswith(prefix)
    ]


def add_series(anilibria: FakeAniLibria, base_id: int, count: int, ru: str, en: str) -> None:
    now = int(time.time())
    for n in range(count):
        anilibria.rest.add_title(
            anilibria.rest.make_title(
                base_id + n,
                f"{en.lower()}-{n}",
                f"{ru} {n}",
                f"{en} {n}",
                episodes=3,
                series_total=12,
                updated=now - n,  # newest first: the fake orders results by `updated`
            )
        )


def poster_path(anilibria: FakeAniLibria, title_id: int) -> str:
    posters = anilibria.rest.titles[title_id]["posters"]
    return str(posters["small"]["url"])


async def test_search_pages_subscribe_and_cache(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    add_series(anilibria, 7000, 12, "Мехавоин <&>", "Mechawarrior")
    await bot.start()
    ru, en, odd = 3001, 3002, 3003

    telegram.message(ru, "/search Мехавоин")
    [page] = await telegram.wait_sent(ru)
    assert "результаты 1–5" in (page.text or "")
    assert "Мехавоин &lt;&amp;&gt; 0" in (page.text or "")
    assert "3 из 12 серий" in (page.plain_text or "")
    assert anilibria.rest.count("searchTitles") == 1
    # The page shows the first result's poster as its preview.
    preview = page.params["link_preview_options"]
    assert preview["url"] == f"{anilibria.site_url}{poster_path(anilibria, 7000)}"
    [forward] = data_of(page, "pg:s:5:")

    telegram.callback(ru, forward)
    await telegram.wait_for(lambda: "результаты 6–10" in (telegram.sent(ru)[0].text or ""))
    back = data_of(telegram.sent(ru)[0], "pg:s:0:")
    assert back and data_of(telegram.sent(ru)[0], "pg:s:10:")
    telegram.callback(ru, back[0])
    await telegram.wait_for(lambda: "результаты 1–5" in (telegram.sent(ru)[0].text or ""))
    assert anilibria.rest.count("searchTitles") == 2  # the first page again came from the cache

    # Subscribe from a result: the row's button turns into "unsubscribe".
    telegram.callback(ru, "sub:7001:1:s")
    await poll(
        lambda: bot.db("SELECT 1 FROM subscriptions WHERE chat_id = ? AND title_id = 7001", (ru,))
    )
    await telegram.wait_for(lambda: "sub:7001:0:s" in data_of(telegram.sent(ru)[0], "sub:"))
    [label] = [
        b["text"] for b in telegram.sent(ru)[0].buttons if b["callback_data"] == "sub:7001:0:s"
    ]
    assert label.startswith("🔕")

    # The same question again costs no API call and shows the new state.
    telegram.message(ru, "/search  Мехавоин ")
    pages = await telegram.wait_sent(ru, 2)
    assert "sub:7001:0:s" in data_of(pages[1], "sub:") and "sub:7000:1:s" in data_of(
        pages[1], "sub:"
    )
    assert anilibria.rest.count("searchTitles") == 2

    # English, with its own (unsubscribed) state.
    telegram.message(en, "/search Mechawarrior", language_code="en")
    [page_en] = await telegram.wait_sent(en)
    assert "results 1–5" in (page_en.text or "") and "3 of 12 episodes" in (
        page_en.plain_text or ""
    )
    assert "sub:7001:1:s" in data_of(page_en, "sub:")
    assert "🔔 Subscribe" in [b["text"] for b in page_en.buttons]
    telegram.callback(en, data_of(page_en, "pg:s:5:")[0], language_code="en")
    await telegram.wait_for(lambda: "results 6–10" in (telegram.sent(en)[0].text or ""))

    # No text, a 5,000-character text, HTML in the text.
    telegram.message(odd, "/search", language_code="en")
    [ask] = await telegram.wait_sent(odd)
    assert "What should I look for?" in (ask.text or "")
    telegram.message(odd, "/search " + "щ" * 5000, language_code="en")
    replies = await telegram.wait_sent(odd, 2)
    assert "Nothing found" in (replies[1].text or "")
    searched = [q for m, path, q in anilibria.rest.requests if path.endswith("/searchTitles")]
    assert len(searched[-1]["search"]) == 200
    telegram.message(odd, "/search <b>nope</b>", language_code="en")
    replies = await telegram.wait_sent(odd, 3)
    assert "&lt;b&gt;nope&lt;/b&gt;" in (replies[2].text or "")
    assert telegram.internal_errors == []


async def test_title_cards_more_and_torrents(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    rest = anilibria.rest
    title = rest.make_title(LONG_ID, "long-story", "Длинная <история>", "Long & Story", episodes=4)
    title["description"] = LONG_DESCRIPTION
    title["torrents"]["list"].append(rest.make_torrent(50012, 1, 2, int(time.time())))
    title["torrents"]["list"][1]["quality"]["string"] = "HDTVRip 720p"
    rest.add_title(title)
    await bot.start()
    by_id, by_code, by_url, fallback, rnd = 4001, 4002, 4003, 4004, 4005

    telegram.message(by_id, f"/title {LONG_ID}")
    telegram.message(by_code, "/title long-story", language_code="en")
    telegram.message(by_url, "/title https://www.anilibria.tv/release/long-story.html")
    for chat in (by_id, by_code, by_url):
        [card] = await telegram.wait_sent(chat)
        assert card.kind == "photo"
        assert (
            card.params["photo"]
            == f"{anilibria.site_url}/storage/releases/posters/{LONG_ID}/long-story.jpg"
        )
        assert len(card.plain_text or "") <= 1024
        assert "Длинная &lt;история&gt;" in (card.text or "")
        assert f"card:{LONG_ID}:1" in data_of(card, "card:")
        assert data_of(card, "tor:") == [f"tor:{LONG_ID * 10 + 1}", "tor:50012"]
        assert f"sub:{LONG_ID}:1:c" in data_of(card, "sub:")
    [card_en] = telegram.sent(by_code)
    assert "4 episodes" in (card_en.plain_text or "") and "Torrents:" in (card_en.plain_text or "")

    # "More": the whole description as text, within 4096 per message.
    telegram.callback(by_id, f"card:{LONG_ID}:1")
    await telegram.wait_sent(by_id, 2)
    await telegram.wait_for(
        lambda: "номер 149" in " ".join(m.plain_text or "" for m in telegram.sent(by_id)[1:])
    )
    more = telegram.sent(by_id)[1:]
    assert all(m.kind == "text" and len(m.plain_text or "") <= 4096 for m in more)
    assert "Предложение номер 0 & <тег>." in (more[0].plain_text or "")

    # A torrent button sends the .torrent file itself.
    telegram.callback(by_id, "tor:50012", message_id=telegram.sent(by_id)[0].message_id)
    await poll(lambda: telegram.calls_of("sendDocument", chat_id=by_id), message="the torrent")
    [call] = telegram.calls_of("sendDocument", chat_id=by_id)
    assert call.files["document"].startswith(b"d8:announce")
    document = telegram.sent(by_id)[-1].message["document"]
    assert document["file_name"] == "long-story_HDTVRip_720p.torrent"
    assert anilibria.rest.count("download") == 0  # it came inline, as raw_torrent

    # Without raw_torrent in the answer, the file is downloaded from the torrent's URL.
    rest.fail("getTitle", 200, rest.titles[LONG_ID])  # the stored title: no raw_base64_file
    telegram.callback(
        by_id, f"tor:{LONG_ID * 10 + 1}", message_id=telegram.sent(by_id)[0].message_id
    )
    await poll(lambda: len(telegram.calls_of("sendDocument", chat_id=by_id)) == 2)
    assert anilibria.rest.count("download") == 1
    assert telegram.calls_of("sendDocument", chat_id=by_id)[1].files["document"].startswith(b"d8:")
    assert telegram.sent(by_id)[-1].message["document"]["file_name"] == (
        "long-story_WEBRip_1080p.torrent"
    )

    # Subscribe from the card: the DB has it and the button flips.
    telegram.callback(by_url, f"sub:{LONG_ID}:1:c")
    await poll(lambda: bot.db("SELECT 1 FROM subscriptions WHERE chat_id = ?", (by_url,)))
    await telegram.wait_for(
        lambda: f"sub:{LONG_ID}:0:c" in data_of(telegram.sent(by_url)[0], "sub:")
    )

    # /random: a card.
    telegram.message(rnd, "/random", language_code="en")
    [random_card] = await telegram.wait_sent(rnd)
    assert "Open on AniLibria" in (random_card.plain_text or "")
    assert anilibria.rest.count("getRandomTitle") == 1

    # Telegram refuses the poster: the card comes as text. A bare code and an unknown id.
    telegram.refuse_photo_urls = True
    telegram.message(fallback, "/title texhnolyze")
    [text_card] = await telegram.wait_sent(fallback)
    assert text_card.kind == "text" and "Технолайз" in (text_card.text or "")
    assert "/release/texhnolyze.html" in (text_card.text or "")
    assert telegram.internal_errors == []


async def test_inline_query_pages(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    add_series(anilibria, 20000, 60, "Инлайн", "Inliner")
    await bot.start()

    def answers() -> list[dict[str, Any]]:
        return [c.params for c in telegram.calls_of("answerInlineQuery")]

    telegram.inline_query(6001, "Inliner", language_code="en")
    await poll(lambda: len(answers()) == 1, message="the first inline answer")
    first = answers()[0]
    assert len(first["results"]) == 50 and first["next_offset"] == "50"
    assert first["is_personal"] is False and first["cache_time"] <= 60
    result = first["results"][0]
    assert result["title"] == "Inliner 0"  # the name in the reader's language
    assert result["thumbnail_url"].startswith(anilibria.site_url + "/storage/")
    assert "3 of 12 episodes" in result["description"]
    assert "<b>Inliner 0</b>" in result["input_message_content"]["message_text"]
    assert "<i>Инлайн 0</i>" in result["input_message_content"]["message_text"]
    urls = [b.get("url", "") for row in result["reply_markup"]["inline_keyboard"] for b in row]
    assert "https://t.me/anilibria_test_bot?start=sub_20000" in urls

    telegram.inline_query(6001, "Inliner", offset="50", language_code="en")
    await poll(lambda: len(answers()) == 2, message="the second inline answer")
    second = answers()[1]
    assert len(second["results"]) == 10 and not second.get("next_offset")
    assert second["results"][-1]["title"] == "Inliner 59"

    telegram.inline_query(6002, "   ")
    await poll(lambda: len(answers()) == 3, message="the empty-query answer")
    assert answers()[2]["results"] == [] and answers()[2]["button"]["start_parameter"] == "inline"
    assert telegram.internal_errors == []


async def test_api_down_and_forged_buttons(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    await bot.start()
    down, forged, other = 8001, 8002, 8003
    anilibria.rest.fail("searchTitles", 500, {"error": {"code": 500, "message": "Oops"}}, times=10)
    anilibria.rest.fail("getRandomTitle", 502, "<html><body>Bad Gateway</body></html>", times=10)

    started = time.monotonic()
    telegram.message(down, "/search Технолайз", language_code="en")
    [reply] = await telegram.wait_sent(down, timeout=10)
    assert time.monotonic() - started < 10
    assert "AniLibria is not answering" in (reply.text or "")
    telegram.message(down, "/random")
    replies = await telegram.wait_sent(down, 2, timeout=10)
    assert "AniLibria" in (replies[1].text or "") and replies[1].kind == "text"

    # Everyone else is still served.
    telegram.message(other, "/title 8700", language_code="en")
    [card] = await telegram.wait_sent(other)
    assert "Texhnolyze" in (card.text or "")
    telegram.message(other, "/title 999999", language_code="en")
    replies = await telegram.wait_sent(other, 2)
    assert "could not find" in (replies[1].text or "")

    # Forged or stale buttons (two users: the flood limit allows five actions at once).
    forged_two = 8004
    presses = [
        (forged, "card:abc"),
        (forged, "pg:s:0:deadbeef0000"),
        (forged, "tor:424242"),
        (forged_two, "card:999999:0"),
        (forged_two, "pg:s:x:y"),
    ]
    for chat, data in presses:
        params = await callback_answer(telegram, telegram.callback(chat, data, message_id=1))
        assert params.get("text") and "Too many" not in params["text"], data
    assert telegram.sent(forged) == [] and telegram.sent(forged_two) == []  # nothing changed
    assert bot.db("SELECT COUNT(*) FROM subscriptions")[0][0] == 0
    assert telegram.internal_errors == []
