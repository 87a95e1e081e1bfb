"""Follow rules: match one new title against 100,000 rules over 50,000 chats.

A temporary SQLite file (storage.connect, every migration) gets 50,000 private chats (new-title
notices on) and 100,000 rules, two a chat, written as the bot writes them (``rules`` and
``rule_terms`` from ``bot.notify.rules.rule_terms``). The mix, drawn with a fixed seed: 40 % one
genre, 10 % two genres, 20 % one voice actor, 10 % a genre and a kind, 8 % a kind, 7 % a season
and year, 5 % every new title; genres (40) and voice actors (60) are picked with Zipf weights,
so a few are very popular, as on the real site. A second file has the same chats and no rule.

Each file is then opened by a fresh process (``--measure``), as a restarted bot would, which
imports the matcher and storage (not aiogram) and matches new titles in turn, from the most
popular genres and voices (the worst case: more than half of the chats match) to a niche one:

* match, the decision "who is told": ``RuleRepo.told`` (the matching rules and their chats, from
  the index in memory, loaded once at the first match and timed apart), inside a transaction;
* for reference, ``RuleRepo.match_in`` (the same, and one hit row written per chat) and the
  whole ``Matcher.handle`` of the title's snapshot (judged new, matched, a notice queued for
  every chat told, committed): their rows are a fan-out, like bench_fanout's episode.

Memory: the peak RSS of the measuring process with the 100,000 rules minus that without any.
Targets: match <= 50 ms, rules add <= 30 MB; ratios are measured / limit.
Run: python -m bench.bench_rules [--chats 50000 --rules 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import storage
from bench.figures import peak_rss_mb, ratio
from bot.anilibria import Names, Title, TitleFilter, TitleKind, TitleSeen
from bot.notify.kinds import DEFAULT_KINDS, NoticeKind
from bot.notify.matcher import Matcher
from bot.notify.rules import BASELINE_KEY, rule_terms, title_terms
from storage.rules import index_of

MATCH_LIMIT_MS = 50.0
RULES_MB_LIMIT = 30.0
GENRES = [f"Жанр {i:02d}" for i in range(40)]
VOICES = [f"Voice {i:02d}" for i in range(60)]
KINDS = [TitleKind.TV, TitleKind.MOVIE, TitleKind.OVA, TitleKind.ONA, TitleKind.WEB]
SEASONS = ["winter", "spring", "summer", "autumn"]
YEAR = 2026
CHAT_BASE = 100_000_000


def zipf(names: list[str]) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(len(names))]


def random_rule(rng: random.Random) -> TitleFilter:
    roll = rng.random()
    genre = rng.choices(GENRES, zipf(GENRES))[0]
    if roll < 0.40:
        return TitleFilter(genres=(genre,))
    if roll < 0.50:
        other = rng.choices(GENRES, zipf(GENRES))[0]
        return TitleFilter(genres=tuple(sorted({genre, other})))
    if roll < 0.70:
        return TitleFilter(voices=(rng.choices(VOICES, zipf(VOICES))[0],))
    if roll < 0.80:
        return TitleFilter(genres=(genre,), kind=rng.choice(KINDS))
    if roll < 0.88:
        return TitleFilter(kind=rng.choice(KINDS))
    if roll < 0.95:
        return TitleFilter(season=rng.choice(SEASONS), year=rng.choice([YEAR - 1, YEAR, YEAR + 1]))
    return TitleFilter()


def rule_rows(
    count: int, chats: int
) -> Iterator[tuple[int, int, str, str, str | None, str | None, int | None, int, int]]:
    rng = random.Random(7)
    for rule_id in range(1, count + 1):
        rule = random_rule(rng)
        yield (
            rule_id,
            CHAT_BASE + rule_id % chats,
            json.dumps(list(rule.genres), ensure_ascii=False),
            json.dumps(list(rule.voices), ensure_ascii=False),
            rule.kind.value if rule.kind else None,
            rule.season,
            rule.year,
            len(rule_terms(rule)),
            0,
        )


def term_rows(count: int) -> Iterator[tuple[int, str]]:
    rng = random.Random(7)
    for rule_id in range(1, count + 1):
        for term in rule_terms(random_rule(rng)):
            yield (rule_id, term)


async def build(path: Path, chats: int, rules: int) -> None:
    db = await storage.connect(path)
    now = int(time.time())
    kinds = int(DEFAULT_KINDS | NoticeKind.NEW_TITLE)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO chats (id, type, language, kinds, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?, ?, ?)",
                ((CHAT_BASE + i, "ru" if i % 3 else "en", kinds, now, now) for i in range(chats)),
            )
            await conn.executemany(
                "INSERT INTO rules (id, chat_id, genres, voices, kind, season, year, terms,"
                " also_subscribe, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                rule_rows(rules, chats),
            )
            await conn.executemany(
                "INSERT INTO rule_terms (rule_id, term) VALUES (?, ?)", term_rows(rules)
            )
            await conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?)", (BASELINE_KEY, str(now - 3600))
            )
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.close()


def titles() -> list[tuple[str, Title]]:
    """New titles from the most popular genres and voices to a niche one."""
    now = int(time.time())

    def title(title_id: int, genres: list[str], voices: list[str], kind: TitleKind) -> Title:
        return Title(
            id=title_id,
            alias=f"new-{title_id}",
            names=Names(f"Новинка {title_id}", f"Novelty {title_id}"),
            poster=f"https://example.org/{title_id}.jpg",
            kind=kind,
            season="winter",
            year=YEAR,
            genres=tuple(genres),
            voices=tuple(voices),
            created_at=now,
            updated_at=now,
        )

    return [
        ("popular: top 3 genres, top 2 voices, TV", title(1, GENRES[:3], VOICES[:2], TitleKind.TV)),
        ("middling: genres 5-7, voice 10, TV", title(2, GENRES[5:8], VOICES[10:11], TitleKind.TV)),
        (
            "niche: genres 30-31, voice 50, OVA",
            title(3, GENRES[30:32], VOICES[50:51], TitleKind.OVA),
        ),
    ]


async def measure(path: Path) -> dict[str, Any]:
    """Open the file as a restarted bot would and match each title: figures as a dict."""
    db = await storage.connect(path)
    out: dict[str, Any] = {"titles": []}
    try:
        repo = storage.RuleRepo(db)
        async with db.transaction() as conn:
            started = time.perf_counter()
            await index_of(db).ensure(conn)  # the first match after a start loads the index
            out["load_ms"] = (time.perf_counter() - started) * 1000
        out["rss_loaded_mb"] = peak_rss_mb()
        matcher = Matcher(db)
        for label, title in titles():
            terms = title_terms(title)
            async with db.transaction() as conn:
                started = time.perf_counter()
                told = await repo.told(conn, terms)
                told_s = time.perf_counter() - started
                started = time.perf_counter()
                batch = await repo.match_in(conn, title.id, terms)
                hits_s = time.perf_counter() - started
                async with conn.execute(
                    "SELECT COUNT(*) FROM rule_hits WHERE title_id = ? AND batch = ?",
                    (title.id, batch),
                ) as cur:
                    hits = await cur.fetchone()
                await conn.execute("DELETE FROM rule_hits WHERE title_id = ?", (title.id,))
            started = time.perf_counter()
            queued = await matcher.handle(TitleSeen(title))
            whole_s = time.perf_counter() - started
            out["titles"].append(
                {
                    "label": label,
                    "rules": told.rules,
                    "match_ms": told_s * 1000,
                    "chats": len(told.chats),
                    "hits_ms": hits_s * 1000,
                    "hits": int(hits[0]) if hits else 0,
                    "whole_ms": whole_s * 1000,
                    "queued": queued,
                }
            )
    finally:
        await db.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def measure_in_child(path: Path) -> dict[str, Any]:
    found = subprocess.run(
        [sys.executable, "-m", "bench.bench_rules", "--measure", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(found.stdout.strip().splitlines()[-1])
    return result


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=50_000)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:  # the child: one JSON line of figures
        print(json.dumps(await measure(args.measure)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-rules-", dir=args.dir) as tmp:
        with_rules, without = Path(tmp) / "rules.sqlite3", Path(tmp) / "none.sqlite3"
        started = time.perf_counter()
        await build(with_rules, args.chats, args.rules)
        build_s = time.perf_counter() - started
        await build(without, args.chats, 0)
        size_mb = with_rules.stat().st_size / 2**20
        print(
            f"rules: {args.rules:,} rules over {args.chats:,} chats; built in {build_s:.1f} s,"
            f" file {size_mb:.0f} MB"
        )
        loaded = measure_in_child(with_rules)
        bare = measure_in_child(without)

    worst = 0.0
    print(f"  index of {args.rules:,} rules loaded at the first match: {loaded['load_ms']:.0f} ms")
    for item in loaded["titles"]:
        worst = max(worst, item["match_ms"])
        print(
            f"  {item['label']}:\n"
            f"    {item['rules']:,} rules and their {item['chats']:,} chats matched in"
            f" {item['match_ms']:.1f} ms\n"
            f"    match_in (rules, chats, {item['hits']:,} hits written): {item['hits_ms']:.0f} ms;"
            f" Matcher.handle (judged, matched, {item['queued']:,} outbox rows, committed):"
            f" {item['whole_ms']:.0f} ms"
        )
    print(
        f"match, rules and their chats (worst of {len(loaded['titles'])}): {worst:.1f} ms"
        f" / limit {MATCH_LIMIT_MS:.0f} ms = ratio {ratio(worst, MATCH_LIMIT_MS)}"
    )
    added = loaded["peak_rss_mb"] - bare["peak_rss_mb"]
    print(
        f"peak RSS right after loading the index: {loaded['rss_loaded_mb']:.1f} MB"
        f" ({bare['rss_loaded_mb']:.1f} MB without rules)"
    )
    print(
        f"peak RSS of the measuring process: {loaded['peak_rss_mb']:.1f} MB with the rules,"
        f" {bare['peak_rss_mb']:.1f} MB without"
    )
    print(
        f"rules add: {added:.1f} MB / limit {RULES_MB_LIMIT:.0f} MB"
        f" = ratio {ratio(max(added, 0.0), RULES_MB_LIMIT)}"
    )
    ok = worst <= MATCH_LIMIT_MS and added <= RULES_MB_LIMIT and loaded["titles"][0]["hits"] > 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
