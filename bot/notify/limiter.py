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

Two lanes share the per-chat and per-group limits: the free lane (SEND_RATE) and, when paid
broadcasts are on, the paid lane (PAID_SEND_RATE) for sends that carry ``allow_paid_broadcast``,
which Telegram counts against a limit of their own.

Replies come before notices: the sender marks its sends as bulk (``bulk_sends()``), and at most
BULK_AHEAD bulk sends hold a free-lane slot at any moment, so a command reply books the next
slot but BULK_AHEAD and waits at most that many slots (~70 ms at 30/s), however large the
fan-out. Notices get every slot replies leave; the per-user throttling of the handlers is what
keeps replies from crowding them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import Response, TelegramType

__all__ = ["BULK_AHEAD", "RateLimitMiddleware", "SendLimiter", "bulk_sends"]

PRIVATE_INTERVAL = 1.0
GROUP_WINDOW = 60.0
GROUP_PER_WINDOW = 20
_FORGET_AFTER = 120.0
GLOBAL_WINDOW = 1.0
PACE = 0.97  # fraction of the rate the slots are spaced for: room for network jitter
FAST_LANE = 200.0  # from this rate on, one message of tolerance is too little time (see _Lane)
FAST_PACE = 0.9
BULK_AHEAD = 2  # free-lane slots notices may hold ahead of a reply

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

_BULK: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk_send", default=False)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Sends made inside are notices (bulk): they yield free-lane slots to replies."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


class _Lane:
    """One global budget: a slot schedule, a 429 pause and the real 1-second window.

    The window admits floor(rate) releases: at 30/s that leaves Telegram's one extra message of
    tolerance for ~33 ms of jitter between our release and its clock. At 1000/s one message is
    1 ms, less than the event loop's own jitter under load, so a fast lane is paced lower
    (FAST_PACE) and its window admits one more than its pace: ~100 ms of room again (the paid
    benchmark on a busy 2-core machine still saw 429s with 50 ms).
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        pace = PACE if rate < FAST_LANE else FAST_PACE
        self.interval = 1.0 / (rate * pace)
        self.next_slot = 0.0
        self.paused_until = 0.0
        if rate < FAST_LANE:
            self.per_window = max(1, math.floor(rate * GLOBAL_WINDOW))
        else:
            self.per_window = math.floor(rate * pace * GLOBAL_WINDOW) + 1
        self.released: deque[float] = deque()

    def release_delay(self, now: float) -> float:
        """0.0 and counted when one more message fits the real 1-second window; else the wait."""
        released = self.released
        while released and released[0] <= now - GLOBAL_WINDOW:
            released.popleft()
        if len(released) < self.per_window:
            released.append(now)
            return 0.0
        return max(released[0] + GLOBAL_WINDOW - now, 1e-4)


class SendLimiter:
    def __init__(
        self,
        rate: float,
        *,
        paid_rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.free = _Lane(rate)
        self.paid = _Lane(paid_rate) if paid_rate else None
        self.interval = self.free.interval
        self._next_chat: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._bulk_gate: asyncio.Semaphore | None = None

    @property
    def rate(self) -> float:
        return self.free.rate

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until the chat may receive another message (no reservation)."""
        now = self._clock()
        return max(self._chat_slot(chat_id, now), now) - now

    def paused_for(self, *, paid: bool = False) -> float:
        """Seconds left of a 429 pause of that lane (0.0 when it may send)."""
        return max(self._lane(paid).paused_until - self._clock(), 0.0)

    def _lane(self, paid: bool) -> _Lane:
        return self.paid if paid and self.paid is not None else self.free

    def _chat_slot(self, chat_id: int, now: float) -> float:
        slot = self._next_chat.get(chat_id, now)
        sends = self._group_sends.get(chat_id)
        if chat_id < 0 and sends is not None and len(sends) >= GROUP_PER_WINDOW:
            slot = max(slot, sends[-GROUP_PER_WINDOW] + GROUP_WINDOW)
        return slot

    def reserve(self, chat_id: int | None, *, paid: bool = False) -> float:
        """Book the earliest slot for one message; returns the seconds to wait for it."""
        now = self._clock()
        lane = self._lane(paid)
        global_slot = max(now, lane.next_slot, lane.paused_until)
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
            lane.next_slot = global_slot + lane.interval
        if len(self._next_chat) > 10_000:
            self._forget(now)
        return slot - now

    def pause(self, seconds: float, *, paid: bool = False) -> None:
        """Telegram said 429: nobody in that lane sends until retry_after has passed."""
        lane = self._lane(paid)
        lane.paused_until = max(lane.paused_until, self._clock() + seconds)

    def _forget(self, now: float) -> None:
        stale = [chat for chat, slot in self._next_chat.items() if slot < now - _FORGET_AFTER]
        for chat in stale:
            self._next_chat.pop(chat, None)
            self._group_sends.pop(chat, None)

    def release_delay(self, *, paid: bool = False) -> float:
        """0.0 and counted when one more message fits the real 1-second window; else the wait."""
        return self._lane(paid).release_delay(self._clock())

    async def acquire(self, chat_id: int | None, *, paid: bool = False) -> None:
        """Wait for the booked slot, then for room in the real window (needs a real clock).

        A bulk send on the free lane first waits for one of BULK_AHEAD places, so that replies
        (which book directly) are never more than BULK_AHEAD slots behind.
        """
        if _BULK.get() and not (paid and self.paid is not None):
            if self._bulk_gate is None:
                self._bulk_gate = asyncio.Semaphore(BULK_AHEAD)
            async with self._bulk_gate:
                await self._wait_for_slot(chat_id, paid=False)
        else:
            await self._wait_for_slot(chat_id, paid=paid)

    async def _wait_for_slot(self, chat_id: int | None, *, paid: bool) -> None:
        delay = self.reserve(chat_id, paid=paid)
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            late = self.release_delay(paid=paid)
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
            paid = getattr(method, "allow_paid_broadcast", None) is True
            await self.limiter.acquire(chat_id if isinstance(chat_id, int) else None, paid=paid)
        return await make_request(bot, method)
