"""Text every message shares: Telegram's limits, clipping, escaping, and a title's name in the
reader's language.

Lengths are counted in UTF-16 code units of the HTML source: an upper bound of what Telegram
counts (the text after its entities are parsed), so whatever fits here fits there.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram.utils.i18n import get_i18n

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "TitleLinks",
    "clip",
    "clip_words",
    "escaped",
    "names_in_order",
    "title_label",
    "title_names",
    "utf16_len",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

TitleLinks = Callable[[str | None, int], str]
"""(alias, title id) -> the title's page on the site: the upstream's ``Catalogue.title_url``."""


def clip(text: str, limit: int) -> str:
    """Cut plain (not yet escaped) text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def clip_words(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escaped(text: str, budget: int, *, at_words: bool = False) -> str:
    """`text` clipped (at a word boundary if asked) so that its HTML-escaped form is at most
    `budget` UTF-16 units."""
    out = html.escape(text)
    keep = len(text)
    while utf16_len(out) > budget and keep > 0:
        keep -= max(1, (utf16_len(out) - budget) // 4)
        out = html.escape(clip_words(text, keep) if at_words else clip(text, keep))
    return out if utf16_len(out) <= budget else ""


def names_in_order(
    name_ru: str | None, name_en: str | None, fallback: str
) -> tuple[str, str | None]:
    """(the name in the reader's language, the other one or None): English readers get the
    English name first. The first is never empty; the second is None when it adds nothing."""
    english = get_i18n().current_locale == "en"
    first, second = (name_en, name_ru) if english else (name_ru, name_en)
    main = first or second or fallback
    return main, (second if second and second != main else None)


def title_names(
    name_ru: str | None, name_en: str | None, fallback: str, *, limit: int = 300
) -> str:
    """Both names as HTML: the reader's in bold, the other in italics beneath it."""
    main, other = names_in_order(name_ru, name_en, fallback)
    lines = [f"<b>{html.escape(clip(main, limit))}</b>"]
    if other:
        lines.append(f"<i>{html.escape(clip(other, limit))}</i>")
    return "\n".join(lines)


def title_label(name_ru: str | None, name_en: str | None, fallback: str, limit: int = 60) -> str:
    """The name in the reader's language as plain text for a list line or a button."""
    return clip(names_in_order(name_ru, name_en, fallback)[0], limit)
