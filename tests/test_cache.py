"""The TTL cache in front of search and the schedule: shared fetches, expiry, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from bot.handlers.cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_cancelled_first_caller_does_not_cancel_the_other_waiters() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)
    release = asyncio.Event()
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "answer"

    first = asyncio.create_task(cache.get_or_fetch("k", fetch))
    await asyncio.sleep(0)
    others = [asyncio.create_task(cache.get_or_fetch("k", fetch)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()  # its handler was cancelled (a timeout, the bot stopping)
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*others) == ["answer"] * 3
    with pytest.raises(asyncio.CancelledError):
        await first
    assert calls == 1
    assert cache.get("k") == "answer"  # and the answer was kept for the next caller


async def test_concurrent_misses_share_one_fetch_and_errors_are_not_cached() -> None:
    cache: TTLCache[int] = TTLCache(ttl=60)
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("upstream down")

    results = await asyncio.gather(
        *(cache.get_or_fetch("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(r, RuntimeError) for r in results)

    async def working() -> int:
        return 7

    assert await cache.get_or_fetch("k", working) == 7  # the error was not kept
    assert cache.misses == 2 and cache.hits == 0
    assert await cache.get_or_fetch("k", failing) == 7
    assert cache.hits == 1


async def test_entries_expire_and_the_oldest_go_first() -> None:
    clock = Clock()
    cache: TTLCache[str] = TTLCache(ttl=10, max_items=2, clock=clock)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("c", "C")
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
    clock.now = 11
    assert cache.get("a") is None and cache.get("c") is None


async def test_everyone_gone_the_fetch_still_finishes_quietly() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)

    async def fetch() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("nobody is listening")

    caller = asyncio.create_task(cache.get_or_fetch("k", fetch))
    await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0.05)  # no "exception was never retrieved" left behind
    assert cache.get("k") is None and not cache._inflight
