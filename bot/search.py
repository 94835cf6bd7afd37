"""Finding the passages that answer a question, the sentence to quote, and whether to answer.

Dense retrieval on two levels: sentences (one fact each, sharp) and passages (context: title,
section, neighbouring sentences). A passage scores by its best sentence blended with its own
similarity; its best sentence becomes the quote. Overlapping windows of one paragraph are folded
into the best one. The answer is withheld when the best evidence is below `min_score`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from sqlite3 import Row

import numpy as np

from bot.answer import Quote
from bot.attribution import Speaker
from bot.corpus import ArticleMeta
from bot.lexical import Term, lexicon
from bot.lexical_index import Postings
from bot.settings import Settings
from bot.store import IndexReader

#: Weight of the best sentence against the whole passage in a passage's score.
SENTENCE_WEIGHT = 0.6
SENTENCE_CANDIDATES = 64
PASSAGE_CANDIDATES = 32
#: Added to a sentence's similarity, when choosing the quote, if it holds the kind of answer the
#: question asks for (a number for "how many"). Passage scores and abstention ignore it.
ANSWER_TYPE_BONUS = 0.25
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
    #: Subtracted from the dense score of a standfirst or photo caption, so that summaries and
    #: captions support the body text without outranking it (not for questions about photos).
    furniture_penalty: float = 0.06

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


def _dense_scores(
    reader: IndexReader, qv: np.ndarray, candidate_ids: list[int], pass_hits: dict[int, float], question: str
) -> dict[int, tuple[float, int, float]]:
    """Per passage: (blended dense score, id of the sentence to quote, that sentence's similarity)."""
    marks = ",".join("?" * len(candidate_ids))
    sentences = reader.query(f"SELECT id, passage_id, text FROM sentences WHERE passage_id IN ({marks})", candidate_ids)
    vectors = reader.sentence_vectors([r["id"] for r in sentences])
    sims = vectors @ qv
    wanted = answer_type_bonus(question)
    best: dict[int, tuple[int, float]] = {}
    best_pick: dict[int, float] = {}
    top_sim: dict[int, float] = {}
    for row, sim in zip(sentences, sims, strict=True):
        pid = row["passage_id"]
        top_sim[pid] = max(top_sim.get(pid, -1.0), float(sim))
        pick = float(sim) + (ANSWER_TYPE_BONUS if wanted and wanted.search(row["text"]) else 0.0)
        if pid not in best or pick > best_pick[pid]:
            best[pid] = (row["id"], float(sim))
            best_pick[pid] = pick
    missing = [pid for pid in candidate_ids if pid not in pass_hits]
    if missing:
        pvecs = np.vstack([reader.passage_index.reconstruct(pid) for pid in missing])
        pass_hits.update(zip(missing, (float(s) for s in pvecs @ qv), strict=True))
    return {
        pid: (SENTENCE_WEIGHT * top_sim[pid] + (1 - SENTENCE_WEIGHT) * pass_hits[pid], *best[pid])
        for pid in candidate_ids
        if pid in best
    }


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
) -> list[Scored]:
    """The k best passages (one per paragraph) for a question and its vector."""
    retrieval = retrieval or Retrieval()
    lex = lexicon(reader)
    terms = lex.terms(question) if terms is None else terms
    sent_hits = reader.search(reader.sentence_index, qv, SENTENCE_CANDIDATES) if retrieval.dense else []
    pass_hits = dict(reader.search(reader.passage_index, qv, PASSAGE_CANDIDATES)) if retrieval.dense else {}
    lexical_lists: list[dict[int, float]] = []
    if retrieval.lexical in ("passage", "both"):
        lexical_lists.append(dict(lex.search_passages(terms, PASSAGE_CANDIDATES)))
    if retrieval.lexical in ("sentence", "both"):
        by_passage: dict[int, float] = {}
        hits = lex.search_sentences(terms, SENTENCE_CANDIDATES)
        if hits:
            rows = reader.query(
                f"SELECT id, passage_id FROM sentences WHERE id IN ({','.join('?' * len(hits))})", [h[0] for h in hits]
            )
            owner = {r["id"]: r["passage_id"] for r in rows}
            for sid, score in hits:
                pid = owner[sid]
                by_passage[pid] = max(by_passage.get(pid, 0.0), score)
        lexical_lists.append(by_passage)
    ids: set[int] = set()
    if sent_hits:
        rows = reader.query(
            f"SELECT passage_id FROM sentences WHERE id IN ({','.join('?' * len(sent_hits))})",
            [sid for sid, _ in sent_hits],
        )
        ids |= {r["passage_id"] for r in rows}
    ids |= set(pass_hits)
    for lst in lexical_lists:
        ids |= set(lst)
    if not ids:
        return []
    candidate_ids = sorted(ids)
    dense = _dense_scores(reader, qv, candidate_ids, pass_hits, question)
    if retrieval.furniture_penalty and not _PHOTO_QUESTION.search(question):
        marks = ",".join("?" * len(candidate_ids))
        for r in reader.query(
            f"SELECT id FROM passages WHERE id IN ({marks}) AND kind IN ('standfirst', 'caption')", candidate_ids
        ):
            if r[0] in dense:
                d = dense[r[0]]
                dense[r[0]] = (d[0] - retrieval.furniture_penalty, d[1], d[2])
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
    marks = ",".join("?" * len(candidate_ids))
    paragraphs = {
        r["id"]: (r["article_id"], r["paragraph"])
        for r in reader.query(f"SELECT id, article_id, paragraph FROM passages WHERE id IN ({marks})", candidate_ids)
    }
    seen: set[tuple[str, int]] = set()
    result: list[Scored] = []
    for s in scored:
        key = paragraphs[s.passage_id]
        if key in seen:
            continue
        seen.add(key)
        result.append(s)
        if len(result) == k:
            break
    return result


