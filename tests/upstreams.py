"""The two upstreams the bot runs on, as the end-to-end tests drive them.

One set of end-to-end tests runs on both: each test speaks to an :class:`Upstream` (a title
appears, an episode is released, "everything so far is handled", the user links their account,
a title is a favorite, a title airs on a weekday), and the driver turns that into what its fake
needs: v2 pushes socket frames beside its REST state and links by login and password; v1 changes
the AniLiberty fake, which the bot finds on its next poll, and links by a one-time code the user
"enters on the site".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame

if TYPE_CHECKING:
    from tests.chat import Chat
    from tests.harness import BotProcess

__all__ = ["POLL_INTERVAL", "Upstream", "V1Upstream", "V2Upstream"]

POLL_INTERVAL = 0.2  # seconds: v1 is polled this often in the tests
LOGIN_CODE_POLL = 0.2  # seconds: v1 asks this often whether a login code was entered


class Upstream(Protocol):
    name: str
    site_url: str

    def env(self) -> dict[str, str]: ...

    def progress(self) -> int:
        """A counter that grows as the bot talks to the upstream (sockets opened, polls)."""
        ...

    async def settle(self, bot: BotProcess, timeout: float = 10.0) -> None:
        """Return once everything the upstream told so far has been handled by the bot."""
        ...

    def add_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, *, episodes: int = 3
    ) -> None: ...

    async def release(self, title_id: int, episode: int) -> None:
        """A new episode is out (and, where the API pushes, pushed)."""
        ...

    def title_url(self, code: str) -> str: ...

    def set_weekday(self, title_id: int, weekday: int) -> None:
        """The title airs on ``weekday`` (0 = Monday) in the schedule."""
        ...

    async def log_in(self, chat: Chat) -> str:
        """Link the fake's default account in ``chat`` (a private chat) the way this API links
        one; returns the bot's "linked" message."""
        ...

    def secrets(self) -> list[str]:
        """Every session or token of the default account the fake handed out, and its
        password: what must never reach the bot's database file or its log."""
        ...

    def add_favorites(self, *title_ids: int) -> None:
        """Titles added to the default account's favorites on the site."""
        ...

    def favorite_ids(self) -> set[int]:
        """The default account's favorites as the fake holds them."""
        ...


class V2Upstream:
    name = "v2"

    def __init__(self, fake: FakeAniLibria) -> None:
        self.fake = fake

    @property
    def site_url(self) -> str:
        return self.fake.site_url

    def env(self) -> dict[str, str]:
        return {
            "ANILIBRIA_API": "v2",
            "ANILIBRIA_API_URL": self.fake.api_url,
            "ANILIBRIA_WS_URL": self.fake.ws_url,
            "ANILIBRIA_SITE_URL": self.fake.site_url,
            "WS_BACKOFF_INITIAL": "0.05",
            "WS_BACKOFF_MAX": "0.5",
            "WS_IDLE_TIMEOUT": "3",
        }

    def progress(self) -> int:
        return self.fake.ws.total_connections

    async def settle(self, bot: BotProcess, timeout: float = 10.0) -> None:
        """Push a title_update with a unique hash and wait for the hash to be stored: the feed
        handles frames in order, so everything before it is done."""
        from tests.harness import poll

        marker = f"barrier-{time.monotonic_ns()}"
        title = self.fake.rest.make_title(999_999, "barrier-title", "Барьер", "Barrier")
        await self.fake.ws.push(
            {"type": "title_update", "title_update": {"hash": marker, "title": title, "diff": {}}}
        )
        await poll(
            lambda: bot.db("SELECT 1 FROM seen_hashes WHERE hash = ?", (marker,)),
            timeout=timeout,
            message="the socket barrier",
        )

    def add_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, *, episodes: int = 3
    ) -> None:
        self.fake.rest.add_title(
            self.fake.rest.make_title(title_id, code, name_ru, name_en, episodes=episodes)
        )

    async def release(self, title_id: int, episode: int) -> None:
        title = self.fake.rest.add_episode(title_id, episode)
        for quality in ("sd", "hd", "fhd"):
            await self.fake.ws.push(
                playlist_update_frame(title_id, episode, quality, player=title["player"])
            )

    def title_url(self, code: str) -> str:
        return f"{self.fake.site_url}/release/{code}.html"

    def set_weekday(self, title_id: int, weekday: int) -> None:
        self.fake.rest.titles[title_id]["season"]["week_day"] = weekday

    async def log_in(self, chat: Chat) -> str:
        rest = self.fake.rest
        _, [prompt] = await chat.say("/login")
        assert "login or e-mail" in (prompt.text or "")
        await chat.say(rest.DEFAULT_MAIL)
        _, [linked] = await chat.say(rest.DEFAULT_PASSWORD)
        return linked.text or ""

    def secrets(self) -> list[str]:
        rest = self.fake.rest
        mine = rest.account_favorites.get(rest.DEFAULT_MAIL)
        return [
            *(s for s, favorites in rest.sessions.items() if favorites is mine),
            rest.DEFAULT_PASSWORD,
        ]

    def _favorites(self) -> set[int]:
        rest = self.fake.rest
        return rest.account_favorites.setdefault(rest.DEFAULT_MAIL, set())

    def add_favorites(self, *title_ids: int) -> None:
        self._favorites().update(title_ids)

    def favorite_ids(self) -> set[int]:
        return set(self._favorites())


