"""Follow rules end to end, on v1 and on v2: every kind of rule matching a new title and not
matching another, one notice for several matching rules, nothing for an old title touched,
also-subscribe and a title that comes to match later, a group's non-admin refused, the preview
through the API's own filtering (the v2 query text with quotes and braces escaped), unknown
names answered with the closest known ones, and the builder with buttons."""

from __future__ import annotations

import json

from tests.e2e_helpers import ask, button_data, edited, new_title_notices, press, texts
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import Facts, Upstream, this_year

ODD_GENRE = 'Ко"мед{ия}'
GENRE, VOICE, KIND, SEASON, NEW, MANY, OTHER = 9201, 9202, 9203, 9204, 9205, 9206, 9207
GROUP, ADMIN, MEMBER = -1009200, 9210, 9211


def catalogue(upstream: Upstream) -> None:
    """What the API knows before the bot starts: the genres and voice actors of the tests."""
    genres = ("Комедия", "Школа", ODD_GENRE)
    upstream.add_title(
        8100, "catalogue-one", "Каталог", "Catalogue", facts=Facts(genres, ("Anzen", "Later"))
    )
    facts = Facts(("Драма",), ("Sharon",), kind="MOVIE", episodes=3)
    upstream.add_title(8101, "catalogue-two", "Драма", "Drama", facts=facts)


