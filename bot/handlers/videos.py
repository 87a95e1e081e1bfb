"""/videos: AniLibria's latest videos (trailers, announcements, reviews)."""

from __future__ import annotations

import datetime as dt
import html

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from aiogram.utils.i18n import gettext as _

from bot.anilibria import AniLibriaError
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.ui.text import clip

__all__ = ["router"]

router = Router(name="videos")

SHOWN = 5


@router.message(Command("videos"))
async def videos_command(message: Message, services: Services) -> None:
    try:
        videos = await services.catalogue.videos(limit=SHOWN)
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if not videos:
        await message.answer(_("AniLibria has no videos to show right now."))
        return
    lines = [_("📹 <b>AniLibria's latest videos</b>"), ""]
    for video in videos[:SHOWN]:
        when = ""
        if video.created_at:
            day = dt.datetime.fromtimestamp(video.created_at, dt.UTC).strftime("%d.%m.%Y")
            when = f" ({day})"
        name = html.escape(clip(video.title or video.url, 200))
        lines.append(f'• <a href="{html.escape(video.url)}">{name}</a>{when}')
    lines += ["", _("Switch on «AniLibria videos» in /settings to hear of new ones.")]
    preview = LinkPreviewOptions(url=videos[0].url, prefer_small_media=True)
    await message.answer("\n".join(lines), link_preview_options=preview)
