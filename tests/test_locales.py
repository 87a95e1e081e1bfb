"""Every string the bot can say has a Russian translation that keeps its placeholders and markup.

The msgids are extracted from the source with Babel (as ``pybabel extract`` would), so a string
added anywhere under bot/ without a translation fails here, with its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.ui.i18n import LOCALES_DIR, PoI18n, load_catalog

BOT_DIR = Path(__file__).resolve().parents[1] / "bot"
KEYWORDS = {"_": None, "gettext": None, "__": None, "lazy_gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?([a-z-]+)[^>]*>")


@dataclass(frozen=True)
class Source:
    where: str
    msgid: str
    plural: str | None


def extracted() -> Iterator[Source]:
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(BOT_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        where = f"bot/{filename}:{lineno}"
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
            if singular:
                yield Source(where, singular, plural)
        elif message:
            yield Source(where, message, None)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


def problems_of(source: Source, translation: object) -> list[str]:
    if translation is None:
        return ["no Russian translation"]
    if source.plural is None:
        if not isinstance(translation, str):
            return ["translated as a plural, but used with _()"]
        if not translation.strip():
            return ["empty Russian translation"]
        forms, expected_from = [translation], source.msgid
    else:
        if not isinstance(translation, tuple | list) or len(translation) != 3:
            return ["a plural msgid needs msgid_plural and msgstr[0], [1], [2] (Russian)"]
        if not all(isinstance(form, str) and form.strip() for form in translation):
            return ["an empty plural form"]
        forms, expected_from = list(translation), source.plural
    found = []
    for form in forms:
        if placeholders(form) != placeholders(expected_from):
            found.append(
                f"placeholders {sorted(placeholders(form))} in «{form}», "
                f"expected {sorted(placeholders(expected_from))}"
            )
        if tags(form) != tags(source.msgid):
            found.append(f"HTML tags {tags(form)} in «{form}», expected {tags(source.msgid)}")
    return found


def test_every_msgid_has_a_russian_translation() -> None:
    catalog = load_catalog(LOCALES_DIR / "ru", "ru")
    sources = list(extracted())
    assert len(sources) > 100, "the extraction found suspiciously few strings"
    report = []
    for source in sources:
        message = catalog.get(source.msgid)
        translation = message.string if message is not None else None
        if message is not None and source.plural is not None and not message.pluralizable:
            report.append(
                f"{source.where}: {source.msgid!r}: used with ngettext, translated as _()"
            )
            continue
        report += [
            f"{source.where}: {source.msgid!r}: {p}" for p in problems_of(source, translation)
        ]
    assert not report, f"{len(report)} problem(s) in the Russian catalogue:\n" + "\n".join(report)


def test_russian_catalogues_parse_with_three_plural_forms() -> None:
    translations: dict[str, tuple[str, object]] = {}
    report = []
    for po_path in sorted((LOCALES_DIR / "ru" / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale="ru", abort_invalid=True)
        if catalog.num_plurals != 3:
            report.append(f"{po_path.name}: Plural-Forms header says {catalog.num_plurals} forms")
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            string = message.string if isinstance(message.string, str) else tuple(message.string)
            if key in translations and translations[key][1] != string:
                report.append(
                    f"{po_path.name}: {key!r} is also in {translations[key][0]}, translated "
                    "differently (a msgid belongs in one file)"
                )
            translations.setdefault(key, (po_path.name, string))
    assert not report, "\n".join(report)


@pytest.mark.parametrize(
    ("n", "russian", "english"),
    [
        (1, "1 серия", "1 episode"),
        (2, "2 серии", "2 episodes"),
        (4, "4 серии", "4 episodes"),
        (5, "5 серий", "5 episodes"),
        (11, "11 серий", "11 episodes"),
        (12, "12 серий", "12 episodes"),
        (21, "21 серия", "21 episodes"),
        (22, "22 серии", "22 episodes"),
        (25, "25 серий", "25 episodes"),
        (0, "0 серий", "0 episodes"),
    ],
)
def test_plural_forms_in_both_languages(n: int, russian: str, english: str) -> None:
    i18n = PoI18n(path=LOCALES_DIR, default_locale="ru")
    for locale, expected in (("ru", russian), ("en", english)):
        text = i18n.gettext("{count} episode", "{count} episodes", n, locale=locale)
        assert text.format(count=n) == expected
    subscriptions = i18n.gettext(
        "This chat follows {count} title:", "This chat follows {count} titles:", n, locale="ru"
    ).format(count=n)
    word = {"1 серия": "подписка", "21 серия": "подписка"}.get(russian)
    word = word or ("подписки" if russian.endswith("серии") else "подписок")
    assert subscriptions == f"У этого чата {n} {word}:"
