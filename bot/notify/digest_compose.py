"""The daily digest's text, composed from data shared by every chat due in the same run.

A run reads what happened once (episodes announced in the last day, series finished, the
week's schedule, titles new to the bot) into a :class:`DigestSnapshot`; each chat's digest is
then only a selection from it by what the chat follows. Every line about a title is rendered
once per language and reused, so composing 100,000 digests is mostly joining strings.

Call :meth:`DigestComposer.compose` inside the i18n context of the chat's language.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date

from bot.anilibria import format_ordinal
from bot.ui.text import TitleLinks, title_label
from storage import DigestTitle

__all__ = [
    "NEW_TITLES_SHOWN",
    "PART_LIMIT",
    "DigestComposer",
    "DigestSnapshot",
    "episode_ranges",
    "pack_lines",
]

NEW_TITLES_SHOWN = 5  # "new on AniLibria" names this many, then "and N more"
PART_LIMIT = 4000  # HTML source per message; Telegram's 4096 counts the (shorter) parsed text
_NAME_LIMIT = 80
_URL_LIMIT = 300


@dataclass(frozen=True, slots=True)
class DigestSnapshot:
    """Everything a run's digests can say, read once. Title ids key everything."""

    now: int
    titles: Mapping[int, DigestTitle]
    released: Mapping[int, tuple[float, ...]]  # title -> episodes announced in the last day
    finished: frozenset[int]  # titles that finished in the last day
    scheduled: Mapping[int, frozenset[int]]  # weekday (0 = Monday) -> titles released that day
    new_titles: tuple[DigestTitle, ...] = ()  # the first few titles new to the bot
    new_count: int = 0
    interesting: frozenset[int] = field(init=False)  # the only titles a digest can mention

    def __post_init__(self) -> None:
        ids = set(self.released) | self.finished
        for day in self.scheduled.values():
            ids |= day
        object.__setattr__(self, "interesting", frozenset(ids))


def episode_ranges(episodes: Iterable[float]) -> str:
    """[1, 2, 3, 5] -> '1–3, 5'; a fractional episode stands alone: [12, 12.5] -> '12, 12.5'."""
    ordered = sorted(set(episodes))
    runs: list[str] = []
    start: float | None = None
    previous: float | None = None

    def close() -> None:
        if start is not None and previous is not None:
            first, last = format_ordinal(start), format_ordinal(previous)
            runs.append(first if start == previous else f"{first}–{last}")

    for episode in ordered:
        if previous is not None and episode == previous + 1 and float(episode).is_integer():
            previous = episode
            continue
        close()
        start = previous = episode
    close()
    return ", ".join(runs)


