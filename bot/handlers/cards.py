"""Title cards and search pages: text and keyboard, pure functions over the neutral ``Title``.

Kept apart from the handlers so that the parts that can break Telegram's checks (HTML escaping,
the 1024/4096 limits, 64-byte callback data) are unit-tested without a bot.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.anilibria import Title, TitleKind, TitleStatus, Torrent, format_ordinal
from bot.handlers.favorite_button import favorite_button
from bot.ui.callbacks import CardCb, PageCb, SubCb, TorrentCb
from bot.ui.text import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    TitleLinks,
    clip,
    escaped,
    names_in_order,
    title_label,
    utf16_len,
)

__all__ = [
    "CARD_TORRENT_BUTTONS",
    "SEARCH_PAGE",
    "Card",
    "display_name",
    "episodes_text",
    "flip_subscription_buttons",
    "inline_description",
    "render_card",
    "render_search_page",
    "split_description",
    "torrent_filename",
]

SEARCH_PAGE = 5
CARD_TORRENT_LINES = 5
CARD_TORRENT_BUTTONS = 8
MIN_DESCRIPTION = 60  # a description cut shorter than this is left out (behind "More")
_LABELLED = ("➕ ", "✅ ")  # the marks of labelled subscribe buttons (/subscribe TEXT offers)


@dataclass(frozen=True, slots=True)
class Card:
    """A rendered card: `text` fits `limit` (a caption or a message), `photo_url` may be None."""

    text: str
    keyboard: InlineKeyboardMarkup
    photo_url: str | None
    description_cut: bool


def display_name(title: Title, limit: int = 60) -> str:
    """The title's name in the reader's language, plain text."""
    fallback = title.alias or f"#{title.id}"
    return title_label(title.names.main, title.names.english, fallback, limit)


def season_text(title: Title) -> str:
    names = {
        "winter": _("Winter"),
        "spring": _("Spring"),
        "summer": _("Summer"),
        "autumn": _("Autumn"),
    }
    name = names.get(title.season or "", "")
    if title.year and name:
        return _("{season} {year}").format(season=name, year=title.year)
    return str(title.year or name or "")


def type_text(title: Title) -> str:
    names = {
        TitleKind.MOVIE: _("Movie"),
        TitleKind.TV: "TV",
        TitleKind.OVA: "OVA",
        TitleKind.ONA: "ONA",
        TitleKind.SPECIAL: _("Special"),
        TitleKind.WEB: "WEB",
    }
    if title.kind in names:
        return names[title.kind]
    return title.kind_label or ""


def status_text(title: Title) -> str:
    names = {
        TitleStatus.ONGOING: _("Ongoing"),
        TitleStatus.FINISHED: _("Finished"),
        TitleStatus.HIDDEN: _("Hidden"),
        TitleStatus.NOT_ONGOING: _("Not ongoing"),
    }
    return names.get(title.status, "") if title.status is not None else ""


def episodes_text(title: Title) -> str:
    """ "12 of 24 episodes", "5 episodes" or "no episodes yet" (plural forms per language)."""
    last = title.last_episode
    total = title.episodes_total
    if total:
        return ngettext("{last} of {total} episode", "{last} of {total} episodes", total).format(
            last=format_ordinal(last or 0), total=total
        )
    if last:
        return ngettext("{count} episode", "{count} episodes", int(last)).format(
            count=format_ordinal(last)
        )
    return _("no episodes yet")


def facts_line(title: Title) -> str:
    """Season and year, type, episodes, status: one escaped line."""
    parts = [season_text(title), type_text(title), episodes_text(title), status_text(title)]
    return html.escape(" · ".join(part for part in parts if part))


def names_block(title: Title, budget: int = 200) -> str:
    """The name in the reader's language in bold, the other in italics beneath it."""
    names = title.names
    fallback = names.alternative or title.alias or f"#{title.id}"
    main, other = names_in_order(names.main, names.english, fallback)
    lines = [f"<b>{escaped(main, budget)}</b>"]
    if other:
        lines.append(f"<i>{escaped(other, budget)}</i>")
    return "\n".join(lines)


def _size_gb(size: int | None) -> str:
    if not size:
        return ""
    return _("{size} GB").format(size=f"{size / 2**30:.1f}")


def torrent_quality(torrent: Torrent) -> str:
    return torrent.quality or "?"


def torrent_label(torrent: Torrent) -> str:
    """Quality and episodes, plain text: "WEBRip 1080p [1-12]"."""
    label = torrent_quality(torrent)
    return f"{label} [{torrent.episodes}]" if torrent.episodes else label


