"""Paid broadcasts: when the sender may pay Telegram to go faster, and how much it has today.

Telegram lets a bot send up to 1000 messages a second with ``allow_paid_broadcast``, for 0.1
Star a message above the free limit, taken from the bot's balance. The operator opts in
(PAID_BROADCAST); the sender then pays only while the backlog at the free rate would take longer
than PAID_BROADCAST_AFTER seconds, and never for more than PAID_BROADCAST_MAX_PER_DAY messages a
(UTC) day. A refusal for lack of Stars switches paying off until the process restarts: nothing
is lost, the rows go out at the free rate.

The day's count is stored in the state table together with the rows it paid for (the sender's
group commit), so a restart neither forgets what was spent nor counts a message twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["STATE_KEY", "PaidBroadcast", "PaidBudget", "is_out_of_stars"]

STATE_KEY = "paid_broadcast_day"  # value: "YYYY-MM-DD N" (UTC date, paid messages that day)


@dataclass(frozen=True, slots=True)
class PaidBroadcast:
    """The operator's choice (PAID_* settings)."""

    enabled: bool = False
    after: float = 60.0  # seconds of free-rate backlog before paying
    rate: float = 1000.0  # messages a second on the paid lane
    max_per_day: int = 50_000


def is_out_of_stars(message: str) -> bool:
    """Telegram's refusal of a paid send the bot's Stars cannot cover.

    The server error is BALANCE_TOO_LOW ("the current Telegram Stars balance is too low"); the
    Bot API passes it as "Bad Request: BALANCE_TOO_LOW". The wordings a proxy or a later Bot
    API might use instead are accepted too.
    """
    text = message.lower()
    return (
        "balance_too_low" in text
        or "balance too low" in text
        or ("star" in text and ("not enough" in text or "insufficient" in text))
    )


def _today(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()


class PaidBudget:
    """Today's paid messages against the cap, whether paying is wanted now, and Stars left."""

    def __init__(self, config: PaidBroadcast, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self.day = _today(clock())
        self.sent_today = 0
        self.in_flight = 0
        self.wanted = False  # the backlog is above the threshold right now
        self.out_of_stars_at: float | None = None

    def load(self, stored: str | None) -> None:
        """Restore today's count from the state table (another day's count is forgotten)."""
        if not stored:
            return
        day, _, count = stored.partition(" ")
        if day == self.day and count.isdigit():
            self.sent_today = int(count)

    def state(self) -> tuple[str, str]:
        return STATE_KEY, f"{self.day} {self.sent_today}"

    def _roll(self) -> None:
        today = _today(self._clock())
        if today != self.day:
            self.day, self.sent_today = today, 0

    @property
    def today(self) -> int:
        """Paid messages sent today (UTC): yesterday's count is forgotten at midnight."""
        self._roll()
        return self.sent_today

    @property
    def usable(self) -> bool:
        """On, and not switched off by a refusal for lack of Stars."""
        return self.config.enabled and self.out_of_stars_at is None

    @property
    def capped(self) -> bool:
        self._roll()
        return self.sent_today + self.in_flight >= self.config.max_per_day

    @property
    def active(self) -> bool:
        """Paid sends are being made now: wanted, usable and under the cap."""
        return self.wanted and self.usable and not self.capped

    def want(self, backlog: int, free_rate: float) -> bool:
        """Pay while the backlog would take longer than the threshold at the free rate."""
        self.wanted = self.usable and backlog > self.config.after * free_rate
        return self.wanted

    def take(self) -> bool:
        """Book one paid message if paying is on now; settle() it after the send."""
        if not self.active:
            return False
        self.in_flight += 1
        return True

    def settle(self, *, sent: bool) -> None:
        self.in_flight -= 1
        if sent:
            self._roll()
            self.sent_today += 1

    def out_of_stars(self) -> bool:
        """Telegram refused for lack of Stars: switch off; True the first time only."""
        if self.out_of_stars_at is not None:
            return False
        self.out_of_stars_at = self._clock()
        self.wanted = False
        return True
