"""Turning what a user typed (an id, a code, a site URL or free text) into a title."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.anilibria import Catalogue, Title

__all__ = ["MAX_QUERY", "TitleRef", "fetch_title", "parse_title_ref"]

# v2: https://www.anilibria.tv/release/CODE.html; v1: https://aniliberty.top/anime/releases/
# release/ALIAS (optionally /episodes). Any host: the code or alias is what counts.
_URL = re.compile(
    r"^(?:https?://)?[^/\s]+/(?:anime/releases/)?release/([A-Za-z0-9_\-]+)(?:\.html)?"
    r"(?:/episodes)?/?(?:[?#]\S*)?$"
)
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
        slug = match.group(1)
        if slug.isdigit() and len(slug) < 10:  # v1 links also name a release by its id
            return TitleRef(title_id=int(slug))
        return TitleRef(code=slug.lower())
    if _CODE.match(text) and "-" in text:
        return TitleRef(code=text)
    return TitleRef(text=text[:MAX_QUERY])


async def fetch_title(catalogue: Catalogue, ref: TitleRef) -> Title | None:
    """The title an id or code names, or None when the API does not know it."""
    if ref.title_id is not None:
        return await catalogue.title(ref.title_id)
    if ref.code is not None:
        return await catalogue.title(ref.code)
    return None
