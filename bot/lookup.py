"""Turning what a user typed (an id, a code, a site URL or free text) into a title."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.anilibria.client import AniLibriaClient
from bot.anilibria.errors import NotFoundError
from bot.anilibria.models import Title

__all__ = ["TitleRef", "fetch_title", "parse_title_ref"]

_URL = re.compile(r"^(?:https?://)?[^/\s]+/release/([A-Za-z0-9_\-]+)(?:\.html)?/?(?:[?#]\S*)?$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9\-_]{0,127}$")
MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class TitleRef:
    title_id: int | None = None
    code: str | None = None
    text: str | None = None


def parse_title_ref(raw: str) -> TitleRef | None:
    """A bare number is an id; a release URL (any host) or a slug is a code; else text."""
    text = raw.strip()
    if not text:
        return None
    if text.isdigit() and len(text) < 10:
        return TitleRef(title_id=int(text))
    match = _URL.match(text)
    if match:
        return TitleRef(code=match.group(1).lower())
    if _CODE.match(text) and "-" in text:
        return TitleRef(code=text)
    return TitleRef(text=text[:MAX_QUERY])


async def fetch_title(client: AniLibriaClient, ref: TitleRef) -> Title | None:
    """The title an id or code names, or None when the API does not know it."""
    try:
        if ref.title_id is not None:
            return await client.get_title(id=ref.title_id)
        if ref.code is not None:
            return await client.get_title(code=ref.code)
    except NotFoundError:
        return None
    return None
