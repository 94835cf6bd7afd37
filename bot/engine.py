"""The engine every face calls: `Engine.answer(question)` and a few read-only views of the index.

It owns the embedder (loaded once) and the index reader, which it swaps for a new one when a
build has published a new version: a running bot picks up a rebuilt index on its next question.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.embedding.embedder import Embedder
from bot.index.reader import IndexReader, live_stamp, live_version, open_reader
from bot.index.records import ArticleCount, Hits, IndexFacts, Paragraph, PublisherCount, SpeakerCount
from bot.retrieval.answers import Answer, Quote
from bot.retrieval.beside import Beside, Pending, Slots
from bot.retrieval.decision import Verdict, decide, load_model
from bot.retrieval.decision_inputs import Asked, asked
from bot.retrieval.frozen import quick_init
from bot.retrieval.fusion import Retrieval
from bot.retrieval.lexical import Term, lexicon
from bot.retrieval.plan import Plan, ranking_plan
from bot.retrieval.question import QuestionShape, analyse
from bot.retrieval.question_side import Bm25Evidence, Cues, bm25_evidence, question_cues
from bot.retrieval.quotes import make_quotes, passage_records, source_quotes
from bot.retrieval.search import ANSWER_ENTITIES, SPEAKER_CANDIDATES, Scored, rank_passages
from bot.retrieval.speaker_rank import rank_by_speaker
from bot.settings import Settings, get_settings
from bot.text.language import non_english
from bot.text.passages import SPLITTER_VERSION
from bot.text.wording import Wording
from bot.text.wording import wording as wording_for

log = logging.getLogger(__name__)

#: Terminal colour and cursor codes pasted into a question.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")

#: Runs questions' lexical lookups beside their encodes. Shared by every engine of the process and
#: sized to the machine: the bot answers from several threads.
_LOOKUP_POOL = Beside(os.cpu_count() or 2, "lookup")
#: Question encodes at once, process-wide. They run on the answering threads (the bot answers from
#: several), and each encode is itself multi-threaded: more at once than cores only adds switching
#: and cache misses, and a burst of questions would slow every one of them alike.
ENCODE_SLOTS = os.cpu_count() or 2
_ENCODING = Slots(ENCODE_SLOTS)

#: Articles /sources lists (newest first); above it, a line per publisher comes first.
LIST_ARTICLES = 30
#: Sources `/who` lists (most quoted first); `scripts/query.py --speakers` lists them all.
LIST_SPEAKERS = 50


@dataclass(frozen=True)
class More:
    """The next quotes of an answer ("More"): the answer asked again with room for them."""

    answer: Answer
    #: How many quotes were shown before: the new ones are `answer.quotes[offset:]`.
    offset: int
    #: Whether no quotes are left after these.
    last: bool
    #: The index version the quotes come from.
    version: str

    @property
    def quotes(self) -> list[Quote]:
        """The quotes not shown before."""
        return self.answer.quotes[self.offset :]


@dataclass(frozen=True)
class DecisionFacts:
    """What /about says of the answer-or-decline decision."""

    #: The fitted decision model's version (`bot/data/decision_model.json`).
    model: str
    #: The confidence below which the engine declines: ANSWER_THRESHOLD, or else the model's own.
    threshold: float


@quick_init
@dataclass(frozen=True)
class _Question:
    """What is read from a question beside its encode: key terms, BM25 hits, shape, language."""

    #: The index they were read from (`Engine.reader`, checked on the lookup thread when the
    #: caller had none to give: its stat took 30-70 µs right after the thread woke).
    reader: IndexReader
    terms: list[Term]
    hits: Hits
    shape: QuestionShape
    #: The language the question is clearly written in when not English (`non_english`), else None.
    language: str | None
    #: What the decision reads of the question alone (`decision.asked`).
    side: Asked
    #: BM25's side of the ranking (`search.bm25_evidence`).
    bm25: Bm25Evidence
    #: What the ranking reads of the question's words (`search.question_cues`).
    cues: Cues
    #: The entity kinds an answer holds (`search.ANSWER_ENTITIES`), None when none is asked.
    entities: frozenset[str] | None
    #: The ranking's candidates and what it derives from them, when known before the search.
    plan: Plan | None


@quick_init
@dataclass(frozen=True)
class _Evidence:
    """The ranked passages of a question, their quotes and the question's reading."""

    ranked: list[Scored]
    quotes: list[Quote]
    question: _Question


