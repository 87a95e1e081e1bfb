"""One rate limiter for every message the bot sends, notices and replies alike.

Telegram allows about 30 messages a second overall, one a second per private chat and twenty
a minute per group. The limiter hands out send slots (a reservation schedule rather than a
bucket), so concurrent senders never bunch up; an aiogram request middleware makes every send
method wait for its slot, whoever calls it.

A slot is only a plan: when the event loop stalls (GC, a busy CPU), senders whose slots fell in
the stall wake late together while the sends a second later are on time, and Telegram's sliding
window would see rate + 2 messages. So the moment a message really goes out is checked too: at
most floor(rate) releases in any 1-second window (Telegram tolerates one more for jitter). And
the slots are spaced for PACE (97 %) of the rate: at exactly the rate, 32 sends fall into one
second as soon as the network delays one send 33 ms more than one a second later; at 97 % that
takes 65 ms (bench/README.md, delivery).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import Response, TelegramType

__all__ = ["RateLimitMiddleware", "SendLimiter"]

PRIVATE_INTERVAL = 1.0
GROUP_WINDOW = 60.0
GROUP_PER_WINDOW = 20
_FORGET_AFTER = 120.0
GLOBAL_WINDOW = 1.0
PACE = 0.97  # fraction of the rate the slots are spaced for: room for network jitter

# Methods that put a message into a chat (edits and answers are cheap and not counted).
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)


class SendLimiter:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / (rate * PACE)
        self._clock = clock
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._paused_until = 0.0
        self._per_window = max(1, math.floor(rate * GLOBAL_WINDOW))
        self._released: deque[float] = deque()

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until the chat may receive another message (no reservation)."""
        now = self._clock()
        return max(self._chat_slot(chat_id, now), self._paused_until, now) - now

    def _chat_slot(self, chat_id: int, now: float) -> float:
        slot = self._next_chat.get(chat_id, now)
        sends = self._group_sends.get(chat_id)
        if chat_id < 0 and sends is not None and len(sends) >= GROUP_PER_WINDOW:
            slot = max(slot, sends[-GROUP_PER_WINDOW] + GROUP_WINDOW)
        return slot

    def reserve(self, chat_id: int | None) -> float:
        """Book the earliest slot for one message; returns the seconds to wait for it."""
        now = self._clock()
        global_slot = max(now, self._next_global, self._paused_until)
        slot = global_slot
        if chat_id is not None:
            slot = max(slot, self._chat_slot(chat_id, now))
            self._next_chat[chat_id] = slot + PRIVATE_INTERVAL
            if chat_id < 0:
                sends = self._group_sends.setdefault(chat_id, deque(maxlen=GROUP_PER_WINDOW))
                sends.append(slot)
        if slot == global_slot:
            # A message that waits for its own chat does not take the next global slot: a busy
            # chat must not hold back everyone else's replies (release_delay still caps the
            # real rate when it finally goes).
            self._next_global = global_slot + self.interval
        if len(self._next_chat) > 10_000:
            self._forget(now)
        return slot - now

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until retry_after has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _forget(self, now: float) -> None:
        stale = [chat for chat, slot in self._next_chat.items() if slot < now - _FORGET_AFTER]
        for chat in stale:
            self._next_chat.pop(chat, None)
            self._group_sends.pop(chat, None)

    def release_delay(self) -> float:
        """0.0 and counted when one more message fits the real 1-second window; else the wait."""
        now = self._clock()
        while self._released and self._released[0] <= now - GLOBAL_WINDOW:
            self._released.popleft()
        if len(self._released) < self._per_window:
            self._released.append(now)
            return 0.0
        return max(self._released[0] + GLOBAL_WINDOW - now, 1e-4)

    async def acquire(self, chat_id: int | None) -> None:
        """Wait for the booked slot, then for room in the real window (needs a real clock)."""
        delay = self.reserve(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            late = self.release_delay()
            if late <= 0:
                return
            await asyncio.sleep(late)


class RateLimitMiddleware(BaseRequestMiddleware):
    def __init__(self, limiter: SendLimiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ in SEND_METHODS:
            chat_id: Any = getattr(method, "chat_id", None)
            await self.limiter.acquire(chat_id if isinstance(chat_id, int) else None)
        return await make_request(bot, method)
