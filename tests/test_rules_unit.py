"""Follow rules in pieces: the v2 query text and its escaping (read back by the fake's parser of
the query language), terms and what matches, what "new" means, the typed form, the closest
names, and the export file's reading and writing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.anilibria import Title, TitleFilter, TitleKind
from bot.anilibria.v2._query import EVERYTHING, build_query, literal
from bot.handlers.rule_text import RuleSyntaxError, closest, parse_rule, resolve
from bot.handlers.transfer_format import MAX_BYTES, ImportError_, read_export
from bot.notify.rules import NEW_WINDOW, is_new_title, rule_terms, title_terms
from tests.fakes.anilibria_query import QueryError, compile_query

NOW = 1_800_000_000
BASELINE = NOW - 10 * 86400


def v2_title(**fields: object) -> dict[str, object]:
    title: dict[str, object] = {
        "id": 1,
        "genres": ['Ко"ме{ди}я', "Драма"],
        "team": {"voice": ["Anzen", "Back\\slash"]},
        "type": {"code": 1},
        "season": {"code": 2, "year": 2026},
    }
    title.update(fields)
    return title


# -- the v2 query ------------------------------------------------------------------------------


def test_literal_escapes_quotes_backslashes_braces_and_control_characters() -> None:
    assert literal('a"b') == '"a\\"b"'
    assert literal("a\\b") == '"a\\\\b"'
    assert literal("{names.ru}") == '"\\u007bnames.ru\\u007d"'
    assert literal("line\nbreak") == '"line\\nbreak"'
    assert literal("Комедия") == '"Комедия"'
    for nasty in ('"} or {id} > 0 or {"', 'x" or 1 == 1 or "', "{genres}", "\\", '\\"'):
        text = literal(nasty)
        assert "{" not in text and "}" not in text
        assert json.loads(text) == nasty  # exactly one string literal, whatever the value


def test_query_of_each_rule_kind() -> None:
    assert build_query(TitleFilter(genres=("Комедия",))) == '"Комедия" in {genres}'
    assert build_query(TitleFilter(voices=("Anzen",))) == '"Anzen" in {team.voice}'
    assert build_query(TitleFilter(kind=TitleKind.MOVIE)) == "{type.code} == 0"
    assert build_query(TitleFilter(kind=TitleKind.OTHER)) == (
        "{type.code} not in (0, 1, 2, 3, 4, 5)"
    )
    assert build_query(TitleFilter(season="autumn", year=2025)) == (
        "{season.code} == 4 and {season.year} == 2025"
    )
    assert build_query(TitleFilter()) == EVERYTHING
    combined = TitleFilter(genres=("A", "B"), voices=("V",), kind=TitleKind.TV)
    assert build_query(combined) == (
        '"A" in {genres} and "B" in {genres} and "V" in {team.voice} and {type.code} == 1'
    )
    regex_like = build_query(TitleFilter(genres=("~= .*",)))  # a value, never the operator
    assert regex_like == '"~= .*" in {genres}'
    assert not compile_query(regex_like)({"genres": ["Комедия"]})


def test_the_fake_reads_the_escaped_values_back_exactly() -> None:
    title = v2_title()
    matching = TitleFilter(
        genres=('Ко"ме{ди}я',),
        voices=("Back\\slash",),
        kind=TitleKind.TV,
        season="spring",
        year=2026,
    )
    assert compile_query(build_query(matching))(title)
    for other in (
        TitleFilter(genres=('Ко"ме',)),
        TitleFilter(genres=("ди",)),
        TitleFilter(voices=("Back",)),
        TitleFilter(kind=TitleKind.MOVIE),
        TitleFilter(season="spring", year=2025),
    ):
        assert not compile_query(build_query(other))(title), other
    injected = TitleFilter(genres=('"} or {id} > 0 or {"',))
    assert not compile_query(build_query(injected))(title)
    assert compile_query(EVERYTHING)(title)


def test_the_fake_refuses_regular_expressions_and_garbage() -> None:
    for bad in ('{genres} ~= "Ком.*"', "{genres} in", "drop table", '"unterminated in {genres}'):
        with pytest.raises(QueryError):
            compile_query(bad)


# -- terms -------------------------------------------------------------------------------------


def title(**fields: object) -> Title:
    base: dict[str, object] = {
        "id": 5,
        "genres": ("Комедия", "Драма"),
        "voices": ("Anzen",),
        "kind": TitleKind.TV,
        "season": "spring",
        "year": 2026,
    }
    base.update(fields)
    return Title(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        (TitleFilter(genres=("комедия",)), True),
        (TitleFilter(genres=("Комедия", "Драма")), True),
        (TitleFilter(genres=("Комедия", "Ужасы")), False),
        (TitleFilter(voices=("ANZEN",)), True),
        (TitleFilter(voices=("Other",)), False),
        (TitleFilter(kind=TitleKind.TV), True),
        (TitleFilter(kind=TitleKind.MOVIE), False),
        (TitleFilter(season="spring", year=2026), True),
        (TitleFilter(season="spring", year=2025), False),
        (TitleFilter(season="winter", year=2026), False),
        (TitleFilter(), True),
        (TitleFilter(genres=("Драма",), voices=("Anzen",), kind=TitleKind.TV), True),
        (TitleFilter(genres=("Драма",), voices=("Anzen",), kind=TitleKind.OVA), False),
    ],
)
def test_terms_agree_with_the_filter(rule: TitleFilter, matches: bool) -> None:
    shown = title()
    assert rule.matches(shown) is matches
    assert (set(rule_terms(rule)) <= set(title_terms(shown))) is matches


def test_a_title_without_voices_matches_no_voice_rule() -> None:
    assert not set(rule_terms(TitleFilter(voices=("Anzen",)))) <= set(title_terms(title(voices=())))


# -- what "new" means --------------------------------------------------------------------------


def test_new_by_creation_time() -> None:
    def judge(created: int, first_seen: int = NOW) -> bool:
        shown = title(created_at=created, year=2010)
        return is_new_title(shown, first_seen=first_seen, baseline=BASELINE, now=NOW)

    assert judge(NOW - 60)
    assert judge(BASELINE)
    assert not judge(BASELINE - 1)  # before the bot started: the catalogue
    assert not judge(NOW - NEW_WINDOW - 1, first_seen=BASELINE - 100)


def test_new_without_a_creation_time() -> None:
    year = dt.datetime.fromtimestamp(NOW, dt.UTC).year

    def judge(**fields: object) -> bool:
        shown = title(**fields)
        return is_new_title(shown, first_seen=NOW, baseline=BASELINE, now=NOW)

    assert judge(year=year, updated_at=NOW)
    assert judge(year=year - 1, updated_at=NOW)
    assert not judge(year=year - 3, updated_at=NOW)  # an old series touched
    assert not judge(year=year, updated_at=BASELINE - 5)  # changed before the bot started
    assert not is_new_title(title(year=year), first_seen=BASELINE - 1, baseline=BASELINE, now=NOW)


# -- the typed form and names ------------------------------------------------------------------


def test_parse_rule() -> None:
    draft = parse_rule("genre Боевые искусства type tv")
    assert draft.genres == ["Боевые искусства"] and draft.kind == "TV"
    draft = parse_rule("жанр Комедия голос Anzen сезон весна 2026")
    assert (draft.genres, draft.voices, draft.season, draft.year) == (
        ["Комедия"],
        ["Anzen"],
        "spring",
        2026,
    )
    assert parse_rule("new").genres == []
    assert parse_rule("season fall 2025").season == "autumn"
    for bad in ("comedy", "genre", "type cartoon", "season spring", "season spring 20x5", "new x"):
        with pytest.raises(RuleSyntaxError):
            parse_rule(bad)


def test_names_are_matched_case_insensitively_and_the_closest_offered() -> None:
    known = ["Комедия", "Романтика", "Боевые искусства", "Драма"]
    assert resolve("комедия", known) == "Комедия"
    assert resolve("боевые  ИСКУССТВА", known) == "Боевые искусства"
    assert resolve("Комеди", known) is None
    assert closest("Комеди", known)[0] == "Комедия"
    assert closest("боев", known) == ["Боевые искусства"]
    assert closest("zzzz", known) == []


# -- the export file ---------------------------------------------------------------------------


def exported(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": "anilibria-bot",
        "version": 1,
        "settings": {"language": "en", "timezone": "Asia/Tokyo", "notices": ["episode"]},
        "subscriptions": [{"id": 7, "code": "seven", "name": "Семь"}],
        "rules": [{"genres": ["Комедия"], "type": "TV"}],
    }
    data.update(changes)
    return data


def reason_of(raw: bytes) -> str:
    with pytest.raises(ImportError_) as caught:
        read_export(raw)
    return caught.value.reason


def test_read_export_accepts_its_own_format() -> None:
    parsed = read_export(json.dumps(exported()).encode())
    assert parsed.subscriptions[0].id == 7 and parsed.rules[0].type == "TV"


def test_read_export_refuses_what_is_not_its_own() -> None:
    assert reason_of(b"\x89PNG\r\n") == "json"
    assert reason_of(b"[1, 2") == "json"
    assert reason_of(b"[" * 100_000) == "json"
    assert reason_of(json.dumps({"subscriptions": []}).encode()) == "foreign"
    assert reason_of(json.dumps(exported(format="other-bot")).encode()) == "foreign"
    assert reason_of(json.dumps(exported(version=2)).encode()) == "newer"
    assert reason_of(b" " * (MAX_BYTES + 1)) == "size"
    assert reason_of(json.dumps(exported(subscriptions=[{"id": -1}])).encode()) == "invalid"
    assert reason_of(json.dumps(exported(rules=[{"type": "CARTOON"}])).encode()) == "invalid"
    bad_season = exported(rules=[{"season": "spring"}])  # a season needs its year
    assert reason_of(json.dumps(bad_season).encode()) == "invalid"
    bad_time = exported(settings={"notices": [], "digest": {"time": "25:99"}})
    assert reason_of(json.dumps(bad_time).encode()) == "invalid"
