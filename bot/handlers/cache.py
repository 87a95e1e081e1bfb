"""A small in-memory TTL cache for API answers that many people ask for at once.

Search results and schedules change slowly; a brief cache means repeated questions cost no
API call. The entries live in ``cachetools.TTLCache`` (LRU with a time to live). Concurrent
misses for one key share one fetch (no thundering herd): the fetch runs as a task of its own
and every caller awaits it through ``asyncio.shield``, so a caller that gives up (its handler
cancelled) leaves the fetch running for the others instead of cancelling it under them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import cachetools

__all__ = ["TTLCache"]

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(
        self, ttl: float, max_items: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: cachetools.TTLCache[Hashable, V, float] = cachetools.TTLCache(
            maxsize=max_items, ttl=ttl, timer=clock
        )
        self._inflight: dict[Hashable, asyncio.Task[V]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        return self._items.get(key)

    def put(self, key: Hashable, value: V) -> None:
        self._items[key] = value

    async def get_or_fetch(self, key: Hashable, fetch: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or fetch() once for every concurrent caller (errors are not
        cached and reach every caller; a cancelled caller does not cancel the fetch)."""
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        task = self._inflight.get(key)
        if task is None:
            self.misses += 1
            task = asyncio.ensure_future(self._load(key, fetch))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    async def _load(self, key: Hashable, fetch: Callable[[], Awaitable[V]]) -> V:
        value = await fetch()
        self.put(key, value)
        return value

    def _finished(self, key: Hashable, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone
