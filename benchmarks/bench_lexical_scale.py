#!/usr/bin/env python3
"""The lexical side at scale: FTS5 BM25 queries over 1,000,000 synthetic news passages and sentences.

Fills an SQLite store with the real schema of `bot/store.py` (its triggers fill `passages_fts`
and `sentences_fts`) from `benchmarks/synthetic_corpus.py` text, then times the queries
`bot/lexical.py` makes for a question: one term lookup per key term (`passages_with`), the BM25
passage search and the BM25 sentence search, each with the SQL the engine runs. Questions: the
shared dev questions plus questions of four words drawn from the synthetic text (so that terms
match, as they do on a real corpus). Prints p50/p95 per query kind, build time and disk size.

    python benchmarks/bench_lexical_scale.py                       # 1,000,000 passages and sentences
    python benchmarks/bench_lexical_scale.py --passages 100000 --sentences 100000
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import dev_questions, load_average, median, pct, report
from synthetic_corpus import _Writer

from bot.lexical import _phrase, key_terms
from bot.store import _SCHEMA

_SENTENCE_END = re.compile(r"(?<=[.!?\"])\s+(?=[A-Z\"])")


def fill(db: sqlite3.Connection, passages: int, sentences: int, seed: int) -> list[str]:
    """Insert synthetic articles until both counts are reached; returns a sample of passages."""
    writer = _Writer(random.Random(seed))
    sample: list[str] = []
    pid = sid = 0
    number = 0
    while pid < passages or sid < sentences:
        number += 1
        _, text = writer.article(number, 9, date(2023, 1, 1))
        _, front, body = text.split("---\n", 2)
        title = re.search(r'^title: "(.*)"$', front, re.M).group(1)  # type: ignore[union-attr]
        aid = f"a{number}"
        db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)", (aid, title, "P", None, None, None, None, "h", 0))
        prow, srow = [], []
        for para, block in enumerate(b for b in body.split("\n\n")[1:] if b.strip()):
            if pid < passages:
                prow.append((pid, aid, para, 0, "body", None, block, "h"))
                if len(sample) < 2000 and writer.rng.random() < 0.01:
                    sample.append(block)
            for pos, s in enumerate(_SENTENCE_END.split(block)):
                if sid < sentences:
                    srow.append((sid, pid, pos, 0, len(s), s, "", "none", None, None, "none", None))
                    sid += 1
            pid += 1
        db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", [r for r in prow if r[0] < passages])
        db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", srow)
    db.commit()
    return sample


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=1_000_000)
    p.add_argument("--sentences", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100, help="questions in all (dev questions first)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-lexical-") as tmp:
        path = Path(tmp) / "store.sqlite"
        db = sqlite3.connect(path)
        db.executescript(_SCHEMA)
        started = time.perf_counter()
        sample = fill(db, args.passages, args.sentences, args.seed)
        db.execute("PRAGMA optimize")
        db.close()
        build_s = time.perf_counter() - started
        disk = path.stat().st_size
        rng = random.Random(args.seed)
        questions = dev_questions()
        while len(questions) < args.queries:
            words = key_terms(rng.choice(sample))
            questions.append(" ".join(rng.sample(words, k=min(4, len(words)))))
        questions = questions[: args.queries]
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        times: dict[str, list[float]] = {"term lookups": [], "bm25 passages": [], "bm25 sentences": []}
        for question in questions:
            terms = key_terms(question)
            t = time.perf_counter()
            for term in terms:
                db.execute("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?", (_phrase(term),)).fetchall()
            times["term lookups"].append(time.perf_counter() - t)
            query = " OR ".join(_phrase(w) for w in terms) or '""'
            t = time.perf_counter()
            db.execute(
                "SELECT rowid, -bm25(passages_fts, 1.0, 0.5) FROM passages_fts WHERE passages_fts MATCH ? "
                "ORDER BY bm25(passages_fts, 1.0, 0.5) LIMIT ?",
                (query, 50),
            ).fetchall()
            times["bm25 passages"].append(time.perf_counter() - t)
            t = time.perf_counter()
            db.execute(
                "SELECT rowid, -bm25(sentences_fts) FROM sentences_fts WHERE sentences_fts MATCH ? "
                "ORDER BY bm25(sentences_fts) LIMIT ?",
                (query, 50),
            ).fetchall()
            times["bm25 sentences"].append(time.perf_counter() - t)
        db.close()
    rows = [
        {
            "query": kind,
            "passages": args.passages,
            "sentences": args.sentences,
            "p50_ms": median(v) * 1000,
            "p95_ms": pct(v, 95) * 1000,
            "questions": len(v),
            "store_build_s": build_s,
            "store_disk_mib": disk / 2**20,
            "load": load,
        }
        for kind, v in times.items()
    ]
    report(f"lexical-{args.passages}", rows)


if __name__ == "__main__":
    main()
