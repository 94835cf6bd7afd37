"""How the dense and lexical sides of retrieval are weighed together into one score per passage.

Three fusions were measured (`docs/quality.md`); `Retrieval` names the sides that run and the
fusion that joins them, and `fuse` computes it. The dense evidence per passage is its best
sentence blended with its own similarity (`bot/retrieval/search.py`); the lexical evidence is
BM25 of passages and of sentences (`bot/retrieval/lexical.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from bot.index.postings import Postings
from bot.retrieval.lexical import Term
from bot.settings import RetrievalMode

SENTENCE_CANDIDATES = 64
PASSAGE_CANDIDATES = 32
#: Added to the fused score of a candidate passage that holds the asked kind of answer (chosen on
#: the PolNeAR training questions: docs/quality.md).
TYPE_BONUS = 0.05

#: Per passage: (blended dense score, id of its most similar sentence, that similarity).
Dense = dict[int, tuple[float, int, float]]


class Fusion(StrEnum):
    """How the lexical side's evidence joins the dense side's."""

    #: Reciprocal rank fusion: each side adds weight / (rrf_k + rank).
    RRF = "rrf"
    #: Dense score + weight x BM25 normalised by the best candidate's (keeps the size of the
    #: dense margin, which ranks alone throw away).
    MIX = "mix"
    #: Dense score + weight x the IDF-weighted share of the question's key terms the passage
    #: holds (an absolute measure: a match on a word every passage has adds little).
    COVERAGE = "coverage"


class LexicalSide(StrEnum):
    """What BM25 ranks: whole passages (with title and section), single sentences, or both."""

    PASSAGE = "passage"
    SENTENCE = "sentence"
    BOTH = "both"


@dataclass(frozen=True)
class Retrieval:
    """Which sides of retrieval run and how they are fused (the variants of `docs/quality.md`)."""

    dense: bool = True
    #: The lexical ranking: BM25 of whole passages (with title and section), of single sentences
    #: (a passage ranks by its best sentence), of both, or none.
    lexical: LexicalSide | None = LexicalSide.BOTH
    #: Reciprocal rank fusion constant (60 in the literature).
    rrf_k: int = 60
    #: Weight of the lexical side against the dense side in the fusion.
    lexical_weight: float = 0.3
    #: How the dense and lexical sides are fused (`Fusion`).
    fusion: Fusion = Fusion.MIX
    #: With "mix": scale each passage's BM25 share by its key-term coverage, so that BM25 counts
    #: only as far as the passage matches the telling terms of the question.
    scale_by_coverage: bool = True
    #: Subtracted from the dense score of a title, standfirst or photo caption, so that summaries and
    #: captions support the body text without outranking it (not for questions about photos).
    furniture_penalty: float = 0.06
    #: Added to the fused score of a passage holding the kind of answer asked for (a number for
    #: "how many", a date for "when"; see `rank_passages`). 0 turns it off.
    answer_type_bonus: float = TYPE_BONUS

    def lexical_limits(self) -> tuple[int, int]:
        """How many passages and sentences the lexical side asks BM25 for (0: that side is off)."""
        return (
            PASSAGE_CANDIDATES if self.lexical in (LexicalSide.PASSAGE, LexicalSide.BOTH) else 0,
            SENTENCE_CANDIDATES if self.lexical in (LexicalSide.SENTENCE, LexicalSide.BOTH) else 0,
        )

    @classmethod
    def named(cls, mode: RetrievalMode | str) -> Retrieval:
        """The setting `RETRIEVAL_MODE`: hybrid (the measured best), dense or lexical."""
        mode = RetrievalMode(mode)
        if mode is RetrievalMode.DENSE:
            return cls(lexical=None)
        if mode is RetrievalMode.LEXICAL:
            return cls(dense=False, lexical=LexicalSide.SENTENCE)
        return cls()


def coverage(terms: list[Term], passage_id: int) -> float:
    """IDF-weighted share of the question's key terms that a passage (or its context) holds."""
    return coverages(terms, [passage_id])[passage_id]


def coverages(terms: list[Term], passage_ids: list[int]) -> dict[int, float]:
    """`coverage` of many passages at once (one lookup per term, not per term and passage)."""
    total = sum(t.idf for t in terms)
    if total <= 0:
        return dict.fromkeys(passage_ids, 1.0)
    held = dict.fromkeys(passage_ids, 0.0)
    ids: np.ndarray | None = None
    for t in terms:
        holding: Collection[int]
        if isinstance(t.passages, Postings):
            ids = np.asarray(passage_ids, dtype=np.int64) if ids is None else ids
            holding = [p for p, h in zip(passage_ids, t.passages.holds(ids).tolist(), strict=True) if h]
        else:
            holding = t.passages.intersection(passage_ids)
        for p in holding:
            held[p] += t.idf
    return {p: h / total for p, h in held.items()}


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    """1-based rank of each id by descending score."""
    return {pid: i for i, pid in enumerate(sorted(scores, key=lambda p: scores[p], reverse=True), 1)}


def _rrf(fused: dict[int, float], lists: list[dict[int, float]], weight: float, rrf_k: int) -> dict[int, float]:
    """Add each list's reciprocal ranks, times `weight`, to `fused`."""
    for lst in lists:
        for pid, rank in _ranks(lst).items():
            fused[pid] = fused.get(pid, 0.0) + weight / (rrf_k + rank)
    return fused


