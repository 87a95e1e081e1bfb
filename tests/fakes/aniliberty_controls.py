"""The control API of the fake AniLiberty catalogue: what tests call to change it.

Private to :mod:`tests.fakes.aniliberty`. Every change takes its time from ``_tick()`` (now, yet
always a second after the previous change), so ``fresh_at`` orders every bump.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tests.fakes.aniliberty_catalogue import (
    FILLER_BASE_ID,
    UNSET,
    CatalogueMixin,
    order_episodes,
)
from tests.fakes.aniliberty_data import (
    hls,
    iso,
    make_episode,
    make_genre,
    make_member,
    make_release,
    new_uuid,
    torrent_names,
)

__all__ = ["CatalogueControls"]

# the season a month falls in (for add_release's default)
_SEASONS = (
    *("winter", "winter", "spring", "spring", "spring", "summer"),
    *("summer", "summer", "autumn", "autumn", "autumn", "winter"),
)


class CatalogueControls(CatalogueMixin):
    """Releases, episodes, torrents, videos and the schedule, as tests set them up."""

    # -- control: releases ---------------------------------------------------------------------

    def add_release(
        self,
        id: int,
        alias: str,
        name_main: str,
        name_english: str | None = None,
        *,
        episodes: int | Iterable[float] = 0,
        genres: Iterable[str | int] = (),
        type: str = "TV",
        year: int | None = None,
        season: str | None = None,
        voices: Iterable[str] = (),
        publish_day: int | None = None,
        in_production: bool = True,
        ongoing: bool | None = None,
        notification: str | None = None,
        episodes_total: int | None = None,
        description: str | None = None,
        torrents: int | Iterable[str | dict[str, Any]] | None = None,
        created_at: float | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a release; it becomes the freshest. Returns the stored record.
        ``created_at``: when the catalogue got it (default now; earlier for an old release
        that is only now bumped)."""
        ts = self._tick()
        today = datetime.fromtimestamp(ts, UTC)
        record = make_release(
            id,
            alias,
            name_main,
            name_english,
            kind=type,
            year=year or today.year,
            season=season or _SEASONS[today.month - 1],
            publish_day=publish_day or today.isoweekday(),
            in_production=in_production,
            ongoing=in_production if ongoing is None else ongoing,
            notification=notification,
            episodes_total=episodes_total,
            description=description if description is not None else f"Описание: {name_main}",
            ts=ts,
            rng=self.rng,
        )
        if created_at is not None:
            record["created_at"] = iso(created_at)
        record["genres"] = [copy.deepcopy(self._genre(g)) for g in genres]
        record["members"] = [make_member(nick, self.rng) for nick in voices]
        ordinals = list(range(1, episodes + 1)) if isinstance(episodes, int) else list(episodes)
        record["episodes"] = [
            make_episode(id, n, episode_id=new_uuid(self.rng), playable=True, ts=ts, rng=self.rng)
            for n in ordinals
        ]
        order_episodes(record["episodes"])
        self.releases[id] = record
        if torrents is None:
            torrents = [{"episodes": _span(record)}] if ordinals else []
        elif isinstance(torrents, int):
            torrents = [{"episodes": _span(record)}] * torrents
        for spec in torrents:
            kwargs = {"quality": spec} if isinstance(spec, str) else dict(spec)
            kwargs.setdefault("episodes", _span(record))
            self.add_torrent(id, **kwargs)
        return record

    def add_member(
        self, release_id: int, nickname: str, *, role: str = "voicing", bump: bool = True
    ) -> None:
        """A team member (a voice actor by default) joins the release."""
        release = self._get(release_id)
        release["members"].append(make_member(nickname, self.rng, role))
        self._touch(release, bump)

    def remove_release(self, release_id: int) -> None:
        self.releases.pop(release_id, None)

    def _genre(self, ref: str | int) -> dict[str, Any]:
        if isinstance(ref, int):
            return self.genres[ref]
        for genre in self.genres.values():
            if genre["name"].lower() == ref.lower():
                return genre
        genre_id = max(self.genres, default=0) + 1
        self.genres[genre_id] = make_genre(genre_id, ref, self.rng)
        return self.genres[genre_id]

    def bump(self, release_id: int) -> str:
        """``fresh_at`` = now (strictly later than any earlier change). Returns it."""
        release = self._get(release_id)
        release["fresh_at"] = iso(self._tick())
        return str(release["fresh_at"])

    def bump_many(self, n: int) -> list[int]:
        """Push ``n`` filler releases (ids from 900000, alias ``filler-<k>``) to the top, each
        with a new episode; fillers from earlier calls are bumped again before new ones are
        made. Other releases are left alone. Returns the ids, the freshest last."""
        ids: list[int] = []
        for k in range(n):
            if k < len(self._fillers) and self._fillers[k] in self.releases:
                release = self.releases[self._fillers[k]]
                last = release["episodes"][-1]["ordinal"] if release["episodes"] else 0
                self.add_episode(release["id"], int(last) + 1)
            else:
                filler_id = FILLER_BASE_ID + k
                self.add_release(
                    filler_id,
                    f"filler-{k}",
                    f"Заполнитель {k}",
                    f"Filler {k}",
                    episodes=1,
                    torrents=0,
                )
                if k < len(self._fillers):
                    self._fillers[k] = filler_id
                else:
                    self._fillers.append(filler_id)
            ids.append(self._fillers[k])
        return ids

    def set_in_production(
        self, release_id: int, value: bool, *, ongoing: bool | None = None, bump: bool = False
    ) -> None:
        """``is_in_production`` (and ``is_ongoing`` when given); ``updated_at`` moves,
        ``fresh_at`` only with ``bump``."""
        release = self._get(release_id)
        release["is_in_production"] = value
        if ongoing is not None:
            release["is_ongoing"] = ongoing
        self._touch(release, bump)

    def set_notification(self, release_id: int, text: str | None, *, bump: bool = False) -> None:
        release = self._get(release_id)
        release["notification"] = text
        self._touch(release, bump)

    def _touch(self, release: dict[str, Any], bump: bool) -> int:
        ts = self._tick()
        release["updated_at"] = iso(ts)
        if bump:
            release["fresh_at"] = iso(ts)
        return ts

    # -- control: episodes ---------------------------------------------------------------------

    def add_episode(
        self,
        release_id: int,
        ordinal: float,
        *,
        playable: bool = True,
        episode_id: str | None = None,
        name: str | None = None,
        bump: bool = True,
    ) -> str:
        """A new episode (a new UUID); ``fresh_at`` and ``latest_episode`` move like on the
        site. Returns the episode id. An existing ordinal: use :meth:`reupload`."""
        release = self._get(release_id)
        if any(e["ordinal"] == ordinal for e in release["episodes"]):
            raise ValueError(f"release {release_id} already has episode {ordinal}; reupload()")
        ts = self._touch(release, bump)
        episode = make_episode(
            release_id,
            ordinal,
            episode_id=episode_id or new_uuid(self.rng),
            playable=playable,
            ts=ts,
            rng=self.rng,
        )
        episode["name"] = name
        release["episodes"].append(episode)
        order_episodes(release["episodes"])
        return str(episode["id"])

    def make_playable(self, release_id: int, episode_id: str, *, bump: bool = True) -> None:
        """Give an episode its three ``hls_*`` links (a video that finished encoding)."""
        release = self._get(release_id)
        episode = self._episode(release, episode_id)
        ts = self._touch(release, bump)
        episode.update(hls(release_id, episode["ordinal"], self.rng), updated_at=iso(ts))

    def reupload(self, release_id: int, ordinal: float, *, bump: bool = True) -> str:
        """The same ordinal under a new UUID with new video links. Returns the new id."""
        release = self._get(release_id)
        episode = next((e for e in release["episodes"] if e["ordinal"] == ordinal), None)
        if episode is None:
            raise KeyError(f"release {release_id} has no episode {ordinal}")
        ts = self._touch(release, bump)
        episode.update(hls(release_id, ordinal, self.rng), id=new_uuid(self.rng))
        episode["updated_at"] = iso(ts)
        return str(episode["id"])

    # -- control: torrents ---------------------------------------------------------------------

    def add_torrent(
        self,
        release_id: int,
        quality: str = "1080p",
        type: str = "WEBRip",
        episodes: str = "1-12",
        *,
        codec: str = "x264/AVC",
        bump: bool = False,
    ) -> int:
        """A new torrent of the release. Returns its id (ids never repeat)."""
        release = self._get(release_id)
        ts = self._touch(release, bump)
        torrent = self._new_torrent(
            release, ts=ts, quality=quality, type=type, episodes=episodes, codec=codec
        )
        return int(torrent["id"])

    def update_torrent(
        self,
        torrent_id: int,
        *,
        episodes: str | None = None,
        hash_only: bool = False,
        bump: bool = False,
    ) -> dict[str, Any]:
        """Refresh a torrent under the same id: a new infohash and magnet always; with
        ``episodes`` a new range (label, filename, a bigger size); ``updated_at`` moves unless
        ``hash_only``, which changes nothing but the hash and the magnet."""
        found = self.torrent(torrent_id)
        if found is None:
            raise KeyError(f"no torrent {torrent_id}")
        release, torrent = found
        torrent["hash"] = f"{self.rng.getrandbits(160):040x}"
        if not hash_only:
            ts = self._touch(release, bump)
            torrent["updated_at"] = iso(ts)
            if episodes is not None:
                torrent["description"] = episodes
                torrent["size"] += 100_000_000 + self.rng.randrange(100_000_000)
        torrent_names(release, torrent)
        return torrent

    # -- control: videos and schedule ----------------------------------------------------------

    def add_video(
        self,
        title: str,
        *,
        video_id: str | None = None,
        is_announce: bool = False,
        views: int = 0,
    ) -> dict[str, Any]:
        """A new YouTube video on top of ``/media/videos`` (shape of the capture)."""
        video_id = video_id or "".join(
            self.rng.choice("abcdefghXYZ0123456789_-") for _ in range(11)
        )
        new_id = max((v["id"] for v in self.videos), default=1000) + 1
        template = copy.deepcopy(self.videos[0]) if self.videos else {"origin": None}
        now = iso(self._tick())
        folder = f"/storage/media/videos/previews/{new_id}"
        video = {
            "id": new_id,
            "url": f"https://www.youtube.com/watch?v={video_id}",
            "title": title,
            "views": views,
            "image": {
                "preview": f"{folder}/p.jpg",
                "thumbnail": f"{folder}/t.jpg",
                "optimized": {"preview": f"{folder}/p.webp", "thumbnail": f"{folder}/t.webp"},
            },
            "comments": 0,
            "video_id": video_id,
            "created_at": now,
            "updated_at": now,
            "is_announce": is_announce,
            "origin": template.get("origin"),
        }
        self.videos.insert(0, video)
        return video

    def set_schedule(
        self,
        release_id: int,
        *,
        listed: bool | None = True,
        next_episode: int | None = UNSET,
        full_season: bool = UNSET,
    ) -> None:
        """Override a release's place in ``/anime/schedule/*``: ``listed`` True forces it in,
        False leaves it out, None goes back to the rule (in the schedule while
        ``is_in_production``); ``next_episode``/``full_season`` replace the computed values."""
        self._get(release_id)
        override: dict[str, Any] = {"listed": listed}
        if next_episode is not UNSET:
            override["next_release_episode_number"] = next_episode
        if full_season is not UNSET:
            override["full_season_is_released"] = full_season
        self.schedule_overrides[release_id] = override


def _span(release: dict[str, Any]) -> str:
    episodes = release["episodes"]
    if not episodes:
        return "1"
    first, last = episodes[0]["ordinal"], episodes[-1]["ordinal"]
    return f"{first}-{last}" if first != last else f"{first}"
