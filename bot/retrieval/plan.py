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

from dataclasses import dataclass

import numpy as np

from bot.index.reader import IndexReader
from bot.retrieval.fusion import Fusion, Retrieval
from bot.retrieval.question_side import Bm25Evidence, Cues
from bot.retrieval.search import EVERY_PASSAGE, Fixed, fixed_parts, typed_positions


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
    return Plan(passages, fixed, typed, extra)
