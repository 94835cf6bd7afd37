"""Whether the best passage answers the question: a small model learned from labelled questions.

The hand-set thresholds this replaces (a dense score, a share of key terms) were tuned on four
negatives and did not carry to fresh news: near misses ("How many Russian soldiers died?" next
to "9 civilians died in Idlib") look like answers to them. The decision is now a logistic
regression over evidence a reader would weigh, fitted by `scripts/fit_decision.py` on the
PolNeAR training questions (`tests/data/answerability/train_*.jsonl`, cross-validated by article,
threshold chosen on the training folds) and shipped as `bot/data/decision_model.json`:

- retrieval: the dense score, its margin over the next passage, the fused score, BM25;
- words: the IDF-weighted share of the question's key terms the passage (and the quoted
  sentence) holds, names of the question missing from the article or the passage, words the
  index has never seen;
- answer type: a "how many X" question needs a number, "when" a date, "who" a person or body;
- answer slot (from the parse stored at build time, `bot/text/slots.py`): the number counts the asked
  noun, the date modifies a verb of the question and not only the reporting verb;
- speaker: for "What did X say?", X is the speaker of the quote or of its passage;
- asked event (`event.py`): computed, weighed by no shipped model (first fitted backwards; with the
  question's main verb read right it adds nothing on train CV: docs/quality.md).

The question side is read by `question.py` (regular expressions) and the index's own terms: no
parser is loaded to answer (cold start stays near a second). `confidence` is the model's probability,
calibrated by the fit (reported in docs/quality.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.index.postings import Postings
from bot.retrieval.decision_inputs import Asked, article_passages, asked, kept_slots, quoted_in_article, slot_facts
from bot.retrieval.event import EVENT_FEATURES, EVENT_FEATURES_SET, event_evidence
from bot.retrieval.frozen import quick_init
from bot.retrieval.fusion import coverages
from bot.retrieval.linear import LinearModel
from bot.retrieval.question import QuestionShape, analyse, names_meet, same_stem, speaker_words

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bot.index.reader import IndexReader
    from bot.retrieval.answers import Quote
    from bot.retrieval.lexical import Term
    from bot.retrieval.search import Scored

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "decision_model.json"

#: The features, in the model's order. Each is a number a reader of the evidence would weigh.
FEATURES = (
    "dense",
    "margin",
    "fused",
    "sentence",
    "lexical",
    "coverage",
    "quote_coverage",
    # The question's most telling key term (highest IDF) in the quote. Fitted with a negative
    # weight beside quote coverage: near misses are written around an article's rarest topic word
    # ("#StrandedInUS") and ask for a slot that the quote holding it does not fill.
    "top_term_in_quote",
    "unknown_share",
    "missing_share",
    "names_missing_article",
    "names_missing_passage",
    "name_missing_article",
    "terms",
    "words",
    "has_number",
    "number_counts_noun",
    "number_on_question_word",
    "has_date",
    "date_on_event",
    "date_only_reporting",
    "has_person",
    "speaker_named",
    "speaker_match",
    "speaker_in_text",
    # "What did X say?" where X is quoted nowhere in the best passage's article.
    "speaker_absent_article",
    # Evidence that the passage lacks the kind of answer asked for. The question's kind alone is
    # left out: in the labelled sets near misses are mostly "how many" questions, a prior of the
    # sets' writers, not of users; what counts is whether the passage fills the asked slot.
    "quantity_without_number",
    "quantity_slot_unfilled",
    "when_without_date",
    "when_only_report_dated",
    "say_other_speaker",
    "who_without_person",
    *EVENT_FEATURES,
)


def features(
    reader: IndexReader,
    shape: QuestionShape,
    ranked: list[Scored],
    quotes: list[Quote],
    terms: list[Term],
    question: Asked | None = None,
    events: bool = True,
    coverage: Mapping[int, float] | None = None,
) -> dict[str, float]:
    """The evidence for and against answering with the best passage, as named numbers.

    `question`: `asked(shape, terms)` when the caller made it beforehand (beside the encode).
    `events`: compute `event.py`'s features (the fit does; `decide` only if its model weighs them).
    `coverage`: `fusion.coverages(terms, ...)` of passages the caller has them for (made beside
    the encode with BM25's side of the ranking, `question_side.Bm25Evidence.coverage`).
    """
    q = question or asked(shape, terms)
    f = dict.fromkeys(FEATURES, 0.0)
    f["words"] = math.log1p(len(shape.words))
    f["terms"] = math.log1p(len(terms))
    if not ranked or not quotes:
        return f
    f.update(_retrieval_evidence(ranked, quotes[0], terms, q, coverage or {}))
    f.update(_name_evidence(reader, ranked[0].passage_id, q))
    f.update(_slot_evidence(shape, quotes[0], q))
    if events:
        f.update(event_evidence(shape, [kept_slots(s) for s in quotes[0].slots]))
    f.update(_speaker_evidence(shape, quotes[0], q))
    if shape.asked_speaker:
        f["speaker_absent_article"] = float(not quoted_in_article(reader, q.speaker, ranked[0].passage_id))
    f.update(_kind_evidence(shape, f, q))
    return f


def _retrieval_evidence(
    ranked: list[Scored], quote: Quote, terms: list[Term], q: Asked, coverage: Mapping[int, float]
) -> dict[str, float]:
    """How retrieval scored the best passage, and how much of the question's terms it holds (from `coverage`)."""
    top = ranked[0]
    f = {
        "dense": top.dense,
        "margin": top.dense - (ranked[1].dense if len(ranked) > 1 else 0.0),
        "fused": top.score,
        "sentence": top.sentence_score,
        "lexical": math.log1p(max(top.lexical, 0.0)),
    }
    total = q.total
    if total > 0:
        known = coverage.get(top.passage_id)
        f["coverage"] = coverages(terms, [top.passage_id])[top.passage_id] if known is None else known
        quote_text = quote.quote.casefold()
        f["quote_coverage"] = sum(idf for word, idf in q.stems if word in quote_text) / total
        f["top_term_in_quote"] = float(q.top_stem in quote_text)
        f["unknown_share"] = q.unknown_share
        f["missing_share"] = 1.0 - f["coverage"]
    return f


def _name_evidence(reader: IndexReader, passage_id: int, q: Asked) -> dict[str, float]:
    """Names of the question missing from the best passage, or from its whole article."""
    names = q.names
    if not names:
        return {}
    article = article_passages(reader, passage_id)
    missing = sum(1 for t in names if not _holds(t, article))
    return {
        "names_missing_passage": sum(1 for t in names if not _holds(t, {passage_id})),
        "names_missing_article": missing,
        "name_missing_article": float(missing > 0),
    }


def _slot_evidence(shape: QuestionShape, quote: Quote, q: Asked) -> dict[str, float]:
    """Whether the quote's parsed slots hold the kind of answer asked, attached to what was asked."""
    numbers, dates, has_person = slot_facts(quote.slots)
    if shape.duration:
        # "How long will the motorway be closed?" is answered by "for three months", a DATE.
        numbers += tuple(("", verb) for verb, _ in dates)
    qstems = q.long_stems

    def on_question_word(stemmed: str) -> bool:
        # `same_word(word, w)` for any of the question's longer words w, with their stems made
        # beside the encode and the slot word's kept with its slots (an empty stem meets nothing).
        return bool(stemmed) and any(same_stem(stemmed, w) for w in qstems)

    f = {"has_number": float(bool(numbers))}
    if shape.asked_noun:
        noun = q.noun_stem
        f["number_counts_noun"] = float(any(same_stem(n, noun) for n, _ in numbers))
    f["number_on_question_word"] = float(any(on_question_word(n) or on_question_word(v) for n, v in numbers))
    f["has_date"] = float(bool(dates))
    f["date_on_event"] = float(any(not r and on_question_word(v) for v, r in dates))
    f["date_only_reporting"] = float(bool(dates) and all(r for _, r in dates))
    f["has_person"] = float(has_person)
    return f


def _speaker_evidence(shape: QuestionShape, quote: Quote, q: Asked) -> dict[str, float]:
    """Whether the quote is a named source's, and, for "What did X say?", X's."""
    f = {"speaker_named": float(quote.speaker.kind == "source")}
    if shape.asked_speaker:
        speakers = [s for s in quote.speakers if s]
        wanted = q.speaker
        said = set().union(*(speaker_words(s) for s in speakers)) if speakers else set()
        said |= speaker_words(quote.speaker.label)
        f["speaker_match"] = float(names_meet(wanted, said))
        text = quote.text.casefold()
        f["speaker_in_text"] = float(any(w in text for w in wanted))
    return f


def _kind_evidence(shape: QuestionShape, f: dict[str, float], q: Asked) -> dict[str, float]:
    """The asked slot left unfilled, by the question's kind (read from the evidence above)."""
    kind = shape.kind
    if kind == "quantity":
        # A named noun must be the one counted ("9 civilians" does not answer "how many soldiers");
        # a generic one ("people", "times") or none is filled by a number on a verb of the question.
        unfilled = 1.0 - (f["number_counts_noun"] if q.names_counted else f["number_on_question_word"])
        return {"quantity_without_number": 1.0 - f["has_number"], "quantity_slot_unfilled": unfilled}
    if kind == "when":
        return {"when_without_date": 1.0 - f["has_date"], "when_only_report_dated": f["date_only_reporting"]}
    if kind == "say":
        return {"say_other_speaker": 1.0 - f["speaker_match"]}
    if kind == "who":
        return {"who_without_person": 1.0 - f["has_person"]}
    return {}


def _holds(term: Term, passages: set[int]) -> bool:
    if isinstance(term.passages, Postings):
        ids = np.asarray(sorted(passages), dtype=np.int64)
        return bool(term.passages.holds(ids).any())
    return bool(term.passages & passages)


#: The entries of a model JSON's `slot_stage`.
SLOT_STAGE_FIELDS = ("base", "slot", "intercept", "low", "high", "mean")


@dataclass(frozen=True)
class SlotStage:
    """The second stage: the answer-slot check's log-odds weighed with the features' log-odds.

    z = base x (the features' log-odds) + slot x (the slot check's log-odds, clipped to [low, high])
    + intercept. Fitted by `scripts/fit_decision.py --slot-folds` on out-of-fold slot scores. The
    slot check costs about as much as the rest of a query, so it is run only when its value can
    change the verdict: with the slot log-odds bounded, the range of z is known beforehand. The
    bounds are the range of the out-of-fold scores the stage was fitted on (the cross-encoder's
    outputs span only about -2.6 to -0.9 in log-odds): the narrower they are, the fewer questions
    fall in the band where the check must run, and beyond them the stage would extrapolate anyway.
    """

    base: float
    slot: float
    intercept: float
    #: The slot log-odds are clipped to [low, high] (the range the stage was fitted over).
    low: float
    high: float
    #: The slot log-odds assumed for the confidence when the check is not run (its training mean).
    mean: float

    def bounds(self, z: float) -> tuple[float, float]:
        """The lowest and highest final log-odds any slot score can give after features' log-odds z."""
        ends = (
            self.base * z + self.slot * self.low + self.intercept,
            self.base * z + self.slot * self.high + self.intercept,
        )
        return min(ends), max(ends)

    def combine(self, z: float, slot_logit: float | None) -> float:
        """The final log-odds (`slot_logit` None: not computed, its mean stands in)."""
        v = self.mean if slot_logit is None else max(self.low, min(self.high, slot_logit))
        return self.base * z + self.slot * v + self.intercept


@dataclass(frozen=True)
class DecisionModel(LinearModel):
    """The fitted decision: a `LinearModel` with the answering threshold and an optional slot stage."""

    #: Confidence at or above which the best passage is given as the answer.
    threshold: float
    #: Confidence at or above which an unanswered question shows its closest passage as
    #: "possibly relevant".
    possibly: float
    #: The answer-slot check as a second stage (None: the features alone decide).
    slot_stage: SlotStage | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionModel:
        """The model from its JSON (checked: every feature it names must be one this code computes)."""
        stage = data.get("slot_stage")
        return cls(
            **LinearModel.fields(data, FEATURES, "decision model"),
            threshold=float(data["threshold"]),
            possibly=float(data["possibly"]),
            slot_stage=SlotStage(**{k: float(stage[k]) for k in SLOT_STAGE_FIELDS}) if stage else None,
        )

    def probability(self, values: dict[str, float], slot_logit: float | None = None) -> float:
        """The calibrated probability that the best passage answers (with the slot check's log-odds if given)."""
        z = self.log_odds(values)
        if self.slot_stage is not None:
            z = self.slot_stage.combine(z, slot_logit)
        return _sigmoid(z)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def slot_log_odds(question: str, quote: Quote) -> float:
    """The shipped answer-slot check's log-odds that the first quote fills the asked slot."""
    return _slot_logit(question, quote.quote)


@lru_cache(maxsize=4096)
def _slot_logit(question: str, sentence: str) -> float:
    """`slot_log_odds` by the two texts it reads, kept for the process.

    A cross-encoder run (~1.4-2 ms, longer than the question's encode) that "More" and a repeated
    question would otherwise run again; the model is the shipped one, whatever the index.
    """
    from bot.retrieval.slot_check import default_slot_check

    return _logit(default_slot_check().score(question, [sentence])[0])


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> DecisionModel:
    """The packaged decision model (read once)."""
    return DecisionModel.from_dict(json.loads(path.read_text(encoding="utf-8")))


@quick_init
@dataclass(frozen=True)
class Verdict:
    """The decision: answer or not, with its calibrated confidence and the model that decided."""

    answered: bool
    confidence: float
    version: str
    possibly_relevant: bool = False


def decide(
    reader: IndexReader,
    question: str,
    ranked: list[Scored],
    quotes: list[Quote],
    terms: list[Term],
    model: DecisionModel | None = None,
    threshold: float | None = None,
    shape: QuestionShape | None = None,
    slot_scorer: Callable[[str, Quote], float] | None = None,
    question_side: Asked | None = None,
    coverage: Mapping[int, float] | None = None,
) -> Verdict:
    """Whether the best passage answers `question`: one verdict for every face.

    `threshold` (the `ANSWER_THRESHOLD` setting) overrides the fitted one when given; `shape` is
    the question's analysis when the caller has it, `question_side` its `asked` (made beside the
    encode) and `coverage` the key-term coverage of passages made with it; `slot_scorer` gives
    the answer-slot check's log-odds for the question and the first quote (default: the shipped
    cross-encoder).
    """
    model = model or load_model()
    if not ranked or not quotes:
        return Verdict(False, 0.0, model.version)
    cut = model.threshold if threshold is None else threshold
    events = not EVENT_FEATURES_SET.isdisjoint(model.features)
    f = features(reader, shape or analyse(question), ranked, quotes, terms, question_side, events, coverage)
    z = model.log_odds(f)
    stage = model.slot_stage
    if stage is not None:
        # The slot check runs only when its score can still change the verdict.
        low, high = stage.bounds(z)
        undecided = low < _logit(cut) <= high
        z = stage.combine(z, (slot_scorer or slot_log_odds)(question, quotes[0]) if undecided else None)
    p = _sigmoid(z)
    return Verdict(p >= cut, p, model.version, possibly_relevant=model.possibly <= p < cut)
