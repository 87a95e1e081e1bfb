"""The two upstreams the bot runs on, as the end-to-end tests drive them.

One set of end-to-end tests runs on both: each test speaks to an :class:`Upstream` (a title
appears, an episode is released, "everything so far is handled", the user links their account,
a title is a favorite, a title airs on a weekday), and the driver turns that into what its fake
needs: v2 pushes socket frames beside its REST state and links by login and password; v1 changes
the AniLiberty fake, which the bot finds on its next poll, and links by a one-time code the user
"enters on the site".
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame

if TYPE_CHECKING:
    from tests.chat import Chat
    from tests.harness import BotProcess

__all__ = ["POLL_INTERVAL", "Facts", "Upstream", "V1Upstream", "V2Upstream"]

POLL_INTERVAL = 0.2  # seconds: v1 is polled this often in the tests
LOGIN_CODE_POLL = 0.2  # seconds: v1 asks this often whether a login code was entered
YEAR = 365 * 86400
_V2_KINDS = {"MOVIE": 0, "TV": 1, "OVA": 2, "ONA": 3, "SPECIAL": 4, "WEB": 5}
_V2_SEASONS = {"winter": 1, "spring": 2, "summer": 3, "autumn": 4}


def this_year() -> int:
    return dt.datetime.now(dt.UTC).year


@dataclass(frozen=True)
class Facts:
    """What a follow rule looks at: genres, voice actors, kind, season and year."""

    genres: tuple[str, ...] = ("Приключения",)
    voices: tuple[str, ...] = ("Voicer",)
    kind: str = "TV"
    season: str = "winter"
    year: int = field(default_factory=this_year)
    episodes: int = 1


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
        self,
        title_id: int,
        code: str,
        name_ru: str,
        name_en: str,
        *,
        episodes: int = 3,
        facts: Facts | None = None,
    ) -> None:
        """A title of the catalogue as it stands (added long ago)."""
        ...

    async def new_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        """A title new on AniLibria appears now (and, where the API pushes, is pushed)."""
        ...

    async def old_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        """An old title the bot never saw is touched now (a re-upload): it is not new."""
        ...

    async def add_voice(self, title_id: int, name: str) -> None:
        """A voice actor joins a title (and the change is pushed or bumped)."""
        ...

    def add_video(self, title: str) -> None:
        """AniLibria publishes a video now."""
        ...

    def video_polls(self) -> int:
        """How often the bot has read the latest videos."""
        ...

    def preview_requests(self) -> list[str]:
        """What the bot asked the API's filtering with (v2: advancedSearch queries; v1: the
        catalogue's query strings)."""
        ...

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
        title = self.fake.rest.make_title(999_999, "barrier-title", "Барьер", "Barrier", year=1999)
        await self.fake.ws.push(
            {"type": "title_update", "title_update": {"hash": marker, "title": title, "diff": {}}}
        )
        await poll(
            lambda: bot.db("SELECT 1 FROM seen_hashes WHERE hash = ?", (marker,)),
            timeout=timeout,
            message="the socket barrier",
        )

    def _make(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts, *, age: int = 0
    ) -> dict[str, Any]:
        """A v2 title with these facts; its episodes were uploaded `age` seconds ago."""
        now = int(time.time())
        title = self.fake.rest.make_title(
            title_id,
            code,
            name_ru,
            name_en,
            episodes=facts.episodes,
            year=facts.year,
            season_code=_V2_SEASONS[facts.season],
            genres=facts.genres,
            updated=now,
        )
        title["type"]["code"] = _V2_KINDS.get(facts.kind)
        title["type"]["string"] = facts.kind
        title["team"]["voice"] = list(facts.voices)
        for episode in title["player"]["playlist"].values():
            episode["created_timestamp"] -= age
        return title

    async def _push(self, title: dict[str, Any]) -> None:
        frame = {"hash": f"t-{time.monotonic_ns()}", "title": title, "diff": {}}
        await self.fake.ws.push({"type": "title_update", "title_update": frame})

    def add_title(
        self,
        title_id: int,
        code: str,
        name_ru: str,
        name_en: str,
        *,
        episodes: int = 3,
        facts: Facts | None = None,
    ) -> None:
        facts = facts or Facts(episodes=episodes)
        self.fake.rest.add_title(self._make(title_id, code, name_ru, name_en, facts, age=YEAR))

    async def new_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        await self._push(
            self.fake.rest.add_title(self._make(title_id, code, name_ru, name_en, facts))
        )

    async def old_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        title = self._make(title_id, code, name_ru, name_en, facts, age=3 * YEAR)
        await self._push(self.fake.rest.add_title(title))

    async def add_voice(self, title_id: int, name: str) -> None:
        title = self.fake.rest.titles[title_id]
        title["team"]["voice"].append(name)
        title["updated"] = int(time.time())
        await self._push(title)

    def add_video(self, title: str) -> None:
        videos = self.fake.rest.youtube
        new_id = max((v["id"] for v in videos), default=340) + 1
        videos.append(
            {
                "id": new_id,
                "title": title,
                "image": f"https://img.youtube.com/vi/new{new_id}/0.jpg",
                "youtube_id": f"new{new_id}",
                "timestamp": int(time.time()),
            }
        )

    def video_polls(self) -> int:
        return self.fake.rest.count("getYouTube")

    def preview_requests(self) -> list[str]:
        return [
            query["query"]
            for _method, path, query in self.fake.rest.requests
            if path.endswith("/advancedSearch")
        ]

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

    def _add(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts, created: float
    ) -> None:
        self.fake.add_release(
            title_id,
            code,
            name_ru,
            name_en,
            episodes=facts.episodes,
            genres=facts.genres,
            voices=facts.voices,
            type=facts.kind,
            season=facts.season,
            year=facts.year,
            created_at=created,
        )

    def add_title(
        self,
        title_id: int,
        code: str,
        name_ru: str,
        name_en: str,
        *,
        episodes: int = 3,
        facts: Facts | None = None,
    ) -> None:
        facts = facts or Facts(episodes=episodes)
        self._add(title_id, code, name_ru, name_en, facts, time.time() - YEAR)

    async def new_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        self._add(title_id, code, name_ru, name_en, facts, time.time())

    async def old_title(
        self, title_id: int, code: str, name_ru: str, name_en: str, facts: Facts
    ) -> None:
        self._add(title_id, code, name_ru, name_en, facts, time.time() - 3 * YEAR)

    async def add_voice(self, title_id: int, name: str) -> None:
        self.fake.add_member(title_id, name)

    def add_video(self, title: str) -> None:
        self.fake.add_video(title)

    def video_polls(self) -> int:
        return self.fake.count("/media/videos")

    def preview_requests(self) -> list[str]:
        return [
            "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
            for request in self.fake.requests_to("/anime/catalog/releases")
        ]

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