async def test_each_rule_kind_matches_a_new_title_once(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    catalogue(upstream)
    year = this_year()
    await any_bot.start()
    for chat_id, text in [
        (GENRE, "/follow genre комедия"),
        (VOICE, "/follow voice ANZEN"),
        (KIND, "/follow type movie"),
        (SEASON, f"/follow season spring {year}"),
        (NEW, "/follow new"),
        (MANY, "/follow genre Комедия"),
        (MANY, "/follow new"),
        (MANY, "/follow type TV"),
        (OTHER, "/follow genre Драма voice Sharon"),
    ]:
        saved = await ask(telegram, chat_id, text)
        assert "✅" in (saved.text or ""), saved.text
    assert "<b>жанр Комедия</b>" in texts(telegram, GENRE)[0]  # the API's own spelling

    comedy = Facts(("Комедия", "Школа"), ("Anzen",), kind="TV", season="spring", year=year)
    await upstream.new_title(8201, "new-comedy", "Новая <комедия>", "New Comedy", comedy)
    told = (GENRE, VOICE, SEASON, NEW, MANY)
    await poll(lambda: all(new_title_notices(telegram, c) for c in told), timeout=15)
    movie = Facts(("Драма",), ("Sharon",), kind="MOVIE", season="summer", year=year)
    await upstream.new_title(8202, "new-movie", "Новый фильм", "New Movie", movie)
    await poll(lambda: new_title_notices(telegram, KIND), timeout=15)
    old = Facts(("Комедия",), ("Anzen",), kind="TV", season="spring", year=2015, episodes=12)
    await upstream.old_title(8203, "old-comedy", "Старая комедия", "Old Comedy", old)
    await any_bot.barrier()
    await any_bot.barrier()
    await any_bot.settled()

    def names(chat_id: int) -> list[str]:
        return [m.text or "" for m in new_title_notices(telegram, chat_id)]

    assert [("Новая" in t) for t in names(GENRE)] == [True]
    assert [("Новая" in t) for t in names(VOICE)] == [True]
    assert [("Новая" in t) for t in names(SEASON)] == [True]
    assert [("Новый фильм" in t) for t in names(KIND)] == [True]
    assert [("Новый фильм" in t) for t in names(OTHER)] == [True]
    assert len(names(NEW)) == 2 and len(names(MANY)) == 2  # three rules of MANY, one notice
    assert not any("Старая" in t for c in (*told, KIND, OTHER) for t in names(c))

    [notice] = new_title_notices(telegram, GENRE)
    text = notice.text or ""
    assert "Новая &lt;комедия&gt;" in text and "New Comedy" in text
    assert "Комедия, Школа" in text and "Anzen" in text
    assert f"ТВ-сериал · весна {year}" in text
    assert upstream.title_url("new-comedy") in text
    assert "sub:8201:1:n" in [b.get("callback_data") for b in notice.buttons]
    assert "card:8201:0" in [b.get("callback_data") for b in notice.buttons]
    preview = notice.params.get("link_preview_options")
    preview = json.loads(preview) if isinstance(preview, str) else preview
    assert isinstance(preview, dict) and "8201" in str(preview.get("url"))

    # The notice's button subscribes to the title's episodes.
    answer = await press(telegram, notice, "sub:8201:1:n")
    assert answer.get("text") == "Подписка оформлена."
    rows = any_bot.db("SELECT 1 FROM subscriptions WHERE chat_id = ? AND title_id = 8201", (GENRE,))
    assert rows


async def test_also_subscribe_a_later_match_and_a_group_non_admin(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    catalogue(upstream)
    await any_bot.start()
    telegram.set_admins(GROUP, [ADMIN])
    group = {"chat_type": "supergroup"}
    refused = await ask(telegram, GROUP, "/follow voice Later", user_id=MEMBER, **group)
    assert "только администраторы группы" in (refused.text or "")
    assert any_bot.db("SELECT COUNT(*) FROM rules")[0][0] == 0

    saved = await ask(telegram, GROUP, "/follow voice later", user_id=ADMIN, **group)
    assert "✅" in (saved.text or "")
    toggle = button_data(saved, "Сразу подписываться")
    answer = await press(telegram, saved, toggle, user_id=MEMBER, chat_type="supergroup")
    assert answer.get("show_alert") and "администраторы" in str(answer.get("text"))
    answer = await press(telegram, saved, toggle, user_id=ADMIN, chat_type="supergroup")
    assert any_bot.db("SELECT also_subscribe FROM rules")[0][0] == 1

    facts = Facts(("Школа",), ("Anzen",))
    await upstream.new_title(8301, "later-match", "Позже", "Later On", facts)
    await any_bot.barrier()
    await any_bot.barrier()
    await any_bot.settled()
    assert new_title_notices(telegram, GROUP) == []  # no "Later" among its voices yet

    await upstream.add_voice(8301, "Later")
    await poll(lambda: new_title_notices(telegram, GROUP), timeout=15, message="the later match")
    await upstream.add_voice(8301, "Someone Else")
    await any_bot.barrier()
    await any_bot.barrier()
    await any_bot.settled()
    [notice] = new_title_notices(telegram, GROUP)
    assert "Позже" in (notice.text or "") and "подписало этот чат" in (notice.text or "")
    assert "sub:8301:0:n" in [b.get("callback_data") for b in notice.buttons]
    listed = await ask(telegram, GROUP, "/subscriptions", user_id=ADMIN, **group)
    assert "Позже" in (listed.text or "")


async def test_preview_unknown_names_and_the_builder(
    any_bot: BotProcess, telegram: FakeTelegram, upstream: Upstream
) -> None:
    catalogue(upstream)
    await any_bot.start()

    # A genre with a quote and braces: found case-insensitively, the preview asks the API.
    saved = await ask(telegram, 9301, '/follow genre ко"МЕД{ия}')
    text = saved.text or ""
    assert "✅" in text and "Каталог" in text  # the current title it matches
    asked = upstream.preview_requests()[-1]
    if upstream.name == "v2":
        assert asked == '"Ко\\"мед\\u007bия\\u007d" in {genres}'
    else:
        assert "f[genres]=" in asked and "f[sorting]=FRESH_AT_DESC" in asked

    # An unknown name: the closest known ones as buttons, nothing saved until one is pressed.
    offer = await ask(telegram, 9302, "/follow genre Комеди")
    assert "нет жанра «Комеди»" in (offer.text or "")
    assert any_bot.db("SELECT COUNT(*) FROM rules WHERE chat_id = 9302")[0][0] == 0
    await press(telegram, offer, button_data(offer, "Комедия"))
    await edited(offer, 1)
    assert "✅ Правило сохранено: <b>жанр Комедия</b>" in (offer.text or "")
    offer = await ask(telegram, 9303, "/follow voice Anzn")
    await press(telegram, offer, button_data(offer, "Anzen"))
    await edited(offer, 1)
    assert "<b>голос Anzen</b>" in (offer.text or "")
    unknown = await ask(telegram, 9304, "/follow voice Zzzzzz")
    assert "не знает войсера" in (unknown.text or "") and "Anzen" in (unknown.text or "")

    # The builder: a genre and a kind with buttons, then saved (five actions: the flood
    # limit's burst); /rules lists and deletes.
    builder = await ask(telegram, 9305, "/follow")
    await press(telegram, builder, "fw:genres:0")
    await edited(builder, 1)
    await press(telegram, builder, button_data(builder, "Школа"))
    await edited(builder, 2)
    await press(telegram, builder, "fw:k:TV")
    await edited(builder, 3)
    assert "жанр Школа + ТВ-сериал" in (builder.text or "")
    await press(telegram, builder, "fw:save:")
    await edited(builder, 4)
    assert "✅ Правило сохранено: <b>жанр Школа + ТВ-сериал</b>" in (builder.text or "")
    assert any_bot.db("SELECT genres, kind FROM rules WHERE chat_id = 9305") == [
        ('["Школа"]', "TV")
    ]
    await ask(telegram, 9306, "/follow genre школа")
    await ask(telegram, 9306, "/follow type OVA")
    listed = await ask(telegram, 9306, "/rules")
    assert "У этого чата 2 правила" in (listed.text or "")
    await press(telegram, listed, button_data(listed, "🗑 1."))
    await edited(listed, 1)
    assert "У этого чата 1 правило" in (listed.text or "") and "OVA" in (listed.text or "")
    assert any_bot.db("SELECT kind FROM rules WHERE chat_id = 9306") == [("OVA",)]
