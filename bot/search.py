"""Finding the passages that answer a question, the sentence to quote, and whether to answer.

Dense retrieval on two levels: sentences (one fact each, sharp) and passages (context: title,
section, neighbouring sentences). A passage scores by its best sentence blended with its own
similarity; its best sentence becomes the quote. Overlapping windows of one paragraph are folded
into the best one. The answer is withheld when the best evidence is below `min_score`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.answer import Quote
from bot.attribution import Speaker
from bot.corpus import ArticleMeta
from bot.store import IndexReader

#: Weight of the best sentence against the whole passage in a passage's score.
SENTENCE_WEIGHT = 0.6
SENTENCE_CANDIDATES = 64
PASSAGE_CANDIDATES = 32
#: Added to a sentence's similarity, when choosing the quote, if it holds the kind of answer the
#: question asks for (a number for "how many"). Passage scores and abstention ignore it.
ANSWER_TYPE_BONUS = 0.25

_QUANTITY_QUESTION = re.compile(
    r"\b(?:how (?:many|much|long|old|far)|number of|death toll|toll|casualt|percentage|count)", re.I
)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|hundreds|thousand|thousands|million|millions|dozen|dozens|half)\b",
    re.I,
)


def answer_type_bonus(question: str) -> re.Pattern[str] | None:
    """The pattern a good quote for this question contains, if the question asks for one."""
    return _QUANTITY if _QUANTITY_QUESTION.search(question) else None


@dataclass(frozen=True)
class Scored:
    """A candidate passage with its score and best sentence."""

    passage_id: int
    score: float
    sentence_id: int
    sentence_score: float


def rank_passages(reader: IndexReader, qv: np.ndarray, k: int, question: str = "") -> list[Scored]:
    """The k best passages (one per paragraph) for a query vector."""
    sent_hits = reader.search(reader.sentence_index, qv, SENTENCE_CANDIDATES)
    pass_hits = dict(reader.search(reader.passage_index, qv, PASSAGE_CANDIDATES))
    if not sent_hits and not pass_hits:
        return []
    sentence_ids = [sid for sid, _ in sent_hits]
    rows = reader.query(
        f"SELECT id, passage_id FROM sentences WHERE id IN ({','.join('?' * len(sentence_ids))})", sentence_ids
    )
    candidate_ids = sorted({r["passage_id"] for r in rows} | set(pass_hits))
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
    scored = [
        Scored(pid, SENTENCE_WEIGHT * top_sim[pid] + (1 - SENTENCE_WEIGHT) * pass_hits[pid], *best[pid])
        for pid in candidate_ids
        if pid in best
    ]
    scored.sort(key=lambda s: s.score, reverse=True)
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
    """An article's metadata from the store."""
    r = reader.query("SELECT * FROM articles WHERE id = ?", (article_id,))[0]
    return ArticleMeta(
        id=r["id"],
        title=r["title"],
        publisher=r["publisher"],
        date=r["date"],
        url=r["url"],
        byline=r["byline"],
        path=r["path"],
    )


def make_quote(reader: IndexReader, scored: Scored) -> Quote:
    """Materialise a scored passage as a `Quote` with its best sentence and its speaker."""
    p = reader.query("SELECT * FROM passages WHERE id = ?", (scored.passage_id,))[0]
    s = reader.query("SELECT * FROM sentences WHERE id = ?", (scored.sentence_id,))[0]
    return Quote(
        passage_id=p["id"],
        text=p["text"],
        quote_start=s["start"],
        quote_end=s["end"],
        score=scored.score,
        speaker=speaker_from_row(s),
        article=article_meta(reader, p["article_id"]),
        paragraph=p["paragraph"],
        kind=p["kind"],
        section=p["section"],
    )
