"""Russian and English through aiogram's gettext i18n.

Catalogues are plain ``.po`` files, several per language (one per feature, so that features
can be translated side by side), compiled in memory at start with Babel: no binary ``.mo``
files in the repository and nothing to forget to compile.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "LOCALES_DIR", "PoI18n", "load_catalog", "resolve_language"]

LANGUAGES = ("ru", "en")
LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"


def load_catalog(language_dir: Path, locale: str) -> Catalog:
    """Every ``.po`` file of one language merged into one catalogue."""
    merged = Catalog(locale=locale)
    for po_path in sorted((language_dir / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        for message in part:
            if message.id:
                merged[message.id] = message
    return merged


class PoI18n(I18n):
    """aiogram's I18n, reading ``.po`` sources instead of compiled ``.mo`` files."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's context mixin keeps one context variable per class, and its gettext()
        # looks up I18n's: register there, not under this subclass.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for language_dir in sorted(self.path.iterdir()):
            if not (language_dir / "LC_MESSAGES").is_dir():
                continue
            buffer = io.BytesIO()
            write_mo(buffer, load_catalog(language_dir, language_dir.name))
            buffer.seek(0)
            translations[language_dir.name] = gettext.GNUTranslations(buffer)
        return translations


def resolve_language(chat_language: str | None, user_language: str | None, default: str) -> str:
    """The chat's own setting first, then the user's Telegram language, then the default."""
    for candidate in (chat_language, user_language):
        if candidate:
            short = candidate.split("-")[0].lower()
            if short in LANGUAGES:
                return short
    return default
