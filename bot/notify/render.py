"""What the bot says on its own: notice texts and their buttons.

Every string that comes from a user or the API goes through ``html.escape``; texts are cut to
Telegram's limits. The payloads are language-free JSON written by the matcher, so a notice is
rendered in the chat's language at the moment it is sent.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardCb, SubCb

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "Rendered",
    "clip",
    "episode_range",
    "render_episode_notice",
    "render_notice",
    "title_names",
    "title_url",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def clip(text: str, limit: int) -> str:
    """Cut plain (not yet escaped) text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def title_url(site_url: str, code: str | None, title_id: int | None = None) -> str:
    if code:
        return f"{site_url.rstrip('/')}/release/{code}.html"
    return f"{site_url.rstrip('/')}/release/{title_id}.html"


def title_names(name_ru: str | None, name_en: str | None, code: str | None = None) -> str:
    """The name in the reader's language in bold, the other beneath it; both escaped."""
    first, second = (name_en, name_ru) if get_i18n().current_locale == "en" else (name_ru, name_en)
    main = first or second or code or "?"
    lines = [f"<b>{html.escape(clip(main, 300))}</b>"]
    if second and second != main:
        lines.append(f"<i>{html.escape(clip(second, 300))}</i>")
    return "\n".join(lines)


def episode_range(first: int, last: int) -> str:
    if first == last:
        return _("Episode {n} is out").format(n=last)
    count = last - first + 1
    return ngettext(
        "Episodes {first}–{last} are out ({count} episode)",
        "Episodes {first}–{last} are out ({count} episodes)",
        count,
    ).format(first=first, last=last, count=count)


def notice_keyboard(site_url: str, payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    title_id = int(payload["title_id"])
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("▶️ Watch"), url=title_url(site_url, payload.get("code"), title_id)
                ),
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


def _link(site_url: str, payload: Mapping[str, Any]) -> str:
    url = html.escape(title_url(site_url, payload.get("code"), payload.get("title_id")))
    label = _("Watch on AniLibria")  # outside the f-string: Babel's extractor cannot see inside
    return f'<a href="{url}">{label}</a>'


def render_episode_notice(payload: Mapping[str, Any], site_url: str) -> Rendered:
    first, last = int(payload["first"]), int(payload["last"])
    text = "\n".join(
        [
            "🎬 "
            + title_names(payload.get("name_ru"), payload.get("name_en"), payload.get("code")),
            "",
            episode_range(first, last),
            _link(site_url, payload),
        ]
    )
    return Rendered(text, notice_keyboard(site_url, payload))


def _render_finished(payload: Mapping[str, Any], site_url: str) -> Rendered:
    names = title_names(payload.get("name_ru"), payload.get("name_en"), payload.get("code"))
    text = "\n".join(["🏁 " + names, "", _("The series is finished."), _link(site_url, payload)])
    return Rendered(text, notice_keyboard(site_url, payload))


def _render_announce(payload: Mapping[str, Any], site_url: str) -> Rendered:
    names = title_names(payload.get("name_ru"), payload.get("name_en"), payload.get("code"))
    announce = html.escape(clip(str(payload.get("announce") or ""), 1000))
    text = "\n".join(["📣 " + names, "", _("New announcement:") + f" {announce}"])
    return Rendered(text, notice_keyboard(site_url, payload))


def _render_torrent(payload: Mapping[str, Any], site_url: str) -> Rendered:
    names = title_names(payload.get("name_ru"), payload.get("name_en"), payload.get("code"))
    lines = ["💾 " + names, "", _("New torrent:")]
    for item in payload.get("torrents", [])[:10]:
        quality = html.escape(str(item.get("quality") or "?"))
        series = html.escape(str(item.get("series") or ""))
        size = item.get("size")
        size_text = f", {int(size) / 2**30:.1f} GB" if isinstance(size, int | float) else ""
        lines.append(f"• {quality} [{series}]{size_text}")
    return Rendered("\n".join(lines), notice_keyboard(site_url, payload))


def _render_text(payload: Mapping[str, Any], site_url: str) -> Rendered:
    # Pre-rendered HTML the bot wrote itself (digests compose their own text).
    return Rendered(str(payload["html"])[:TEXT_LIMIT])


_RENDERERS = {
    "episode": render_episode_notice,
    "finished": _render_finished,
    "announce": _render_announce,
    "torrent": _render_torrent,
    "text": _render_text,
}


def render_notice(kind: str, payload: Mapping[str, Any], site_url: str) -> Rendered:
    """Raises KeyError for an unknown kind: the sender parks such a row."""
    return _RENDERERS[kind](payload, site_url)


def register_renderer(
    kind: str, renderer: Any
) -> None:  # pragma: no cover - used by features that compose their own notices
    """Let a feature (the digest) add a notice kind without this module knowing it."""
    _RENDERERS[kind] = renderer
