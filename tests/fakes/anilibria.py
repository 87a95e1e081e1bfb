"""One fake AniLibria server: the v2 REST API, the site's login.php and files, and the socket.

Everything listens on one loopback port, as an operator would point the bot at one
v2-compatible host: ``api_url``, ``ws_url`` and ``site_url`` are the values for
ANILIBRIA_API_URL, ANILIBRIA_WS_URL and ANILIBRIA_SITE_URL.
"""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from tests.fakes.anilibria_rest import FakeAniLibriaRest
from tests.fakes.anilibria_ws import FakeAniLibriaSocket

__all__ = ["FakeAniLibria"]


class FakeAniLibria:
    def __init__(self, *, load_real: bool = True) -> None:
        self.rest = FakeAniLibriaRest(load_real=load_real)
        self.ws = FakeAniLibriaSocket()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        self.rest.add_routes(app)
        self.ws.add_routes(app)
        # access_log=None: the request log would print query strings, sessions included.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAniLibria:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/v2"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/ws/"

    @property
    def site_url(self) -> str:
        return self.base
