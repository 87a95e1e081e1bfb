"""Names of the things follow rules speak of, in the reader's language: seasons, kinds of
titles, and a rule as one line."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _

__all__ = ["describe_rule", "kind_name", "season_name"]


def season_name(season: str | None) -> str:
    names = {
        "winter": _("winter"),
        "spring": _("spring"),
        "summer": _("summer"),
        "autumn": _("autumn"),
    }
    return names.get(season or "", season or "?")


def kind_name(kind: str | None) -> str:
    names = {
        "TV": _("TV series"),
        "MOVIE": _("movie"),
        "OVA": "OVA",
        "ONA": "ONA",
        "SPECIAL": _("special"),
        "WEB": _("web series"),
        "OTHER": _("other kind"),
    }
    return names.get(kind or "", kind or "?")


def describe_rule(
    genres: Sequence[str],
    voices: Sequence[str],
    kind: str | None,
    season: str | None,
    year: int | None,
) -> str:
    """A rule as plain text: "genre Comedy + voice Anzen + TV series + spring 2024"."""
    parts = [_("genre {name}").format(name=g) for g in genres]
    parts += [_("voice {name}").format(name=v) for v in voices]
    if kind:
        parts.append(kind_name(kind))
    if season:
        parts.append(f"{season_name(season)} {year}" if year else season_name(season))
    elif year:
        parts.append(str(year))
    return " + ".join(parts) if parts else _("every new title")
