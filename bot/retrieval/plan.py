"""What the ranking of a question over an index of one report can make before the question's vector.

On an index of at most `PASSAGE_CANDIDATES` passages (one report) the passage search lists every
passage, so a question's candidates are known before its search: every passage, with no sentence
of its own to add (`search.rank_passages`). The engine makes this plan on the lookup thread while
the caller encodes the question (`bot/engine.py`): the candidates' columns, their fixed parts, the
positions of the passages holding the asked entity kinds and BM25's column of the mix fusion, all
of which ran after the search. Right after the encode every line of code and data is a cache miss
(~5x the time the same code takes in a loop), so what the caller no longer runs there is worth
several times its instruction count (docs/performance.md, "Query path, 2026-12-03 night").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from bot.index.memo import remembered
from bot.index.reader import IndexReader
from bot.retrieval.fusion import Fusion, Retrieval
from bot.retrieval.question_side import Bm25Evidence, Cues
from bot.retrieval.search import (
    _KEPT_CHECKS,
    ANSWER_TYPE_BONUS,
    EVERY_PASSAGE,
    SENTENCE_WEIGHT,
    Fixed,
    Scored,
    fixed_parts,
    take,
    typed_positions,
)


@dataclass(frozen=True)
class Plan:
    """The candidates of every question on this index, and what the ranking derives from them alone."""

    #: Every passage id of the version: `rank_passages` follows the plan only when its search
    #: listed as many passages, i.e. these.
    passages: frozenset[int]
    #: `fixed_parts` of the candidates (every sentence of every passage).
    fixed: Fixed
    #: Positions (in `fixed.ids`) of the passages holding an entity of the asked kinds, or None.
    typed: list[int] | None
    #: What the mix fusion adds to each candidate's dense score, in `fixed.ids` order (0.0 for a
    #: passage BM25 did not list), as `fusion.fuse_columns` adds it; None for another fusion, or
    #: when BM25 listed nothing (the ranking then fuses after the search as before).
    extra: np.ndarray | None
    #: Per candidate passage (in `fixed.ids` order), the (first, end) positions of its sentences
    #: in the candidates' columns, and each candidate sentence's id: `rank`'s plain Python columns.
    bounds: tuple[tuple[int, int], ...] = ()
    sentence_ids: tuple[int, ...] = ()
    #: `extra` as Python floats (empty when it is None).
    extras: tuple[float, ...] = ()

    def rank(
        self,
        reader: IndexReader,
        qv: np.ndarray,
        pass_hits: dict[int, float],
        retrieval: Retrieval,
        cues: Cues,
        lexical: list[dict[int, float]],
        k: int,
        entities: frozenset[str] | None,
    ) -> list[Scored] | None:
        """`search.rank_passages` of this plan's question in plain Python, or None where it cannot.

        The same floats in the same operations and order as its numpy columns (the candidates'
        similarities are numpy's, the one product over every sentence), but no numpy call on the
        few passages of one report: right after the encode each first call of a numpy function
        cost 5-30 µs (docs/performance.md, "Query path, 2026-12-03 late night"). None for a
        fusion other than the mix, or a passage the search did not score (or not planned so).
        """
        if retrieval.fusion is not Fusion.MIX or not self.bounds or (lexical and self.extra is None):
            return None
        if entities and self.typed is None:
            return None
        own = [pass_hits.get(pid) for pid in self.fixed.id_list]
        if None in own:
            return None
        sims = (self.fixed.vectors @ qv).tolist()
        dense, chosen = _dense(sims, self.bounds, own)  # type: ignore[arg-type]
        if retrieval.furniture_penalty and not cues.photo:
            for i in self.fixed.furniture:
                dense[i] -= retrieval.furniture_penalty
        if self.extra is None:  # no fusion: dense alone
            scores = dense
            order = sorted(range(len(dense)), key=lambda i: -dense[i])
        else:
            scores = [d + e for d, e in zip(dense, self.extras, strict=True)]
            for i in self.typed if entities and self.typed is not None else ():
                scores[i] += retrieval.answer_type_bonus
            order = sorted(range(len(dense)), key=lambda i: (-scores[i], -dense[i]))
        ids = self.sentence_ids
        passages = self.fixed.cands.passages
        ranked = take(
            order,
            self.fixed.id_list,
            scores,
            dense,
            [ids[i] for i in chosen],
            [sims[i] for i in chosen],
            lexical,
            passages,
            k,
        )
        if cues.wanted:
            at = self.fixed.id_list.index
            ranked = [self._pick(reader, s, self.bounds[at(s.passage_id)], sims, cues.wanted) for s in ranked]
        return ranked

    def _pick(
        self, reader: IndexReader, s: Scored, bounds: tuple[int, int], sims: list[float], wanted: re.Pattern[str]
    ) -> Scored:
        """`search._answer_type_pick` over the plan's plain Python columns (the same memo and floats)."""
        texts = self.fixed.cands.texts
        assert texts is not None
        kept: dict[tuple[str, int], bool] = reader.memo("answer-type-sentences", dict)
        picks = []
        for i in range(*bounds):

            def matches(_: tuple[str, int], text: str = texts[i]) -> bool:
                return bool(wanted.search(text))

            held = remembered(kept, (wanted.pattern, self.sentence_ids[i]), matches, _KEPT_CHECKS)
            picks.append((sims[i] + (ANSWER_TYPE_BONUS if held else 0.0), -i))
        best = -max(picks)[1]
        sentence = self.sentence_ids[best]
        if sentence == s.sentence_id:
            return s
        return replace(s, sentence_id=sentence, sentence_score=sims[best])


def _dense(sims: list[float], bounds: tuple[tuple[int, int], ...], own: list[float]) -> tuple[list[float], list[int]]:
    """`search._dense_columns`' blended dense score and most similar sentence (the first on a tie) per passage."""
    dense, chosen = [], []
    for (first, end), mine in zip(bounds, own, strict=True):
        best, top = first, sims[first]
        for i in range(first + 1, end):
            if sims[i] > top:
                best, top = i, sims[i]
        chosen.append(best)
        dense.append(SENTENCE_WEIGHT * top + (1 - SENTENCE_WEIGHT) * mine)
    return dense, chosen


def ranking_plan(
    reader: IndexReader, retrieval: Retrieval, bm25: Bm25Evidence, cues: Cues, entities: frozenset[str] | None
) -> Plan | None:
    """The `Plan` of a question, or None when its candidates are not known before its search.

    Known once the version's passage search has listed every passage (`search.EVERY_PASSAGE`,
    kept by `rank_passages`): an index of at most `PASSAGE_CANDIDATES` passages. `entities`: the
    kinds of answer asked, as `rank_passages` takes them.
    """
    if not retrieval.dense:
        return None
    every: dict[str, frozenset[int]] = reader.memo(EVERY_PASSAGE, dict)
    passages = every.get("ids")
    if passages is None:
        return None
    entities = entities if retrieval.answer_type_bonus > 0 else None
    cands = reader.candidates(passages, (), texts=cues.wanted is not None, slots=bool(entities))
    if not len(cands.sentence_ids):
        return None
    fixed = fixed_parts(reader, cands)
    typed = typed_positions(reader, fixed, entities) if entities else None
    extra = None
    lexical = bm25.lists
    if lexical and retrieval.fusion is Fusion.MIX and bm25.shares is not None:
        # `fuse_columns`'s mix column, as it makes it after the search.
        listed = sorted({pid for lst in lexical for pid in lst}.intersection(fixed.id_list))
        extra = np.zeros(len(fixed.id_list))
        if listed:
            extra[np.searchsorted(fixed.ids, listed)] = [bm25.shares[p] for p in listed]
        extra.flags.writeable = False
    starts = cands.starts.tolist()
    bounds = tuple(zip(starts, [*starts[1:], len(cands.sentence_ids)], strict=True))
    extras = tuple(extra.tolist()) if extra is not None else ()
    return Plan(passages, fixed, typed, extra, bounds, tuple(cands.sentence_ids.tolist()), extras)