def torrent_line(torrent: Torrent) -> str:
    parts = [_size_gb(torrent.size)]
    if torrent.seeders is not None:
        parts.append(
            ngettext("{count} seeder", "{count} seeders", torrent.seeders).format(
                count=torrent.seeders
            )
        )
    facts = ", ".join(part for part in parts if part)
    label = escaped(torrent_label(torrent), 80)
    return f"• {label} — {html.escape(facts)}" if facts else f"• {label}"


def torrent_filename(code: str | None, torrent: Torrent) -> str:
    """ "<code>_<quality>.torrent" with only safe characters."""
    quality = re.sub(r"[^A-Za-z0-9._-]+", "_", torrent_quality(torrent)).strip("_") or "torrent"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", code or str(torrent.id)).strip("_")
    return f"{stem[:80]}_{quality[:40]}.torrent"


def subscribe_button(title_id: int, subscribed: bool, ctx: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🔕 Unsubscribe") if subscribed else _("🔔 Subscribe"),
        callback_data=SubCb(title_id=title_id, on=not subscribed, ctx=ctx).pack(),
    )


def _join(sections: Sequence[str]) -> str:
    return "\n\n".join(section for section in sections if section)


def render_card(
    title: Title,
    *,
    links: TitleLinks,
    subscribed: bool | None,
    favorite: bool | None = None,
    limit: int = CAPTION_LIMIT,
    with_buttons: bool = True,
) -> Card:
    """The card of a title within `limit` (1024 for a caption, 4096 for a message).

    The description gets whatever room the rest leaves; when it had to be cut the keyboard
    offers "More". Torrents, then voices, then genres are left out before the names are.
    `subscribed=None` leaves the subscribe button out (inline results subscribe by deep link).
    """
    head = names_block(title, 200)
    facts = facts_line(title)
    url = links(title.alias, title.id)
    site_label = _("Open on AniLibria")
    link = f'🔗 <a href="{html.escape(url)}">{html.escape(site_label)}</a>'
    genres = (
        _("Genres: {genres}").format(genres=escaped(", ".join(title.genres), 200))
        if title.genres
        else ""
    )
    voices = title.voices
    team = _("Voices: {voices}").format(voices=escaped(", ".join(voices), 200)) if voices else ""
    torrents = title.torrents or ()
    torrent_block = ""
    if torrents:
        lines = [_("💾 Torrents:")]
        lines += [torrent_line(t) for t in torrents[:CARD_TORRENT_LINES]]
        if len(torrents) > CARD_TORRENT_LINES:
            lines.append(_("…and {count} more.").format(count=len(torrents) - CARD_TORRENT_LINES))
        torrent_block = "\n".join(lines)
    optional = {"torrents": torrent_block, "team": team, "genres": genres}

    def assemble(description: str) -> str:
        about = "\n".join(part for part in (facts, optional["genres"], optional["team"]) if part)
        return _join([head, about, description, optional["torrents"], link])

    for name in ("torrents", "team", "genres"):
        if utf16_len(assemble("")) + 2 + MIN_DESCRIPTION <= limit:
            break
        optional[name] = ""
    if utf16_len(assemble("")) > limit:  # only absurd names get here: keep the essentials
        head = names_block(title, 80)
    plain = (title.description or "").strip()
    room = limit - utf16_len(assemble("")) - 2
    description = escaped(plain, room, at_words=True) if plain and room >= MIN_DESCRIPTION else ""
    text = assemble(description)
    if utf16_len(text) > limit:
        text = escaped(title.name, limit)  # unreachable with sane input: never break limits
    cut = bool(plain) and html.escape(plain) != description
    keyboard = card_keyboard(
        title,
        url=url,
        subscribed=subscribed,
        favorite=favorite,
        more=cut,
        torrents=torrents if with_buttons else [],
    )
    return Card(text, keyboard, title.poster, cut)


