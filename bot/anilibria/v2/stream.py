"""EventStream: the bot's one WebSocket to the AniLibria API v2.

* No subscribe filter is sent unless one is given: the server then sends everything.
* Frames can be large (a long series' playlist): the client's max message size is raised.
* Keepalive: websockets' protocol pings (``ping_interval``; no pong within ``ping_interval``
  closes), plus a watchdog of our own: when nothing (no frame, no pong) was heard for
  ``idle_timeout / 2`` it pings, and when still nothing was heard after ``idle_timeout`` it
  aborts the connection.
* Every failure (refused handshake, HTTP 503, DNS, timeouts, drops) backs off with equal
  jitter, ``backoff_initial`` doubling up to ``backoff_max``; the backoff resets once a
  connection stayed up ``healthy_after`` seconds. Only :meth:`EventStream.close` ends the
  iteration.
* Each successful open yields :class:`StreamConnected` first (the consumer runs catch-up).
  Unparseable frames are logged and skipped; greeting, subscribe ack and error frames are
  logged and yielded.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

from bot.anilibria.v2.events import (
    ConnectionGreeting,
    ErrorFrame,
    Event,
    SubscribeAck,
    UnknownEvent,
    parse_event,
)

__all__ = ["EventStream", "StreamConnected", "StreamState", "backoff_delay"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
CLOSE_TIMEOUT = 2.0
_MAX_WARNED_REASONS = 256


class StreamState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """Yielded on every successful open. ``attempt``: tries this open took (1 = first try)."""

    reconnected: bool
    attempt: int


def backoff_delay(attempt: int, *, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (0-based), with equal jitter.

    ``base = min(maximum, initial * 2**attempt)``; the delay is uniform in ``[base/2, base]``.
    """
    base = min(maximum, initial * 2.0 ** min(max(attempt, 0), 64))
    return base / 2 + rng.uniform(0.0, base / 2)


