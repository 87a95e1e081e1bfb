"""The catalogue's filters and sortings (``f[...]`` in the query, or ``f`` in a JSON body).

Private to :mod:`tests.fakes.aniliberty`. Guesses: ``RATING_*`` sorts by
``added_in_users_favorites`` (``rating.average`` is null in every capture); several
``f[genres]`` keep releases having any of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.aniliberty_data import SEASON_LABELS, TYPE_LABELS, parse_iso
from tests.fakes.aniliberty_http import ApiError, int_param, validation_error

__all__ = ["SORTINGS", "catalog_filter", "haystack", "nested_query", "values"]

SORTINGS: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "FRESH_AT_DESC": (lambda r: parse_iso(r["fresh_at"]), True),
    "FRESH_AT_ASC": (lambda r: parse_iso(r["fresh_at"]), False),
    "RATING_DESC": (lambda r: r.get("added_in_users_favorites") or 0, True),
    "RATING_ASC": (lambda r: r.get("added_in_users_favorites") or 0, False),
    "YEAR_DESC": (lambda r: r.get("year") or 0, True),
    "YEAR_ASC": (lambda r: r.get("year") or 0, False),
}
_AGE_RATINGS = ("R0_PLUS", "R6_PLUS", "R12_PLUS", "R16_PLUS", "R18_PLUS")
_PUBLISH = ("IS_ONGOING", "IS_NOT_ONGOING")
_PRODUCTION = ("IS_IN_PRODUCTION", "IS_NOT_IN_PRODUCTION")
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def nested_query(request: web.Request, root: str) -> dict[str, Any]:
    """``f[years][from_year]=2020&f[genres][]=1`` as PHP reads it: nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in request.query.items():
        if not key.startswith(root + "["):
            continue
        parts = _BRACKETS.findall(key[len(root) :])
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                if isinstance(node, list):
                    node.append(value)
                break
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if parts[i + 1] == "" else {})
    return out


def values(raw: Any) -> list[str]:
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def haystack(release: dict[str, Any]) -> str:
    names = release.get("name") or {}
    parts = [names.get("main"), names.get("english"), names.get("alternative"), release["alias"]]
    return " ".join(p for p in parts if p).lower()


def catalog_filter(
    f: dict[str, Any],
) -> tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], Any], bool]:
    """The catalogue's ``f`` (query or JSON body): a predicate, a sort key, descending."""
    errors: dict[str, str] = {}
    sorting = str(f.get("sorting") or "FRESH_AT_DESC")
    if sorting not in SORTINGS:
        errors["f.sorting"] = "The selected f.sorting is invalid."
    genres: set[int] = set()
    for i, raw in enumerate(values(f.get("genres"))):
        if raw.isdigit():
            genres.add(int(raw))
        else:
            errors[f"f.genres.{i}"] = f"The f.genres.{i} field must be an integer."

    def enum(name: str, allowed: tuple[str, ...] | list[str]) -> set[str]:
        chosen = values(f.get(name))
        for i, value in enumerate(chosen):
            if value not in allowed:
                errors[f"f.{name}.{i}"] = f"The selected f.{name}.{i} is invalid."
        return set(chosen)

    types = enum("types", list(TYPE_LABELS))
    seasons = enum("seasons", list(SEASON_LABELS))
    ages = enum("age_ratings", _AGE_RATINGS)
    publish = enum("publish_statuses", _PUBLISH)
    production = enum("production_statuses", _PRODUCTION)
    raw_years = f.get("years")
    years: dict[str, Any] = raw_years if isinstance(raw_years, dict) else {}
    from_year = to_year = None
    try:
        from_year = int_param(years, "from_year", label="f.years.from_year")
    except ApiError as error:
        errors.update({k: v[0] for k, v in error.body["errors"].items()})
    try:
        to_year = int_param(years, "to_year", label="f.years.to_year")
    except ApiError as error:
        errors.update({k: v[0] for k, v in error.body["errors"].items()})
    search = str(f.get("search") or "").strip().lower()
    if errors:
        raise validation_error(errors)

    def keep(r: dict[str, Any]) -> bool:
        year = r.get("year") or 0
        checks = [
            not genres or bool(genres & {g["id"] for g in r["genres"]}),
            not types or r["type"]["value"] in types,
            not seasons or r["season"]["value"] in seasons,
            not ages or r["age_rating"]["value"] in ages,
            not publish or ("IS_ONGOING" if r["is_ongoing"] else "IS_NOT_ONGOING") in publish,
            not production
            or ("IS_IN_PRODUCTION" if r["is_in_production"] else "IS_NOT_IN_PRODUCTION")
            in production,
            from_year is None or year >= from_year,
            to_year is None or year <= to_year,
            not search or search in haystack(r),
        ]
        return all(checks)

    key, descending = SORTINGS[sorting]
    return keep, key, descending
