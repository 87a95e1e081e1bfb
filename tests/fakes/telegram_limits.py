"""Sliding-window flood control of the fake Telegram Bot API server.

Telegram's documented limits: about 30 messages per second overall, 1 message per
second in one chat, 20 messages per minute in one group. Every window slides (any
interval of its length counts, not calendar seconds).

Tolerance, so that a client pacing itself at exactly the limit isn't punished by timer
jitter:

* per-second windows (global, per chat) admit ``ceil(rate * window) + 1`` messages, the
  window being ``max(1 s, 1 / rate)``; at 30/s that is 31 in any 1-second window, at
  1/s per chat that is 2 in any 1-second window;
* the per-minute group window admits exactly ``group_per_minute`` messages but is
  1 second shorter (59 s), so a client spacing messages 60/20 = 3 s apart passes while
  the 21st message within a minute is refused.

Paid broadcasts (``allow_paid_broadcast``) have a global window of their own,
``paid_per_second`` (Telegram: up to 1000 a second, billed 0.1 Star a message), with the
same tolerance; the per-chat and per-group windows are shared by paid and free messages
(paying lifts the broadcast limit, not the per-chat ones).

Only messages that are actually sent count; a refused request doesn't.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["RateLimiter"]

GROUP_WINDOW = 60.0
GROUP_SLACK = 1.0
COUNT_TOLERANCE = 1


class _Window:
    def __init__(self, allowed: int, length: float) -> None:
        self.allowed = allowed
        self.length = length
        self.stamps: deque[float] = deque()

    def retry_after(self, now: float) -> int | None:
        while self.stamps and self.stamps[0] <= now - self.length:
            self.stamps.popleft()
        if len(self.stamps) < self.allowed:
            return None
        # the oldest stamp that must leave the window before one more message fits
        frees_at = self.stamps[len(self.stamps) - self.allowed] + self.length
        return max(1, math.ceil(frees_at - now))

    def add(self, now: float) -> None:
        self.stamps.append(now)


def _per_second(rate: float) -> _Window:
    length = max(1.0, 1.0 / rate)
    return _Window(math.ceil(rate * length - 1e-9) + COUNT_TOLERANCE, length)


class RateLimiter:
    def __init__(
        self,
        *,
        global_per_second: float,
        per_chat_per_second: float,
        group_per_minute: int,
        paid_per_second: float = 1000,
    ) -> None:
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.group_per_minute = group_per_minute
        self.paid_per_second = paid_per_second
        self._global = _per_second(global_per_second)
        self._paid = _per_second(paid_per_second)
        self._chats: dict[int, _Window] = {}
        self._groups: dict[int, _Window] = {}

    def _windows(self, chat_id: int, paid: bool) -> list[_Window]:
        windows = [self._paid if paid else self._global]
        if chat_id not in self._chats:
            self._chats[chat_id] = _per_second(self.per_chat_per_second)
        windows.append(self._chats[chat_id])
        if chat_id < 0:
            if chat_id not in self._groups:
                self._groups[chat_id] = _Window(self.group_per_minute, GROUP_WINDOW - GROUP_SLACK)
            windows.append(self._groups[chat_id])
        return windows

    def acquire(self, chat_id: int, now: float, *, paid: bool = False) -> int | None:
        """Count one message to ``chat_id``; or return retry_after (seconds) if over a limit.

        ``paid``: the request carried ``allow_paid_broadcast``, so it counts against the paid
        window instead of the free one.
        """
        windows = self._windows(chat_id, paid)
        waits = [wait for window in windows if (wait := window.retry_after(now)) is not None]
        if waits:
            return max(waits)
        for window in windows:
            window.add(now)
        return None
