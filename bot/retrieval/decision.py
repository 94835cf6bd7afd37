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
- speaker: for "What did X say?", X is the speaker of the quote or of its passage.

The question side is analysed with regular expressions and the index's own terms: no parser is
loaded to answer (cold start stays near a second). `confidence` is the model's probability,
calibrated by the fit (reported in docs/quality.md).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz.fuzz import ratio  # at import time: a first import from several threads at once races

from bot.text.slots import read_slots

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.index.reader import IndexReader
    from bot.retrieval.answers import Quote
    from bot.retrieval.lexical import Term
    from bot.retrieval.search import Scored

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "decision_model.json"

_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|long|old|far|big|large|high|tall|often)|number of|death toll|toll|percentage|"
    r"what (?:percent|share|proportion|fraction)|how (?:much|many) (?:more|less|fewer))\b",
    re.I,
)
_DURATION = re.compile(r"\bhow (?:long|old|often|soon)\b|\bage\b", re.I)
_WHEN = re.compile(r"^\s*(?:when|by when|until when|since when)\b|\bwhat (?:time|date|day|year|month)\b", re.I)
_WHO = re.compile(r"^\s*(?:who|whom|whose|which (?:person|official|group|company|candidate|senator))\b", re.I)
_WHERE = re.compile(r"^\s*(?:where|in which (?:city|country|state|place))\b", re.I)
_WHY_HOW = re.compile(r"^\s*(?:why|how)\b", re.I)
_YES_NO = re.compile(r"^\s*(?:is|are|was|were|did|does|do|will|would|has|have|had|can|could|should)\b", re.I)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_SAY_VERBS = (
    r"say|said|says|tell|told|tweet|tweeted|write|wrote|announce|announced|claim|claimed|add|added|think|"
    r"argue|argued|post|posted|call|called|predict|predicted|promise|promised|warn|warned|mean|describe|"
    r"described|respond|responded|reply|replied|suggest|suggested|report|reported|comment|commented|"
    r"admit|admitted|deny|denied|believe|believes|accuse|accused|urge|urged|insist|insisted|explain|explained"
)
_SAY = re.compile(
    rf"\bwhat (?:did|does|do|has|have|had|was|is|were|will) (?P<x>.+?) (?:also |ever |actually |then |later |just )?"
    rf"(?:{_SAY_VERBS})\b"
    rf"|\b(?P<y>[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*)(?:'s|’s) (?:comments?|remarks?|statement|view|position|response)\b",
    re.I,
)
_WHO_SAID = re.compile(rf"^\s*who (?:{_SAY_VERBS}|was quoted|is quoted)\b", re.I)
_STOP_AFTER_COUNT = frozenset(
    [
        "are",
        "were",
        "is",
        "was",
        "did",
        "do",
        "does",
        "have",
        "has",
        "had",
        "will",
        "would",
        "could",
        "can",
        "should",
        "been",
        "be",
        "being",
        "in",
        "of",
        "on",
        "at",
        "by",
        "from",
        "to",
        "for",
        "with",
        "that",
        "who",
        "which",
        "than",
        "per",
        "a",
        "an",
        "the",
        "this",
    ]
)
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "senator",
        "rep",
        "representative",
        "gov",
        "governor",
        "president",
        "pres",
        "gen",
        "general",
        "the",
        "a",
        "an",
        "former",
        "secretary",
        "minister",
        "spokesman",
        "spokeswoman",
        "spokesperson",
    ]
)
#: Counted nouns that name no particular thing: the verb tells what is counted ("how many people died").
_GENERIC_COUNTED = frozenset({"people", "person", "individual", "time", "year", "day", "month", "week"})
_NAME_GLUE = frozenset({"of", "for", "and", "on", "in", "at", "to", "'s", "’s"})
_PERSONISH = frozenset({"PERSON", "ORG", "NORP", "GPE"})
_NUMBERISH = frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"})


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    """A light stem, so that "staffers" meets "staffer" and "died" meets "die"."""
    w = word.casefold().strip(".,;:!?'’\"()")
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("es", "e"), ("s", ""), ("ed", ""), ("ing", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + repl
    return w


def _same(a: str, b: str) -> bool:
    """Two words are the same word, up to inflection ("soldiers"/"soldier", "begins"/"begin")."""
    a, b = _stem(a), _stem(b)
    if not a or not b:
        return False
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


@dataclass(frozen=True)
class QuestionShape:
    """What kind of answer a question asks for, read from its words alone."""

    kind: str
    #: For "how many X": the counted noun X ("soldiers"), if the question names one.
    asked_noun: str | None
    #: For "What did X say?": X, as written.
    asked_speaker: str | None
    #: The question's words (lower case), for matching slot verbs and nouns.
    words: tuple[str, ...]
    terse: bool
    #: The question as asked.
    original: str = ""
    #: A "how long / how old / how often" question: a duration or date answers it as a number does.
    duration: bool = False


def analyse(question: str) -> QuestionShape:
    """The question's kind (quantity, when, who, who_said, say, where, why_how, yes_no, terse, what)."""
    words = tuple(w.casefold() for w in re.findall(r"[\w’']+", question))
    speaker = None
    say = _SAY.search(question)
    if say:
        speaker = (say.group("x") or say.group("y") or "").strip() or None
    asked_noun = None
    if _QUANTITY.search(question):
        kind = "quantity"
        m = re.search(r"\bhow (?:many|much)\s+(?P<rest>.+)$", question, re.I) or re.search(
            r"\bnumber of\s+(?P<rest>.+)$", question, re.I
        )
        if m:
            noun_phrase: list[str] = []
            for w in re.findall(r"[\w’'-]+", m.group("rest")):
                lw = w.casefold()
                if lw in _STOP_AFTER_COUNT or (noun_phrase and lw.endswith("ed")):
                    break
                noun_phrase.append(lw)
            asked_noun = noun_phrase[-1] if noun_phrase else None
    elif _WHO_SAID.search(question):
        kind = "who_said"
    elif speaker:
        kind = "say"
    elif _WHEN.search(question):
        kind = "when"
    elif _WHO.search(question):
        kind = "who"
    elif _WHERE.search(question):
        kind = "where"
    elif _WHY_HOW.search(question):
        kind = "why_how"
    elif _YES_NO.search(question):
        kind = "yes_no"
    elif not _WH.search(question) and len(words) <= 4:
        kind = "terse"
    else:
        kind = "what"
    terse = len(words) <= 4 and not _WH.search(question)
    duration = bool(_DURATION.search(question))
    return QuestionShape(kind, asked_noun, speaker, words, terse=terse, original=question, duration=duration)


KINDS = ("quantity", "when", "who", "who_said", "say", "where", "why_how", "yes_no", "terse", "what")

#: The features, in the model's order. Each is a number a reader of the evidence would weigh.
FEATURES = (
    "dense",
    "margin",
    "fused",
    "sentence",
    "lexical",
    "coverage",
    "quote_coverage",
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
    # Evidence that the passage lacks the kind of answer asked for. The question's kind alone is
    # left out: in the labelled sets near misses are mostly "how many" questions, a prior of the
    # sets' writers, not of users; what counts is whether the passage fills the asked slot.
    "quantity_without_number",
    "quantity_slot_unfilled",
    "when_without_date",
    "when_only_report_dated",
    "say_other_speaker",
    "who_without_person",
)


def speaker_words(name: str | None) -> set[str]:
    """The telling words of a speaker's name, stemmed, without titles ("Sen. Grassley" -> {"grassley"})."""
    return {
        _stem(w)
        for w in re.findall(r"[\w’'-]+", name or "")
        if w.casefold() not in _TITLES and w.casefold() not in _NAME_GLUE and len(w) > 1
    }


def names_meet(wanted: set[str], said: set[str]) -> bool:
    """Whether two names are one: most words of the shorter shared, a typo allowed in a long one.

    One shared word is not enough when both names have several: "SOHR (Syrian Observatory for
    Human Rights)" and "Syrian regime armed forces chief of staff" share only "Syrian", and "John
    Smith" is not "John Doe". A surname alone still meets the full name ("Grassley", "Sen. Chuck
    Grassley"), and "Grassly" meets "Grassley".
    """
    if not wanted or not said:
        return False

    def met(word: str) -> bool:
        return word in said or (len(word) >= 5 and any(len(b) >= 5 and ratio(word, b) >= 85 for b in said))

    shared = sum(1 for word in wanted if met(word))
    return 2 * shared > min(len(wanted), len(said))


def features(
    reader: IndexReader, shape: QuestionShape, ranked: list[Scored], quotes: list[Quote], terms: list[Term]
) -> dict[str, float]:
    """The evidence for and against answering with the best passage, as named numbers."""
    from bot.retrieval.fusion import coverages

    f = dict.fromkeys(FEATURES, 0.0)
    f["words"] = math.log1p(len(shape.words))
    f["terms"] = math.log1p(len(terms))
    if not ranked or not quotes:
        return f
    top, quote = ranked[0], quotes[0]
    f["dense"] = top.dense
    f["margin"] = top.dense - (ranked[1].dense if len(ranked) > 1 else 0.0)
    f["fused"] = top.score
    f["sentence"] = top.sentence_score
    f["lexical"] = math.log1p(max(top.lexical, 0.0))
    total = sum(t.idf for t in terms)
    if total > 0:
        f["coverage"] = coverages(terms, [top.passage_id])[top.passage_id]
        quote_text = quote.quote.casefold()
        f["quote_coverage"] = sum(t.idf for t in terms if _stem(t.word) in quote_text) / total
        f["unknown_share"] = sum(t.idf for t in terms if not t.known) / total
        f["missing_share"] = 1.0 - f["coverage"]
    # Acronyms are left out: "NY", "LA", "GDP" are often spelled out in the article.
    acronyms = {w.casefold() for w in re.findall(r"\b[A-Z]{2,5}s?\b", " ".join(shape.original.split()))}
    names = [t for t in terms if t.name and t.word not in acronyms]
    if names:
        passage = {top.passage_id}
        f["names_missing_passage"] = sum(1 for t in names if not _holds(t, passage))
        article = reader.article_passage_ids(top.passage_id)
        f["names_missing_article"] = sum(1 for t in names if not _holds(t, article))
        f["name_missing_article"] = float(f["names_missing_article"] > 0)
    slots = [read_slots(s) for s in quote.slots]
    numbers = [n for s in slots for n in s["n"] if n[0] in _NUMBERISH]
    dates = [d for s in slots for d in s["d"]]
    if shape.duration:
        # "How long will the motorway be closed?" is answered by "for three months", a DATE.
        numbers += [["DATE", "", verb] for verb, _ in dates]
    entities = {e for s in slots for e in s["e"]}
    qwords = [w for w in shape.words if len(w) > 2]
    f["has_number"] = float(bool(numbers))
    if shape.asked_noun:
        f["number_counts_noun"] = float(any(n[1] and _same(n[1], shape.asked_noun) for n in numbers))
    f["number_on_question_word"] = float(
        any(any(_same(n[1], w) or _same(n[2], w) for w in qwords if n[1] or n[2]) for n in numbers)
    )
    f["has_date"] = float(bool(dates))
    f["date_on_event"] = float(any(not r and any(_same(v, w) for w in qwords) for v, r in dates))
    f["date_only_reporting"] = float(bool(dates) and all(r for _, r in dates))
    f["has_person"] = float(bool(entities & _PERSONISH))
    speakers = [s for s in quote.speakers if s]
    f["speaker_named"] = float(quote.speaker.kind == "source")
    if shape.asked_speaker:
        wanted = speaker_words(shape.asked_speaker)
        said = set().union(*(speaker_words(s) for s in speakers)) if speakers else set()
        said |= speaker_words(quote.speaker.label)
        f["speaker_match"] = float(names_meet(wanted, said))
        text = quote.text.casefold()
        f["speaker_in_text"] = float(any(w in text for w in wanted))
    kind = shape.kind
    if kind == "quantity":
        f["quantity_without_number"] = 1.0 - f["has_number"]
        # A named noun must be the one counted ("9 civilians" does not answer "how many soldiers");
        # a generic one ("people", "times") or none is filled by a number on a verb of the question.
        if shape.asked_noun and _stem(shape.asked_noun) not in _GENERIC_COUNTED:
            f["quantity_slot_unfilled"] = 1.0 - f["number_counts_noun"]
        else:
            f["quantity_slot_unfilled"] = 1.0 - f["number_on_question_word"]
    elif kind == "when":
        f["when_without_date"] = 1.0 - f["has_date"]
        f["when_only_report_dated"] = f["date_only_reporting"]
    elif kind == "say":
        f["say_other_speaker"] = 1.0 - f["speaker_match"]
    elif kind == "who":
        f["who_without_person"] = 1.0 - f["has_person"]
    return f


def _holds(term: Term, passages: set[int]) -> bool:
    from bot.index.postings import Postings

    if isinstance(term.passages, Postings):
        import numpy as np

        ids = np.asarray(sorted(passages), dtype=np.int64)
        return bool(term.passages.holds(ids).any())
    return bool(term.passages & passages)


@dataclass(frozen=True)
class SlotStage:
    """The second stage: the answer-slot check's log-odds weighed with the features' log-odds.

    z = base x (the features' log-odds) + slot x (the slot check's log-odds, clipped to ±clip) +
    intercept. Fitted by `scripts/fit_decision.py --slot-folds` on out-of-fold slot scores. The slot
    check costs about as much as the rest of a query, so it is run only when its value can change
    the verdict: with the slot log-odds bounded by `clip`, the range of z is known beforehand.
    """

    base: float
    slot: float
    intercept: float
    clip: float
    #: The slot log-odds assumed for the confidence when the check is not run (its training mean).
    mean: float

    def bounds(self, z: float) -> tuple[float, float]:
        """The lowest and highest final log-odds any slot score can give after features' log-odds z."""
        ends = (
            self.base * z + self.slot * -self.clip + self.intercept,
            self.base * z + self.slot * self.clip + self.intercept,
        )
        return min(ends), max(ends)

    def combine(self, z: float, slot_logit: float | None) -> float:
        """The final log-odds (`slot_logit` None: not computed, its mean stands in)."""
        v = self.mean if slot_logit is None else max(-self.clip, min(self.clip, slot_logit))
        return self.base * z + self.slot * v + self.intercept


@dataclass(frozen=True)
class DecisionModel:
    """A fitted logistic regression: standardised features, weights, and the answering threshold."""

    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
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
        unknown = [n for n in data["features"] if n not in FEATURES]
        if unknown:
            raise ValueError(f"decision model {data.get('version')} uses unknown features {unknown}")
        stage = data.get("slot_stage")
        return cls(
            version=str(data["version"]),
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            possibly=float(data["possibly"]),
            slot_stage=SlotStage(**{k: float(stage[k]) for k in ("base", "slot", "intercept", "clip", "mean")})
            if stage
            else None,
        )

    def log_odds(self, values: dict[str, float]) -> float:
        """The features' log-odds that the best passage answers (the first stage)."""
        z = self.intercept
        for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += c * (values.get(name, 0.0) - m) / (s or 1.0)
        return z

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
    from bot.retrieval.slot_check import default_slot_check

    return _logit(default_slot_check().score(question, [quote.quote])[0])


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> DecisionModel:
    """The packaged decision model (read once)."""
    return DecisionModel.from_dict(json.loads(path.read_text(encoding="utf-8")))


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
) -> Verdict:
    """Whether the best passage answers `question`: one verdict for every face.

    `threshold` (the `ANSWER_THRESHOLD` setting) overrides the fitted one when given; `shape` is
    the question's analysis when the caller has it; `slot_scorer` gives the answer-slot check's
    log-odds for the question and the first quote (default: the shipped cross-encoder).
    """
    model = model or load_model()
    if not ranked or not quotes:
        return Verdict(False, 0.0, model.version)
    cut = model.threshold if threshold is None else threshold
    z = model.log_odds(features(reader, shape or analyse(question), ranked, quotes, terms))
    stage = model.slot_stage
    if stage is not None:
        # The slot check runs only when its score can still change the verdict.
        low, high = stage.bounds(z)
        undecided = low < _logit(cut) <= high
        z = stage.combine(z, (slot_scorer or slot_log_odds)(question, quotes[0]) if undecided else None)
    p = _sigmoid(z)
    return Verdict(p >= cut, p, model.version, possibly_relevant=model.possibly <= p < cut)
