"""Finding the passages that answer a question, the sentence to quote, and whether to answer.

Dense retrieval on two levels: sentences (one fact each, sharp) and passages (context: title,
section, neighbouring sentences). A passage scores by its best sentence blended with its own
similarity; its best sentence becomes the quote. Overlapping windows of one paragraph are folded
into the best one. Whether the best passage answers is `bot/retrieval/decision.py`'s to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from bot.index.memo import remembered
from bot.index.reader import IndexReader
from bot.index.records import Candidates, Hits
from bot.retrieval.frozen import quick_init
from bot.retrieval.fusion import PASSAGE_CANDIDATES, SENTENCE_CANDIDATES, Retrieval, fuse_columns
from bot.retrieval.lexical import Term, lexicon
from bot.retrieval.question_side import Bm25Evidence, Cues, bm25_evidence, question_cues
from bot.text.passages import WINDOW_OVERLAP_SENTENCES

if TYPE_CHECKING:
    from bot.retrieval.plan import Plan

#: Weight of the best sentence against the whole passage in a passage's score.
SENTENCE_WEIGHT = 0.6
#: Added to a sentence's similarity, when choosing the quote, if it holds the kind of answer the
#: question asks for (a number for "how many"). Passage scores and abstention ignore it.
ANSWER_TYPE_BONUS = 0.25
#: The entity kinds (spaCy's labels, stored per sentence in `sentences.slots`) an answer to each
#: kind of question holds: "how far" a number, "when" a date, "where" a place, "who" a person or body.
ANSWER_ENTITIES = {
    "quantity": frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}),
    "when": frozenset({"DATE", "TIME"}),
    "where": frozenset({"GPE", "LOC", "FAC"}),
    "who": frozenset({"PERSON", "ORG", "NORP"}),
}


@quick_init
@dataclass(frozen=True)
class Scored:
    """A candidate passage with its scores and best sentence."""

    passage_id: int
    #: The fused score that orders candidates (RRF, or the dense score alone).
    score: float
    sentence_id: int
    sentence_score: float
    #: Dense evidence: best sentence blended with the whole passage (cosine scale).
    dense: float = 0.0
    #: BM25 of the passage's best lexical match (0 when the lexical side did not find it).
    lexical: float = 0.0


def _holds_entity(slots: str, labels: tuple[str, ...]) -> bool:
    """Whether a sentence's stored slots (`bot/text/slots.py`) list one of these entity kinds.

    A look at the JSON's trailing `"e"` list, not a parse: this runs on every candidate sentence.
    `labels` are the kinds as the JSON writes them, quoted (`_quoted`).
    """
    listed = slots[slots.rfind('"e":') :]
    return any(label in listed for label in labels)


def _quoted(entities: frozenset[str]) -> tuple[str, ...]:
    """Entity kinds as JSON strings (`"DATE"`), in a fixed order, to look for in stored slots."""
    return tuple(f'"{label}"' for label in sorted(entities))


@quick_init
@dataclass(frozen=True)
class _Columns:
    """The candidate passages' dense evidence, one entry per passage in id order (`Candidates.starts`).

    Columns rather than a dict per passage: ranking walked the ~20-200 candidates in Python at
    each step (dense blend, furniture penalty, coverage, fusion, sort), the largest part of the
    engine's work after the encode (docs/performance.md, "Query path, 2026-12-03").
    """

    #: Passage ids, ascending.
    ids: np.ndarray
    #: Blended dense score (best sentence with the whole passage, cosine scale), float64.
    dense: np.ndarray
    #: Per passage, the index in the candidates' columns of its most similar sentence.
    chosen: np.ndarray
    #: Every candidate sentence's similarity to the question (float32).
    sims: np.ndarray


@dataclass(frozen=True)
class Fixed:
    """What the ranking derives from one set of candidates alone, before any question vector.

    Kept per `Candidates` object (`fixed_parts`): the reader hands out the same one for the same
    passages (`ReadStore.candidates`), and on an index of one report every question's candidates
    are the same passages, so these were made again after every search, on the critical path.
    """

    #: The candidates these were made from (kept so that their id is not reused while kept).
    cands: Candidates
    #: Every candidate sentence's stored vector, in the candidates' order.
    vectors: np.ndarray
    #: Passage ids, ascending (`cands.passage_ids[cands.starts]`), as an array and as a list.
    ids: np.ndarray
    id_list: list[int]
    #: Positions in `ids` of titles, standfirsts and photo captions (the furniture penalty's).
    furniture: list[int]
    #: Positions in `ids` of the passages holding an entity of the asked kinds, by their labels
    #: (`_typed`), filled as kinds are asked.
    typed: dict[tuple[str, ...], list[int]]


#: The reader's memo of every passage id of its version (under "ids"), set by the first search that
#: listed them all: `plan.ranking_plan` then knows a question's candidates before its search.
EVERY_PASSAGE = "every-passage"

#: Candidate sets whose `Fixed` a reader keeps: each holds its sentences' vectors (~1.5 KB a
#: sentence; a couple of hundred sentences on a large index), so few.
_KEPT_FIXED = 32
_FURNITURE = ("standfirst", "caption", "title")


def fixed_parts(reader: IndexReader, cands: Candidates) -> Fixed:
    """The `Fixed` of these candidates, kept per version for the same `Candidates` object."""
    kept: dict[int, Fixed] = reader.memo("fixed-candidates", dict)
    found = kept.get(id(cands))
    if found is not None and found.cands is cands:
        return found
    ids = cands.passage_ids[cands.starts]
    id_list = ids.tolist()
    passages = cands.passages
    furniture = [i for i, pid in enumerate(id_list) if passages[pid][2] in _FURNITURE]
    vectors = reader.vectors("sentences", cands.sentence_ids)
    for array in (ids, vectors):
        array.flags.writeable = False  # shared by questions and threads
    made = Fixed(cands, vectors, ids, id_list, furniture, {})
    if len(kept) >= _KEPT_FIXED:
        kept.clear()
    kept[id(cands)] = made
    return made


def _dense_columns(reader: IndexReader, qv: np.ndarray, fixed: Fixed, pass_hits: dict[int, float]) -> _Columns:
    """Dense evidence per candidate passage, and every candidate sentence's similarity to the question.

    A passage's score is its most similar sentence's blended with its own similarity, in float64
    from the float32 similarities, the same operations in the same order as one passage at a time.
    """
    cands = fixed.cands
    sims = fixed.vectors @ qv
    starts = cands.starts
    top_sim = np.maximum.reduceat(sims, starts).astype(np.float64)
    # Per passage its most similar sentence, the first in reading order on a tie (lexsort is stable).
    chosen = np.lexsort((-sims, cands.passage_ids))[starts]
    ids = fixed.ids
    own = np.empty(len(ids), dtype=np.float64)
    missing = []
    for i, pid in enumerate(fixed.id_list):
        hit = pass_hits.get(pid)
        if hit is None:
            missing.append(i)
        else:
            own[i] = hit
    if missing:
        own[missing] = reader.vectors("passages", ids[missing]) @ qv
    dense = SENTENCE_WEIGHT * top_sim + (1 - SENTENCE_WEIGHT) * own
    return _Columns(ids, dense, chosen, sims)


#: Sentences (and candidate passages) whose answer-type checks a reader keeps; then it starts afresh.
_KEPT_CHECKS = 65_536


def _answer_type_pick(
    reader: IndexReader, s: Scored, cands: Candidates, sims: np.ndarray, wanted: re.Pattern[str]
) -> Scored:
    """The passage's sentence to quote when the question asks for a kind of answer (a number).

    Only the quoted sentence changes, never the passage's score, so this runs on the k passages
    kept rather than on every candidate. The pattern costs ~25 µs a sentence, after the encode:
    whether a sentence matches is kept per version (a sentence's text never changes in one).
    """
    assert cands.texts is not None
    texts = cands.texts
    first = int(np.searchsorted(cands.passage_ids, s.passage_id))
    last = int(np.searchsorted(cands.passage_ids, s.passage_id, side="right"))
    kept: dict[tuple[str, int], bool] = reader.memo("answer-type-sentences", dict)
    picks = []
    for i, sid in zip(range(first, last), cands.sentence_ids[first:last].tolist(), strict=True):

        def matches(_: tuple[str, int], text: str = texts[i]) -> bool:
            return bool(wanted.search(text))

        held = remembered(kept, (wanted.pattern, sid), matches, _KEPT_CHECKS)
        picks.append((float(sims[i]) + (ANSWER_TYPE_BONUS if held else 0.0), -i))
    best = -max(picks)[1]
    sentence = int(cands.sentence_ids[best])
    if sentence == s.sentence_id:  # most often the most similar sentence holds the number too
        return s
    return replace(s, sentence_id=sentence, sentence_score=float(sims[best]))


def rank_passages(
    reader: IndexReader,
    qv: np.ndarray,
    k: int,
    question: str = "",
    retrieval: Retrieval | None = None,
    terms: list[Term] | None = None,
    lexical: Hits | None = None,
    entities: frozenset[str] | None = None,
    bm25: Bm25Evidence | None = None,
    cues: Cues | None = None,
    plan: Plan | None = None,
) -> list[Scored]:
    """The k best passages (one per paragraph) for a question and its vector.

    `terms` and `lexical` are the question's key terms and BM25 hits when the caller has them
    (`Lexicon.lookup` finds both in one statement); else they are looked up here. `entities`: the
    kinds of answer the question asks for (`ANSWER_ENTITIES`): a candidate holding one gains
    `retrieval.answer_type_bonus` ("How far ...?" prefers the passage with "18 miles"). `bm25`:
    `bm25_evidence` of these hits when the caller made it beforehand (beside the encode), `cues`
    the question's `question_cues`, and `plan` its `plan.ranking_plan` (made with them).
    """
    retrieval = retrieval or Retrieval()
    limits = retrieval.lexical_limits()
    if terms is None:
        terms = lexicon(reader).terms(question)
    if lexical is None:
        lexical = lexicon(reader).search(terms, *limits)
    bm25 = bm25 or bm25_evidence(reader, retrieval, terms, lexical)
    lexical_lists = bm25.lists
    pass_hits = dict(reader.dense("passages", qv, PASSAGE_CANDIDATES)) if retrieval.dense else {}
    cues = cues or question_cues(question)
    wanted = cues.wanted
    entities = entities if retrieval.answer_type_bonus > 0 else None
    if plan is not None and retrieval.dense and len(pass_hits) == len(plan.passages) == reader.count("passages"):
        # The candidates were known before the search: every passage (`plan.ranking_plan`).
        fixed, typed, extra = plan.fixed, plan.typed, plan.extra
    else:
        found = _find_candidates(reader, qv, retrieval, pass_hits, bm25.lists, lexical, wanted is not None, entities)
        if found is None:
            return []
        fixed, typed, extra = found, None, None
    cands = fixed.cands
    cols = _dense_columns(reader, qv, fixed, pass_hits)
    ids = fixed.id_list
    if retrieval.furniture_penalty and not cues.photo:
        cols.dense[fixed.furniture] -= retrieval.furniture_penalty
    if extra is not None:
        fused: np.ndarray | None = cols.dense + extra
    else:
        fused = fuse_columns(retrieval, cols.dense, lexical_lists, terms, ids, cols.ids, bm25.shares)
    if fused is not None and entities:
        fused[typed if typed is not None else typed_positions(reader, fixed, entities)] += retrieval.answer_type_bonus
    result = _best(ids, cols, fused, lexical_lists, cands, k)
    if wanted:
        result = [_answer_type_pick(reader, s, cands, cols.sims, wanted) for s in result]
    return result


def _find_candidates(
    reader: IndexReader,
    qv: np.ndarray,
    retrieval: Retrieval,
    pass_hits: dict[int, float],
    lexical_lists: list[dict[int, float]],
    lexical: Hits,
    texts: bool,
    entities: frozenset[str] | None,
) -> Fixed | None:
    """The candidates after the passage search (its hits, BM25's and the sentences'), or None."""
    passage_hits = set(pass_hits).union(*lexical_lists[: 1 if retrieval.lexical_limits()[0] else 0])
    if retrieval.dense and len(pass_hits) == reader.count("passages"):
        # Every passage is a candidate already (an index of at most PASSAGE_CANDIDATES passages:
        # one report): a sentence adds only its passage, so neither the sentence search nor the
        # lookup of BM25's sentences' passages can add a candidate. Kept for `plan.ranking_plan`.
        sentence_hits: set[int] = set()
        every_passage: dict[str, frozenset[int]] = reader.memo(EVERY_PASSAGE, dict)
        if "ids" not in every_passage:
            every_passage["ids"] = frozenset(pass_hits)
    else:
        sent_hits = reader.dense("sentences", qv, SENTENCE_CANDIDATES) if retrieval.dense else []
        sentence_hits = {sid for sid, _ in sent_hits} | {sid for sid, _ in lexical[1]}
    if not passage_hits and not sentence_hits:
        return None
    cands = reader.candidates(passage_hits, sentence_hits, texts=texts, slots=bool(entities))
    return fixed_parts(reader, cands) if len(cands.sentence_ids) else None


def typed_positions(reader: IndexReader, fixed: Fixed, entities: frozenset[str]) -> list[int]:
    """Positions in the candidates' passage ids of those holding an entity of these kinds (`_typed`), kept."""
    labels = _quoted(entities)
    typed = fixed.typed.get(labels)
    if typed is None:
        holding = _typed(reader, fixed.cands, entities)
        typed = fixed.typed[labels] = [i for i, pid in enumerate(fixed.id_list) if pid in holding]
    return typed


def _typed(reader: IndexReader, cands: Candidates, entities: frozenset[str]) -> set[int]:
    """The candidate passages with a sentence holding an entity of the asked kinds.

    Kept per version and passage for each set of kinds: the passages' sentences never change in
    one, and this looked at every candidate sentence after the encode.
    """
    labels = _quoted(entities)
    kept: dict[tuple[tuple[str, ...], int], bool] = reader.memo("typed-passages", dict)
    passages = cands.passage_ids[cands.starts].tolist()
    known = {pid: kept.get((labels, pid)) for pid in passages}
    if None in known.values():
        found: set[int] = set()
        for pid, slot in zip(cands.passage_ids.tolist(), cands.slots or (), strict=True):
            # A passage is typed by one sentence: the rest of its sentences need no look.
            if slot and known[pid] is None and pid not in found and _holds_entity(slot, labels):
                found.add(pid)
        if len(kept) > _KEPT_CHECKS:
            kept.clear()
        for pid, typed in known.items():
            if typed is None:
                known[pid] = kept[labels, pid] = pid in found
    return {pid for pid, typed in known.items() if typed}


def _best(
    ids: list[int],
    cols: _Columns,
    fused: np.ndarray | None,
    lexical: list[dict[int, float]],
    cands: Candidates,
    k: int,
) -> list[Scored]:
    """The k best candidates: by the fused score when a fusion ran, else dense alone.

    Ties (equal fused scores) go to the stronger dense evidence, then to the lower passage id. A
    window that overlaps one already taken is skipped: a long paragraph is cut into windows that
    share a sentence with their neighbours, so a window next to a taken one repeats it, but one
    further on holds other facts. (Folding every window of a paragraph into its best one left a
    single passage per article of PolNeAR, whose articles are one block of lines: the best-matching
    window won even when another held the answer.) Only the k taken become `Scored` (a large index
    has a couple of hundred candidates a question). `fused` is NaN for a passage no fusion scored.
    """
    dense = cols.dense
    if fused is None:
        order = np.argsort(-dense, kind="stable")
        scores = denses = dense.tolist()
    else:
        # Passage ids ascend already: a stable sort keeps them in order within equal scores.
        order = np.lexsort((-dense, -fused))
        scores, denses = fused.tolist(), dense.tolist()
    sentences = cands.sentence_ids[cols.chosen].tolist()
    similarities = cols.sims[cols.chosen].tolist()
    taken: dict[tuple[str, int], list[int]] = {}
    result: list[Scored] = []
    for i in order.tolist():
        if scores[i] != scores[i]:  # NaN: no fusion scored it
            continue
        pid = ids[i]
        article, paragraph, _, window = cands.passages[pid]
        windows = taken.setdefault((article, paragraph), [])
        # Neighbouring windows share WINDOW_OVERLAP_SENTENCES sentences; others share none.
        if WINDOW_OVERLAP_SENTENCES and any(abs(window - w) <= 1 for w in windows):
            continue
        windows.append(window)
        best_lexical = max((lst.get(pid, 0.0) for lst in lexical), default=0.0)
        result.append(Scored(pid, scores[i], sentences[i], similarities[i], dense=denses[i], lexical=best_lexical))
        if len(result) == k:
            break
    return result


#: Passages looked at for one whose speaker is the one a "What did X say?" question names.
SPEAKER_CANDIDATES = 10
