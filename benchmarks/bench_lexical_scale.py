#!/usr/bin/env python3
"""The lexical side at scale: BM25 and key-term lookups over 1,000,000 synthetic passages and sentences.

Fills an SQLite store with the real schema of `bot/index/schema.py` (its triggers fill `passages_fts`
and `sentences_fts`) from `benchmarks/synthetic_corpus.py` text, writes FTS5's postings as
arrays as a build above LEXICAL_POSTINGS_THRESHOLD does (`bot/index/postings.py`), then times per
question what the engine's lexical side does, through the engine's own `Lexicon`:

- key terms: `Lexicon.terms` (each key term's rows and IDF),
- BM25 of passages (32 best) and of sentences (64 best), as `rank_passages` asks,
- coverage: the IDF-weighted share of key terms of each of ~100 candidate passages,
- quote terms: which key terms each sentence of the quoted passage holds,

once on the postings arrays (what the engine now does) and once on FTS5 alone (what it did: the
floor this replaces), alternately per question. The whole-query figure adds, per question, the
query embedding measured here (ONNX, as the engine's default) and the HNSW search p50 of
`bench_scale.py` at 1M (`benchmarks/results/scale-clustered-1000000.json`). Questions: the
shared dev questions plus questions of four words drawn from the synthetic text (so that their
terms match, as they do on a real corpus).

A real corpus of that size has hundreds of thousands of distinct words, the synthetic text about
a thousand: `--vocabulary N` (default 300,000) rewrites passages so that N pseudo-words (a third
written capitalised, as names) join the index. Questions holding a word the index lacks then time
the two paths such words take in `Lexicon.terms`: typo matching (`bot/retrieval/spelling.py`, before:
`difflib.get_close_matches` over the whole vocabulary) and the derived-name check (the written
forms kept with the postings, before: a GLOB scan of every passage's text); both must agree.

    python benchmarks/bench_lexical_scale.py                       # 1,000,000 passages and sentences
    python benchmarks/bench_lexical_scale.py --passages 100000 --sentences 100000
    python benchmarks/bench_lexical_scale.py --store DIR --unknown-only   # the unknown-word paths only
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import RESULTS, dev_questions, load_average, median, pct, report
from synthetic_corpus import _Writer, misspell

from bot.index.postings import TABLES, LexicalIndex
from bot.index.postings_write import write_segment
from bot.index.schema import SCHEMA
from bot.retrieval.fusion import PASSAGE_CANDIDATES, SENTENCE_CANDIDATES, coverages
from bot.retrieval.lexical import FUZZY_CUTOFF, Lexicon, key_terms

_SENTENCE_END = re.compile(r"(?<=[.!?\"])\s+(?=[A-Z\"])")
#: HNSW efSearch=64 search p50 at 1M when no scale result is at hand (docs/performance.md).
DENSE_P50_MS = 0.34


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
                    srow.append((sid, pid, pos, 0, len(s), s, "", "none", None, None, "none", None, None))
                    sid += 1
            pid += 1
        db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", [r for r in prow if r[0] < passages])
        db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", srow)
    db.commit()
    return sample


_ONSETS = [*"bcdfghjklmnprstvwz", "br", "ch", "dr", "gr", "kh", "pl", "sh", "st", "th", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ou", "ia"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "k", "nd", "st", "sh"]


def pseudo_words(n: int, rng: random.Random) -> list[str]:
    """N distinct pronounceable non-words of 2-4 syllables (5-14 letters), the long tail of a vocabulary."""
    words: set[str] = set()
    while len(words) < n:
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(2, 4)))
        if 5 <= len(word) <= 14:
            words.add(word)
    return sorted(words)


def add_vocabulary(db: sqlite3.Connection, n: int, passages: int, seed: int) -> list[tuple[str, bool]]:
    """Rewrite passages (delete and insert, so the FTS5 triggers follow) to add N pseudo-words, ten
    to a passage, every third capitalised; kept in a table so that a reused store is not rewritten.
    """
    db.execute("CREATE TABLE IF NOT EXISTS bench_vocabulary (word TEXT, capital INTEGER)")
    kept = db.execute("SELECT word, capital FROM bench_vocabulary").fetchall()
    if len(kept) >= n:
        return [(w, bool(c)) for w, c in kept[:n]]
    db.execute("DELETE FROM bench_vocabulary")
    rng = random.Random(seed + 1)
    words = [(w, i % 3 == 0) for i, w in enumerate(pseudo_words(n, rng))]
    rng.shuffle(words)
    per = 10
    step = max(1, passages // max(1, n // per))
    for k in range(0, n, per):
        pid = (k // per) * step
        row = db.execute("SELECT * FROM passages WHERE id = ?", (pid,)).fetchone()
        added = " ".join(w.capitalize() if cap else w for w, cap in words[k : k + per])
        db.execute("DELETE FROM passages WHERE id = ?", (pid,))
        db.execute("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", (*row[:6], f"{row[6]} {added}.", row[7]))
    db.executemany("INSERT INTO bench_vocabulary VALUES (?, ?)", words)
    db.commit()
    return words


def unknown_word_questions(
    sample: list[str], added: list[tuple[str, bool]], vocabulary: frozenset[str], per_kind: int, rng: random.Random
) -> list[tuple[str, str]]:
    """(kind, question): three key terms of a sampled passage and one word the index lacks."""
    common = sorted({w for text in sample for w in key_terms(text) if len(w) >= 6 and w.isalpha()})
    # A name or a word of 5-6 letters + "ians" is too far from it to be read as a typo of it.
    names = [w for w, cap in added if cap and len(w) <= 6 and w in vocabulary][:3000]
    stems = sorted(w for w in vocabulary if 5 <= len(w) <= 6 and w.isalpha() and w in common)
    makers = {
        "typo of a corpus word": lambda: misspell(rng.choice(common), rng),
        "typo of a rare word": lambda: misspell(rng.choice(added)[0], rng),
        "name + suffix (derived name)": lambda: rng.choice(names) + "ians",
        "known word + suffix": lambda: rng.choice(stems) + "ians",
        "unknown word": lambda: "".join(rng.choice("qxzjvkw") for _ in range(rng.randint(6, 9))),
    }
    questions = []
    for kind, make in makers.items():
        for _ in range(per_kind):
            word = make()
            while word in vocabulary:
                word = make()
            words = key_terms(rng.choice(sample))
            context = rng.sample(words, k=min(3, len(words)))
            questions.append((kind, " ".join([*context[:2], word, *context[2:]])))
    return questions


class ScanningLexicon(Lexicon):
    """The engine's lexicon as it was before: difflib over the whole vocabulary, a GLOB scan for names."""

    def close_word(self, word: str) -> str | None:
        found = difflib.get_close_matches(word, self.vocabulary, n=1, cutoff=FUZZY_CUTOFF)
        return found[0] if found else None

    def _written_as_name(self, stem: str) -> bool:
        return self._scan_written_as_name(stem)