def card_keyboard(
    title: Title,
    *,
    url: str,
    subscribed: bool | None,
    favorite: bool | None,
    more: bool,
    torrents: Sequence[Torrent],
) -> InlineKeyboardMarkup:
    first = [InlineKeyboardButton(text=_("▶️ Watch"), url=url)]
    if subscribed is not None:
        first.insert(0, subscribe_button(title.id, subscribed, "c"))
    rows: list[list[InlineKeyboardButton]] = [first]
    extra: list[InlineKeyboardButton] = []
    if more:
        extra.append(
            InlineKeyboardButton(
                text=_("📖 More"), callback_data=CardCb(title_id=title.id, more=True).pack()
            )
        )
    if favorite is not None:
        extra.append(favorite_button(title.id, favorite))
    if extra:
        rows.append(extra)
    buttons = [
        InlineKeyboardButton(
            text="💾 " + clip(torrent_label(t), 40),
            callback_data=TorrentCb(torrent_id=t.id).pack(),
        )
        for t in torrents[:CARD_TORRENT_BUTTONS]
    ]
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def split_description(title: Title, limit: int = TEXT_LIMIT) -> list[str]:
    """The full description as messages of at most `limit`, the first headed by the name."""
    plain = (title.description or "").strip()
    if not plain:
        return [names_block(title) + "\n\n" + html.escape(_("This title has no description."))]
    header = names_block(title) + "\n\n"
    chunks: list[str] = []
    rest = plain
    while rest:
        room = limit - (utf16_len(header) if not chunks else 0)
        piece = rest
        while utf16_len(html.escape(piece)) > room:
            cut = max(1, len(piece) - max(1, (utf16_len(html.escape(piece)) - room) // 4))
            space = piece.rfind(" ", 0, cut)
            piece = piece[: space if space > cut * 0.8 else cut]
        chunks.append((header if not chunks else "") + html.escape(piece))
        rest = rest[len(piece) :].lstrip()
    return chunks


def render_search_page(
    titles: Sequence[Title],
    *,
    query: str,
    offset: int,
    token: str,
    has_next: bool,
    subscribed: set[int],
    favorites: Mapping[int, bool | None] | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of search results: numbered, compact, a row of buttons per result."""
    favorites = favorites or {}
    first, last = offset + 1, offset + len(titles)
    lines = [
        _("🔎 «{query}»: results {first}–{last}").format(
            query=escaped(query, 100), first=first, last=last
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for number, title in enumerate(titles, start=first):
        lines.append("")
        lines.append(f"{number}. {names_block(title, 120)}")
        lines.append(facts_line(title))
        label = display_name(title, 28)
        row = [
            InlineKeyboardButton(
                text=f"ℹ️ {number}. {label}", callback_data=CardCb(title_id=title.id).pack()
            ),
            subscribe_button(title.id, title.id in subscribed, "s"),
        ]
        state = favorites.get(title.id)
        if state is not None:
            row.append(favorite_button(title.id, state, compact=True))
        rows.append(row)
    nav: list[InlineKeyboardButton] = []
    if offset > 0:
        back = max(offset - SEARCH_PAGE, 0)
        nav.append(
            InlineKeyboardButton(
                text="◀️", callback_data=PageCb(what="s", offset=back, token=token).pack()
            )
        )
    if has_next:
        forward = offset + SEARCH_PAGE
        nav.append(
            InlineKeyboardButton(
                text="▶️", callback_data=PageCb(what="s", offset=forward, token=token).pack()
            )
        )
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def inline_description(title: Title) -> str:
    """The grey line under an inline result: year, episodes, the other name."""
    parts = [str(title.year) if title.year else "", type_text(title), episodes_text(title)]
    line = " · ".join(part for part in parts if part)
    _, other = names_in_order(title.names.main, title.names.english, title.name)
    if other:
        line = f"{line}\n{other}" if line else other
    return clip(line, 200)


def flip_subscription_buttons(
    markup: InlineKeyboardMarkup | None, title_id: int, *, subscribed: bool
) -> InlineKeyboardMarkup | None:
    """The same keyboard with this title's subscribe button showing the new state.

    Our own buttons ("🔔 Subscribe"/"🔕 Unsubscribe") are redrawn in the current language;
    a labelled button of another view ("➕ Name 2022") keeps its label and swaps its mark.
    None when there is no such button (nothing to edit).
    """
    if markup is None:
        return None
    changed = False
    rows: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            parsed = _parse_sub(button.callback_data)
            if parsed is None or parsed.title_id != title_id:
                new_row.append(button)
                continue
            if button.text in ("🔔", "🔕"):  # a compact list button (/favorites)
                new_row.append(
                    InlineKeyboardButton(
                        text="🔕" if subscribed else "🔔",
                        callback_data=SubCb(
                            title_id=title_id, on=not subscribed, ctx=parsed.ctx
                        ).pack(),
                    )
                )
            elif not button.text.startswith(_LABELLED):
                new_row.append(subscribe_button(title_id, subscribed, parsed.ctx))
            else:
                label = button.text.split(" ", 1)[1] if " " in button.text else ""
                mark = "✅" if subscribed else "➕"
                new_row.append(
                    InlineKeyboardButton(
                        text=f"{mark} {label}".strip(),
                        callback_data=SubCb(
                            title_id=title_id, on=not subscribed, ctx=parsed.ctx
                        ).pack(),
                    )
                )
            changed = True
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows) if changed else None


def _parse_sub(data: str | None) -> SubCb | None:
    if not data or not data.startswith(f"{SubCb.__prefix__}:"):
        return None
    try:
        return SubCb.unpack(data)
    except (TypeError, ValueError):
        return None
