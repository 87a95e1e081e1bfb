"""What a user may type to name a title: an id, a code, a v2 or a v1 release link, or text."""

from __future__ import annotations

import pytest

from bot.handlers.lookup import TitleRef, parse_title_ref


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8700", TitleRef(title_id=8700)),
        ("texhnolyze-2", TitleRef(code="texhnolyze-2")),
        (
            "https://www.anilibria.tv/release/summer-time-render.html",
            TitleRef(code="summer-time-render"),
        ),
        (
            "https://aniliberty.top/anime/releases/release/super-no-ura-de-yani-suu-futari",
            TitleRef(code="super-no-ura-de-yani-suu-futari"),
        ),
        (
            "https://anilibria.top/anime/releases/release/one-piece/episodes",
            TitleRef(code="one-piece"),
        ),
        ("aniliberty.top/anime/releases/release/10292", TitleRef(title_id=10292)),
        ("Покурим за супермаркетом", TitleRef(text="Покурим за супермаркетом")),
    ],
)
def test_parse_title_ref(typed: str, expected: TitleRef) -> None:
    assert parse_title_ref(typed) == expected
