"""Hybrid retrieval, quotes and abstention on the real seed index (FAISS + SQLite FTS5)."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.retrieval.lexical import key_terms, lexicon, name_terms


def test_key_terms_drop_function_words_and_keep_acronyms():
    assert key_terms("What did the WHO say about the floods?") == ["who", "floods"]
    assert key_terms("who said it?") == []
    assert key_terms("ayoubs goal for the offensive") == ["ayoubs", "goal", "offensive"]


def test_names_are_capitalised_words_after_the_first():
    assert name_terms("How many Iranian soldiers were killed?") == {"iranian"}
    assert name_terms("how many iranian soldiers were killed") == set()
    assert name_terms("What did SOHR say?") == {"sohr"}


def test_lexicon_knows_the_index_words_and_forgives_typos(engine: Engine):
    lex = lexicon(engine.reader)
    assert not lex.term("nobel").known
    assert lex.term("maasran").known
    typo = lex.term("hezbolah")
    assert typo.known and typo.searched != "hezbolah"


def test_a_title_word_finds_its_article(engine: Engine):
    # "offensive" is in the title; the lexical side indexes title and section as context.
    lex = lexicon(engine.reader)
    assert len(lex.term("initiates").passages) == engine.reader.passage_index.ntotal


@pytest.mark.parametrize(
    "question",
    [
        "how many russian air strikes were counted over idlib and hama",  # lower case, no "?"
        "How many Rusian air strikes were countd over Idlib and Hama?",  # typos
        "air strikes idlib hama count",  # telegraphic
    ],
)
def test_robust_to_case_typos_and_telegraphic_queries(engine: Engine, question: str):
    answer = engine.answer(question)
    assert answer.answered
    assert "Over 40 air strikes" in answer.quotes[0].text


@pytest.mark.parametrize(
    "question",
    [
        "How many Iranian soldiers were killed?",
        "how many iranian soldiers were killed",  # lower case: "iranian" built on the report's "Iran"
        "What did the French government say about the air strikes?",
        "Who won the Nobel Peace Prize in 2015?",
    ],
)
def test_near_misses_with_an_unknown_name_are_not_answered(engine: Engine, question: str):
    answer = engine.answer(question)
    assert not answer.answered
    assert answer.quotes  # shown as related


def test_quotes_are_whole_sentences_of_their_passage(engine: Engine):
    for question in ["What did the first joint ground assault involve?", "death toll syria war", "Where is Maasran?"]:
        for quote in engine.answer(question, 5).quotes:
            starts = {0} | {i + 1 for i, ch in enumerate(quote.text) if ch == " "}
            assert quote.quote_start in starts
            assert quote.quote_end == len(quote.text) or quote.text[quote.quote_end] == " "
            assert quote.quote.strip()[-1] in '.!?"”]' or quote.kind in ("caption", "standfirst")


def test_quote_runs_on_to_the_next_sentence_when_the_answer_does(engine: Engine):
    # The answer to this sits across two sentences of paragraph 13: "The number of civilian
    # casualties ... yet to be confirmed" and "However, the Orient news says 9 civilians died".
    answer = engine.answer("How many civilian casualties does Orient news report?")
    top = answer.quotes[0]
    assert "9 civilians died" in top.quote
    assert top.quote in top.text


def test_captions_answer_photo_questions(engine: Engine):
    answer = engine.answer("What does the photo of the civil defence member show?")
    assert answer.quotes[0].kind == "caption"


def test_speakers_are_listed_with_full_names_and_found_by_any_of_them(engine: Engine):
    listed = dict(engine.speakers())
    assert "SOHR (Syrian Observatory for Human Rights)" in listed
    by_acronym = [q.quote for q in engine.quotes_by("sohr")]
    by_full = [q.quote for q in engine.quotes_by("Syrian Observatory for Human Rights")]
    assert len(by_full) >= 2 and set(by_full) <= set(by_acronym)
    for alias in ("SOHR (Syrian Observatory for Human Rights)", "the syrian observatory for human rights"):
        assert [q.quote for q in engine.quotes_by(alias)] in (by_full, by_acronym)


def test_a_derived_name_needs_a_name_of_the_index_not_a_common_stem(engine: Engine):
    from bot.retrieval.lexical import lexicon

    lex = lexicon(engine.reader)
    assert lex.derived_name("iranian")  # "Iran" is written only capitalised
    assert not lex.derived_name("regimes")  # "regime" is a common word of the report
    assert not lex.derived_name("footage")


@pytest.mark.parametrize(
    "question",
    [
        "How many Russian air strikes were counted over Idlib and Hama?",
        "How many Rusian air strikes were countd over Idlib and Hama?",  # typos: searched again
        "Who won the Nobel Peace Prize?",  # words the report lacks: no rows, no score
        "?",
    ],
)
def test_lookup_finds_what_terms_and_search_find_apart(engine: Engine, question: str):
    lex = lexicon(engine.reader)
    terms, hits = lex.lookup(question, 32, 64)
    alone = lex.terms(question)
    assert [(t.word, t.searched, set(t.passages), t.idf, t.name) for t in terms] == [
        (t.word, t.searched, set(t.passages), t.idf, t.name) for t in alone
    ]
    assert hits == lex.search(alone, 32, 64)
    assert bool(hits[0]) == bool(hits[1]) == (question != "?")


def test_a_question_takes_a_handful_of_sql_statements(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    """A statement costs 30-60 µs on a small index, as much as the search in it: this question ran
    40 (a query per term, per quote, per step), now 5, FTS5's own lookups not counted. Counted on
    every thread: the lookup runs on a pool thread, with its own connection."""
    store = engine.reader.store
    ours: list[str] = []
    query = type(store).query

    def counted(self, sql, params=()):  # type: ignore[no-untyped-def]
        ours.append(sql)
        return query(self, sql, params)

    monkeypatch.setattr(type(store), "query", counted)
    answer = engine.answer("How many Russian air strikes were counted over Idlib and Hama?")
    assert answer.answered and len(answer.quotes) == 3
    # key terms with both BM25 searches (beside the encode); candidates; the quoted passages (unless
    # kept); their key terms; the names' article
    assert len(ours) <= 5, ours
    assert any("MATCH" in sql for sql in ours)  # the pool thread's statements are counted too


def test_a_full_build_leaves_one_lexical_segment_per_table(engine: Engine):
    # FTS5 reads every segment for every term: merged after a full build (was 3 and 9 on the seed).
    for table in ("passages_fts", "sentences_fts"):
        assert engine.reader.store.query(f"SELECT count(DISTINCT segid) FROM {table}_idx")[0][0] == 1


def test_the_decision_about_reports_is_the_one_answers_use(engine: Engine):
    """/about's decision model and threshold (`Engine.decision`) are what answering uses: ANSWER_THRESHOLD wins."""
    question = "How many Russian air strikes were counted over Idlib and Hama?"
    fitted = engine.decision()
    answer = engine.answer(question)
    assert answer.decision == fitted.model
    assert answer.answered and answer.confidence >= fitted.threshold
    stricter = round(min(1.0, answer.confidence + 0.01), 4)
    strict = Engine(
        engine.settings.model_copy(update={"answer_threshold": stricter}),
        index_dir=engine.index_dir,
        embedder=engine.embedder,
    )
    assert strict.decision() == type(fitted)(fitted.model, stricter)
    assert not strict.answer(question).answered


def test_a_burst_of_questions_encodes_at_most_one_question_per_core(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    """The bot answers from many threads; their encodes, each multi-threaded, must not pile up."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from bot.engine import ENCODE_SLOTS

    encode = engine.embedder.encode
    lock = threading.Lock()
    active = most = 0

    def counted(texts: list[str], **kwargs: object) -> np.ndarray:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.05)  # long enough for every thread of the burst to arrive meanwhile
            return encode(texts, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(engine.embedder, "encode", counted)
    questions = [f"How many people were killed in attack number {n}?" for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(engine.answer, questions))
    assert len(answers) == 12 and all(a.quotes or not a.answered for a in answers)
    assert most == ENCODE_SLOTS
