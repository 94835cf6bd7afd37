"""Finding the passages that answer a question, the sentence to quote, and whether to answer.

Dense retrieval on two levels: sentences (one fact each, sharp) and passages (context: title,
section, neighbouring sentences). A passage scores by its best sentence blended with its own
similarity; its best sentence becomes the quote. Overlapping windows of one paragraph are folded
into the best one. Whether the best passage answers is `bot/retrieval/decision.py`'s to say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.index.postings import Postings
from bot.index.reader import IndexReader
from bot.index.records import Candidates, Hits, SentenceRecord
from bot.retrieval.answers import Quote
from bot.retrieval.lexical import Term, lexicon

#: Weight of the best sentence against the whole passage in a passage's score.
SENTENCE_WEIGHT = 0.6
SENTENCE_CANDIDATES = 64
PASSAGE_CANDIDATES = 32
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
#: Added to the fused score of a candidate passage that holds the asked kind of answer (chosen on
#: the PolNeAR training questions: docs/quality.md).
TYPE_BONUS = 0.05


#: IDF a neighbouring sentence must add (key terms the best sentence lacks) to join the quote.
QUOTE_EXTENSION_GAIN = 1.5

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


@dataclass(frozen=True)
class Retrieval:
    """Which sides of retrieval run and how they are fused (the variants of `docs/quality.md`)."""

    dense: bool = True
    #: The lexical ranking: BM25 of whole passages (with title and section), of single sentences
    #: (a passage ranks by its best sentence), of both, or none.
    lexical: str | None = "both"
    #: Reciprocal rank fusion constant (60 in the literature).
    rrf_k: int = 60
    #: Weight of the lexical side against the dense side in the fusion.
    lexical_weight: float = 0.3
    #: "rrf": reciprocal rank fusion; "mix": dense score + weight x BM25 normalised by the best
    #: candidate's (keeps the size of the dense margin, which ranks alone throw away);
    #: "coverage": dense score + weight x the IDF-weighted share of the question's key terms the
    #: passage holds (an absolute measure: a match on a word every passage has adds little).
    fusion: str = "mix"
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
            PASSAGE_CANDIDATES if self.lexical in ("passage", "both") else 0,
            SENTENCE_CANDIDATES if self.lexical in ("sentence", "both") else 0,
        )

    @classmethod
    def named(cls, mode: str) -> Retrieval:
        """The setting `RETRIEVAL_MODE`: hybrid (the measured best), dense or lexical."""
        if mode == "dense":
            return cls(lexical=None)
        if mode == "lexical":
            return cls(dense=False, lexical="sentence")
        return cls()


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


def _holds_entity(slots: str, entities: frozenset[str]) -> bool:
    """Whether a sentence's stored slots (`bot/text/slots.py`) list one of these entity kinds.

    A look at the JSON's trailing `"e"` list, not a parse: this runs on every candidate sentence.
    """
    listed = slots[slots.rfind('"e":') :]
    return any(f'"{label}"' in listed for label in entities)


def _dense_scores(
    reader: IndexReader, qv: np.ndarray, cands: Candidates, pass_hits: dict[int, float]
) -> tuple[dict[int, tuple[float, int, float]], np.ndarray]:
    """Dense evidence per passage, and every candidate sentence's similarity to the question.

    Per passage: (blended dense score, id of its most similar sentence, that similarity).
    """
    if not len(cands.sentence_ids):
        return {}, np.zeros(0, np.float32)
    sims = reader.vectors("sentences", cands.sentence_ids) @ qv
    starts = cands.starts
    top_sim = np.maximum.reduceat(sims, starts)
    # Per passage its most similar sentence, the first in reading order on a tie (lexsort is stable).
    chosen = np.lexsort((-sims, cands.passage_ids))[starts]
    passages = cands.passage_ids[starts].tolist()
    missing = [pid for pid in passages if pid not in pass_hits]
    if missing:
        pass_hits.update(zip(missing, (reader.vectors("passages", missing) @ qv).tolist(), strict=True))
    dense = {
        pid: (SENTENCE_WEIGHT * top + (1 - SENTENCE_WEIGHT) * pass_hits[pid], sid, sim)
        for pid, top, sid, sim in zip(
            passages, top_sim.tolist(), cands.sentence_ids[chosen].tolist(), sims[chosen].tolist(), strict=True
        )
    }
    return dense, sims


def _answer_type_pick(s: Scored, cands: Candidates, sims: np.ndarray, wanted: re.Pattern[str]) -> Scored:
    """The passage's sentence to quote when the question asks for a kind of answer (a number).

    Only the quoted sentence changes, never the passage's score, so this runs on the k passages
    kept rather than on every candidate (the pattern costs ~25 µs a sentence).
    """
    assert cands.texts is not None
    first = int(np.searchsorted(cands.passage_ids, s.passage_id))
    last = int(np.searchsorted(cands.passage_ids, s.passage_id, side="right"))
    picks = [
        (float(sims[i]) + (ANSWER_TYPE_BONUS if wanted.search(cands.texts[i]) else 0.0), -i) for i in range(first, last)
    ]
    best = -max(picks)[1]
    return replace(s, sentence_id=int(cands.sentence_ids[best]), sentence_score=float(sims[best]))


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    """1-based rank of each id by descending score."""
    return {pid: i for i, pid in enumerate(sorted(scores, key=lambda p: scores[p], reverse=True), 1)}


def rank_passages(
    reader: IndexReader,
    qv: np.ndarray,
    k: int,
    question: str = "",
    retrieval: Retrieval | None = None,
    terms: list[Term] | None = None,
    lexical: Hits | None = None,
    entities: frozenset[str] | None = None,
) -> list[Scored]:
    """The k best passages (one per paragraph) for a question and its vector.

    `terms` and `lexical` are the question's key terms and BM25 hits when the caller has them
    (`Lexicon.lookup` finds both in one statement); else they are looked up here. `entities`: the
    kinds of answer the question asks for (`ANSWER_ENTITIES`): a candidate holding one gains
    `retrieval.answer_type_bonus` ("How far ...?" prefers the passage with "18 miles").
    """
    retrieval = retrieval or Retrieval()
    limits = retrieval.lexical_limits()
    if terms is None:
        terms = lexicon(reader).terms(question)
    if lexical is None:
        lexical = lexicon(reader).search(terms, *limits)
    lexical_passages, lexical_sentences = lexical
    sent_hits = reader.dense("sentences", qv, SENTENCE_CANDIDATES) if retrieval.dense else []
    pass_hits = dict(reader.dense("passages", qv, PASSAGE_CANDIDATES)) if retrieval.dense else {}
    by_sentence = limits[1] > 0
    lexical_lists: list[dict[int, float]] = [dict(lexical_passages)] if limits[0] else []
    passage_hits = set(pass_hits)
    for lst in lexical_lists:
        passage_hits |= set(lst)
    sentence_hits = {sid for sid, _ in sent_hits} | {sid for sid, _ in lexical_sentences}
    if not passage_hits and not sentence_hits:
        return []
    wanted = answer_type_bonus(question)
    entities = entities if retrieval.answer_type_bonus > 0 else None
    cands = reader.candidates(passage_hits, sentence_hits, texts=wanted is not None, slots=bool(entities))
    typed = (
        {
            int(pid)
            for pid, slot in zip(cands.passage_ids.tolist(), cands.slots or (), strict=False)
            if slot and _holds_entity(slot, entities)
        }
        if entities
        else None
    )
    if by_sentence:
        by_passage: dict[int, float] = {}
        for sid, score in lexical_sentences:
            pid = cands.owner[sid]
            by_passage[pid] = max(by_passage.get(pid, 0.0), score)
        lexical_lists.append(by_passage)
    candidate_ids = sorted(cands.passages)
    dense, sims = _dense_scores(reader, qv, cands, pass_hits)
    if retrieval.furniture_penalty and not _PHOTO_QUESTION.search(question):
        for pid, d in dense.items():
            if cands.passages[pid][2] in ("standfirst", "caption", "title"):
                dense[pid] = (d[0] - retrieval.furniture_penalty, d[1], d[2])
    fused: dict[int, float] = {}
    shares = coverages(terms, candidate_ids) if retrieval.dense else {}
    if retrieval.fusion == "mix" and retrieval.dense and lexical_lists:
        tops = [max(lst.values(), default=0.0) or 1.0 for lst in lexical_lists]
        for pid in candidate_ids:
            if pid not in dense:
                continue
            lexical_share = sum(lst.get(pid, 0.0) / top for lst, top in zip(lexical_lists, tops, strict=True))
            if retrieval.scale_by_coverage:
                lexical_share *= shares[pid]
            fused[pid] = dense[pid][0] + retrieval.lexical_weight * lexical_share / len(lexical_lists)
    elif retrieval.fusion == "coverage" and retrieval.dense:
        for pid in candidate_ids:
            if pid in dense:
                fused[pid] = dense[pid][0] + retrieval.lexical_weight * shares[pid]
    elif retrieval.dense:
        for pid, rank in _ranks({p: d[0] for p, d in dense.items()}).items():
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (retrieval.rrf_k + rank)
    for lst in lexical_lists if retrieval.fusion == "rrf" or not retrieval.dense else ():
        for pid, rank in _ranks(lst).items():
            fused[pid] = fused.get(pid, 0.0) + retrieval.lexical_weight / (retrieval.rrf_k + rank)
    if typed:
        for pid in typed & fused.keys():
            fused[pid] += retrieval.answer_type_bonus
    lexical_best = {pid: max((lst.get(pid, 0.0) for lst in lexical_lists), default=0.0) for pid in candidate_ids}
    use_fusion = bool(lexical_lists) or not retrieval.dense or retrieval.fusion == "coverage"
    scored = [
        Scored(
            pid,
            fused.get(pid, 0.0) if use_fusion else dense[pid][0],
            dense[pid][1],
            dense[pid][2],
            dense=dense[pid][0],
            lexical=lexical_best[pid],
        )
        for pid in candidate_ids
        if pid in dense and (pid in fused or not use_fusion)
    ]
    # Ties (equal fused ranks) go to the stronger dense evidence.
    scored.sort(key=lambda s: (s.score, s.dense), reverse=True)
    seen: set[tuple[str, int]] = set()
    result: list[Scored] = []
    for s in scored:
        key = cands.passages[s.passage_id][:2]
        if key in seen:
            continue
        seen.add(key)
        result.append(s)
        if len(result) == k:
            break
    if wanted:
        result = [_answer_type_pick(s, cands, sims, wanted) for s in result]
    return result


#: Passages looked at for one whose speaker is the one a "What did X say?" question names.
SPEAKER_CANDIDATES = 10


def prefer_speaker(reader: IndexReader, ranked: list[Scored], asked: str, k: int) -> list[Scored]:
    """The k best passages, those quoting the asked speaker first ("What did Grassley say?").

    Similarity alone ranks a passage *about* Grassley, or quoting his opponent on him, as high as
    his own words; the question asks for his. Order is kept within each group.
    """
    from bot.retrieval.decision import names_meet, speaker_words

    wanted = speaker_words(asked)
    if not wanted or not ranked:
        return ranked[:k]
    quoting = {
        pid
        for pid, name, full in reader.quoted_sources({s.passage_id for s in ranked})
        if names_meet(wanted, speaker_words(name) | speaker_words(full))
    }
    return sorted(ranked, key=lambda s: s.passage_id not in quoting)[:k]


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
        if isinstance(t.passages, Postings):
            ids = np.asarray(passage_ids, dtype=np.int64) if ids is None else ids
            holding = [p for p, h in zip(passage_ids, t.passages.holds(ids).tolist(), strict=True) if h]
        else:
            holding = t.passages.intersection(passage_ids)
        for p in holding:
            held[p] += t.idf
    return {p: h / total for p, h in held.items()}


def _sentence_terms(reader: IndexReader, sentence_ids: list[int], terms: list[Term]) -> dict[int, set[str]]:
    """Which key terms each sentence holds (matched as the index stems them)."""
    held: dict[int, set[str]] = {sid: set() for sid in sentence_ids}
    searched = [t for t in terms if t.searched]
    if not sentence_ids or not searched:
        return held
    found = lexicon(reader).sentences_holding_each([t.searched for t in searched if t.searched], sentence_ids)
    for t, sids in zip(searched, found, strict=True):
        for sid in sids:
            held[sid].add(t.word)
    return held


def quote_span(
    scored: Scored, terms: list[Term], rows: Sequence[SentenceRecord], held: dict[int, set[str]]
) -> tuple[int, int]:
    """(start, end) in the passage text of the sentence(s) to quote.

    The best sentence, extended to a neighbouring sentence of the passage when that neighbour
    holds key terms of the question the best sentence lacks (the answer runs across both), or
    when the best sentence opens a quotation the next one closes. Always whole sentences.
    `rows` are the passage's sentences in order; `held`, the key terms each sentence holds.
    """
    pos = next(i for i, r in enumerate(rows) if r.id == scored.sentence_id)
    start, end = rows[pos].start, rows[pos].end
    if len(rows) == 1:
        return start, end
    idf = {t.word: t.idf for t in terms}
    best = held[rows[pos].id]
    gains = {}
    for j in (pos - 1, pos + 1):
        if 0 <= j < len(rows):
            gains[j] = sum(idf[w] for w in held[rows[j].id] - best)
    text = rows[pos].text
    opens_quote = text.count('"') % 2 == 1 or text.count("“") > text.count("”")
    if opens_quote and pos + 1 < len(rows) and not text.lstrip().startswith(("'", "”")):
        gains[pos + 1] = gains.get(pos + 1, 0.0) + QUOTE_EXTENSION_GAIN
    if gains:
        j = max(gains, key=lambda i: gains[i])
        if gains[j] >= QUOTE_EXTENSION_GAIN:
            start, end = min(start, rows[j].start), max(end, rows[j].end)
    return start, end


def make_quotes(reader: IndexReader, ranked: list[Scored], terms: list[Term] | None = None) -> list[Quote]:
    """Materialise scored passages as `Quote`s with their best sentence(s) and speakers.

    Two reads for all of them (passages with their sentences, the key terms those sentences
    hold), not three per quote.
    """
    if not ranked:
        return []
    terms = terms or []
    passages = reader.passages(s.passage_id for s in ranked)
    # A quote extends only to a neighbour of its sentence: their terms are all it needs.
    near = []
    for scored in ranked:
        rows = passages[scored.passage_id].sentences
        if len(rows) > 1:
            pos = next(i for i, r in enumerate(rows) if r.id == scored.sentence_id)
            near += [r.id for r in rows[max(0, pos - 1) : pos + 2]]
    held = _sentence_terms(reader, near, terms)
    articles = reader.articles()
    quotes = []
    for scored in ranked:
        p = passages[scored.passage_id]
        s = next(r for r in p.sentences if r.id == scored.sentence_id)
        start, end = quote_span(scored, terms, p.sentences, held)
        quotes.append(
            Quote(
                passage_id=p.id,
                text=p.text,
                quote_start=start,
                quote_end=end,
                score=scored.dense,
                speaker=s.speaker,
                article=articles[p.article_id],
                paragraph=p.paragraph,
                kind=p.kind,
                section=p.section,
                slots=tuple(r.slots for r in p.sentences),
                speakers=tuple(
                    f"{r.speaker.name} {r.speaker.full_name or ''}" for r in p.sentences if r.speaker.kind == "source"
                ),
            )
        )
    return quotes


def source_quotes(reader: IndexReader, name: str, limit: int) -> list[Quote]:
    """The sentences attributed to a speaker found by name, full name or acronym, as quotes."""
    articles = reader.articles()
    return [
        Quote(
            passage_id=q.passage.id,
            text=q.passage.text,
            quote_start=q.sentence.start,
            quote_end=q.sentence.end,
            score=1.0,
            speaker=q.sentence.speaker,
            article=articles[q.passage.article_id],
            paragraph=q.passage.paragraph,
            kind=q.passage.kind,
            section=q.passage.section,
        )
        for q in reader.quotes_by(name, limit)
    ]