def speaker_from_row(row: dict | object) -> Speaker:
    """Rebuild a `Speaker` from a sentences row."""
    r = row  # sqlite3.Row supports mapping access
    return Speaker(
        name=r["speaker"],  # type: ignore[index]
        kind=r["speaker_kind"],  # type: ignore[index]
        via=r["speaker_via"],  # type: ignore[index]
        full_name=r["speaker_full"],  # type: ignore[index]
        rule=r["speaker_rule"],  # type: ignore[index]
        said_as=r["said_as"],  # type: ignore[index]
    )


def article_meta(reader: IndexReader, article_id: str) -> ArticleMeta:
    """An article's metadata from the store (read once per index version: every quote needs it)."""
    return _articles(reader)[article_id]


@lru_cache(maxsize=4)
def _articles(reader: IndexReader) -> dict[str, ArticleMeta]:
    return {
        r["id"]: ArticleMeta(
            id=r["id"],
            title=r["title"],
            publisher=r["publisher"],
            date=r["date"],
            url=r["url"],
            byline=r["byline"],
            path=r["path"],
        )
        for r in reader.query("SELECT * FROM articles")
    }


def coverage(terms: list[Term], passage_id: int) -> float:
    """IDF-weighted share of the question's key terms that a passage (or its context) holds."""
    total = sum(t.idf for t in terms)
    if total <= 0:
        return 1.0
    return sum(t.idf for t in terms if passage_id in t.passages) / total


def coverages(terms: list[Term], passage_ids: list[int]) -> dict[int, float]:
    """`coverage` of many passages at once (one lookup per term, not per term and passage)."""
    total = sum(t.idf for t in terms)
    if total <= 0:
        return dict.fromkeys(passage_ids, 1.0)
    ids = np.asarray(passage_ids, dtype=np.int64)
    held = np.zeros(len(ids), dtype=np.float64)
    for t in terms:
        if isinstance(t.passages, Postings):
            held += t.idf * t.passages.holds(ids)
        else:
            held += t.idf * np.fromiter((p in t.passages for p in passage_ids), dtype=bool, count=len(ids))
    return dict(zip(passage_ids, (float(h) / total for h in held), strict=True))