class _Closed(Exception):
    """close() was called."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionClosed):
        frame = exc.rcvd or exc.sent
        if frame is None:
            return "connection lost (no close frame)"
        return f"closed with code {frame.code}" + (f" ({frame.reason})" if frame.reason else "")
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class EventStream:
    def __init__(
        self,
        url: str,
        *,
        max_size: int = 64 * 2**20,
        idle_timeout: float = 60.0,
        ping_interval: float | None = 20.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        healthy_after: float = 60.0,
        open_timeout: float = 10.0,
        subscribe: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.ping_interval = ping_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self.open_timeout = open_timeout
        self.subscribe = dict(subscribe) if subscribe is not None else None
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self.state = StreamState.DISCONNECTED
        self.last_event_at: float | None = None
        """Wall-clock time (time.time()) of the last frame received."""
        self.connected_since: float | None = None
        """Wall-clock time the current connection opened; None when not connected."""
        self.reconnects = 0
        self.api_version: str | None = None
        self.recent_delays: deque[float] = deque(maxlen=32)
        """The last backoff delays chosen (for /stats and tests)."""
        self._attempt = 0  # backoff exponent: failures since the last healthy connection
        self._closing = False
        self._close_fut: asyncio.Future[None] | None = None
        self._ws: ClientConnection | None = None
        self._iterating = False
        self._in_recv = False
        self._idle_tripped = False
        self._last_activity = 0.0
        self._warned: set[str] = set()

    def __aiter__(self) -> AsyncIterator[Event | StreamConnected]:
        return self._run()

    async def close(self) -> None:
        """End the iteration promptly (callable from any task) and close the socket."""
        self._closing = True
        if self._close_fut is not None and not self._close_fut.done():
            self._close_fut.set_result(None)
        ws, self._ws = self._ws, None
        if ws is not None:
            await self._shutdown(ws)
        self.state = StreamState.CLOSED

    # ------------------------------------------------------------------ internals
    def _next_delay(self) -> float:
        delay = backoff_delay(
            self._attempt, initial=self.backoff_initial, maximum=self.backoff_max, rng=self._rng
        )
        self._attempt += 1
        self.recent_delays.append(delay)
        return delay

    async def _race(self, task: asyncio.Future[_T]) -> _T:
        """Await ``task`` unless close() comes first (then cancel it and raise _Closed)."""
        assert self._close_fut is not None
        try:
            done, _ = await asyncio.wait(
                (task, self._close_fut), return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            task.cancel()
            raise
        if task in done and not self._close_fut.done():
            return task.result()
        task.cancel()
        await asyncio.wait((task,))
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" warning
        raise _Closed

    async def _sleep(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; False when close() came first."""
        try:
            await self._race(asyncio.ensure_future(asyncio.sleep(delay)))
        except _Closed:
            return False
        return True

    async def _connect(self) -> ClientConnection:
        async def open_() -> ClientConnection:
            return await connect(
                self.url,
                max_size=self.max_size,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_interval,
                close_timeout=CLOSE_TIMEOUT,
            )

        task = asyncio.ensure_future(open_())
        try:
            return await self._race(task)
        except _Closed:
            if not task.cancelled() and task.exception() is None:
                await self._shutdown(task.result())
            raise

    @staticmethod
    async def _shutdown(ws: ClientConnection) -> None:
        if ws.state is State.CLOSED:
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await ws.close()
        except Exception:  # dead peer: drop the TCP connection
            ws.transport.abort()

    async def _watchdog(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        half = self.idle_timeout / 2
        while True:
            quiet = loop.time() - self._last_activity
            if quiet < half:
                await asyncio.sleep(half - quiet)
                continue
            try:
                pong = await ws.ping()
                async with asyncio.timeout(max(self.idle_timeout - quiet, 0.01)):
                    await pong
                self._last_activity = max(self._last_activity, loop.time())
            except TimeoutError:
                if self._in_recv and loop.time() - self._last_activity >= self.idle_timeout:
                    self._idle_tripped = True
                    ws.transport.abort()
                    return
            except Exception:  # ConnectionClosed and the like: the reader will notice
                return

    def _note(self, event: Event) -> None:
        if isinstance(event, ConnectionGreeting):
            self.api_version = event.api_version
            log.info(
                "AniLibria WebSocket greeted: connection=%s api_version=%s",
                event.raw.get("connection"),
                event.api_version,
            )
        elif isinstance(event, SubscribeAck):
            log.info("AniLibria WebSocket subscribe acknowledged: %s", event.raw)
        elif isinstance(event, ErrorFrame):
            log.warning("AniLibria WebSocket error frame: %.200r", event.error)

    def _skip(self, event: UnknownEvent) -> None:
        first = event.reason not in self._warned and len(self._warned) < _MAX_WARNED_REASONS
        self._warned.add(event.reason)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "AniLibria WebSocket: skipping a message (%s): %.120s",
            event.reason,
            event.excerpt,
        )

    async def _run(self) -> AsyncIterator[Event | StreamConnected]:
        if self._iterating:
            raise RuntimeError("EventStream is already being iterated")
        self._iterating = True
        loop = asyncio.get_running_loop()
        self._close_fut = loop.create_future()
        if self._closing:
            self._close_fut.set_result(None)
        opened, tries, last_failure = 0, 0, ""
        try:
            while not self._closing:
                self.state = StreamState.CONNECTING
                if tries == 0:
                    log.info("AniLibria WebSocket: connecting to %s", self.url)
                tries += 1
                try:
                    ws = await self._connect()
                except _Closed:
                    break
                except Exception as exc:
                    reason, delay = _describe(exc), self._next_delay()
                    # INFO when the reason changes and after 4, 16, 64... tries; else DEBUG
                    loud = reason != last_failure or (tries & (tries - 1) == 0 and tries % 3 == 1)
                    log.log(
                        logging.INFO if loud else logging.DEBUG,
                        "AniLibria WebSocket: cannot connect (%s), try %d; retrying in %.2fs",
                        reason,
                        tries,
                        delay,
                    )
                    last_failure = reason
                    self.state = StreamState.DISCONNECTED
                    if not await self._sleep(delay):
                        break
                    continue
                self._ws, opened_at, reconnected = ws, self._clock(), opened > 0
                self.connected_since = time.time()
                self.reconnects += reconnected
                opened += 1
                self.state = StreamState.CONNECTED
                log.info("AniLibria WebSocket: connected (try %d)", tries)
                marker = StreamConnected(reconnected=reconnected, attempt=tries)
                tries, last_failure, reason = 0, "", "closed"
                self._idle_tripped = False
                self._last_activity = loop.time()
                watchdog = asyncio.create_task(self._watchdog(ws))
                try:
                    if self.subscribe is not None:
                        await self._race(asyncio.ensure_future(ws.send(json.dumps(self.subscribe))))
                    yield marker
                    while True:
                        self._last_activity = max(self._last_activity, loop.time())
                        self._in_recv = True
                        try:
                            raw = await self._race(asyncio.ensure_future(ws.recv()))
                        finally:
                            self._in_recv = False
                        self._last_activity = loop.time()
                        self.last_event_at = time.time()
                        event = parse_event(raw)
                        if isinstance(event, UnknownEvent):
                            self._skip(event)
                            continue
                        self._note(event)
                        yield event
                except _Closed:
                    break
                except Exception as exc:
                    reason = _describe(exc)
                    if self._idle_tripped:
                        reason = f"nothing heard for {self.idle_timeout:g}s"
                finally:
                    watchdog.cancel()
                    self.connected_since = None
                    if self._ws is ws:
                        self._ws = None
                        if not self._closing:
                            await self._shutdown(ws)
                if self._closing:
                    break
                if self._clock() - opened_at >= self.healthy_after:
                    self._attempt = 0
                self.state = StreamState.DISCONNECTED
                delay = self._next_delay()
                log.info(
                    "AniLibria WebSocket: disconnected (%s); reconnecting in %.2fs", reason, delay
                )
                if not await self._sleep(delay):
                    break
        finally:
            self.state = StreamState.CLOSED
            self._iterating = False
            log.info("AniLibria WebSocket: stream closed")
