"""Notices of the follow rules and of AniLibria's videos: a new title (poster, names, kind,
season, genres, voice actors; buttons to subscribe and to open the card) and a new video.

The poster (or the video) is the message's link preview, so a picture that Telegram cannot
fetch costs the notice nothing. Every API string is escaped; lists are cut to fit.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.notify.rendered import Rendered
from bot.ui.callbacks import CardCb, SubCb
from bot.ui.labels import kind_name, season_name
from bot.ui.text import TitleLinks, clip, title_names

__all__ = ["render_new_title", "render_video"]

LIST_SHOWN = 8  # genres or voice actors named in a notice


def _names_list(values: Any) -> str:
    items = [str(v) for v in values or [] if str(v).strip()] if isinstance(values, list) else []
    shown = ", ".join(html.escape(clip(v, 60)) for v in items[:LIST_SHOWN])
    return shown + (" …" if len(items) > LIST_SHOWN else "")


def _kind_line(payload: Mapping[str, Any]) -> str | None:
    parts = []
    if payload.get("kind"):
        parts.append(html.escape(kind_name(str(payload["kind"]))))
    if payload.get("season"):
        year = payload.get("year")
        season = season_name(str(payload["season"]))
        parts.append(html.escape(f"{season} {year}" if isinstance(year, int) else season))
    elif isinstance(payload.get("year"), int):
        parts.append(str(payload["year"]))
    return "📺 " + " · ".join(parts) if parts else None


def render_new_title(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    title_id = int(payload["title_id"])
    fallback = str(payload.get("code") or f"#{title_id}")
    url = links(payload.get("code"), title_id)
    lines = [_("🆕 <b>New on AniLibria</b>"), ""]
    lines.append(title_names(payload.get("name_ru"), payload.get("name_en"), fallback))
    lines.append("")
    if kind_line := _kind_line(payload):
        lines.append(kind_line)
    if genres := _names_list(payload.get("genres")):
        lines.append(_("🎭 Genres: {genres}").format(genres=genres))
    if voices := _names_list(payload.get("voices")):
        lines.append(_("🎙 Voices: {voices}").format(voices=voices))
    subscribed = bool(payload.get("subscribed"))
    if subscribed:
        lines.append(_("🔔 Your rule subscribed this chat: I will tell you of its episodes."))
    label = _("Watch on AniLibria")
    lines.append(f'<a href="{html.escape(url)}">{label}</a>')
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🔕 Unsubscribe") if subscribed else _("🔔 Subscribe"),
                    callback_data=SubCb(title_id=title_id, on=not subscribed, ctx="n").pack(),
                ),
                InlineKeyboardButton(
                    text=_("ℹ️ Card"), callback_data=CardCb(title_id=title_id).pack()
                ),
            ],
            [InlineKeyboardButton(text=_("▶️ Watch"), url=url)],
        ]
    )
    poster = payload.get("poster")
    return Rendered("\n".join(lines), keyboard, poster if isinstance(poster, str) else None)


def render_video(payload: Mapping[str, Any], links: TitleLinks) -> Rendered:
    url = str(payload["url"])
    title = html.escape(clip(str(payload.get("title") or ""), 300))
    label = _("Watch the video")
    link = f'<a href="{html.escape(url)}">{label}</a>'
    return Rendered("\n".join([_("📹 <b>A new AniLibria video</b>"), "", title, link]), None, url)
