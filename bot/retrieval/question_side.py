"""What the ranking reads of a question before its vector: BM25's side and the question's cues.

None of it needs the question's vector, so the engine makes it on the lookup thread while the
caller encodes the question (`bot/engine.py`), and `search.rank_passages` takes it made: what
runs after the encode is the query's critical path (docs/performance.md, "Query path,
2026-12-03 afternoon" and "evening").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.index.reader import IndexReader
from bot.index.records import Hits
from bot.retrieval.frozen import quick_init
from bot.retrieval.fusion import Fusion, Retrieval, coverages, mix_shares
from bot.retrieval.lexical import Term

_QUANTITY_QUESTION = re.compile(
    r"\b(?:how (?:many|much|long|old|far)|number of|death toll|toll|casualt|percentage|count)", re.I
)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|hundreds|thousand|thousands|million|millions|dozen|dozens|half)\b",
    re.I,
)


_PHOTO_QUESTION = re.compile(r"\b(?:photo|photos|picture|pictures|image|images|caption|captions|shown|seen)\b", re.I)


def answer_type_bonus(question: str) -> re.Pattern[str] | None:
    """The pattern a good quote for this question contains, if the question asks for one."""
    return _QUANTITY if _QUANTITY_QUESTION.search(question) else None


@quick_init
@dataclass(frozen=True)
class Cues:
    """What the ranking reads of the question's words alone.

    The engine reads them on the lookup thread while the caller encodes the question
    (`bot/engine.py`): two regular expressions over the question that ran after the search, on
    the query's critical path (docs/performance.md, "Query path, 2026-12-03 evening").
    """

    #: The pattern a good quote holds (`answer_type_bonus`), None when the question asks for none.
    wanted: re.Pattern[str] | None
    #: The question asks about photos: captions are then not penalised as furniture.
    photo: bool


def question_cues(question: str) -> Cues:
    """The ranking's `Cues` of a question."""
    return Cues(answer_type_bonus(question), bool(_PHOTO_QUESTION.search(question)))


@quick_init
@dataclass(frozen=True)
class Bm25Evidence:
    """BM25's side of a question's ranking: it needs no question vector.

    The engine makes it on the lookup thread while the caller encodes the question (`bot/engine.py`):
    the lists and the mix fusion's shares with their coverage were ~15% of the ranking after the
    search, the query's critical path (docs/performance.md, "Query path, 2026-12-03 afternoon").
    """

    #: BM25 scores by passage, one dict per lexical side that ran: passages, then sentences (each
    #: passage by its best sentence).
    lists: list[dict[int, float]]
    #: What the mix fusion adds to each listed passage's dense score (`fusion.mix_shares`); None
    #: for another fusion.
    shares: dict[int, float] | None
    #: The key-term coverage (`fusion.coverages`) of each listed passage, when the mix fusion
    #: scaled by it: the decision reads the best passage's from here rather than after the search.
    coverage: dict[int, float] = field(default_factory=dict)


def bm25_evidence(reader: IndexReader, retrieval: Retrieval, terms: list[Term], hits: Hits) -> Bm25Evidence:
    """BM25's lists and the mix fusion's shares of a question's hits (`Lexicon.lookup`).

    The sentences' passages come from `candidates`, whose rows the ranking reads next anyway.
    """
    limits = retrieval.lexical_limits()
    passages, sentences = hits
    lists: list[dict[int, float]] = [dict(passages)] if limits[0] else []
    if limits[1] > 0:
        wanted = {sid for sid, _ in sentences}
        owner = reader.candidates((), wanted, texts=False, slots=False).owner if wanted else {}
        lists.append(_best_sentence_per_passage(sentences, owner))
    shares = None
    cover: dict[int, float] = {}
    if retrieval.dense and retrieval.fusion is Fusion.MIX and lists:
        listed = sorted({pid for lst in lists for pid in lst})
        cover = coverages(terms, listed) if retrieval.scale_by_coverage else {}
        shares = dict(zip(listed, mix_shares(retrieval, lists, terms, listed, cover), strict=True))
    return Bm25Evidence(lists, shares, cover)


def _best_sentence_per_passage(hits: list[tuple[int, float]], owner: dict[int, int]) -> dict[int, float]:
    """BM25 of sentences as a passage ranking: each passage scores by its best sentence."""
    by_passage: dict[int, float] = {}
    for sid, score in hits:
        pid = owner[sid]
        by_passage[pid] = max(by_passage.get(pid, 0.0), score)
    return by_passage
