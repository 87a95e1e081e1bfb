"""SQLite storage through aiosqlite. Knows nothing of Telegram or HTTP.

One repository per table family; every repository takes the open :class:`Database`.
"""

from storage.chats import Chat, ChatCounts, ChatRepo
from storage.db import Database, MigrationError, connect
from storage.digest import DigestRepo, DigestTitle, DigestTurn, DueChat
from storage.outbox import Outbox, OutboxItem, OutboxStats, Priority
from storage.rules import RuleRepo, RuleSpec, StoredRule
from storage.sessions import SessionRepo, StoredSession
from storage.state import StateRepo
from storage.subscriptions import FollowedTitle, SubscriptionRepo
from storage.titles import KnownEpisode, TitleRecord, TitleRepo

__all__ = [
    "Chat",
    "ChatCounts",
    "ChatRepo",
    "Database",
    "DigestRepo",
    "DigestTitle",
    "DigestTurn",
    "DueChat",
    "FollowedTitle",
    "KnownEpisode",
    "MigrationError",
    "Outbox",
    "OutboxItem",
    "OutboxStats",
    "Priority",
    "RuleRepo",
    "RuleSpec",
    "SessionRepo",
    "StateRepo",
    "StoredRule",
    "StoredSession",
    "SubscriptionRepo",
    "TitleRecord",
    "TitleRepo",
    "connect",
]
