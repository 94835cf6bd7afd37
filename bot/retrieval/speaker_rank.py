"""Ranking the passages for "What did X say?": a small model learned from labelled questions.

Why: similarity ranks a passage *about* X, or one that introduces X ("Matt Sinovic, executive
director of Progress Iowa, has accused Grassley ..."), as high as the passage where X speaks; and
the hard rule it replaces (every passage quoting X first, similarity order within) cannot tell X's
paraphrased summary from X's own words on the asked topic. The reader weighs a few facts of each
candidate instead, and so does this model:

- how the retrieval scored it, against the best candidate (fused, dense, best sentence, BM25);
- whether X is the speaker of one of its sentences (attribution from the index), of its best
  sentence, and whether X's sentence is a direct quotation (quotation marks);
- how much of the question's topic, its key terms other than X's name, the passage holds.

A logistic regression over these, fitted by `scripts/fit_speaker_rank.py` on the PolNeAR
training questions only (grouped cross-validation by article), shipped as the versioned
`bot/data/speaker_rank_model.json`. It reorders the `SPEAKER_CANDIDATES` best passages; nothing else
in retrieval changes, and questions that name no speaker never reach it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.index.memo import remembered
from bot.retrieval.linear import LinearModel
from bot.retrieval.question import names_meet, speaker_words, stem

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.index.reader import IndexReader
    from bot.index.records import PassageRecord
    from bot.retrieval.lexical import Term
    from bot.retrieval.search import Scored

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "speaker_rank_model.json"

#: The features of one candidate passage, in the model's order.
FEATURES = (
    "score_gap",
    "dense_gap",
    "sentence_gap",
    "lexical",
    "inverse_rank",
    "speaker_match",
    "speaker_quoted",
    "best_by_speaker",
    "speaker_sentences",
    "topic_coverage",
    "has_quotation",
    "furniture",
)

_QUOTE_MARKS = ('"', "“", "”", "''", "``")


def _has_quotation(text: str) -> bool:
    return any(m in text for m in _QUOTE_MARKS)


def candidate_features(
    reader: IndexReader,
    ranked: list[Scored],
    asked: str,
    terms: list[Term],
    passages: Mapping[int, PassageRecord] | None = None,
) -> list[dict[str, float]]:
    """Per candidate passage (in `ranked`'s order), the evidence that it holds X's words on the topic.

    `passages`: the candidates' records when the caller has read them (the quotes need them too).
    """
    from bot.retrieval.fusion import coverages

    if not ranked:
        return []
    wanted = speaker_words(asked)
    if passages is None:
        passages = reader.passages([s.passage_id for s in ranked])
    # The topic: the question's key terms other than the speaker's name.
    topic = [t for t in terms if stem(t.word) not in wanted]
    topic_cover = coverages(topic, [s.passage_id for s in ranked]) if topic else {}
    top = ranked[0]
    kept: dict[tuple[frozenset[str], int], _SpeakerFacts] = reader.memo("speaker-rank-passages", dict)
    out = []
    for i, s in enumerate(ranked, 1):
        passage = passages.get(s.passage_id)
        by_x, quoted, has_quotation = _NO_FACTS
        if passage is not None:

            def facts(_: tuple[frozenset[str], int], p: PassageRecord = passage) -> _SpeakerFacts:
                return _speaker_facts(wanted, p)

            by_x, quoted, has_quotation = remembered(kept, (wanted, passage.id), facts, _KEPT_FACTS)
        f = {
            "score_gap": s.score - top.score,
            "dense_gap": s.dense - top.dense,
            "sentence_gap": s.sentence_score - top.sentence_score,
            "lexical": math.log1p(max(s.lexical, 0.0)),
            "inverse_rank": 1.0 / i,
            "speaker_match": float(bool(by_x)),
            "speaker_quoted": float(quoted),
            "best_by_speaker": float(s.sentence_id in by_x),
            "speaker_sentences": math.log1p(len(by_x)),
            "topic_coverage": topic_cover.get(s.passage_id, 0.0),
            "has_quotation": float(has_quotation),
            "furniture": float(passage is not None and passage.kind in ("standfirst", "caption", "title")),
        }
        out.append(f)
    return out


#: Per passage and asked speaker: ids of the speaker's sentences, whether one of them is a direct
#: quotation, whether any sentence of the passage is.
_SpeakerFacts = tuple[frozenset[int], bool, bool]
_NO_FACTS: _SpeakerFacts = (frozenset(), False, False)
#: (speaker, passage) pairs whose facts a reader keeps; then it starts afresh.
_KEPT_FACTS = 8192


def _speaker_facts(wanted: frozenset[str], passage: PassageRecord) -> _SpeakerFacts:
    """What `candidate_features` reads of a passage for an asked speaker: fixed for the version.

    Kept per version because each sentence's speaker is matched to the asked name (a fuzzy
    ratio per word) after the search, for the same ten passages whenever a speaker's question
    comes again ("More", a chat's repeats, questions on one topic).
    """
    by_x = [
        r
        for r in passage.sentences
        if wanted
        and r.speaker.kind == "source"
        and names_meet(wanted, speaker_words(r.speaker.name) | speaker_words(r.speaker.full_name))
    ]
    return (
        frozenset(r.id for r in by_x),
        any(_has_quotation(r.text) for r in by_x),
        any(_has_quotation(r.text) for r in passage.sentences),
    )


@dataclass(frozen=True)
class SpeakerRankModel(LinearModel):
    """A fitted `LinearModel` over `FEATURES`: candidates with higher log-odds rank first."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerRankModel:
        """The model from its JSON (every feature it names must be one this code computes)."""
        return cls(**LinearModel.fields(data, FEATURES, "speaker ranking model"))


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> SpeakerRankModel:
    """The packaged model (read once)."""
    return SpeakerRankModel.from_dict(json.loads(path.read_text(encoding="utf-8")))


def rank_by_speaker(
    reader: IndexReader,
    ranked: list[Scored],
    asked: str,
    terms: list[Term],
    k: int,
    model: SpeakerRankModel | None = None,
    passages: Mapping[int, PassageRecord] | None = None,
) -> list[Scored]:
    """The k best of `ranked` for "What did `asked` say?", in the learned model's order.

    Ties keep retrieval's order. Without a speaker to look for, retrieval's order stands.
    `passages`: the candidates' records, when the caller has read them.
    """
    if not ranked or not speaker_words(asked):
        return ranked[:k]
    model = model or load_model()
    scores = [model.log_odds(f) for f in candidate_features(reader, ranked, asked, terms, passages)]
    order = sorted(range(len(ranked)), key=lambda i: (-scores[i], i))
    return [ranked[i] for i in order[:k]]


def prefer_speaker(reader: IndexReader, ranked: list[Scored], asked: str, k: int) -> list[Scored]:
    """The k best passages, those quoting the asked speaker first ("What did Grassley say?").

    Similarity alone ranks a passage *about* Grassley, or quoting his opponent on him, as high as
    his own words; the question asks for his. Order is kept within each group.
    """
    wanted = speaker_words(asked)
    if not wanted or not ranked:
        return ranked[:k]
    quoting = {
        pid
        for pid, name, full in reader.quoted_sources({s.passage_id for s in ranked})
        if names_meet(wanted, speaker_words(name) | speaker_words(full))
    }
    return sorted(ranked, key=lambda s: s.passage_id not in quoting)[:k]