def unknown_word_rows(
    path: Path, passages: int, postings: dict[str, LexicalIndex], questions: list[tuple[str, str]], old_every: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time `Lexicon.terms` on questions with an unknown word, now and as before (every `old_every`th)."""
    new = Lexicon(StoreOnly(path, passages, postings))  # type: ignore[arg-type]
    old = ScanningLexicon(StoreOnly(path, passages, postings))  # type: ignore[arg-type]
    first: dict[str, float] = {}
    t = time.perf_counter()
    size = len(new.vocabulary)
    first["vocabulary"] = time.perf_counter() - t
    t = time.perf_counter()
    new.close_word("warmup")
    first["typo matcher"] = time.perf_counter() - t
    t = time.perf_counter()
    new._written_as_name("warmup")
    first["written forms"] = time.perf_counter() - t
    times: dict[str, list[float]] = {}
    old_times: dict[str, list[float]] = {}
    same = compared = 0
    corrected: dict[str, int] = {}
    named: dict[str, int] = {}
    for i, (kind, question) in enumerate(questions):
        t = time.perf_counter()
        got = new.terms(question)
        times.setdefault(kind, []).append(time.perf_counter() - t)
        unknown = [x for x in got if x.searched != x.word]  # what the question's odd word became
        corrected[kind] = corrected.get(kind, 0) + any(x.searched for x in unknown)
        named[kind] = named.get(kind, 0) + any(x.name for x in unknown)
        if i % old_every == 0:
            t = time.perf_counter()
            want = old.terms(question)
            old_times.setdefault(kind, []).append(time.perf_counter() - t)
            compared += 1
            same += [(x.word, x.searched, x.name, len(x.passages)) for x in got] == [
                (x.word, x.searched, x.name, len(x.passages)) for x in want
            ]
    times["all"] = [x for k in list(times) for x in times[k]]
    old_times["all"] = [x for k in list(old_times) for x in old_times[k]]
    rows = []
    for kind, seconds in times.items():
        before = old_times.get(kind) or [float("nan")]
        rows.append(
            {
                "query": f"key terms, unknown word: {kind}",
                "passages": passages,
                "vocabulary": size,
                "questions": len(seconds),
                "typo_matched": corrected.get(kind, sum(corrected.values())),
                "derived_name": named.get(kind, sum(named.values())),
                "p50_ms": median(seconds) * 1000,
                "p95_ms": pct(seconds, 95) * 1000,
                "before_questions": len(old_times.get(kind, [])),
                "before_p50_ms": median(before) * 1000,
                "before_p95_ms": pct(before, 95) * 1000,
                "load": load_average(),
            }
        )
    extra = {
        "vocabulary": size,
        "first_use_s": first,
        "answers_equal": f"{same}/{compared}",
    }
    print(f"vocabulary {size:,} terms; first use: " + ", ".join(f"{k} {v:.2f} s" for k, v in first.items()))
    print(f"answers equal to the scanning lexicon's: {same}/{compared}")
    return rows, extra


class _Count:
    def __init__(self, n: int) -> None:
        self.ntotal = n


class StoreOnly:
    """What `Lexicon` reads of an `EmbeddedReader`, over a bare store (the vectors are not needed here)."""

    def __init__(self, path: Path, passages: int, lexical: dict[str, LexicalIndex] | None) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        self.passage_index = _Count(passages)
        self.lexical = lexical or {}

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        return self.db.execute(sql, params).fetchall()

    def lexical_index(self, kind: str) -> LexicalIndex | None:
        return self.lexical.get(kind)


def lexical_query(lex: Lexicon, question: str, candidates: list[int], sentence_ids: list[int]) -> dict[str, float]:
    """Seconds per step of the engine's lexical work for one question."""
    times = {}
    t = time.perf_counter()
    terms = lex.terms(question)
    times["key terms"] = time.perf_counter() - t
    t = time.perf_counter()
    hits = lex.search_passages(terms, PASSAGE_CANDIDATES)
    times["bm25 passages"] = time.perf_counter() - t
    t = time.perf_counter()
    lex.search_sentences(terms, SENTENCE_CANDIDATES)
    times["bm25 sentences"] = time.perf_counter() - t
    t = time.perf_counter()
    coverages(terms, sorted({*candidates, *(h[0] for h in hits)}))
    times["coverage"] = time.perf_counter() - t
    t = time.perf_counter()
    lex.sentences_holding_each([t.searched for t in terms if t.searched], sentence_ids)
    times["quote terms"] = time.perf_counter() - t
    times["lexical total"] = sum(times.values())
    return times


def embedding_times(questions: list[str]) -> list[float]:
    """Seconds to embed each question with the engine's default backend (ONNX)."""
    from bot.embedding.embedder import Embedder
    from bot.settings import BUNDLED_MODEL

    embedder = Embedder(BUNDLED_MODEL, backend="onnx")
    embedder.encode(["warm up"])
    times = []
    for q in questions:
        t = time.perf_counter()
        embedder.encode([q])
        times.append(time.perf_counter() - t)
    return times


def dense_p50_ms() -> float:
    """HNSW search p50 at 1M (efSearch=64) from the last scale run, else the documented figure."""
    try:
        rows = json.loads((RESULTS / "scale-clustered-1000000.json").read_text())["rows"]
        return next(r["p50_ms"] for r in rows if r["index"] == "hnsw" and r["param"] == "efSearch=64")
    except (OSError, KeyError, StopIteration, ValueError):
        return DENSE_P50_MS


def memory_probe(args: argparse.Namespace) -> None:
    """In a fresh process: open the postings as the engine does, answer questions, print memory as JSON.

    RSS counts the pages of memory-mapped files that questions touched; the mapped size is what
    RSS would reach if every page of them were resident.
    """
    import psutil

    proc = psutil.Process()
    work = args.store
    entries = json.loads((work / "lexical-entries.json").read_text(encoding="utf-8"))
    before = proc.memory_info()
    postings = {kind: LexicalIndex.load(work, [entries[kind]]) for kind in TABLES}
    lex = Lexicon(StoreOnly(work / "store.sqlite", args.passages, postings))  # type: ignore[arg-type]
    sample = (work / "sample.txt").read_text(encoding="utf-8").splitlines()
    rng = random.Random(args.seed + 2)
    questions = dev_questions()
    while len(questions) < args.queries:
        words = key_terms(rng.choice(sample))
        questions.append(" ".join(rng.sample(words, k=min(4, len(words)))))
    for question in questions[: args.queries]:
        candidates = rng.sample(range(args.passages), PASSAGE_CANDIDATES + SENTENCE_CANDIDATES)
        first = rng.randrange(args.sentences - 4)
        lexical_query(lex, question, candidates, list(range(first, first + 4)))
    after = proc.memory_info()
    ours = [m for m in proc.memory_maps(grouped=True) if m.path.startswith(str(work))]
    print(
        json.dumps(
            {
                "questions": min(len(questions), args.queries),
                "rss_before_mib": before.rss / 2**20,
                "rss_after_mib": after.rss / 2**20,
                "anon_growth_mib": ((after.rss - after.shared) - (before.rss - before.shared)) / 2**20,
                "mapped_resident_mib": sum(m.rss for m in ours) / 2**20,
                "mapped_size_mib": sum(Path(m.path).stat().st_size for m in ours) / 2**20,
                "mapped_files": sorted(Path(m.path).name for m in ours),
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=1_000_000)
    p.add_argument("--sentences", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100, help="questions in all (dev questions first)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--store", type=Path, help="keep the filled store here and reuse it when present")
    p.add_argument("--vocabulary", type=int, default=300_000, help="pseudo-words added to the index (0: none)")
    p.add_argument("--unknown-per-kind", type=int, default=20, help="questions per kind of unknown word")
    p.add_argument("--old-every", type=int, default=2, help="time the scanning lexicon on every Nth of those")
    p.add_argument("--unknown-only", action="store_true", help="time only the unknown-word paths")
    p.add_argument("--memory", action="store_true", help="also measure the postings' memory in a fresh process")
    p.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_probe:
        memory_probe(args)
        return
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-lexical-") as tmp:
        work = args.store or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        path = work / "store.sqlite"
        sample_path = work / "sample.txt"
        started = time.perf_counter()
        if not (path.is_file() and sample_path.is_file()):
            path.unlink(missing_ok=True)
            db = sqlite3.connect(path)
            db.executescript(SCHEMA)
            sample = fill(db, args.passages, args.sentences, args.seed)
            db.execute("PRAGMA optimize")
            db.close()
            sample_path.write_text("\n".join(sample), encoding="utf-8")
        sample = sample_path.read_text(encoding="utf-8").splitlines()
        added: list[tuple[str, bool]] = []
        if args.vocabulary:
            db = sqlite3.connect(path)
            added = add_vocabulary(db, args.vocabulary, args.passages, args.seed)
            db.close()
        build_s = time.perf_counter() - started
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        postings: dict[str, LexicalIndex] = {}
        postings_s: dict[str, float] = {}
        entries: dict[str, Any] = {}
        for stale in work.glob("lexical-*"):  # a reused store may hold files of another postings format
            stale.unlink()
        for kind in TABLES:
            t = time.perf_counter()
            entry = write_segment(db, kind, work, f"lexical-{kind}")
            postings_s[kind] = time.perf_counter() - t
            postings[kind] = LexicalIndex.load(work, [entry])
            entries[kind] = entry
        db.close()
        (work / "lexical-entries.json").write_text(json.dumps(entries), encoding="utf-8")
        disk = path.stat().st_size
        postings_disk = sum(f.stat().st_size for f in work.glob("lexical-*"))
        print(
            f"store {disk / 2**20:,.0f} MiB (filled in {build_s:.0f} s); postings {postings_disk / 2**20:,.0f} MiB "
            f"written in {postings_s['passages']:.1f} s (passages) + {postings_s['sentences']:.1f} s (sentences)"
        )
        rng = random.Random(args.seed)
        unknown_rows: list[dict[str, Any]] = []
        unknown_extra: dict[str, Any] = {}
        if added:
            vocabulary = frozenset(postings["passages"].vocabulary())
            asked = unknown_word_questions(sample, added, vocabulary, args.unknown_per_kind, rng)
            unknown_rows, unknown_extra = unknown_word_rows(path, args.passages, postings, asked, args.old_every)
            if args.unknown_only:
                report(f"lexical-unknown-{args.passages}", unknown_rows, unknown_extra)
                return
        questions = dev_questions()
        while len(questions) < args.queries:
            words = key_terms(rng.choice(sample))
            questions.append(" ".join(rng.sample(words, k=min(4, len(words)))))
        questions = questions[: args.queries]
        arrays = Lexicon(StoreOnly(path, args.passages, postings))  # type: ignore[arg-type]
        fts = Lexicon(StoreOnly(path, args.passages, None))  # type: ignore[arg-type]
        new: dict[str, list[float]] = {}
        old: dict[str, list[float]] = {}
        for question in questions:
            candidates = rng.sample(range(args.passages), PASSAGE_CANDIDATES + SENTENCE_CANDIDATES)
            first = rng.randrange(args.sentences - 4)
            sentence_ids = list(range(first, first + 4))
            for lex, into in ((arrays, new), (fts, old)):
                for step, seconds in lexical_query(lex, question, candidates, sentence_ids).items():
                    into.setdefault(step, []).append(seconds)
        embed = embedding_times(questions)
        memory: dict[str, Any] = {}
        if args.memory:
            probe = subprocess.run(
                [
                    *(sys.executable, __file__, "--memory-probe", "--store", str(work), "--queries", "200"),
                    *("--passages", str(args.passages), "--sentences", str(args.sentences), "--seed", str(args.seed)),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            memory = json.loads(probe.stdout.strip().splitlines()[-1])
            print(
                f"memory, fresh process, {memory['questions']} questions: RSS {memory['rss_before_mib']:,.0f} -> "
                f"{memory['rss_after_mib']:,.0f} MiB; postings resident {memory['mapped_resident_mib']:,.0f} of "
                f"{memory['mapped_size_mib']:,.0f} MiB mapped; other growth {memory['anon_growth_mib']:,.0f} MiB"
            )
    dense_ms = dense_p50_ms()
    whole = [e + lx + dense_ms / 1000 for e, lx in zip(embed, new["lexical total"], strict=True)]
    base = {"passages": args.passages, "sentences": args.sentences, "questions": len(questions)}
    rows = []
    for step in new:
        rows.append(
            {
                "query": step,
                **base,
                "p50_ms": median(new[step]) * 1000,
                "p95_ms": pct(new[step], 95) * 1000,
                "fts5_p50_ms": median(old[step]) * 1000,
                "fts5_p95_ms": pct(old[step], 95) * 1000,
                "x_fts5_p50": median(new[step]) / median(old[step]) if median(old[step]) else float("nan"),
                "load": load,
            }
        )
    # The dev questions are about another corpus: most of their words are not in this one, which
    # makes them cheap here. The drawn questions alone are the harder case.
    drawn = slice(min(len(dev_questions()), len(questions) - 1), None)
    rows.append(
        {
            "query": "lexical total, drawn questions only",
            **base,
            "questions": len(new["lexical total"][drawn]),
            "p50_ms": median(new["lexical total"][drawn]) * 1000,
            "p95_ms": pct(new["lexical total"][drawn], 95) * 1000,
            "fts5_p50_ms": median(old["lexical total"][drawn]) * 1000,
            "fts5_p95_ms": pct(old["lexical total"][drawn], 95) * 1000,
            "x_fts5_p50": median(new["lexical total"][drawn]) / median(old["lexical total"][drawn]),
            "load": load,
        }
    )
    rows.append(
        {
            "query": "whole query (embedding + HNSW + lexical)",
            **base,
            "p50_ms": median(whole) * 1000,
            "p95_ms": pct(whole, 95) * 1000,
            "embedding_p50_ms": median(embed) * 1000,
            "drawn_only_p50_ms": median(whole[drawn]) * 1000,
            "dense_p50_ms": dense_ms,
            "target_p50_ms": 60.0,
            "load": load_average(),
        }
    )
    report(
        f"lexical-{args.passages}",
        rows + unknown_rows,
        {
            **unknown_extra,
            "store_build_s": build_s,
            "store_disk_mib": disk / 2**20,
            "postings_write_s": postings_s,
            "postings_disk_mib": postings_disk / 2**20,
            "memory": memory,
        },
    )


if __name__ == "__main__":
    main()
