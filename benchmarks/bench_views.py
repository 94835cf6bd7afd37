#!/usr/bin/env python3
"""The browsing views at scale: /start, /who, /who NAME, /sources and --speakers over 1,000,000 passages.

Fills an SQLite store with the real schema of `bot/index/schema.py` and `bot/index/views.py` from
`benchmarks/synthetic_corpus.py` articles, each loaded and split by the real pipeline
(`parse_article`, `split_article`: real sentences, real attribution, so real speakers), then runs
the build-time step that keeps the view tables (`views.refresh`: once in full, once as an
incremental build that touched one article's sources) and times, per view, what the engine does
for it, through the engine's own methods (`Engine` over the store: the vectors are not needed):

- /start: the stored example questions, the five newest titles, the wording;
- /who: the 50 most quoted sources and how many there are;
- /who NAME: a much-quoted source, a rarely quoted one and a part of a name;
- /sources: the 30 newest articles, the article count, the publishers;
- --speakers: every source with its count, formatted as `scripts/query.py --speakers` prints it;

and, as the floor they replace, the statements the engine ran before (every passage's text for
/start, a GROUP BY of every sentence for /who, a LIKE over every sentence for /who NAME, every
article for /sources). Target: each view ≤ 100 ms at 1M passages.

    python benchmarks/bench_views.py --passages 100000           # 4 min to fill before spaCy parsing
    python benchmarks/bench_views.py                             # 1,000,000: hours (spaCy parses 2.8M sentences)
    python benchmarks/bench_views.py --store FILE                # reuse (or keep) the filled store
    python benchmarks/bench_views.py --store /tmp/v1m.sqlite --replicate 10 --from /tmp/v100k.sqlite
                                                                 # 1M as 10 copies of a parsed 100k store
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import shutil
import sqlite3
import sys
import threading
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import median, pct, report
from replicate import copy_rows, spans
from synthetic_corpus import _Writer

from bot.corpus.articles import parse_article
from bot.engine import LIST_ARTICLES, LIST_SPEAKERS, Engine
from bot.index import views
from bot.index.embedded import EmbeddedReader
from bot.index.records import IndexFacts
from bot.index.schema import SCHEMA
from bot.index.sqlite import ReadStore
from bot.settings import Settings
from bot.telegram import format as fmt
from bot.terminal import format_sources, format_speakers
from bot.text.passages import split_article

CHUNK = 200  # articles per worker task


def article_rows(task: tuple[int, int, int]) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
    """Rows of articles `start`..`start + count` (ids from 0), parsed and split as a build does."""
    start, count, seed = task
    writer = _Writer(random.Random(seed * 1_000_003 + start))
    articles, paragraphs, passages, sentences = [], [], [], []
    for number in range(start, start + count):
        name, text = writer.article(number, 9, date(2022, 1, 1))
        article = parse_article(text, Path("corpus") / name, f"a{number:07d}")
        meta = article.meta
        split = split_article(article)
        articles.append(
            (meta.id, meta.title, meta.publisher, meta.date, meta.url, meta.byline, meta.path, "h", len(split))
        )
        seen: set[int] = set()
        for p in split:
            if p.paragraph not in seen:
                seen.add(p.paragraph)
                paragraphs.append((meta.id, p.paragraph, str(p.kind), p.section, p.paragraph_text))
            passages.append((meta.id, p.paragraph, p.window, str(p.kind), p.section, p.text, p.content_hash))
            sentences.append(
                [
                    (
                        pos,
                        s.start,
                        s.end,
                        s.text,
                        s.speaker.name,
                        s.speaker.kind,
                        s.speaker.via,
                        s.speaker.full_name,
                        s.speaker.rule,
                        s.speaker.said_as,
                        None,  # slots: the answer-slot facts, which no view reads
                    )
                    for pos, s in enumerate(p.sentences)
                ]
            )
    return articles, paragraphs, passages, sentences


def fill(path: Path, passages: int, seed: int) -> dict[str, Any]:
    """Write a store of about `passages` passages; returns counts and timings."""
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
    db.executescript(SCHEMA)
    db.executescript(views.SCHEMA)
    pid = sid = 0
    n_articles = 0
    tasks = ((start, CHUNK, seed) for start in range(0, 10**9, CHUNK))
    with multiprocessing.Pool(2) as pool:
        for articles, paragraphs, rows, sentence_lists in pool.imap(article_rows, tasks):
            db.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)", articles)
            db.executemany("INSERT INTO paragraphs VALUES (?,?,?,?,?)", paragraphs)
            passage_rows, sentence_rows = [], []
            for row, sents in zip(rows, sentence_lists, strict=True):
                passage_rows.append((pid, *row))
                for s in sents:
                    sentence_rows.append((sid, pid, *s))
                    sid += 1
                pid += 1
            db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", passage_rows)
            db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", sentence_rows)
            n_articles += len(articles)
            if pid and pid // 50_000 != (pid - len(passage_rows)) // 50_000:
                print(f"  {pid:,} passages, {sid:,} sentences, {time.perf_counter() - started:.0f} s", flush=True)
            if pid >= passages:
                pool.terminate()
                break
    db.commit()
    filled = time.perf_counter() - started
    full_refresh, incremental_refresh, touched = finish(db)
    return {
        "articles": n_articles,
        "passages": pid,
        "sentences": sid,
        "fill_s": round(filled, 1),
        "refresh_full_s": round(full_refresh, 3),
        "refresh_one_article_s": round(incremental_refresh, 3),
        "sources_touched": len(touched),
    }


def finish(db: sqlite3.Connection) -> tuple[float, float, set[str]]:
    """Merge the FTS segments, then time a full and a one-article refresh of the views; close."""
    for table in ("passages_fts", "sentences_fts"):
        db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
    db.commit()
    t = time.perf_counter()
    views.refresh(db, None)
    db.commit()
    full_refresh = time.perf_counter() - t
    incremental_refresh, touched = time_incremental(db)
    db.execute("PRAGMA optimize")
    db.close()
    return full_refresh, incremental_refresh, touched


def time_incremental(db: sqlite3.Connection) -> tuple[float, set[str]]:
    """Seconds `views.refresh` takes after an incremental build of one article, and its sources.

    Times the refresh for the newest article's sentences as if just inserted, then takes them back
    out (untimed), so the store is left as it was.
    """
    forms = db.execute(
        "SELECT s.speaker, s.speaker_full, count(*) FROM sentences s JOIN passages p ON p.id = s.passage_id "
        "WHERE p.article_id = (SELECT max(id) FROM articles) AND s.speaker_kind = 'source' "
        "GROUP BY s.speaker, s.speaker_full"
    ).fetchall()
    t = time.perf_counter()
    views.refresh(db, {(name, full): n for name, full, n in forms})
    db.commit()
    incremental_refresh = time.perf_counter() - t
    views.refresh(db, {(name, full): -n for name, full, n in forms})
    db.commit()
    touched = {name for name, _, _ in forms}
    return incremental_refresh, touched


def replicate(source: Path, path: Path, times: int) -> dict[str, Any]:
    """A store holding `times` copies of `source`'s articles under new ids (FTS5 filled by the triggers).

    Parsing 1M passages with spaCy takes hours on this machine; copies of a parsed store scale what
    the views depend on (articles, sentences per source) while the source names stay those of the
    copied store (the generator's names are nearly exhausted at 100,000 passages: 6,069 sources).
    """
    started = time.perf_counter()
    shutil.copyfile(source, path)
    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
    span = spans(db)
    for k in range(1, times):
        copy_rows(db, k, span)
        db.commit()
        print(f"  copy {k + 1} of {times}: {time.perf_counter() - started:.0f} s", flush=True)
    full_refresh, incremental_refresh, touched = finish(db)
    return {
        "refresh_one_article_s": round(incremental_refresh, 3),
        "sources_touched": len(touched),
        "replicated_from": str(source),
        "copies": times,
        "fill_s": round(time.perf_counter() - started, 1),
        "refresh_full_s": round(full_refresh, 3),
    }


class StoreReader(EmbeddedReader):
    """An `EmbeddedReader` over a bare store: the views and article reads the engine times, no vectors.

    Its view methods are the embedded reader's own, so the benchmark times the statements the bot runs.
    """

    def __init__(self, path: Path) -> None:  # no EmbeddedReader.__init__: there are no FAISS files
        self.store = ReadStore(path, path.parent)
        self._memo: dict[str, Any] = {}
        self._memo_lock = threading.RLock()
        self._version = "bench"
        counts = self.store.query(
            "SELECT (SELECT count(*) FROM articles), (SELECT max(id) + 1 FROM passages), "
            "(SELECT max(id) + 1 FROM sentences)"
        )[0]
        self.manifest = SimpleNamespace(counts={"articles": counts[0], "passages": counts[1], "sentences": counts[2]})

    def facts(self) -> IndexFacts:
        return IndexFacts(self._version, "", 0, "", 0.0, dict(self.manifest.counts))

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        """A statement the engine ran before the view tables (`before`)."""
        return self.store.query(sql, params)


class StoreEngine(Engine):
    """The engine's own view methods over the bare store (no vectors, no model)."""

    def __init__(self, reader: StoreReader) -> None:
        super().__init__(Settings(_env_file=None))
        self._store = reader

    @property
    def reader(self) -> StoreReader:  # type: ignore[override]
        return self._store


def before(reader: StoreReader, view: str, name: str = "") -> None:
    """What the engine ran for each view before the view tables (the floor replaced)."""
    if view == "/start":
        texts = " ".join(r[0] for r in reader.query("SELECT text FROM passages"))
        reader.query(
            "SELECT section, min(id) AS first FROM passages WHERE section IS NOT NULL AND section != '' "
            "GROUP BY section ORDER BY first"
        )
        assert texts
    elif view in ("/who", "--speakers"):
        reader.query(
            "SELECT speaker, max(speaker_full) AS full, count(*) AS n FROM sentences WHERE speaker_kind = 'source' "
            "GROUP BY speaker COLLATE NOCASE ORDER BY n DESC, speaker"
        )
    elif view == "/who NAME":
        like = f"%{name}%"
        reader.query(
            "SELECT s.*, p.text AS ptext, p.article_id, p.paragraph, p.kind, p.section FROM sentences s "
            "JOIN passages p ON p.id = s.passage_id WHERE s.speaker_kind = 'source' AND "
            "(s.speaker LIKE ? OR s.speaker_full LIKE ? OR s.speaker IN "
            "(SELECT speaker FROM sentences WHERE speaker_full LIKE ?)) "
            "ORDER BY p.article_id, p.paragraph, s.position LIMIT ?",
            (like, like, like, 20),
        )
    elif view == "/sources":
        reader.query("SELECT id, passages FROM articles ORDER BY date DESC, title")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=1_000_000, help="passages in the store (default 1,000,000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", type=Path, help="store file to reuse or keep (default: a fresh one in /tmp)")
    p.add_argument(
        "--replicate",
        type=int,
        metavar="K",
        help="instead of parsing, make the store from K copies of --from (a store this script filled)",
    )
    p.add_argument("--from", dest="source", type=Path, help="with --replicate: the store to copy")
    p.add_argument("--runs", type=int, default=30, help="timed runs per view (after one warm-up)")
    p.add_argument("--before-runs", type=int, default=3, help="timed runs of each replaced statement")
    args = p.parse_args()

    path = args.store or Path(f"/tmp/report-bot-views-{args.passages}.sqlite")
    if path.exists() and args.store is not None:
        built: dict[str, Any] = {"reused": str(path)}
    elif args.replicate:
        print(f"making {path} from {args.replicate} copies of {args.source}", flush=True)
        built = replicate(args.source, path, args.replicate)
        print(built, flush=True)
    else:
        path.unlink(missing_ok=True)
        print(f"filling {path} with ~{args.passages:,} passages (real split and attribution)", flush=True)
        built = fill(path, args.passages, args.seed)
        print(built, flush=True)
    reader = StoreReader(path)
    engine = StoreEngine(reader)
    speakers = engine.speakers()
    common = speakers[0][0].split(" (")[0]
    rare = speakers[len(speakers) // 2][0].split(" (")[0]
    part = rare.split()[-1][:5]
    t = time.perf_counter()
    engine.articles(1)  # the first view of a version reads every article's metadata once (as answers do)
    first_meta = time.perf_counter() - t

    views_to_time = {
        "/start": lambda: (engine.example_questions(3), engine.articles(5), engine.wording()),
        "/who": lambda: fmt.speakers_blocks(engine.speakers(LIST_SPEAKERS), engine.wording(), engine.speaker_count()),
        f"/who {common}": lambda: fmt.quotes_by_blocks(common, engine.quotes_by(common)),
        f"/who {rare}": lambda: fmt.quotes_by_blocks(rare, engine.quotes_by(rare)),
        f"/who {part}": lambda: fmt.quotes_by_blocks(part, engine.quotes_by(part)),
        "/sources": lambda: fmt.sources_blocks(
            engine.articles(LIST_ARTICLES), reader.manifest.counts["articles"], engine.publishers()
        ),
        "/sources (terminal)": lambda: format_sources(engine),
        "--speakers": lambda: print(format_speakers(engine, limit=None), file=io.StringIO()),
    }
    rows = []
    for view, fn in views_to_time.items():
        fn()
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        base = view.split(" ", 1)[0] if not view.startswith("/who ") else "/who NAME"
        if view == "/sources (terminal)":
            base = "/sources"
        before_times = []
        for _ in range(args.before_runs):
            t = time.perf_counter()
            before(reader, base, view.split(" ", 1)[1] if base == "/who NAME" else "")
            before_times.append((time.perf_counter() - t) * 1000)
        rows.append(
            {
                "view": view,
                "p50_ms": round(median(times), 2),
                "p95_ms": round(pct(times, 95), 2),
                "before_p50_ms": round(median(before_times), 1),
                "speedup": round(median(before_times) / max(median(times), 1e-6)),
            }
        )
    extra = {
        "store": {**built, **reader.manifest.counts, "sources": engine.speaker_count(), "path": str(path)},
        "first_view_article_metadata_s": round(first_meta, 3),
        "examples": engine.example_questions(3),
    }
    print(extra, flush=True)
    report(f"views-{reader.manifest.counts['passages']}", rows, extra)


if __name__ == "__main__":
    main()