def _mix(
    retrieval: Retrieval, dense: Dense, lexical: list[dict[int, float]], terms: list[Term], candidates: list[int]
) -> dict[int, float]:
    """`Fusion.MIX`: the dense score plus the weighted mean of the BM25 shares of the best candidate's."""
    scaled = retrieval.scale_by_coverage
    shares = coverages(terms, candidates) if scaled else {}
    # Each list's scores as shares of its best, once per listed passage rather than per candidate.
    parts = [{pid: v / top for pid, v in lst.items()} for lst, top in zip(lexical, _tops(lexical), strict=True)]
    weight, n = retrieval.lexical_weight, len(lexical)
    fused = {}
    for pid in candidates:
        if pid not in dense:
            continue
        share = 0.0
        for part in parts:
            share += part.get(pid, 0.0)
        if scaled:
            share *= shares[pid]
        fused[pid] = dense[pid][0] + weight * share / n
    return fused


def _tops(lexical: list[dict[int, float]]) -> list[float]:
    """Each list's best score (1.0 for an empty list or a best of 0)."""
    return [max(lst.values(), default=0.0) or 1.0 for lst in lexical]


def fuse(
    retrieval: Retrieval, dense: Dense, lexical: list[dict[int, float]], terms: list[Term], candidates: list[int]
) -> dict[int, float] | None:
    """The fused score of each candidate passage, or None when the dense score ranks alone.

    `lexical`: BM25 scores by passage, one dict per lexical side that ran. Without the dense
    side, the lexical sides' reciprocal ranks; without a lexical side, the dense score alone
    (but `Fusion.COVERAGE`, which needs only the terms).
    """
    if not retrieval.dense:
        return _rrf({}, lexical, retrieval.lexical_weight, retrieval.rrf_k)
    if retrieval.fusion is Fusion.COVERAGE:
        shares = coverages(terms, candidates)
        return {pid: dense[pid][0] + retrieval.lexical_weight * shares[pid] for pid in candidates if pid in dense}
    if not lexical:
        return None
    if retrieval.fusion is Fusion.MIX:
        return _mix(retrieval, dense, lexical, terms, candidates)
    by_dense = {
        pid: 1.0 / (retrieval.rrf_k + rank) for pid, rank in _ranks({p: d[0] for p, d in dense.items()}).items()
    }
    return _rrf(by_dense, lexical, retrieval.lexical_weight, retrieval.rrf_k)


def fuse_columns(
    retrieval: Retrieval,
    dense: np.ndarray,
    lexical: list[dict[int, float]],
    terms: list[Term],
    passage_ids: list[int],
    ids: np.ndarray,
    shares: dict[int, float] | None = None,
) -> np.ndarray | None:
    """`fuse` over columns: the fused score of each of `passage_ids` (NaN where none), or None.

    `dense` is the passages' dense scores in the same order, `ids` the passage ids as an int64
    array. With the default fusion (mix) the lexical side adds to the passages BM25 listed only:
    their shares are summed in Python as `fuse` sums them, then added to the dense column (0.0 for
    the rest, as `fuse` adds), so the scores are equal to the bit; the coverage of a passage no
    list holds is never needed. Other fusions go through `fuse`. `shares`: `mix_shares` of every
    listed passage when the caller made them beforehand (each passage's share is its own).
    """
    if retrieval.dense and not lexical and retrieval.fusion is not Fusion.COVERAGE:
        return None
    if retrieval.dense and retrieval.fusion is Fusion.MIX:
        listed = sorted({pid for lst in lexical for pid in lst}.intersection(passage_ids))
        extra = np.zeros(len(passage_ids))
        if listed:
            values = (
                [shares[p] for p in listed] if shares is not None else mix_shares(retrieval, lexical, terms, listed)
            )
            extra[np.searchsorted(ids, listed)] = values
        return dense + extra
    by_pid = {p: (d, 0, 0.0) for p, d in zip(passage_ids, dense.tolist(), strict=True)}
    fused = fuse(retrieval, by_pid, lexical, terms, passage_ids)
    if fused is None:
        return None
    return np.fromiter((fused.get(p, np.nan) for p in passage_ids), dtype=np.float64, count=len(passage_ids))


def mix_shares(
    retrieval: Retrieval,
    lexical: list[dict[int, float]],
    terms: list[Term],
    listed: list[int],
    cover: dict[int, float] | None = None,
) -> list[float]:
    """What `Fusion.MIX` adds to the dense score of each listed passage (the lexical side's weighted share).

    `cover`: `coverages(terms, listed)` when the caller made them (with coverage scaling).
    """
    scaled = retrieval.scale_by_coverage
    if cover is None:
        cover = coverages(terms, listed) if scaled else {}
    parts = [{pid: v / top for pid, v in lst.items()} for lst, top in zip(lexical, _tops(lexical), strict=True)]
    weight, n = retrieval.lexical_weight, len(lexical)
    out = []
    for pid in listed:
        share = 0.0
        for part in parts:
            share += part.get(pid, 0.0)
        if scaled:
            share *= cover[pid]
        out.append(weight * share / n)
    return out
