"""A fake AniLiberty API v1 (``/api/v1``) and site, on one loopback port, for the e2e tests.

``api_url`` and ``site_url`` are what the bot's environment points at. The default catalogue is
the ten real releases of ``releases_latest_limit10.json`` (10292 as ``release_10292.json`` has it,
with members, sponsors and its two torrents; the other nine get episodes 1..n-1 made up a week
apart before their captured latest episode, and one made-up torrent). All captures are
byte-for-byte copies of ``shared/aniliberty-v1`` in ``tests/fixtures/aniliberty``
(``SOURCES.md`` there says which are real and where they came from).

Answers are built on the captures' shapes: bare arrays where the live API returns them,
Fractal's ``{data, meta: {pagination}}`` where it pages, Laravel's 422 bodies, JSON written as
PHP writes it (``\\/``, ``\\uXXXX``) with ``Content-Type: application/json``.

The control API (synchronous; it changes the in-memory state the next answer shows):

* catalogue (:class:`~tests.fakes.aniliberty_controls.CatalogueControls`): ``add_release``,
  ``add_episode``, ``make_playable``, ``reupload``, ``set_in_production``,
  ``set_notification``, ``add_torrent``, ``update_torrent``, ``bump``, ``bump_many``,
  ``add_video``, ``set_schedule``, ``remove_release``; lookups ``release``, ``torrent``;
* accounts (:class:`~tests.fakes.aniliberty_accounts.AccountsMixin`): ``add_user``,
  ``token_for``, ``expire_token``, ``next_otp_code``, ``latest_otp``, ``accept_otp``,
  ``expire_otp``, ``favorites_of``, ``add_favorite``; ``auth_failure_status`` (401 or 403);
* inspection and faults (:class:`~tests.fakes.aniliberty_faults.FaultsMixin`): ``requests``,
  ``requests_to``, ``count``, ``fail``, ``reset``, ``delay``, ``clear_faults``;
* switches: ``etags`` (``/latest`` sends an ETag and answers ``If-None-Match`` with 304),
  ``links_style`` ("fractal": absent links at the ends, ``[]`` when none; "null": null
  links), ``torrents_order``, ``alive`` (``/app/status``).
"""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from tests.fakes.aniliberty_accounts import AccountsMixin
from tests.fakes.aniliberty_catalogue import DEFAULT_IDS
from tests.fakes.aniliberty_controls import CatalogueControls
from tests.fakes.aniliberty_faults import FaultsMixin, Recorded
from tests.fakes.aniliberty_http import API_PREFIX
from tests.fakes.aniliberty_torrents import TorrentRoutesMixin

__all__ = ["DEFAULT_IDS", "FakeAniLiberty", "Recorded"]


class FakeAniLiberty(AccountsMixin, TorrentRoutesMixin, CatalogueControls, FaultsMixin):
    def __init__(self, *, load_real: bool = True, seed: int = 1) -> None:
        self._init_faults()
        self._init_catalogue(load_real=load_real, seed=seed)
        self._init_accounts()
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        self._add_anime_routes(app, API_PREFIX)
        self._add_torrent_routes(app, API_PREFIX)
        self._add_account_routes(app, API_PREFIX)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # access_log=None: a request log would print tokens and passkeys.
        self._runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAniLiberty:
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
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}{API_PREFIX}"

    @property
    def site_url(self) -> str:
        return self.base
