"""Everything a handler may need, built once in app.py and handed to handlers as `services`."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from aiogram.utils.i18n import I18n

from bot.account.codes import CodeLogins
from bot.account.links import Accounts
from bot.anilibria import Account, Catalogue, NewsFeed, ScheduleDay, Title
from bot.config import Settings
from bot.handlers.cache import TTLCache
from bot.handlers.rule_text import KnownNames
from bot.health import TelegramPulse
from bot.notify.digest import DigestScheduler
from bot.notify.matcher import Matcher
from bot.notify.sender import Sender
from storage import ChatRepo, Outbox, RuleRepo, SessionRepo, SubscriptionRepo, TitleRepo

__all__ = ["SearchMemory", "Services"]

SEARCH_TTL = 60.0  # many people ask for the same few titles; paging back and forth is free
SCHEDULE_TTL = 600.0  # the week's schedule changes a few times a day
MAX_TOKENS = 10_000


class SearchMemory:
    """Brief answers of the catalogue's search, and the query text behind each page token
    (callback data holds 64 bytes; a query can be longer)."""

    def __init__(self, ttl: float = SEARCH_TTL) -> None:
        self.cache: TTLCache[list[Title]] = TTLCache(ttl, max_items=2048)
        self._queries: OrderedDict[str, str] = OrderedDict()

    def token_for(self, query: str) -> str:
        token = hashlib.blake2b(query.encode(), digest_size=6).hexdigest()
        self._queries[token] = query
        self._queries.move_to_end(token)
        while len(self._queries) > MAX_TOKENS:
            self._queries.popitem(last=False)
        return token

    def query_of(self, token: str) -> str | None:
        return self._queries.get(token)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue  # the upstream's roles (v1 or v2)
    account_api: Account
    feed: NewsFeed
    i18n: I18n
    chats: ChatRepo
    subscriptions: SubscriptionRepo
    titles: TitleRepo
    outbox: Outbox
    sessions: SessionRepo
    matcher: Matcher
    accounts: Accounts  # linked AniLibria accounts: the one place a token is opened
    codes: CodeLogins  # logins by a one-time code, being watched
    digest: DigestScheduler
    sender: Sender  # its status and the largest fan-outs, for /stats
    telegram: TelegramPulse
    rules: RuleRepo  # the chats' follow rules
    search: SearchMemory = field(default_factory=SearchMemory)
    schedule_cache: TTLCache[list[ScheduleDay]] = field(
        default_factory=lambda: TTLCache(SCHEDULE_TTL, max_items=4)
    )
    started_at: float = field(default_factory=time.time)
    known: KnownNames = field(init=False)  # the API's genres and voice actors, cached

    def __post_init__(self) -> None:
        self.known = KnownNames(self.catalogue.genres, self.catalogue.voices)

    def title_url(self, alias: str | None, title_id: int) -> str:
        return self.catalogue.title_url(alias, title_id)
