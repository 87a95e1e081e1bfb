"""Follow rules at work: which chats hear of a title that is new on AniLibria.

What "new" means. A title the bot meets for the first time is not necessarily new: the bot may
have started an hour ago, or an old series may have been touched (a re-upload, a fixed poster).
So the first full snapshot of a title decides once, and the answer is kept (``titles.novelty``):

* With a creation time (v1 ``created_at``; v2: its first episode's upload time) the title is new
  when it was created after the baseline (the moment the bot first ran, the digest's
  ``BASELINE_KEY``) and within :data:`NEW_WINDOW` of now.
* Without one (an announced v2 title with no episode yet, a v1 release whose ``created_at`` is
  null) it is new when the bot first met it after the baseline, the API changed it after the
  baseline, and it is of this year or the last.
* A baseline snapshot (v1's first start) and everything stored before rules existed is the
  catalogue.

Rules are matched on every full snapshot of a new title while it is new (NEW_WINDOW after the
bot first saw it), so a title that comes to match later (a voice actor added) is told then; a
chat hears of a title once, whatever number of its rules match and however often (rule_hits).
Matching is local, on the snapshot the feed already carries: no request per event or rule.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

from bot.anilibria import Title, TitleFilter
from bot.notify.kinds import NoticeKind
from storage import Outbox, Priority, RuleRepo, StateRepo, TitleRecord, TitleRepo

__all__ = [
    "BASELINE_KEY",
    "NEW_TITLE_KIND",
    "NEW_WINDOW",
    "VOICE_PREFIX",
    "NewTitles",
    "is_new_title",
    "prune_hits_forever",
    "rule_terms",
    "title_terms",
]

log = logging.getLogger(__name__)

BASELINE_KEY = "digest.baseline"  # shared with the digest: titles first seen before are old
NEW_TITLE_KIND = "new_title"
NEW_WINDOW = 30 * 86400  # how long a title stays new after the bot first saw it
EVERY_TITLE = "*"  # the term every title has: the rule "every new title"
VOICE_PREFIX = "v:"  # the terms of voice actors


def _name(value: str) -> str:
    return " ".join(value.split()).casefold()


def rule_terms(rule: TitleFilter) -> list[str]:
    """The terms a title must all have to match `rule`."""
    terms = [f"g:{_name(g)}" for g in rule.genres]
    terms += [f"{VOICE_PREFIX}{_name(v)}" for v in rule.voices]
    if rule.kind is not None:
        terms.append(f"k:{rule.kind.value}")
    if rule.season is not None:
        terms.append(f"s:{rule.season}")
    if rule.year is not None:
        terms.append(f"y:{int(rule.year)}")
    return sorted(set(terms)) or [EVERY_TITLE]


def title_terms(title: Title) -> list[str]:
    """Every term `title` has (rule_terms of each rule it matches are among them)."""
    terms = {EVERY_TITLE}
    terms.update(f"g:{_name(g)}" for g in title.genres)
    terms.update(f"{VOICE_PREFIX}{_name(v)}" for v in title.voices)
    if title.kind is not None:
        terms.add(f"k:{title.kind.value}")
    if title.season is not None:
        terms.add(f"s:{title.season}")
    if title.year is not None:
        terms.add(f"y:{int(title.year)}")
    return sorted(terms)


def is_new_title(title: Title, *, first_seen: int, baseline: int, now: int) -> bool:
    """Whether a title is new on AniLibria (see the module's docstring)."""
    if title.created_at is not None:
        return title.created_at >= max(baseline, now - NEW_WINDOW)
    if first_seen < baseline or (title.updated_at is not None and title.updated_at < baseline):
        return False
    return title.year is None or title.year >= time.gmtime(now).tm_year - 1


def new_title_payload(title: Title, stored: TitleRecord) -> dict[str, Any]:
    return {
        "title_id": title.id,
        "code": stored.code,
        "name_ru": stored.name_ru,
        "name_en": stored.name_en,
        "poster": title.poster,
        "kind": title.kind.value if title.kind is not None else None,
        "kind_label": title.kind_label,
        "season": title.season,
        "year": title.year,
        "genres": list(title.genres),
        "voices": list(title.voices),
        "detected_at": time.time(),
    }


class NewTitles:
    """The rules' part of the matcher: runs inside the matcher's transaction."""

    def __init__(self, rules: RuleRepo, clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self._clock = clock

    async def _baseline(self, conn: aiosqlite.Connection, now: int) -> int | None:
        value = await StateRepo.get_in(conn, BASELINE_KEY)
        if value is None:  # the very first start: everything now is the catalogue
            await StateRepo.set_in(conn, BASELINE_KEY, now)
            return None
        return int(value)

    async def after_snapshot(
        self, conn: aiosqlite.Connection, title: Title, stored: TitleRecord, *, baseline: bool
    ) -> int:
        """Judge a title on its first full snapshot; match the rules while it is new. Returns
        how many outbox rows were queued."""
        now = int(self._clock())
        novelty = stored.novelty
        if novelty is None:
            since = None if baseline else await self._baseline(conn, now)
            new = since is not None and is_new_title(
                title, first_seen=stored.first_seen, baseline=since, now=now
            )
            novelty = int(new)
            await TitleRepo.set_novelty(conn, title.id, novelty)
            if new:
                log.info("title %s is new on AniLibria", title.id)
        if novelty != 1 or stored.first_seen < now - NEW_WINDOW:
            return 0
        batch = await self.rules.match_in(conn, title.id, title_terms(title))
        if not batch:
            return 0
        await RuleRepo.subscribe_hits_in(conn, title.id, batch)
        payload = new_title_payload(title, stored)
        queued = 0
        for subscribed in (False, True):
            queued += await Outbox.enqueue_for_rule_hits(
                conn,
                batch=batch,
                title_id=title.id,
                subscribed=subscribed,
                kind=NEW_TITLE_KIND,
                kind_bit=NoticeKind.NEW_TITLE,
                payload={**payload, "subscribed": subscribed},
                dedupe_key=f"new:{title.id}",
                priority=Priority.TITLE_NEWS,
            )
        log.info("title %s: new, matched rules, %d notices queued", title.id, queued)
        return queued


async def prune_hits_forever(repo: RuleRepo, every: float = 3600.0) -> None:
    """Forget which chats were told of titles that are no longer new (they are never matched
    again), so that rule_hits does not grow forever."""
    while True:
        removed = await repo.prune_hits(int(time.time()) - NEW_WINDOW - 86400)
        if removed:
            log.info("rules: forgot %d hits of titles no longer new", removed)
        await asyncio.sleep(every)
