"""``advancedSearch`` queries made from a follow rule, in the v2 query language.

The query is built from the structured rule, never from a user's raw text, and never uses
``~=`` (a regular expression). Keys are the API's own (``{genres}``, ``{team.voice}``,
``{type.code}``, ``{season.code}``, ``{season.year}``); every string value is a literal written
as a JSON string (backslashes, double quotes and control characters escaped) whose braces are
written ``\\u007b``/``\\u007d``: a value can neither end its literal early nor name a key.
Numbers are formatted from ints. Parts are joined with ``and``: a rule's parts must all hold.
"""

from __future__ import annotations

import json

from bot.anilibria._types import TitleFilter, TitleKind

__all__ = ["EVERYTHING", "build_query", "literal"]

# v2's type.code and season.code (see _convert: the same tables, the other way round).
_KIND_CODES = {
    TitleKind.MOVIE: 0,
    TitleKind.TV: 1,
    TitleKind.OVA: 2,
    TitleKind.ONA: 3,
    TitleKind.SPECIAL: 4,
    TitleKind.WEB: 5,
}
_SEASON_CODES = {"winter": 1, "spring": 2, "summer": 3, "autumn": 4}
EVERYTHING = "{id} > 0"  # the API requires a query; a rule without parts asks for every title


def literal(value: str) -> str:
    """A string literal of the query language that stands for `value` and nothing else."""
    return json.dumps(value, ensure_ascii=False).replace("{", "\\u007b").replace("}", "\\u007d")


def build_query(rule: TitleFilter) -> str:
    clauses = [f"{literal(genre)} in {{genres}}" for genre in rule.genres]
    clauses += [f"{literal(voice)} in {{team.voice}}" for voice in rule.voices]
    if rule.kind is not None:
        code = _KIND_CODES.get(rule.kind)
        if code is None:  # OTHER: none of the kinds v2 names
            known = ", ".join(str(c) for c in sorted(_KIND_CODES.values()))
            clauses.append(f"{{type.code}} not in ({known})")
        else:
            clauses.append(f"{{type.code}} == {code}")
    if rule.season is not None and rule.season in _SEASON_CODES:
        clauses.append(f"{{season.code}} == {_SEASON_CODES[rule.season]}")
    if rule.year is not None:
        clauses.append(f"{{season.year}} == {int(rule.year)}")
    return " and ".join(clauses) or EVERYTHING
