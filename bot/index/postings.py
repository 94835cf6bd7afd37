"""FTS5's postings as memory-mapped arrays, so BM25 over a large index costs milliseconds.

SQLite FTS5 ranks by calling its `bm25()` function once per matching row: fine for thousands of
rows, but a key term such as "people" or "killed" is in hundreds of thousands of passages at
1,000,000 and a query took ~0.5 s (`docs/performance.md`). Above `LEXICAL_POSTINGS_THRESHOLD` rows,
a build therefore also writes the postings of `passages_fts` and `sentences_fts` (term → sorted
row ids and the column-weighted term frequency; each row's length once, indexed by row id) as
`.npy` files next to `store.sqlite`, and the search scores them with numpy: the same tokens (FTS5's own tokenizer made
them), the same formula as FTS5's `bm25()` (k1 = 1.2, b = 0.75, its IDF with the 1e-6 floor,
column weights), so the ranking is FTS5's, only vectorised. FTS5 stays the source of truth: it
is kept in step by triggers, and the arrays are derived from it at commit.

A posting costs 6 bytes (`POSTINGS_FORMAT` 2): its row id (int32) and its term frequency as a
uint16 count of `TF_UNIT` (0.5: the column weights 1.0 and 0.5 make every tf a multiple of it),
exact up to 32,767.5; a segment with a tf that is not (other weights, a word 32,768 times in a
row) keeps float32 instead, checked at write. Not float16, though it is as small: numpy casts
float16 without SIMD, 0.7 ms per 400,000 postings against 0.06 ms for uint16, and float16 is
exact only up to 1024. The row's length, which format 1 repeated in every posting of the row (12
bytes a posting: 620 MiB at 1M passages + 1M sentences), is stored once per row and gathered by
row id at query time.

Beside them, each segment of the passages keeps the forms its text writes words in (`.forms`):
which words appear capitalised and which in lower case, so that "the report writes Iran only as a
name" (`bot/retrieval/lexical.py`, derived names) is a set lookup rather than a scan of every passage.

Incremental builds that only add rows append a segment (the added rows, tokenised by a scratch
FTS5 table with the same tokenizer); removing rows or reaching `MAX_LEXICAL_SEGMENTS` rewrites one
segment from the store, as the vector side does.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

#: FTS5's bm25() constants (fts5_aux.c).
K1 = 1.2
B = 0.75
#: The tokenizer of both FTS5 tables (`bot/index/schema.py`); a scratch table must tokenise alike.
TOKENIZE = "porter unicode61 remove_diacritics 2"
#: Per kind: the FTS5 table, its columns and their bm25() weights as the search passes them.
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[float, ...]]] = {
    "passages": ("passages_fts", ("text", "context"), (1.0, 0.5)),
    "sentences": ("sentences_fts", ("text",), (1.0,)),
}
MAX_LEXICAL_SEGMENTS = 8
#: What a segment's manifest entry records as its layout; an index of another format is refused
#: with the rebuild hint (`bot/index/schema.py`). 1: a float32 tf and the row length in every posting;
#: 2: tf in uint16 units of `TF_UNIT`, row lengths once per row.
POSTINGS_FORMAT = 2
#: What one step of a uint16 tf is worth.
TF_UNIT = 0.5
#: MaxScore is tried while the rarest phrases hold less than 1/MAXSCORE_SHARE of the postings.
MAXSCORE_SHARE = 4
#: Per term: `offsets` (into the postings); per posting: `docs`, `tf`; per row: `lengths`.
ARRAYS = ("offsets", "docs", "tf", "lengths")
#: Per kind, the table and column whose written forms a segment keeps (sentences repeat the
#: passages' text: their segments keep none).
FORM_SOURCES = {"passages": ("passages", "text")}


def segment_files(prefix: str) -> list[str]:
    """The files of one segment: its terms (one a line), its arrays and its written forms."""
    return [f"{prefix}.terms", *(f"{prefix}.{name}.npy" for name in ARRAYS), f"{prefix}.forms"]


class _Segment:
    """One segment's postings, memory-mapped."""

    def __init__(self, directory: Path, entry: dict[str, Any]) -> None:
        prefix = entry["name"]
        self.rows = int(entry["rows"])
        self.tokens = int(entry["tokens"])
        self._terms_path = directory / f"{prefix}.terms"
        self._forms_path = directory / f"{prefix}.forms"
        self.has_forms = bool(entry.get("forms"))
        #: The row id of `lengths[0]`.
        self.first = int(entry["first"])
        # Plain arrays over the mapped files (np.memmap's per-slice bookkeeping costs microseconds).
        self.offsets, self.docs, self.tf, self.lengths = (
            np.asarray(np.load(directory / f"{prefix}.{name}.npy", mmap_mode="r")) for name in ARRAYS
        )

    @cached_property
    def terms(self) -> dict[str, int]:
        text = self._terms_path.read_text(encoding="utf-8")
        return {t: i for i, t in enumerate(text.split("\n"))} if text else {}

    @cached_property
    def forms(self) -> tuple[frozenset[str], frozenset[str]]:
        """(words its text writes capitalised, words it writes in lower case); see `written_forms`."""
        capital, lower = [], []
        text = self._forms_path.read_text(encoding="utf-8")
        for line in text.split("\n") if text else ():
            word, _, marks = line.partition("\t")
            if "C" in marks:
                capital.append(word)
            if "L" in marks:
                lower.append(word)
        return frozenset(capital), frozenset(lower)

    def span(self, token: str) -> slice | None:
        i = self.terms.get(token)
        return None if i is None else slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def postings(self, span: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A span's row ids, term frequencies (float32) and each row's length, gathered by row id."""
        docs = self.docs[span]
        lengths = np.take(self.lengths, docs - self.first if self.first else docs)
        tf = self.tf[span].astype(np.float32)
        if self.tf.dtype == np.uint16:
            tf *= np.float32(TF_UNIT)  # exact: a power of two
        return docs, tf, lengths


class Postings:
    """The rows holding a term: a set-like view over sorted arrays (membership without a Python set)."""

    def __init__(self, parts: Iterable[np.ndarray]) -> None:
        self.parts = [p for p in parts if len(p)]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def __iter__(self) -> Iterator[int]:
        for part in self.parts:
            yield from (int(i) for i in part)

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, (int, np.integer)):
            return False
        for part in self.parts:
            i = int(np.searchsorted(part, row))
            if i < len(part) and part[i] == row:
                return True
        return False

    def holds(self, rows: np.ndarray) -> np.ndarray:
        """Per row of `rows`, whether it is among these (one binary search per part, not per row)."""
        found = np.zeros(len(rows), dtype=bool)
        for part in self.parts:
            at = np.minimum(np.searchsorted(part, rows), len(part) - 1)
            found |= part[at] == rows
        return found

    def __and__(self, other: Iterable[int]) -> frozenset[int]:
        wanted = np.fromiter(other, dtype=np.int64)
        found = [wanted[np.isin(wanted, part, assume_unique=True)] for part in self.parts] if len(wanted) else []
        return frozenset(int(i) for part in found for i in part)

    __rand__ = __and__


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct ids of sorted id arrays (np.unique hashes, several times slower here)."""
    if len(parts) == 1:
        return parts[0]
    merged = np.sort(np.concatenate(parts))
    return merged[np.r_[True, merged[1:] != merged[:-1]]]


class _Tokenizer:
    """FTS5's own tokenizer on a scratch table: a query word becomes exactly the index's tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None  # opened on first use, not at import
        self._cache: dict[str, tuple[str, ...]] = {}

    def __call__(self, word: str) -> tuple[str, ...]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(":memory:", check_same_thread=False)
                self._conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(w, tokenize = '{TOKENIZE}')")
                self._conn.execute("CREATE VIRTUAL TABLE tokens USING fts5vocab(words, 'instance')")
            self._conn.execute("INSERT INTO words (rowid, w) VALUES (1, ?)", (word,))
            tokens = tuple(r[0] for r in self._conn.execute("SELECT term FROM tokens ORDER BY offset"))
            self._conn.execute("DELETE FROM words")
        if len(self._cache) < 100_000:
            self._cache[word] = tokens
        return tokens


tokenize = _Tokenizer()


@dataclass
class LexicalIndex:
    """The postings of one kind in one index version: term statistics and BM25 top-k."""

    segments: list[_Segment]

    @classmethod
    def load(cls, directory: Path, entries: list[dict[str, Any]]) -> LexicalIndex:
        """Memory-map the segments a manifest lists (terms are read on first use)."""
        return cls([_Segment(directory, e) for e in entries])

    def vocabulary(self) -> list[str]:
        """Every token of the index, sorted."""
        return sorted(set().union(*(s.terms for s in self.segments)))

    def written_as_name(self, word: str) -> bool | None:
        """Whether the text writes this (lower-case) word capitalised and never in lower case.

        None when these segments keep no written forms (the sentences'): the caller then reads
        the text itself.
        """
        if not self.segments or not all(s.has_forms for s in self.segments):
            return None
        capital = any(word in s.forms[0] for s in self.segments)
        return capital and not any(word in s.forms[1] for s in self.segments)

    @property
    def rows(self) -> int:
        """Rows of the table (BM25's N)."""
        return sum(s.rows for s in self.segments)

    def postings(self, word: str) -> Postings | None:
        """The rows holding a word (as FTS5 would match `"word"`); None for a phrase of several tokens."""
        tokens = tokenize(word)
        if len(tokens) != 1:
            return None if tokens else Postings([])
        parts = []
        for segment in self.segments:
            span = segment.span(tokens[0])
            if span is not None:
                parts.append(segment.docs[span])
        return Postings(parts)

    def search(self, words: Sequence[str], limit: int) -> list[tuple[int, float]] | None:
        """(row id, BM25 score; higher is better) of the best rows matching any word, best first.

        Equal to FTS5's `-bm25()` with this kind's column weights, summed over the words as
        phrases (a word given twice counts twice, as in an FTS5 OR query). None when a word is
        a phrase of several tokens ("o'brien"): positions are not stored, FTS5 answers those.
        """
        tokens = [tokenize(w) for w in words]
        if any(len(t) > 1 for t in tokens):
            return None
        tokens = [t for t in tokens if t]
        n = self.rows
        if not tokens or not n:
            return []
        avgdl = sum(s.tokens for s in self.segments) / n
        phrases = [p for p in (self._impacts(t[0], n, avgdl) for t in tokens) if p is not None]
        if not phrases:
            return []
        # Ranking every row that holds a common word ("people": 40% of rows) is what costs; two
        # exact shortcuts avoid most of it. MaxScore (Turtle & Flood 1995): score the rows of the
        # rarest phrases first; once the best `limit` of them beat all the other phrases could add
        # up to, no other row can enter the top, and the common phrases are only looked up for them.
        phrases.sort(key=lambda p: len(p[0]))
        total = sum(len(docs) for docs, _ in phrases)
        for essential in range(1, len(phrases)):
            rows = _union([docs for docs, _ in phrases[:essential]])
            if len(rows) < limit:
                continue
            if len(rows) * MAXSCORE_SHARE > total:
                break
            scores = self._score(rows, phrases)
            threshold = np.partition(scores, len(rows) - limit)[len(rows) - limit]
            if sum(float(x.max()) for _, x in phrases[essential:]) < threshold:
                return self._top(rows, scores, limit)
        # Otherwise every matching row is scored at once; the best `limit` rows of the rarest
        # phrase bound the top's last score from below, so only rows above it are sorted.
        size = int(max(int(docs[-1]) for docs, _ in phrases)) + 1
        dense = np.bincount(
            np.concatenate([docs for docs, _ in phrases]),
            weights=np.concatenate([x for _, x in phrases]),
            minlength=size,
        )
        some = dense[phrases[0][0]]
        floor = np.partition(some, len(some) - limit)[len(some) - limit] if len(some) >= limit else 0.0
        rows = np.flatnonzero(dense >= floor) if floor > 0 else np.flatnonzero(dense)
        return self._top(rows, dense[rows], limit)

    def _impacts(self, token: str, n: int, avgdl: float) -> tuple[np.ndarray, np.ndarray] | None:
        """A token's rows (sorted) and each one's BM25 share, as FTS5's bm25() computes it.

        In float32 (FTS5 uses double): a third faster at 1M, scores equal to 1e-7 relative.
        """
        parts = [(s, sp) for s in self.segments if (sp := s.span(token)) is not None and sp.stop > sp.start]
        if not parts:
            return None
        hits = sum(sp.stop - sp.start for _, sp in parts)
        idf = math.log((n - hits + 0.5) / (hits + 0.5))
        idf = idf if idf > 0 else 1e-6
        # Segments hold ascending id ranges (later builds append higher ids), so this stays sorted.
        found = [s.postings(sp) for s, sp in parts]
        docs, tf, length = (np.concatenate(a) for a in zip(*found, strict=True)) if len(found) > 1 else found[0]
        denom = length * np.float32(K1 * B / avgdl)
        denom += np.float32(K1 * (1.0 - B))
        denom += tf
        impacts = tf * np.float32(idf * (K1 + 1.0))
        impacts /= denom
        return docs, impacts

    @staticmethod
    def _score(rows: np.ndarray, phrases: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Full BM25 of the given (sorted) rows: each phrase's share looked up by binary search."""
        scores = np.zeros(len(rows), dtype=np.float64)
        for docs, impacts in phrases:
            at = np.minimum(np.searchsorted(docs, rows), len(docs) - 1)
            held = docs[at] == rows
            scores[held] += impacts[at[held]]
        return scores

    @staticmethod
    def _top(rows: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """The best `limit` of these (ascending) rows, best first; equal scores go to lower ids."""
        if len(rows) > limit:
            last = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            above = np.flatnonzero(scores > last)
            keep = np.concatenate([above, np.flatnonzero(scores == last)[: limit - len(above)]])
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))
        return [(int(rows[i]), float(scores[i])) for i in order]
