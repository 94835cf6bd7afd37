"""The passages holding a word on Milvus, as retrieval reads them: a count, and membership on demand.

Retrieval asks of a key term how many passages hold it (its IDF), whether any does, and which
of a question's few candidate passages do. The first two come from the `words` collection; the
third from the candidates' own tokens. The whole set (a common word is in millions of passages
at scale) is only read if something iterates over it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from bot.index.postings import Postings

if TYPE_CHECKING:
    from bot.index.milvus.lexical import LexicalSide
    from bot.index.records import Kind


def count_phrase(terms: Sequence[str], phrase: Sequence[str]) -> int:
    """How many times the tokens of `phrase` appear in a row, in order and next to each other."""
    if len(phrase) == 1:
        return list(terms).count(phrase[0])
    n = len(phrase)
    return sum(1 for i in range(len(terms) - n + 1) if list(terms[i : i + n]) == list(phrase))


class RemotePostings(Postings):
    """The rows of a kind holding a phrase: its count known, its members read when asked."""

    def __init__(self, reader: LexicalSide, kind: Kind, phrase: Sequence[str], count: int) -> None:
        super().__init__([])
        self.reader, self.kind, self.phrase, self.count = reader, kind, list(phrase), count
        self._all: frozenset[int] | None = None

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def _members(self) -> frozenset[int]:
        if self._all is None:
            expr = " and ".join(f"TEXT_MATCH(terms, {json.dumps(t)})" for t in self.phrase)
            rows = self.reader.store.query(self.reader.name, self.kind, expr, ["id", "terms"])
            self._all = frozenset(r["id"] for r in rows if count_phrase(r["terms"].split(), self.phrase))
        return self._all

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._members()))

    def __contains__(self, row: object) -> bool:
        return bool(isinstance(row, int | np.integer) and self.holds(np.asarray([row]))[0])

    def holds(self, rows: np.ndarray) -> np.ndarray:
        """Per row of `rows`, whether it holds the phrase (read from those rows' tokens)."""
        if not self.count or not len(rows):
            return np.zeros(len(rows), dtype=bool)
        held = self.reader.holding(self.kind, [self.phrase], rows.tolist())[0]
        return np.fromiter((int(r) in held for r in rows), dtype=bool, count=len(rows))

    def __and__(self, other: Iterable[int]) -> frozenset[int]:
        wanted = np.fromiter((int(i) for i in other), dtype=np.int64)
        return frozenset(int(i) for i in wanted[self.holds(wanted)])

    __rand__ = __and__
