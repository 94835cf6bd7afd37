"""The lexical side of the Milvus reader: FTS5's BM25 and term statistics, from Milvus.

Milvus ranks rows by its own BM25 over the index's tokens (`analysis.py`); the best
`OVERSAMPLE` times the rows asked for are scored again here with FTS5's formula (its IDF with the
1e-6 floor, the passages' context column at half weight, the same token counts and average row
length), so the order and the scores are the embedded backend's whenever its best rows are among
Milvus's candidates. Term counts (IDF), the vocabulary (typos) and the written forms (names) come
from the `words` collection, read once per reader.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from bot.index.milvus.analysis import tokens
from bot.index.milvus.remote import RemotePostings, count_phrase
from bot.index.postings import K1, B, Postings

if TYPE_CHECKING:
    from bot.index.memo import Memo
    from bot.index.milvus.store import MilvusStore
    from bot.index.records import Hit, Hits, Kind

T = TypeVar("T")

#: Milvus BM25 candidates per row asked for, scored again with FTS5's formula.
OVERSAMPLE = 4
#: Fewest BM25 candidates asked for, whatever the limit.
MIN_CANDIDATES = 50
#: Per kind, the weight of the context tokens (FTS5's bm25(passages_fts, 1.0, 0.5)).
CONTEXT_WEIGHT = {"passages": 0.5, "sentences": 0.0}


class LexicalSide:
    """BM25, matching rows, vocabulary and names for `MilvusReader`, and the row reads and memo both use.

    `MilvusReader` provides the attributes below and `count`.
    """

    store: MilvusStore
    name: str
    _tokens: dict[str, int]
    _memo: Memo

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """`make()` once per reader."""
        return self._memo.get(key, make)

    def count(self, kind: Kind) -> int:  # pragma: no cover - MilvusReader's
        """Rows of a kind."""
        raise NotImplementedError

    def _rows(
        self, kind: str, fields: Sequence[str], expr: str, order: Callable[[dict[str, Any]], Any] | None = None
    ) -> list[dict[str, Any]]:
        """The rows of this version's collection of a kind matching `expr`: every page, sorted by `order`.

        Milvus returns rows in no particular order; `order` gives them the order SQLite's
        statements give the embedded reader's.
        """
        rows = self.store.query(self.name, kind, expr, fields)
        if order is not None:
            rows.sort(key=order)
        return rows

    def _get(self, kind: str, ids: Iterable[int | str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Rows of this version's collection of a kind by primary key, in no particular order."""
        return self.store.get(self.name, kind, ids, fields)

    def _words(self) -> dict[str, tuple[int, int, bool, bool]]:
        rows = self._rows("words", ["word", "passages", "sentences", "capitalised", "lower"], 'word != ""')
        return {r["word"]: (r["passages"], r["sentences"], r["capitalised"], r["lower"]) for r in rows}

    def _df(self, kind: Kind, phrase: Sequence[str]) -> int:
        words = self.memo("words", self._words)
        column = 0 if kind == "passages" else 1
        return min((words.get(t, (0, 0, False, False))[column] for t in phrase), default=0)

    def matching(
        self, kind: Kind, words: Sequence[str], within: Sequence[int] | None = None
    ) -> list[frozenset[int] | Postings]:
        """For each word, the rows of a kind holding it after stemming (only rows of `within`)."""
        phrases = tokens(list(words))
        if within is not None:
            return [*self.holding(kind, phrases, within)]
        return [RemotePostings(self, kind, p, self._df(kind, p)) if p else frozenset() for p in phrases]

    def holding(self, kind: Kind, phrases: Sequence[Sequence[str]], within: Iterable[int]) -> list[frozenset[int]]:
        """For each phrase (tokens), which of the rows `within` hold it, from those rows' tokens."""
        ids = sorted({int(i) for i in within})
        rows = self._get(kind, ids, ["id", "terms"])
        terms = [(r["id"], r["terms"].split()) for r in rows]
        return [frozenset(i for i, t in terms if p and count_phrase(t, p)) for p in phrases]

    def bm25(self, words: Sequence[str], passages: int, sentences: int) -> Hits:
        """The best passages and sentences by FTS5's BM25 over Milvus's BM25 candidates."""
        phrases = [p for p in tokens(list(words)) if p]
        return self._bm25("passages", phrases, passages), self._bm25("sentences", phrases, sentences)

    def _bm25(self, kind: Kind, phrases: list[list[str]], limit: int) -> list[Hit]:
        n = self.count(kind)
        if not phrases or limit <= 0 or n == 0:
            return []
        query = " ".join(t for p in phrases for t in p)
        found = self.store.bm25(self.name, kind, [query], max(limit * OVERSAMPLE, MIN_CANDIDATES))[0]
        if not found:
            return []
        rows = self._get(kind, [i for i, _ in found], ["id", "terms", "context_len"])
        avgdl = self._tokens.get(kind, 0) / n or 1.0
        idf = []
        for p in phrases:
            df = self._df(kind, p)
            value = math.log((n - df + 0.5) / (df + 0.5))
            idf.append(value if value > 0 else 1e-6)
        weight = CONTEXT_WEIGHT[kind]
        scored: list[Hit] = []
        for r in rows:
            terms = r["terms"].split()
            cut = len(terms) - int(r["context_len"])
            score = 0.0
            for p, w in zip(phrases, idf, strict=True):
                tf = count_phrase(terms[:cut], p) + weight * count_phrase(terms[cut:], p)
                if tf:
                    score += w * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len(terms) / avgdl))
            if score > 0:
                scored.append((int(r["id"]), score))
        scored.sort(key=lambda h: (-h[1], h[0]))
        return scored[:limit]

    def lookup(
        self, words: Sequence[str], passages: int, sentences: int
    ) -> tuple[list[frozenset[int] | Postings], Hits]:
        """`matching("passages", words)` and `bm25(words, ...)`."""
        return self.matching("passages", words), self.bm25(words, passages, sentences)

    def vocabulary(self) -> Sequence[str]:
        """The passages' stemmed terms, read once per version."""
        return self.memo("vocabulary", lambda: sorted(w for w, v in self.memo("words", self._words).items() if v[0]))

    def written_as_name(self, word: str) -> bool:
        """Whether the passages write the word capitalised and never in lower case."""
        found = self.memo("words", self._words).get(word.lower())
        return bool(found and found[2] and not found[3])
