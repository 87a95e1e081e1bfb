"""What the bot says on its own: notice texts and their buttons.

Every string that comes from a user or the API goes through ``html.escape``; texts are cut to
Telegram's limits. The payloads are language-free JSON written by the matcher, so a notice is
rendered in the chat's language at the moment it is sent.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.anilibria import format_ordinal
from bot.notify.render_news import render_new_title, render_video
from bot.notify.rendered import Rendered
from bot.ui.callbacks import CardCb, SubCb
from bot.ui.text import TEXT_LIMIT, TitleLinks, clip, title_names

__all__ = [
    "EXPIRED_NOTICE_KIND",
    "Rendered",
    "episode_range",
    "expired_text",
    "render_episode_notice",
    "render_notice",
]

EXPIRED_NOTICE_KIND = "session_expired"


def _names(payload: Mapping[str, Any]) -> str:
    fallback = payload.get("code") or f"#{payload.get('title_id', '?')}"
    return title_names(payload.get("name_ru"), payload.get("name_en"), str(fallback))


def _url(links: TitleLinks, payload: Mapping[str, Any]) -> str:
    return links(payload.get("code"), int(payload["title_id"]))


def episode_range(first: float, last: float, count: int | None = None) -> str:
    """ "Episode 12 is out", "Episodes 11–12.5 are out (3 episodes)". `count` defaults to the
    whole numbers from first to last (the notices written before fractional episodes)."""
    if first == last:
        return _("Episode {n} is out").format(n=format_ordinal(last))
    if count is None:
        count = int(last) - int(first) + 1
    return ngettext(
        "Episodes {first}–{last} are out ({count} episode)",
        "Episodes {first}–{last} are out ({count} episodes)",
        count,
    ).format(first=format_ordinal(first), last=format_ordinal(last), count=count)


def notice_keyboard(links: TitleLinks, payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    title_id = int(payload["title_id"])
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("▶️ Watch"), url=_url(links, payload)),
                InlineKeyboardButton(
                    text=_("ℹ️ Card"), callback_data=CardCb(title_id=title_id).pack()
                ),
            ],
            [
                InlineKeyboardButton(
                    text=_("🔕 Unsubscribe"),
                    callback_data=SubCb(title_id=title_id, on=False, ctx="n").pack(),
                )
            ],
        ]
    )


def _link(links: TitleLinks, payload: Mapping[str, Any]) -> str:
    url = html.escape(_url(links, payload))
    label = _("Watch on AniLibria")  # outside the f-string: Babel's extractor cannot see inside
    return f'<a href="{url}">{label}</a>'


def render_episode_notice(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    first, last = float(payload["first"]), float(payload["last"])
    count = payload.get("count")
    text = "\n".join(
        [
            "🎬 " + _names(payload),
            "",
            episode_range(first, last, int(count) if isinstance(count, int) else None),
            _link(links, payload),
        ]
    )
    return Rendered(text, notice_keyboard(links, payload))


def _render_finished(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    names = _names(payload)
    text = "\n".join(["🏁 " + names, "", _("The series is finished."), _link(links, payload)])
    return Rendered(text, notice_keyboard(links, payload))


def _render_announce(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    names = _names(payload)
    announce = html.escape(clip(str(payload.get("announce") or ""), 1000))
    text = "\n".join(["📣 " + names, "", _("New announcement:") + f" {announce}"])
    return Rendered(text, notice_keyboard(links, payload))


def _render_torrent(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    names = _names(payload)
    lines = ["💾 " + names, "", _("New torrent:")]
    for item in payload.get("torrents", [])[:10]:
        quality = html.escape(str(item.get("quality") or "?"))
        series = html.escape(str(item.get("series") or ""))
        size = item.get("size")
        size_text = f", {int(size) / 2**30:.1f} GB" if isinstance(size, int | float) else ""
        lines.append(f"• {quality} [{series}]{size_text}")
    return Rendered("\n".join(lines), notice_keyboard(links, payload))


def _render_text(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    # Pre-rendered HTML the bot wrote itself (digests compose their own text).
    return Rendered(str(payload["html"])[:TEXT_LIMIT])


def expired_text() -> str:
    return _(
        "🔑 AniLibria no longer accepts the session I kept for you, so I have deleted it. "
        "To use /favorites, /rss and favorites notices again, log in once more with /login."
    )


def _render_expired(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    return Rendered(expired_text())


_RENDERERS: dict[str, Callable[[Mapping[str, Any], TitleLinks], Rendered]] = {
    "episode": render_episode_notice,
    "new_title": render_new_title,
    "video": render_video,
    "finished": _render_finished,
    "announce": _render_announce,
    "torrent": _render_torrent,
    "text": _render_text,
    EXPIRED_NOTICE_KIND: _render_expired,
}


def render_notice(kind: str, payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    """Raises KeyError for an unknown kind: the sender parks such a row."""
    return _RENDERERS[kind](payload, links)
