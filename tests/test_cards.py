"""Unit tests of title cards and search pages: escaping, Telegram's limits, both languages.

Every text is also run through the fake Telegram's own HTML parser (as strict as Telegram) so
that "escaped" means "accepted", not just "contains &lt;".
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.anilibria import Title
from bot.anilibria.v2._convert import title_from_v2, title_url
from bot.anilibria.v2.models import Title as V2Title
from bot.handlers.cards import (
    CARD_TORRENT_BUTTONS,
    episodes_text,
    flip_subscription_buttons,
    inline_description,
    render_card,
    render_search_page,
    split_description,
    torrent_filename,
)
from bot.ui.callbacks import CardCb, FavCb, SubCb
from bot.ui.i18n import LOCALES_DIR, PoI18n
from bot.ui.text import utf16_len
from tests.fakes.anilibria_rest import FakeAniLibriaRest, load_fixture
from tests.fakes.telegram_validate import format_text, validate_reply_markup

SITE = "https://www.anilibria.tv"
LINKS = functools.partial(title_url, SITE)
NASTY = 'Тест <b>&amp; "кавычки" </i> & <script>'


@pytest.fixture(scope="module")
def i18n() -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale="en")


@pytest.fixture(params=["ru", "en"])
def lang(request: pytest.FixtureRequest, i18n: I18n) -> Iterator[str]:
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def make(**overrides: Any) -> Title:
    fake = FakeAniLibriaRest(load_real=False)
    raw = fake.make_title(
        4242,
        overrides.pop("code", "nasty-title"),
        overrides.pop("ru", NASTY),
        overrides.pop("en", "Tom & Jerry <3"),
        episodes=overrides.pop("episodes", 12),
        series_total=overrides.pop("series_total", 24),
        genres=overrides.pop("genres", ("Комедия <&>", "Drama")),
    )
    raw.update(overrides)
    return title_from_v2(V2Title.model_validate(raw), SITE)


def accepted(text: str, *, caption: bool = False) -> str:
    """The text as Telegram shows it; fails the test if Telegram would refuse the HTML."""
    return format_text(text, "HTML", None, caption=caption).text


def callback_data(markup: InlineKeyboardMarkup) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]


def test_card_escapes_every_api_string(lang: str) -> None:
    title = make(team={"voice": ["<Voicer & Co>"], "translator": []})
    card = render_card(title, links=LINKS, subscribed=False)
    shown = accepted(card.text, caption=True)
    assert NASTY in shown and "Tom & Jerry <3" in shown
    assert "Комедия <&>" in shown and "<Voicer & Co>" in shown
    assert html.escape(NASTY) in card.text
    assert "<script>" not in card.text
    assert f"{SITE}/release/nasty-title.html" in card.text


def test_caption_fits_even_with_a_huge_description(lang: str) -> None:
    description = ("Очень длинное описание & <теги> 😀 " * 400).strip()
    title = make(description=description)
    card = render_card(title, links=LINKS, subscribed=True)
    assert utf16_len(card.text) <= 1024
    shown = accepted(card.text, caption=True)
    assert utf16_len(shown) <= 1024
    assert card.description_cut
    assert "Очень длинное описание" in shown and "…" in shown
    assert CardCb(title_id=4242, more=True).pack() in callback_data(card.keyboard)


def test_short_description_has_no_more_button(lang: str) -> None:
    card = render_card(make(description="Коротко."), links=LINKS, subscribed=False)
    assert "Коротко." in card.text
    assert not card.description_cut
    assert CardCb(title_id=4242, more=True).pack() not in callback_data(card.keyboard)


def test_absurd_names_still_fit(lang: str) -> None:
    title = make(ru="<&>" * 2000, en="&" * 3000, description="x " * 3000)
    for limit in (1024, 4096):
        card = render_card(title, links=LINKS, subscribed=False, limit=limit)
        assert utf16_len(card.text) <= limit
        accepted(card.text, caption=limit == 1024)


def test_callback_data_and_buttons_pass_telegram_checks(lang: str) -> None:
    torrents = [
        FakeAniLibriaRest.make_torrent(2_000_000_000 + i, 1, 12, 1_700_000_000) for i in range(12)
    ]
    title = make(torrents={"series": None, "list": torrents}, id=2_147_483_000)
    card = render_card(title, links=LINKS, subscribed=True, favorite=True)
    validate_reply_markup(card.keyboard.model_dump(exclude_none=True))
    data = callback_data(card.keyboard)
    assert all(len(d.encode()) <= 64 for d in data)
    assert sum(d.startswith("tor:") for d in data) == CARD_TORRENT_BUTTONS
    assert SubCb(title_id=2_147_483_000, on=False, ctx="c").pack() in data
    assert FavCb(title_id=2_147_483_000, add=False).pack() in data
    shown = accepted(card.text, caption=True)
    assert shown.count("WEBRip 1080p [1-12]") == 5  # five torrent lines, the rest as buttons


def test_card_in_russian_and_english(lang: str) -> None:
    card = render_card(make(), links=LINKS, subscribed=False, favorite=False)
    shown = accepted(card.text, caption=True)
    labels = [b.text for row in card.keyboard.inline_keyboard for b in row]
    if lang == "ru":
        assert "12 из 24 серий" in shown and "Весна 2024" in shown and "Онгоинг" in shown
        assert "🔔 Подписаться" in labels and "⭐ В избранное" in labels
        assert "Жанры:" in shown and "Озвучка: Voicer" in shown
    else:
        assert "12 of 24 episodes" in shown and "Spring 2024" in shown and "Ongoing" in shown
        assert "🔔 Subscribe" in labels and "⭐ Add to favorites" in labels
        assert "Genres:" in shown and "Voices: Voicer" in shown
    assert ("16.8 ГБ, 5 сидов" if lang == "ru" else "16.8 GB, 5 seeders") in shown


@pytest.mark.parametrize(
    ("last", "total", "ru", "en"),
    [
        (1, None, "1 серия", "1 episode"),
        (3, None, "3 серии", "3 episodes"),
        (5, None, "5 серий", "5 episodes"),
        (11, None, "11 серий", "11 episodes"),
        (21, None, "21 серия", "21 episodes"),
        (1, 1, "1 из 1 серии", "1 of 1 episode"),
        (2, 22, "2 из 22 серий", "2 of 22 episodes"),
        (0, None, "серий пока нет", "no episodes yet"),
    ],
)
def test_episode_plurals(i18n: I18n, last: int, total: int | None, ru: str, en: str) -> None:
    title = make(episodes=last, series_total=total)
    with i18n.context():
        with i18n.use_locale("ru"):
            assert episodes_text(title) == ru
        with i18n.use_locale("en"):
            assert episodes_text(title) == en


def test_search_page(lang: str) -> None:
    titles = [make(id=100 + i, code=f"t-{i}") for i in range(5)]
    text, markup = render_search_page(
        titles,
        query="<b>" + "я" * 300,
        offset=5,
        token="abcdef012345",
        has_next=True,
        subscribed={101},
        favorites={102: True, 103: False},
    )
    shown = accepted(text)
    assert utf16_len(text) <= 4096
    assert "<b>" in shown and shown.count(NASTY) == 5
    assert ("результаты 6–10" if lang == "ru" else "results 6–10") in shown
    data = callback_data(markup)
    assert all(len(d.encode()) <= 64 for d in data)
    assert SubCb(title_id=101, on=False, ctx="s").pack() in data  # followed: unsubscribe
    assert SubCb(title_id=100, on=True, ctx="s").pack() in data
    assert FavCb(title_id=102, add=False).pack() in data
    assert FavCb(title_id=103, add=True).pack() in data
    assert not any(d.startswith("fav:104") for d in data)
    assert "pg:s:0:abcdef012345" in data and "pg:s:10:abcdef012345" in data
    validate_reply_markup(markup.model_dump(exclude_none=True))


def test_first_and_last_pages_have_one_arrow(lang: str) -> None:
    _, first = render_search_page(
        [make()], query="q", offset=0, token="t", has_next=True, subscribed=set()
    )
    _, last = render_search_page(
        [make()], query="q", offset=5, token="t", has_next=False, subscribed=set()
    )
    assert [d for d in callback_data(first) if d.startswith("pg:")] == ["pg:s:5:t"]
    assert [d for d in callback_data(last) if d.startswith("pg:")] == ["pg:s:0:t"]


def test_flip_subscription_buttons(lang: str) -> None:
    title = make()
    card = render_card(title, links=LINKS, subscribed=False)
    flipped = flip_subscription_buttons(card.keyboard, 4242, subscribed=True)
    assert flipped is not None
    assert SubCb(title_id=4242, on=False, ctx="c").pack() in callback_data(flipped)
    assert SubCb(title_id=4242, on=True, ctx="c").pack() not in callback_data(flipped)
    assert flip_subscription_buttons(card.keyboard, 1, subscribed=True) is None
    # a labelled offer (/subscribe TEXT) keeps its label
    from aiogram.types import InlineKeyboardButton

    offer = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="➕ Name 2022", callback_data=SubCb(title_id=7, on=True, ctx="s").pack()
                )
            ]
        ]
    )
    flipped = flip_subscription_buttons(offer, 7, subscribed=True)
    assert flipped is not None
    [[button]] = flipped.inline_keyboard
    assert button.text == "✅ Name 2022"
    assert button.callback_data == SubCb(title_id=7, on=False, ctx="s").pack()


def test_full_description_is_split_within_limits(lang: str) -> None:
    description = "Слово & <тег> " * 1500
    chunks = split_description(make(description=description))
    assert len(chunks) >= 5
    assert all(utf16_len(chunk) <= 4096 for chunk in chunks)
    shown = " ".join(accepted(chunk) for chunk in chunks)
    assert shown.count("Слово & <тег>") == 1500
    assert NASTY in accepted(chunks[0])


def test_real_titles_render(lang: str) -> None:
    for raw in load_fixture("feed_titles.json"):
        title = title_from_v2(V2Title.model_validate(raw), SITE)
        card = render_card(title, links=LINKS, subscribed=False)
        assert utf16_len(accepted(card.text, caption=True)) <= 1024
        assert title.poster == SITE + raw["posters"]["medium"]["url"]
        assert card.photo_url == title.poster
        assert inline_description(title)
        for torrent in title.torrents or ():
            name = torrent_filename(title.alias, torrent)
            assert name.startswith(f"{title.alias}_") and name.endswith(".torrent")
            assert "/" not in name and " " not in name