class V1Upstream:
    name = "v1"

    def __init__(self, fake: FakeAniLiberty) -> None:
        self.fake = fake

    @property
    def site_url(self) -> str:
        return self.fake.site_url

    def env(self) -> dict[str, str]:
        return {
            "ANILIBRIA_API": "v1",
            "ANILIBRIA_API_URL": self.fake.api_url,
            "ANILIBRIA_SITE_URL": self.fake.site_url,
            "POLL_INTERVAL": str(POLL_INTERVAL),
            "LOGIN_CODE_POLL_SECONDS": str(LOGIN_CODE_POLL),
        }

    def progress(self) -> int:
        return self.fake.count("/anime/releases/latest")

    async def settle(self, bot: BotProcess, timeout: float = 10.0) -> None:
        """Wait for two more polls: the poller handles one poll's news before the next poll,
        so the second one starting means the first one after now is done."""
        from tests.harness import poll

        polls = self.progress()
        await poll(lambda: self.progress() >= polls + 2, timeout=timeout, message="two more polls")

    def add_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, *, episodes: int = 3
    ) -> None:
        self.fake.add_release(title_id, code, name_ru, name_en, episodes=episodes)

    async def release(self, title_id: int, episode: int) -> None:
        self.fake.add_episode(title_id, episode)

    def title_url(self, code: str) -> str:
        return f"{self.fake.site_url}/anime/releases/release/{code}"

    def set_weekday(self, title_id: int, weekday: int) -> None:
        release = self.fake.release(title_id)
        assert release is not None
        release["publish_day"]["value"] = weekday + 1  # v1 counts 1 = Monday ... 7 = Sunday

    async def log_in(self, chat: Chat) -> str:
        """/login shows a code; the user enters it on the site; the bot says "linked"."""
        fake = self.fake
        _, [offer] = await chat.say("/login")
        otp = fake.latest_otp()
        assert otp is not None and f"<code>{otp.code}</code>" in (offer.text or "")
        before = len(chat.sent())
        fake.accept_otp(otp.code, fake.default_user_id)
        [linked] = (await chat.telegram.wait_sent(chat.chat_id, before + 1, timeout=10))[before:]
        return linked.text or ""

    def secrets(self) -> list[str]:
        fake = self.fake
        user = fake.users[fake.default_user_id]
        return [*fake.tokens_of(user.id), user.password, user.passkey]

    def add_favorites(self, *title_ids: int) -> None:
        self.fake.add_favorite(self.fake.default_user_id, *title_ids)

    def favorite_ids(self) -> set[int]:
        return set(self.fake.favorites_of(self.fake.default_user_id))