def pack_lines(lines: Iterable[str], limit: int = PART_LIMIT) -> list[str]:
    """Join lines into as few messages as fit `limit`, splitting only between lines."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            parts.append("\n".join(current).strip("\n"))
            current, size = [], 0
            extra = len(line)
            if not line:
                continue  # a blank line does not open a message
        current.append(line)
        size += extra
    if current:
        parts.append("\n".join(current).strip("\n"))
    return [part for part in parts if part]


class DigestComposer:
    """Digests for one run: one snapshot, line caches per language."""

    def __init__(self, snapshot: DigestSnapshot, links: TitleLinks) -> None:
        self.snapshot = snapshot
        self.links = links
        self._lines: dict[tuple[str, str, int], str] = {}
        self._names: dict[tuple[str, int], str] = {}
        self._texts: dict[tuple[str, str, dt.date], str] = {}

    # -- one chat ------------------------------------------------------------------------------

    def compose(
        self, followed: Collection[int], day: dt.date, *, language: str, when_empty: bool
    ) -> list[str]:
        """The digest for a chat following `followed` on local date `day`: its messages, or
        [] when there is nothing to say and the chat chose silence."""
        snap = self.snapshot
        mine = [title_id for title_id in followed if title_id in snap.interesting]
        released = self._by_name(language, (t for t in mine if t in snap.released))
        today = snap.scheduled.get(day.weekday(), frozenset())
        scheduled = self._by_name(
            language, (t for t in mine if t in today and t not in snap.finished)
        )
        finished = self._by_name(language, (t for t in mine if t in snap.finished))
        if not (released or scheduled or finished):
            return [self._empty(language, day)] if when_empty else []
        lines = [self._header(language, day)]
        if released:
            lines += ["", self._static(language, "released")]
            lines += [self._release_line(language, title_id) for title_id in released]
        if scheduled:
            lines += ["", self._static(language, "scheduled")]
            lines += [self._title_line(language, title_id) for title_id in scheduled]
        if finished:
            lines += ["", self._static(language, "finished")]
            lines += [self._title_line(language, title_id) for title_id in finished]
        new_line = self._new_line(language)
        if new_line:
            lines += ["", new_line]
        return pack_lines(lines)

    # -- shared pieces -------------------------------------------------------------------------

    def _name(self, language: str, title_id: int) -> str:
        key = (language, title_id)
        name = self._names.get(key)
        if name is None:
            title = self.snapshot.titles.get(title_id)
            if title is None:
                name = f"#{title_id}"
            else:  # compose runs in the chat's language: the helper picks by it
                name = title_label(
                    title.name_ru, title.name_en, title.code or f"#{title_id}", _NAME_LIMIT
                )
            self._names[key] = name
        return name

    def _by_name(self, language: str, title_ids: Iterable[int]) -> list[int]:
        return sorted(title_ids, key=lambda t: (self._name(language, t).casefold(), t))

    def _link(self, language: str, title_id: int) -> str:
        title = self.snapshot.titles.get(title_id)
        name = html.escape(self._name(language, title_id))
        url = self.links(title.code if title else None, title_id)
        if len(url) > _URL_LIMIT:
            return f"<b>{name}</b>"
        return f'<a href="{html.escape(url)}">{name}</a>'

    def _release_line(self, language: str, title_id: int) -> str:
        key = (language, "rel", title_id)
        line = self._lines.get(key)
        if line is None:
            episodes = self.snapshot.released[title_id]
            if len(episodes) == 1:
                what = _("episode {episode}").format(episode=episodes[0])
            else:
                what = ngettext(
                    "{count} episode: {episodes}",
                    "{count} episodes: {episodes}",
                    len(episodes),
                ).format(count=len(episodes), episodes=episode_ranges(episodes))
            line = self._lines[key] = f"• {self._link(language, title_id)} — {what}"
        return line

    def _title_line(self, language: str, title_id: int) -> str:
        key = (language, "title", title_id)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = f"• {self._link(language, title_id)}"
        return line

    def _static(self, language: str, what: str) -> str:
        key = (language, what, dt.date.min)
        text = self._texts.get(key)
        if text is None:
            if what == "released":
                text = "🎬 <b>" + _("New episodes") + "</b>"
            elif what == "scheduled":
                text = "📅 <b>" + _("Expected today") + "</b>"
            else:
                text = "🏁 <b>" + _("Finished series") + "</b>"
            self._texts[key] = text
        return text

    def _date(self, language: str, day: dt.date) -> str:
        key = (language, "date", day)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = format_date(day, "EEEE, d MMMM", locale=language)
        return text

    def _header(self, language: str, day: dt.date) -> str:
        key = (language, "header", day)
        text = self._texts.get(key)
        if text is None:
            date = html.escape(self._date(language, day))
            text = self._texts[key] = "📰 <b>" + _("Daily digest") + f"</b> · {date}"
        return text

    def _empty(self, language: str, day: dt.date) -> str:
        key = (language, "empty", day)
        text = self._texts.get(key)
        if text is None:
            date = html.escape(self._date(language, day))
            text = self._texts[key] = "📰 " + _(
                "{date}: nothing new for the titles you follow."
            ).format(date=date)
        return text

    def _new_line(self, language: str) -> str:
        key = (language, "new", dt.date.min)
        text = self._texts.get(key)
        if text is None:
            snap = self.snapshot
            text = ""
            if snap.new_titles:
                names = ", ".join(html.escape(self._new_name(language, t)) for t in snap.new_titles)
                more = snap.new_count - len(snap.new_titles)
                if more > 0:
                    names = _("{names} and {count} more").format(names=names, count=more)
                text = "✨ " + _("New on AniLibria: {names}").format(names=names)
            self._texts[key] = text
        return text

    @staticmethod
    def _new_name(language: str, title: DigestTitle) -> str:
        return title_label(title.name_ru, title.name_en, title.code or f"#{title.id}", 60)
