"""Notice texts: names in the reader's language first, escaped, plural forms, buttons."""

from __future__ import annotations

import functools

import pytest

from bot.anilibria.v2._convert import title_url
from bot.notify.render import render_episode_notice, render_notice
from bot.ui.i18n import LOCALES_DIR, PoI18n

LINKS = functools.partial(title_url, "https://site.example")

I18N = PoI18n(path=LOCALES_DIR, default_locale="ru")
PAYLOAD = {
    "title_id": 9174,
    "code": "summer-time-render",
    "name_ru": "Летнее <время>",
    "name_en": "Summer & Time",
    "first": 7,
    "last": 7,
}


def render(language: str, **changes: object) -> tuple[str, list[dict[str, str]]]:
    with I18N.context(), I18N.use_locale(language):
        rendered = render_episode_notice({**PAYLOAD, **changes}, LINKS)
    assert rendered.keyboard is not None
    buttons = [
        b.model_dump(exclude_none=True) for row in rendered.keyboard.inline_keyboard for b in row
    ]
    return rendered.text, buttons


def test_the_readers_language_comes_first_and_everything_is_escaped() -> None:
    ru, _ = render("ru")
    en, _ = render("en")
    assert ru.startswith("🎬 <b>Летнее &lt;время&gt;</b>\n<i>Summer &amp; Time</i>")
    assert en.startswith("🎬 <b>Summer &amp; Time</b>\n<i>Летнее &lt;время&gt;</i>")
    assert "Серия 7 вышла" in ru and "Episode 7 is out" in en
    assert 'href="https://site.example/release/summer-time-render.html"' in ru


def test_a_missing_name_falls_back_without_repeating() -> None:
    text, _ = render("en", name_en=None)
    assert text.startswith("🎬 <b>Летнее &lt;время&gt;</b>\n\n")


@pytest.mark.parametrize(
    ("last", "expected"),
    [(8, "(2 серии)"), (11, "(5 серий)"), (27, "(21 серия)")],
)
def test_a_batch_names_the_range_with_russian_plurals(last: int, expected: str) -> None:
    text, _ = render("ru", last=last)
    assert f"Вышли серии 7–{last} {expected}" in text


def test_buttons_open_the_title_and_unsubscribe_within_telegram_limits() -> None:
    _, buttons = render("en")
    assert buttons[0]["url"] == "https://site.example/release/summer-time-render.html"
    data = [b["callback_data"] for b in buttons if "callback_data" in b]
    assert "sub:9174:0:n" in data and "card:9174:0" in data
    assert all(len(d.encode()) <= 64 for d in data)


def test_an_unknown_kind_is_refused() -> None:
    with I18N.context(), I18N.use_locale("ru"), pytest.raises(KeyError):
        render_notice("nonsense", PAYLOAD, LINKS)


def test_an_odd_code_makes_a_valid_button_url() -> None:
    """A code from the API with spaces or markup must not break the notice for every follower
    (Telegram refuses a button whose URL does not parse)."""
    from tests.fakes.telegram_validate import validate_reply_markup

    with I18N.context(), I18N.use_locale("en"):
        rendered = render_episode_notice({**PAYLOAD, "code": 'odd code <"&>/x'}, LINKS)
    assert rendered.keyboard is not None
    validate_reply_markup(rendered.keyboard.model_dump(exclude_none=True))
    [watch] = [b.url for row in rendered.keyboard.inline_keyboard for b in row if b.url]
    assert watch == "https://site.example/release/odd%20code%20%3C%22%26%3E%2Fx.html"
