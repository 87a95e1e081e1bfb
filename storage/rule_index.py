"""The follow rules' terms in memory, indexed by term: which rules a title matches, in a few
milliseconds for 100,000 rules.

A rule matches a title when the title has every one of the rule's terms. Most rules have one
term (a genre, a voice actor, a kind, ``*``): for those, the rules filed under the title's terms
are the matches, with no counting. A rule of several terms is filed under each of them and
matches when it was met as many times as it has terms. Rule ids are kept in ``array('q')``
(8 bytes each), so 100,000 rules take a few megabytes.

The database stays the truth. ``state['rules.version']`` moves with every rule added or removed
(SQLite triggers, so the cascades of a forgotten chat count too); the index remembers the
version it reflects. :class:`~storage.rules.RuleRepo` applies its own changes to the index as
well, after they are committed; anything else (an import's rules, a cascade) leaves the index
behind, and the next match reloads it inside its transaction. A rule removed without the index
knowing only costs a rule id that no longer joins any row.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

import aiosqlite

__all__ = ["VERSION_KEY", "RuleIndex", "current_version"]

VERSION_KEY = "rules.version"
_PAGE = 4096  # rows read at a time when loading


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT value FROM state WHERE key = ?", (VERSION_KEY,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


class RuleIndex:
    def __init__(self) -> None:
        self.version = -1  # the rules.version it reflects; -1: never loaded
        self._single: dict[str, array[int]] = {}  # term -> ids of one-term rules
        self._multi: dict[str, array[int]] = {}  # term -> ids of rules of several terms
        self._need: dict[int, int] = {}  # a rule of several terms -> how many
        self.loads = 0

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._single.values()) + len(self._need)

    def _file(self, rule_id: int, terms: Sequence[str]) -> None:
        if len(terms) == 1:
            self._single.setdefault(terms[0], array("q")).append(rule_id)
            return
        self._need[rule_id] = len(terms)
        for term in terms:
            self._multi.setdefault(term, array("q")).append(rule_id)

    async def load(self, conn: aiosqlite.Connection) -> None:
        """Read every rule's terms (inside the caller's transaction)."""
        self._single, self._multi, self._need = {}, {}, {}
        current: int | None = None
        terms: list[str] = []
        # In the primary key's order (rule by rule), a page at a time: the rows never all
        # sit in memory at once.
        async with conn.execute("SELECT rule_id, term FROM rule_terms ORDER BY rule_id") as cur:
            while rows := await cur.fetchmany(_PAGE):
                for row in rows:
                    rule_id = int(row[0])
                    if rule_id != current:
                        if current is not None:
                            self._file(current, terms)
                        current, terms = rule_id, []
                    terms.append(str(row[1]))
        if current is not None:
            self._file(current, terms)
        self.version = await current_version(conn)
        self.loads += 1

    async def ensure(self, conn: aiosqlite.Connection) -> None:
        """Reload when the rules changed behind the index's back."""
        if await current_version(conn) != self.version:
            await self.load(conn)

    def added(self, before: int, rule_id: int, terms: Sequence[str]) -> None:
        """A committed rule (the version moved by one from `before`)."""
        if self.version == before:
            self._file(rule_id, sorted(set(terms)))
            self.version = before + 1

    def removed(self, before: int, rule_ids: Iterable[int]) -> None:
        """Committed deletions that moved the version from `before` by one each."""
        ids = set(rule_ids)
        if self.version != before:
            return
        for store in (self._single, self._multi):
            for term, filed in list(store.items()):
                if any(rule_id in ids for rule_id in filed):
                    kept = array("q", (r for r in filed if r not in ids))
                    if kept:
                        store[term] = kept
                    else:
                        del store[term]
        for rule_id in ids:
            self._need.pop(rule_id, None)
        self.version = before + len(ids)

    def match(self, terms: Iterable[str]) -> array[int]:
        """The ids of the rules whose every term is among `terms` (a title's terms)."""
        wanted = set(terms)
        found = array("q")
        for term in wanted:
            filed = self._single.get(term)
            if filed is not None:
                found.extend(filed)
        several = [self._multi[term] for term in wanted if term in self._multi]
        if several:
            need = self._need
            counted = Counter(itertools.chain.from_iterable(several))
            found.extend(rule_id for rule_id, met in counted.items() if met == need[rule_id])
        return found