def decide(reader: IndexReader, ranked: list[Scored], terms: list[Term], settings: Settings) -> bool:
    """Whether the best passage answers the question: one decision on the fused evidence.

    Dense similarity alone cannot tell "How many Iranian soldiers were killed?" (0.50) from
    "Where is Maasran?" (0.32), so it is combined with the key terms: a term the report never uses
    ("Nobel", "French", "Iranian") is strong evidence of a question it does not answer, and the best
    passage must hold enough of the question's key terms. Very strong dense evidence answers anyway
    (paraphrases share no words). Thresholds are settings, calibrated in `docs/quality.md`.
    """
    if not ranked:
        return False
    top = ranked[0]
    if top.dense < settings.answer_min_score:
        return False
    if top.dense >= settings.answer_strong_score:
        return True
    names = [t for t in terms if t.name]
    if names:
        article = {
            r[0]
            for r in reader.query(
                "SELECT id FROM passages WHERE article_id = (SELECT article_id FROM passages WHERE id = ?)",
                (top.passage_id,),
            )
        }
        if any(not (t.passages & article) for t in names):
            return False
    return coverage(terms, top.passage_id) >= settings.answer_min_coverage


def _sentence_terms(reader: IndexReader, sentence_ids: list[int], terms: list[Term]) -> dict[int, set[str]]:
    """Which key terms each sentence holds (matched as the index stems them)."""
    held: dict[int, set[str]] = {sid: set() for sid in sentence_ids}
    lex = lexicon(reader)
    for t in terms:
        if t.searched:
            for sid in lex.sentences_holding(t.searched, sentence_ids):
                held[sid].add(t.word)
    return held


def quote_span(reader: IndexReader, scored: Scored, terms: list[Term], rows: list[Row]) -> tuple[int, int]:
    """(start, end) in the passage text of the sentence(s) to quote.

    The best sentence, extended to a neighbouring sentence of the passage when that neighbour
    holds key terms of the question the best sentence lacks (the answer runs across both), or
    when the best sentence opens a quotation the next one closes. Always whole sentences.
    `rows` are the passage's sentences in order.
    """
    pos = next(i for i, r in enumerate(rows) if r["id"] == scored.sentence_id)
    start, end = rows[pos]["start"], rows[pos]["end"]
    if len(rows) == 1:
        return start, end
    held = _sentence_terms(reader, [r["id"] for r in rows], terms)
    idf = {t.word: t.idf for t in terms}
    best = held[rows[pos]["id"]]
    gains = {}
    for j in (pos - 1, pos + 1):
        if 0 <= j < len(rows):
            gains[j] = sum(idf[w] for w in held[rows[j]["id"]] - best)
    opens_quote = rows[pos]["text"].count('"') % 2 == 1 or rows[pos]["text"].count("“") > rows[pos]["text"].count("”")
    if opens_quote and pos + 1 < len(rows) and not rows[pos]["text"].lstrip().startswith(("'", "”")):
        gains[pos + 1] = gains.get(pos + 1, 0.0) + QUOTE_EXTENSION_GAIN
    if gains:
        j = max(gains, key=lambda i: gains[i])
        if gains[j] >= QUOTE_EXTENSION_GAIN:
            start, end = min(start, rows[j]["start"]), max(end, rows[j]["end"])
    return start, end


def make_quote(reader: IndexReader, scored: Scored, terms: list[Term] | None = None) -> Quote:
    """Materialise a scored passage as a `Quote` with its best sentence(s) and its speaker."""
    p = reader.query("SELECT * FROM passages WHERE id = ?", (scored.passage_id,))[0]
    rows = reader.query("SELECT * FROM sentences WHERE passage_id = ? ORDER BY position", (scored.passage_id,))
    s = next(r for r in rows if r["id"] == scored.sentence_id)
    start, end = quote_span(reader, scored, terms or [], rows)
    return Quote(
        passage_id=p["id"],
        text=p["text"],
        quote_start=start,
        quote_end=end,
        score=scored.dense,
        speaker=speaker_from_row(s),
        article=article_meta(reader, p["article_id"]),
        paragraph=p["paragraph"],
        kind=p["kind"],
        section=p["section"],
    )
