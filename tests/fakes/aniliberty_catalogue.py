"""The releases, episodes, torrents, videos and schedule of the fake AniLiberty API v1.

Private to :mod:`tests.fakes.aniliberty`: :class:`CatalogueMixin` holds the state and the
control methods tests call, and renders the views the endpoints answer with.

Each release is kept in the full shape of ``release_10292.json`` (``episodes``, ``torrents``...
inside; torrents without their nested ``release``, added when rendered). Every change takes a
time from :meth:`CatalogueMixin._tick`: now, but always at least a second after the last one,
so ``fresh_at`` (whole seconds) orders every bump even within one second.
"""

from __future__ import annotations

import copy
import random
import time
from typing import Any

from tests.fakes.aniliberty_data import (
    NESTED,
    load_fixture,
    make_episode,
    make_torrent,
    new_uuid,
    number,
    parse_iso,
)

__all__ = ["DEFAULT_IDS", "FILLER_BASE_ID", "UNSET", "CatalogueMixin", "order_episodes"]

DEFAULT_IDS = (10292, 10293, 10281, 10290, 10227, 10234, 10251, 10270, 10171, 10241)
FILLER_BASE_ID = 900_000
UNSET: Any = object()
_WEEK = 7 * 24 * 3600


class CatalogueMixin:
    """Releases and their parts; the control API of the catalogue."""

    def _init_catalogue(self, *, load_real: bool, seed: int) -> None:
        self.rng = random.Random(seed)
        self.releases: dict[int, dict[str, Any]] = {}
        self.genres: dict[int, dict[str, Any]] = {}
        self.videos: list[dict[str, Any]] = []
        self.schedule_overrides: dict[int, dict[str, Any]] = {}
        self._clock = 0
        self._next_torrent_id = 40139
        self._fillers: list[int] = []
        if load_real:
            self._load_captures()

    # -- time ----------------------------------------------------------------------------------

    def _tick(self) -> int:
        self._clock = max(int(time.time()), self._clock + 1)
        return self._clock

    # -- defaults from the captures ------------------------------------------------------------

    def _load_captures(self) -> None:
        latest: list[dict[str, Any]] = load_fixture("releases_latest_limit10.json")
        full: dict[str, Any] = load_fixture("release_10292.json")
        older = load_fixture("catalog_releases_page1_limit3.json")["data"]
        for release in [*older, full, *latest]:  # newer captures win
            for genre in release.get("genres") or []:
                self.genres[genre["id"]] = copy.deepcopy(genre)
        for item in latest:
            if item["id"] == full["id"]:  # the full capture (a few counters differ)
                record = copy.deepcopy(full)
                for torrent in record["torrents"]:
                    del torrent["release"]
            else:
                record = {k: v for k, v in item.items() if k != "latest_episode"}
                record.update(background_covers=[], members=[], sponsors=[], torrents=[])
                record["episodes"] = self._history(item["id"], item["latest_episode"])
            self.releases[record["id"]] = record
            if not record["torrents"] and record["episodes"]:
                last = record["episodes"][-1]
                self._new_torrent(
                    record, episodes=f"1-{last['ordinal']}", ts=parse_iso(last["updated_at"])
                )
            self._clock = max(self._clock, parse_iso(record["fresh_at"]))
            self._clock = max(self._clock, parse_iso(record["updated_at"]))
        self.videos = load_fixture("media_videos_limit10.json")

    def _history(self, release_id: int, latest: dict[str, Any]) -> list[dict[str, Any]]:
        """Episodes 1..n-1 made up a week apart before the captured latest episode n."""
        last_ts = parse_iso(latest["updated_at"])
        earlier = [n for n in range(1, int(latest["ordinal"])) if n < latest["ordinal"]]
        episodes = [
            make_episode(
                release_id,
                n,
                episode_id=new_uuid(self.rng),
                playable=True,
                ts=last_ts - (len(earlier) + 1 - n) * _WEEK,
                rng=self.rng,
            )
            for n in earlier
        ]
        episodes.append(copy.deepcopy(latest))
        order_episodes(episodes)
        return episodes

    # -- lookups -------------------------------------------------------------------------------

    def release(self, ref: int | str) -> dict[str, Any] | None:
        """The stored release (live: changes show in later answers) by id or alias."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self.releases.get(int(ref))
        return next((r for r in self.releases.values() if r["alias"] == ref), None)

    def _get(self, release_id: int) -> dict[str, Any]:
        release = self.releases.get(release_id)
        if release is None:
            raise KeyError(f"no release {release_id}")
        return release

    def _episode(self, release: dict[str, Any], episode_id: str) -> dict[str, Any]:
        episode: dict[str, Any]
        for episode in release["episodes"]:
            if episode["id"] == episode_id:
                return episode
        raise KeyError(f"release {release['id']} has no episode {episode_id}")

    def torrent(self, ref: int | str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(release, torrent)`` for a torrent id or hash."""
        for release in self.releases.values():
            for torrent in release["torrents"]:
                if str(torrent["id"]) == str(ref) or (ref and torrent["hash"] == str(ref).lower()):
                    return release, torrent
        return None

    def by_fresh(self) -> list[dict[str, Any]]:
        """Every release, newest ``fresh_at`` first (the order of ``/latest``)."""
        return sorted(
            self.releases.values(), key=lambda r: (parse_iso(r["fresh_at"]), r["id"]), reverse=True
        )

    def _new_torrent(self, release: dict[str, Any], *, ts: int, **kwargs: Any) -> dict[str, Any]:
        torrent = make_torrent(
            self._next_torrent_id,
            release,
            quality=kwargs.get("quality", "1080p"),
            kind=kwargs.get("type", "WEBRip"),
            episodes=kwargs.get("episodes", "1-12"),
            codec=kwargs.get("codec", "x264/AVC"),
            ts=ts,
            rng=self.rng,
        )
        self._next_torrent_id += 1
        release["torrents"].append(torrent)
        return torrent

    # -- views ---------------------------------------------------------------------------------

    def plain(self, release: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in release.items() if k not in NESTED})

    def listed(self, release: dict[str, Any]) -> dict[str, Any]:
        return {**self.plain(release), "genres": copy.deepcopy(release["genres"])}

    def with_latest(self, release: dict[str, Any]) -> dict[str, Any]:
        episodes = release["episodes"]
        latest = copy.deepcopy(episodes[-1]) if episodes else None
        return {**self.listed(release), "latest_episode": latest}

    def full(self, release: dict[str, Any]) -> dict[str, Any]:
        out = self.listed(release)
        for key in ("background_covers", "members", "sponsors", "episodes"):
            out[key] = copy.deepcopy(release[key])
        out["torrents"] = [self.torrent_view(release, t) for t in release["torrents"]]
        return out

    def torrent_view(self, release: dict[str, Any], torrent: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(torrent), "release": self.plain(release)}

    def genre_list(self) -> list[dict[str, Any]]:
        counts: dict[int, int] = {}
        for release in self.releases.values():
            for genre in release["genres"]:
                counts[genre["id"]] = counts.get(genre["id"], 0) + 1
        out = []
        for genre_id in sorted(self.genres):
            genre = copy.deepcopy(self.genres[genre_id])
            genre["total_releases"] = max(genre.get("total_releases") or 0, counts.get(genre_id, 0))
            out.append(genre)
        return out

    def schedule_items(self, now: float | None = None) -> list[dict[str, Any]]:
        """``/anime/schedule/week``: releases in production (or forced by set_schedule)."""
        now = time.time() if now is None else now
        items = []
        for release in self.by_fresh():
            override = self.schedule_overrides.get(release["id"], {})
            listed = override.get("listed")
            if listed is False or (listed is None and not release["is_in_production"]):
                continue
            episodes = release["episodes"]
            last = episodes[-1] if episodes else None
            recent = last is not None and parse_iso(last["updated_at"]) >= now - _WEEK
            total = release["episodes_total"]
            full_season = bool(total and last and last["ordinal"] >= total)
            full_season = override.get("full_season_is_released", full_season)
            upcoming = None if full_season else (int(last["ordinal"]) + 1 if last else 1)
            items.append(
                {
                    "release": self.plain(release),
                    "full_season_is_released": full_season,
                    "published_release_episode": copy.deepcopy(last) if recent else None,
                    "next_release_episode_number": override.get(
                        "next_release_episode_number", upcoming
                    ),
                }
            )
        items.sort(key=lambda item: item["release"]["publish_day"]["value"])
        return items


def order_episodes(episodes: list[dict[str, Any]]) -> None:
    """Episodes by ordinal; ``sort_order`` their 1-based place (= the ordinal in captures)."""
    episodes.sort(key=lambda e: e["ordinal"])
    for place, episode in enumerate(episodes, start=1):
        episode["sort_order"] = place
        episode["ordinal"] = number(episode["ordinal"])
