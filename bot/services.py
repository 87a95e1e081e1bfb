"""Everything a handler may need, built once in app.py and handed to handlers as `services`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.utils.i18n import I18n

from bot.anilibria.client import AniLibriaClient
from bot.config import Settings
from storage import (
    AccountRepo,
    ChatRepo,
    Database,
    Outbox,
    StateRepo,
    SubscriptionRepo,
    TitleRepo,
)

if TYPE_CHECKING:
    from bot.anilibria.stream import EventStream
    from bot.notify.matcher import Matcher
    from bot.notify.sender import Sender

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    client: AniLibriaClient
    i18n: I18n
    chats: ChatRepo
    subscriptions: SubscriptionRepo
    titles: TitleRepo
    outbox: Outbox
    state: StateRepo
    accounts: AccountRepo
    matcher: Matcher
    sender: Sender | None = None
    stream: EventStream | None = None
    started_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)  # feature-owned objects (crypto, digest)

    @property
    def site_url(self) -> str:
        return self.settings.anilibria_site_url
