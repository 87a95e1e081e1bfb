"""The follow rules in memory, indexed by term: which chats a title's rules tell, in a few
milliseconds for 100,000 rules.

A rule matches a title when the title has every one of the rule's terms. Most rules have one
term (a genre, a voice actor, a kind, ``*``): the rules filed under the title's terms are then
the matches, with no counting. A rule of several terms is filed under each of them and matches
when it was met as many times as it has terms. Each rule's chat and number of terms sit in
arrays indexed by the rule's id, and rule ids are kept in ``array('q')``: 100,000 rules take a
few megabytes, no Python object per rule, and the chats of 30,000 matching rules are gathered
by C loops (``itemgetter``, ``dict.fromkeys``), not a Python one.

The database stays the truth. ``state['rules.version']`` moves with every rule added, removed
or moved to another chat (SQLite triggers, so a forgotten chat's cascade and a group's move to
a supergroup count too); the index remembers the version it reflects. :class:`~storage.rules.
RuleRepo` applies its own changes to the index after they are committed; anything else (an
import's rules, a cascade) leaves the index behind, and the next match reloads it inside its
transaction.
"""

from __future__ import annotations

import itertools
import operator
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

__all__ = ["VERSION_KEY", "RuleIndex", "Told", "current_version"]

VERSION_KEY = "rules.version"
_PAGE = 4096  # rows read at a time when loading


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT value FROM state WHERE key = ?", (VERSION_KEY,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


@dataclass(frozen=True, slots=True)
class Told:
    """The chats a title's rules tell: every one, and the few with more to it."""

    chats: list[int]
    subscribe: set[int]  # chats with a matching "also subscribe" rule
    threads: dict[int, int]  # chat -> the forum topic of its first matching rule, if any
    rules: int  # how many rules matched


class RuleIndex:
    def __init__(self) -> None:
        self.version = -1  # the rules.version it reflects; -1: never loaded
        self.loads = 0
        self._clear()

    def _clear(self) -> None:
        self._single: dict[str, array[int]] = {}  # term -> ids of one-term rules
        self._multi: dict[str, array[int]] = {}  # term -> ids of rules of several terms
        self._chat: array[int] = array("q")  # rule id -> its chat (0: no such rule)
        self._need: array[int] = array("B")  # rule id -> how many terms it has
        self._subscribing: set[int] = set()  # rules that also subscribe
        self._threads: dict[int, int] = {}  # rule id -> forum topic (rules made in one)

    def _file(
        self, rule_id: int, chat_id: int, terms: Sequence[str], subscribe: bool, thread: int | None
    ) -> None:
        if rule_id >= len(self._chat):
            grow = rule_id + 1 - len(self._chat)
            self._chat.frombytes(bytes(8 * grow))
            self._need.frombytes(bytes(grow))
        self._chat[rule_id] = chat_id
        self._need[rule_id] = min(len(terms), 255)
        if subscribe:
            self._subscribing.add(rule_id)
        if thread is not None:
            self._threads[rule_id] = thread
        store = self._single if len(terms) == 1 else self._multi
        for term in terms:
            store.setdefault(term, array("q")).append(rule_id)

    async def load(self, conn: aiosqlite.Connection) -> None:
        """Read every rule (inside the caller's transaction), a page of rows at a time."""
        self._clear()
        current: tuple[int, int, bool, int | None] | None = None  # id, chat, subscribe, topic
        terms: list[str] = []
        async with conn.execute(
            "SELECT r.id, r.chat_id, r.also_subscribe, r.thread_id, t.term"
            " FROM rules r JOIN rule_terms t ON t.rule_id = r.id ORDER BY r.id"
        ) as cur:
            while rows := await cur.fetchmany(_PAGE):
                for row in rows:
                    if current is None or int(row[0]) != current[0]:
                        if current is not None:
                            self._file(current[0], current[1], terms, current[2], current[3])
                        current, terms = (int(row[0]), int(row[1]), bool(row[2]), row[3]), []
                    terms.append(str(row[4]))
        if current is not None:
            self._file(current[0], current[1], terms, current[2], current[3])
        self.version = await current_version(conn)
        self.loads += 1

    def _unfile(self, rule_id: int) -> None:
        for store in (self._single, self._multi):
            for term, filed in list(store.items()):
                if rule_id in filed:
                    kept = array("q", (r for r in filed if r != rule_id))
                    if kept:
                        store[term] = kept
                    else:
                        del store[term]
        if rule_id < len(self._chat):
            self._chat[rule_id] = 0
        self._subscribing.discard(rule_id)
        self._threads.pop(rule_id, None)

    async def ensure(self, conn: aiosqlite.Connection) -> None:
        """Reload when the rules changed behind the index's back."""
        if await current_version(conn) != self.version:
            await self.load(conn)

    # -- changes the repository made and committed -----------------------------------------

    def added(
        self,
        before: int,
        rule_id: int,
        chat_id: int,
        terms: Sequence[str],
        *,
        subscribe: bool,
        thread: int | None,
    ) -> None:
        """A rule was added: the version moved by one from `before`."""
        if self.version == before:
            self._file(rule_id, chat_id, sorted(set(terms)), subscribe, thread)
            self.version = before + 1

    def removed(self, before: int, rule_ids: Iterable[int]) -> None:
        """Rules were removed: the version moved by one each from `before`."""
        ids = list(rule_ids)
        if self.version == before:
            for rule_id in ids:
                self._unfile(rule_id)
            self.version = before + len(ids)

    def set_subscribe(self, rule_id: int, on: bool) -> None:
        if rule_id < len(self._chat) and self._chat[rule_id]:
            if on:
                self._subscribing.add(rule_id)
            else:
                self._subscribing.discard(rule_id)

    # -- matching --------------------------------------------------------------------------

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
            found.extend(r for r, met in counted.items() if met == need[r])
        return found

    def told(self, terms: Iterable[str]) -> Told:
        """The chats the matching rules belong to; a chat's first rule gives its topic."""
        matched = self.match(terms)
        if not matched:
            return Told([], set(), {}, 0)
        chat = self._chat
        chat_of: Sequence[int] = (
            operator.itemgetter(*matched)(chat) if len(matched) > 1 else (chat[matched[0]],)
        )
        subscribe = {chat[r] for r in self._subscribing.intersection(matched)}
        topics: dict[int, int] = {}
        threads = self._threads
        if threads and not threads.keys().isdisjoint(matched):
            first: dict[int, int] = {}
            for rule_id, chat_id in sorted(zip(matched, chat_of, strict=True)):
                first.setdefault(chat_id, rule_id)
            topics = {c: threads[r] for c, r in first.items() if r in threads}
        chats = [c for c in dict.fromkeys(chat_of) if c]
        return Told(chats, subscribe - {0}, topics, len(matched))