def _read_question(engine: Engine, reader: IndexReader | None, text: str, shape: QuestionShape | None) -> _Question:
    """What needs no vector, read while the caller encodes: key terms and BM25 hits (one statement).

    With them BM25's side of the ranking and its cues, the question's shape and language, and the
    decision's question side. `reader` None: the engine's live one (`Engine.reader`).
    """
    reader = reader if reader is not None else engine.reader
    retrieval = engine.retrieval
    terms, hits = lexicon(reader).lookup(text, *retrieval.lexical_limits())
    known = sum(t.known for t in terms) / len(terms) if terms else None
    shape = shape or analyse(text)
    bm25 = bm25_evidence(reader, retrieval, terms, hits)
    side = asked(shape, terms)
    cues = question_cues(text)
    wanted = ANSWER_ENTITIES.get(shape.kind) if retrieval.answer_type_bonus > 0 else None
    if wanted and shape.duration:
        wanted = wanted | ANSWER_ENTITIES["when"]
    plan = ranking_plan(reader, retrieval, bm25, cues, wanted)
    return _Question(reader, terms, hits, shape, non_english(text, known), side, bm25, cues, wanted, plan)


class Engine:
    """Question answering over one index folder."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        index_dir: Path | None = None,
        embedder: Embedder | None = None,
        retrieval: Retrieval | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.index_dir = index_dir or self.settings.index_dir
        self.embedder = embedder or Embedder.from_settings(self.settings)
        self.retrieval = retrieval or Retrieval.named(self.settings.retrieval_mode)
        #: The open reader with the `live_stamp` taken before it was checked or opened, set as
        #: one pair (other threads read it unlocked): an unchanged stamp means it is still live.
        self._live: tuple[IndexReader, Hashable | None] | None = None
        self._lock = threading.Lock()

    @property
    def reader(self) -> IndexReader:
        """The live index, reopened when a build has published a newer version."""
        stamp = live_stamp(self.settings, self.index_dir)
        live = self._live
        if live is not None and stamp is not None and live[1] == stamp:
            return live[0]
        with self._lock:
            live = self._live
            reader = live[0] if live is not None else None
            if reader is None or reader.version != live_version(self.settings, self.index_dir):
                reader = self._open_reader()
                if live is not None:
                    log.info("index reloaded: version %s", reader.version)
            self._live = (reader, stamp)
        return reader

    def _open_reader(self) -> IndexReader:
        """Open the live index as this engine reads it: its model, splitter and search settings."""
        return open_reader(self.settings, self.index_dir, model=self.embedder.model_name, splitter=SPLITTER_VERSION)

    @property
    def version(self) -> str:
        """The live index version (a stat when it has not changed)."""
        return self.reader.version

    def about(self) -> IndexFacts:
        """The live index's version, model and counts; raises `IndexUnavailable` when there is none."""
        return self.reader.facts()

    def decision(self) -> DecisionFacts:
        """The decision model this engine answers with, and the confidence it declines below."""
        model = load_model()
        threshold = self.settings.answer_threshold
        return DecisionFacts(model.version, model.threshold if threshold is None else threshold)

    def clean_question(self, question: str) -> tuple[str, str | None]:
        """The question as searched, and a notice when it had to be shortened."""
        text = _ANSI_ESCAPE.sub(" ", question)
        if not text.isprintable():
            text = "".join(ch if ch.isprintable() else " " for ch in text)
        text = " ".join(text.split())
        limit = self.settings.max_question_chars
        if len(text) > limit:
            return text[:limit], f"question shortened to its first {limit} characters"
        return text, None

    def answer(self, question: str, k: int | None = None) -> Answer:
        """Quotes from the report that answer `question`, best first, or `answered=False`."""
        k = k or self.settings.top_k
        # Once a reader is open, whether it is still the live index is checked on the lookup
        # thread, beside the encode (`_read_question`); the first question opens it here, so that
        # a missing or damaged index fails before the model loads.
        reader = self.reader if self._live is None else None
        text, notice = self.clean_question(question)
        if notice is not None:
            # Echo what was searched: a 100 MB batch line used to come back whole in "question".
            question = text
        if not any(ch.isalnum() for ch in text):
            if reader is None:
                self.reader  # noqa: B018 - an index gone since fails here too, as for a question in words
            return Answer(question=question, answered=False, notice=notice or "ask a question in words")
        found = self._evidence(reader, text, k, None)
        ranked, quotes, terms, shape = found.ranked, found.quotes, found.question.terms, found.question.shape
        verdict = decide(
            found.question.reader,
            text,
            ranked,
            quotes,
            terms,
            threshold=self.settings.answer_threshold,
            shape=shape,
            question_side=found.question.side,
            coverage=found.question.bm25.coverage,
        )
        language = found.question.language
        if language and verdict.confidence < self.settings.non_english_min_confidence:
            # The model reads English only: say so rather than "the report does not answer".
            verdict = Verdict(False, verdict.confidence, verdict.version)
            english = f"questions must be asked in English (this looks like {language})"
            notice = f"{english}; {notice}" if notice else english
        return Answer(
            question=question,
            answered=verdict.answered,
            quotes=quotes,
            notice=notice,
            confidence=verdict.confidence,
            decision=verdict.version,
            possibly_relevant=verdict.possibly_relevant,
        )

    def evidence(
        self, reader: IndexReader, text: str, k: int, shape: QuestionShape | None = None
    ) -> tuple[list[Scored], list[Quote], list[Term]]:
        """The ranked passages for a cleaned question, their quotes and its key terms.

        What `answer` decides on; `scripts/fit_decision.py` fits the decision on the same.
        """
        found = self._evidence(reader, text, k, shape)
        return found.ranked, found.quotes, found.question.terms

    def _evidence(self, reader: IndexReader | None, text: str, k: int, shape: QuestionShape | None) -> _Evidence:
        """`evidence`, with the question's reading.

        `shape` None: read beside the encode; `reader` None: the live one, taken beside the encode.
        """
        ranked, question = self._candidates(reader, text, k, shape)
        reader = question.reader
        terms = question.terms
        asked = question.shape.asked_speaker
        if not asked:
            return _Evidence(ranked, make_quotes(reader, ranked, terms), question)
        # The speaker ranking and the quotes read the same passages: once.
        passages = passage_records(reader, (s.passage_id for s in ranked))
        ranked = rank_by_speaker(reader, ranked, asked, terms, k, passages=passages)
        return _Evidence(ranked, make_quotes(reader, ranked, terms, passages), question)

    def candidates(
        self, reader: IndexReader, text: str, k: int, shape: QuestionShape
    ) -> tuple[list[Scored], list[Term]]:
        """Retrieval's ranked passages and the question's key terms, before the speaker ranking.

        k passages, or `SPEAKER_CANDIDATES` for a "What did X say?" question, which
        `bot/retrieval/speaker_rank.py` reorders (`scripts/fit_speaker_rank.py` fits it on these).
        """
        ranked, question = self._candidates(reader, text, k, shape)
        return ranked, question.terms

    def _candidates(
        self, reader: IndexReader | None, text: str, k: int, shape: QuestionShape | None
    ) -> tuple[list[Scored], _Question]:
        """`candidates`, with the question's reading (made beside the encode when `shape` is None)."""
        # What needs no question vector (the lexical lookup in SQLite, which releases the GIL, and
        # the question's reading) runs on a pool thread while this one encodes the question
        # (onnxruntime or torch, which do too): max(encode, lookup), not the sum. The other way
        # round (the encode on the pool thread) cost 1.8-2.8 ms more a question at load 2-3
        # (docs/performance.md, "Query path"). It is handed over once the question is tokenised,
        # as the model starts: handed over before, its Python held the GIL that the tokeniser
        # needed back, and the tokenisation took ~1.8x as long ("Query path, 2026-12-03 night").
        pending: list[Pending[_Question]] = []

        def hand_over() -> None:
            pending.append(_LOOKUP_POOL.submit(_read_question, self, reader, text, shape))

        with _ENCODING:
            qv = self.embedder.encode([text], started=hand_over)[0]
        if not pending:  # an embedder that does not call back (precomputed vectors)
            hand_over()
        question = pending[0].result()
        reader = question.reader
        shape = question.shape
        depth = max(k, SPEAKER_CANDIDATES) if shape.asked_speaker else k
        ranked = rank_passages(
            reader,
            qv,
            depth,
            text,
            self.retrieval,
            question.terms,
            question.hits,
            entities=question.entities,
            bm25=question.bm25,
            cues=question.cues,
            plan=question.plan,
        )
        return ranked, question

    def more(self, question: str, shown: int) -> More:
        """The quotes after the first `shown` of `question`'s answer, up to `TOP_K` of them."""
        page = self.settings.top_k
        answer = self.answer(question, shown + page)
        return More(answer, shown, len(answer.quotes) < shown + page, self.version)

    def articles(self, limit: int | None = None) -> list[ArticleCount]:
        """Indexed articles with their passage counts, newest first: all, or the first `limit`."""
        return self.reader.newest_articles(limit)

    def article_passages(self, article_id: str) -> int | None:
        """How many passages one article has in the index (None when it is not there): its source line."""
        return self.reader.article_passages(article_id)

    def publishers(self) -> list[PublisherCount]:
        """(publisher, articles, passages, first date, last date) per publisher, the largest first."""
        return self.reader.publishers()

    def context(self, passage_id: int, around: int = 1) -> list[Paragraph]:
        """The paragraph holding a passage and its neighbours: (paragraph no., kind, text)."""
        return self.reader.paragraph_context(passage_id, around)

    def speakers(self, limit: int | None = None) -> list[SpeakerCount]:
        """Named sources and how many sentences are attributed to each, most quoted first.

        Names are the attribution's normalised ones (an acronym with its full name, "the
        ministry" as the fuller name used first), shown as `SOHR (Syrian Observatory for Human
        Rights)` when the report spelled the acronym out. Read from the counts the build kept.
        """
        return self.reader.speakers(limit)

    def speaker_count(self) -> int:
        """How many named sources the index holds."""
        return self.reader.speaker_count()

    def quotes_by(self, name: str, limit: int = 20) -> list[Quote]:
        """Sentences attributed to a speaker, found by name, full name or acronym, in any case.

        `SOHR`, `sohr`, `Syrian Observatory for Human Rights` and `SOHR (Syrian Observatory for
        Human Rights)` (a line of `speakers()`) all find the same quotes, in index order.
        """
        return source_quotes(self.reader, name, limit)

    def wording(self) -> Wording:
        """The words for the index: `the report` for one article, `the articles` for several (manifest count)."""
        return wording_for(self.reader.facts().articles)

    def reload(self) -> IndexFacts:
        """Re-open the index from disk now, even if CURRENT did not change (an admin's /reload)."""
        with self._lock:
            stamp = live_stamp(self.settings, self.index_dir)
            reader = self._open_reader()
            self._live = (reader, stamp)
        log.info("index re-opened: version %s", reader.version)
        return reader.facts()

    def example_questions(self, n: int = 3) -> list[str]:
        """Questions the index can answer (from its sections, sources and titles), chosen at build time."""
        return self.reader.examples(n)


@cache
def default_engine() -> Engine:
    """The process-wide engine built from the settings, made on first use (`default_engine.cache_clear()` drops it)."""
    return Engine()


def answer(question: str, k: int | None = None) -> Answer:
    """Answer with the process-wide engine built from the settings (`bot.answer`)."""
    return default_engine().answer(question, k)
