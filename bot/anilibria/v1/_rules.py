"""What follow rules need of AniLiberty v1: a preview through the catalogue's own filters, and
the voice actors' names.

The catalogue filters by genre ids (``/anime/catalog/references/genres`` turns names into ids),
kind, season and year, but not by voice actor, and its items carry genres without members. So
the page the filters give is checked against the whole rule here (several genres must all be
there), and for a voice rule the members of at most :data:`MEMBER_READS` candidates are read
(``/anime/releases/{id}/members``), a few at a time.

Voice actors: ``/teams/users`` (users with their roles); a user is a voice actor when one of
their roles says "voicing". The endpoint's shape is only known from the specification, so it is
read leniently; when it is missing or unreadable the answer is None ("cannot list").
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from bot.anilibria._lenient import parse_list
from bot.anilibria._types import Title, TitleFilter
from bot.anilibria.errors import ApiError, NotFoundError, ResponseShapeError, ServerError
from bot.anilibria.v1 import _models as m
from bot.anilibria.v1._client import V1Client

__all__ = ["MEMBER_READS", "preview", "release_voices", "voice_actors"]

MEMBER_READS = 12  # members read for one voice rule's preview
READS_AT_ONCE = 4
_VOICING = ("voic", "войс", "озвуч")


def _says_voicing(role: Any) -> bool:
    if isinstance(role, dict):
        texts = [role.get(key) for key in ("value", "name", "slug", "title", "description")]
    else:
        texts = [role]
    return any(isinstance(t, str) and any(w in t.lower() for w in _VOICING) for t in texts)


async def voice_actors(client: V1Client) -> list[str] | None:
    try:
        data = await client.get("/teams/users")
    except (NotFoundError, ResponseShapeError):
        return None
    except ApiError as exc:
        if isinstance(exc, ServerError):
            raise
        return None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        return None
    names: dict[str, None] = {}
    for user in data:
        if not isinstance(user, dict):
            continue
        nickname = user.get("nickname")
        roles = user.get("roles") or ([user["role"]] if user.get("role") else [])
        if (
            isinstance(nickname, str)
            and nickname.strip()
            and isinstance(roles, list)
            and any(_says_voicing(role) for role in roles)
        ):
            names.setdefault(nickname.strip(), None)
    return list(names) or None


async def release_voices(client: V1Client, release_id: int) -> tuple[str, ...]:
    """The voice actors of one release (its members with the role ``voicing``)."""
    data = await client.get(f"/anime/releases/{release_id}/members")
    members = parse_list(m.Member, data, "members") if data else []
    return tuple(
        member.nickname.strip()
        for member in members
        if member.nickname and member.role is not None and _says_voicing(member.role.value)
    )


async def preview(
    rule: TitleFilter,
    candidates: list[Title],
    voices_of: Callable[[int], Awaitable[tuple[str, ...]]],
    limit: int,
) -> list[Title]:
    """The candidates (a filtered catalogue page) that match the whole rule."""
    without_voices = dataclasses.replace(rule, voices=())
    found = [t for t in candidates if without_voices.matches(t)]
    if not rule.voices:
        return found[:limit]
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def with_voices(title: Title) -> Title:
        async with gate:
            return dataclasses.replace(title, voices=await voices_of(title.id))

    read = await asyncio.gather(*(with_voices(t) for t in found[:MEMBER_READS]))
    return [t for t in read if rule.matches(t)][:limit]
