"""The query path's shortcuts answer exactly as the longer ways they replace (real index, SQLite, FAISS).

`docs/performance.md` ("Query path, 21:30-23:30") says why each exists; here each is checked
against the way it replaced on the multi-article corpus and the dev questions.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.build.run import build_index
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.index.fts import SCAN_LIST, SCAN_PER_LOOKUP, Fts
from bot.index.sqlite import ReadStore
from bot.retrieval.lexical import key_terms
from bot.retrieval.question import analyse
from bot.retrieval.quotes import sentences_holding_each
from bot.settings import BUNDLED_MODEL, Settings
from tests.conftest import MULTI_CORPUS, SEED_CORPUS, dev_questions

QUESTIONS = [json.loads(line)["q"] for line in (MULTI_CORPUS.parent / "multi_questions.jsonl").read_text().splitlines()]


def test_rows_of_a_list_found_by_a_scan_or_by_lookups_alike(multi_index: Path):
    """`matching(..., within)`: filtering one read of each word's rows (`+rowid IN`) or looking
    each listed row up in FTS5 (`rowid IN`) gives the same rows, which are those of the word
    anywhere that the list holds."""
    reader = EmbeddedReader(multi_index)
    scan = Fts(reader.store, lambda kind: None, lambda kind: 0)  # always reads the rows once
    lookups = Fts(reader.store, lambda kind: None)  # always looks the listed rows up
    every = [r[0] for r in reader.store.query("SELECT id FROM sentences ORDER BY id")]
    lists = [[], every[:1], every[3:40:3], every[::2], every, [every[-1], every[0], every[-1]]]
    checked = 0
    for question in QUESTIONS[:20]:
        words = key_terms(question)
        anywhere = lookups.matching("sentences", words)
        for within in lists:
            want = [frozenset(set(rows) & set(within)) for rows in anywhere]
            assert scan.matching("sentences", words, within) == want, (question, within)
            assert lookups.matching("sentences", words, within) == want, (question, within)
            checked += sum(map(len, want))
    assert checked > 100  # words with rows in the lists, not only empty answers


def test_the_reader_scans_for_a_long_list_or_a_small_table(multi_index: Path):
    """A few rows of a large table are looked up; a list of SCAN_LIST rows or a table of at most
    SCAN_PER_LOOKUP rows per listed row is scanned once."""
    reader = EmbeddedReader(multi_index)
    fts = Fts(reader.store, lambda kind: None, reader.count)
    sentences = reader.count("sentences")
    assert SCAN_PER_LOOKUP < sentences < SCAN_PER_LOOKUP * (SCAN_LIST - 1)
    few, many, long = [0, 0], list(range(sentences // SCAN_PER_LOOKUP + 1)), list(range(0, 2 * SCAN_LIST, 2))
    statements: list[str] = []
    reader.store.db.set_trace_callback(statements.append)
    try:
        fts.matching("sentences", ["port"], few)
        fts.matching("sentences", ["port"], many)
        Fts(reader.store, lambda kind: None, lambda kind: 10**9).matching("sentences", ["port"], long)
    finally:
        reader.store.db.set_trace_callback(None)
    matches = [s for s in statements if "MATCH" in s]  # FTS5 runs statements of its own too
    assert len(matches) == 3
    assert "+rowid IN" not in matches[0] and "rowid IN" in matches[0]
    assert "+rowid IN" in matches[1] and "+rowid IN" in matches[2]


def test_answers_read_the_question_beside_the_encode_as_when_given_its_shape(engine: Engine):
    """`answer` reads the question's shape and language on the lookup thread; the evidence is the
    same as when the caller passes the shape (what scripts/fit_decision.py does)."""
    reader = engine.reader
    for item in dev_questions():
        text = engine.clean_question(item["q"])[0]
        given = engine.evidence(reader, text, 5, analyse(text))
        read = engine.evidence(reader, text, 5)
        assert [(s.passage_id, s.score, s.sentence_id) for s in given[0]] == [
            (s.passage_id, s.score, s.sentence_id) for s in read[0]
        ]
        assert [q.quote for q in given[1]] == [q.quote for q in read[1]]
    answer = engine.answer("Wie viele Menschen sind in Idlib gestorben?")
    assert answer.notice is not None and "English" in answer.notice


def test_answers_equal_on_the_multi_corpus_with_either_way_of_filtering(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """Whole answers (quotes, ranks, confidence) do not depend on which way `within` is filtered."""
    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    reader = engine.reader
    assert isinstance(reader, EmbeddedReader)
    first = [engine.answer(q, 10).to_dict() for q in QUESTIONS]
    reader.__dict__["_fts"] = Fts(reader.store, lambda kind: None)  # the lookups way only
    reader._memo._values.pop("sentence-terms")  # and nothing kept from the other way
    assert [engine.answer(q, 10).to_dict() for q in QUESTIONS] == first


def test_candidates_kept_per_passage_answer_as_a_fresh_store(multi_index: Path):
    """`candidates` keeps each passage's rows: the same columns as a store that kept nothing,
    whatever mix of passages and sentences is asked; a repeat runs no statement, and a mix of
    kept and new passages one, for the new ones only."""
    reader = EmbeddedReader(multi_index)
    store = reader.store
    passages = [r[0] for r in store.query("SELECT id FROM passages ORDER BY id")]
    sentences = [r[0] for r in store.query("SELECT id FROM sentences ORDER BY id")]
    asks = [
        (passages[:5], sentences[:3]),
        (passages[3:9], []),
        ([], sentences[20:60:7]),
        (passages[::4], sentences[::9]),
        (passages[:5], sentences[:3]),
        ([], []),
        ([10**9], [10**9]),
    ]
    for passage_ids, sentence_ids in asks:
        for texts, slots in ((False, False), (True, True), (True, False)):
            got = store.candidates(passage_ids, sentence_ids, texts=texts, slots=slots)
            blank = ReadStore(store.path, store.index_dir)
            want = blank.candidates(passage_ids, sentence_ids, texts=texts, slots=slots)
            for field in ("sentence_ids", "passage_ids", "starts"):
                assert getattr(got, field).tolist() == getattr(want, field).tolist(), (passage_ids, sentence_ids)
            for field in ("texts", "slots", "passages", "owner"):
                assert getattr(got, field) == getattr(want, field), (field, passage_ids, sentence_ids)
    again = store.candidates(passages[:5], sentences[:3], texts=True, slots=True)
    assert store.candidates(passages[:5], sentences[:3], texts=True, slots=True) is again  # assembled once
    with pytest.raises(ValueError):
        again.sentence_ids[0] = 0  # shared between questions and threads: read only
    fresh = ReadStore(store.path, store.index_dir)
    fresh.candidates(passages[:2], [], texts=False, slots=False)
    statements: list[str] = []
    fresh.db.set_trace_callback(statements.append)
    try:
        fresh.candidates(passages[:2], [], texts=True, slots=True)
        assert statements == []
        fresh.candidates(passages[:3], [], texts=False, slots=False)
    finally:
        fresh.db.set_trace_callback(None)
    assert len(statements) == 1 and f"IN ({passages[2]})" in statements[0]  # the new passage alone


def test_sentence_terms_kept_answer_as_the_index(multi_index: Path):
    """The quotes' "which of these sentences hold each term", kept per term and sentence: the
    index's own answer whatever mix is asked; a repeat runs no statement, and new sentences one."""
    reader = EmbeddedReader(multi_index)
    ids = [r[0] for r in reader.store.query("SELECT id FROM sentences ORDER BY id LIMIT 60")]
    words = ["flood", "harbour", "strike", "minister", "flood"]
    for within in (ids[:20], ids[10:30], ids[::3], ids[:20], [ids[5], ids[5]], []):
        want = [frozenset(rows) for rows in reader.matching("sentences", words, within)]
        assert sentences_holding_each(reader, words, within) == want, within
    statements: list[str] = []
    reader.store.db.set_trace_callback(statements.append)
    try:
        sentences_holding_each(reader, words, ids[:20])
        assert statements == []
        sentences_holding_each(reader, words, [*ids[:20], ids[40]])  # ids[40]: never asked
    finally:
        reader.store.db.set_trace_callback(None)
    assert len([s for s in statements if "MATCH" in s]) == 1


def test_the_slot_check_runs_once_per_question_and_sentence(monkeypatch):
    """The cross-encoder's score for a question and a quote is kept for the process ("More" asks
    the same question again): the same log-odds, one run."""
    import bot.retrieval.slot_check as slot_check
    from bot.retrieval.decision import _slot_logit, slot_log_odds

    runs: list[tuple[str, list[str]]] = []

    class Counting:
        def score(self, question: str, sentences: list[str]) -> list[float]:
            runs.append((question, sentences))
            return [0.25] * len(sentences)

    monkeypatch.setattr(slot_check, "default_slot_check", Counting)
    _slot_logit.cache_clear()
    try:
        quote = SimpleNamespace(quote="38 buses were withdrawn.")
        first = slot_log_odds("How many buses?", quote)  # type: ignore[arg-type]
        assert slot_log_odds("How many buses?", quote) == first  # type: ignore[arg-type]
        slot_log_odds("How many trains?", quote)  # type: ignore[arg-type]
    finally:
        _slot_logit.cache_clear()
    assert runs == [
        ("How many buses?", ["38 buses were withdrawn."]),
        ("How many trains?", ["38 buses were withdrawn."]),
    ]


def test_answers_from_what_a_reader_kept_equal_a_fresh_readers(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """What readers keep per version (candidate rows, term-sentence answers, answer-type checks,
    typed passages) changes no answer: asked again, or in another order on a fresh reader."""
    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    questions = QUESTIONS + [item["q"] for item in dev_questions()]
    first = [engine.answer(q, 10).to_dict() for q in questions]
    assert [engine.answer(q, 10).to_dict() for q in questions] == first
    engine.reload()
    assert [engine.answer(q, 10).to_dict() for q in reversed(questions)] == first[::-1]


def test_answers_planned_before_the_search_equal_unplanned_ones(seed_index: Path, embedder):  # type: ignore[no-untyped-def]
    """On an index of one report the first search of a version lists every passage; the next
    questions' candidates are planned beside their encodes (`plan.ranking_plan`): the same whole
    answers as asked first on a fresh reader, in any order."""
    from bot.retrieval.search import EVERY_PASSAGE

    engine = Engine(Settings(_env_file=None, index_dir=seed_index), embedder=embedder)
    questions = [item["q"] for item in dev_questions()] + QUESTIONS[:10]
    for question in questions:
        engine.reload()  # a fresh reader: this question's candidates are found after its search
        assert EVERY_PASSAGE not in engine.reader._memo._values
        alone = engine.answer(question, 10).to_dict()
        assert engine.reader.memo(EVERY_PASSAGE, dict)["ids"]
        assert engine.answer(question, 10).to_dict() == alone  # planned
    planned = [engine.answer(q, 10).to_dict() for q in reversed(questions)]
    engine.reload()
    assert [engine.answer(q, 10).to_dict() for q in reversed(questions)] == planned


def _reference_ranking(reader, qv, k, question, retrieval, terms, hits, entities):  # type: ignore[no-untyped-def]
    """`rank_passages` as it was before its columns: a dict per passage at each step, `fuse`'s dicts.

    Written out here as the reference the columns must equal to the last bit.
    """
    import numpy as np

    from bot.retrieval import question_side, search
    from bot.retrieval.fusion import PASSAGE_CANDIDATES, SENTENCE_CANDIDATES, fuse

    limits = retrieval.lexical_limits()
    lexical_passages, lexical_sentences = hits
    sent_hits = reader.dense("sentences", qv, SENTENCE_CANDIDATES) if retrieval.dense else []
    pass_hits = dict(reader.dense("passages", qv, PASSAGE_CANDIDATES)) if retrieval.dense else {}
    lexical_lists = [dict(lexical_passages)] if limits[0] else []
    passage_hits = set(pass_hits).union(*lexical_lists)
    sentence_hits = {sid for sid, _ in sent_hits} | {sid for sid, _ in lexical_sentences}
    if not passage_hits and not sentence_hits:
        return []
    wanted = question_side.answer_type_bonus(question)
    entities = entities if retrieval.answer_type_bonus > 0 else None
    cands = reader.candidates(passage_hits, sentence_hits, texts=wanted is not None, slots=bool(entities))
    if limits[1] > 0:
        lexical_lists.append(question_side._best_sentence_per_passage(lexical_sentences, cands.owner))
    if not len(cands.sentence_ids):
        return []
    sims = reader.vectors("sentences", cands.sentence_ids) @ qv
    starts = cands.starts
    top_sim = np.maximum.reduceat(sims, starts)
    chosen = np.lexsort((-sims, cands.passage_ids))[starts]
    passages = cands.passage_ids[starts].tolist()
    missing = [pid for pid in passages if pid not in pass_hits]
    if missing:
        pass_hits.update(zip(missing, (reader.vectors("passages", missing) @ qv).tolist(), strict=True))
    dense = {
        pid: (search.SENTENCE_WEIGHT * top + (1 - search.SENTENCE_WEIGHT) * pass_hits[pid], sid, sim)
        for pid, top, sid, sim in zip(
            passages, top_sim.tolist(), cands.sentence_ids[chosen].tolist(), sims[chosen].tolist(), strict=True
        )
    }
    if retrieval.furniture_penalty and not question_side._PHOTO_QUESTION.search(question):
        dense = {
            pid: (d[0] - retrieval.furniture_penalty, d[1], d[2])
            if cands.passages[pid][2] in ("standfirst", "caption", "title")
            else d
            for pid, d in dense.items()
        }
    candidate_ids = sorted(cands.passages)
    fused = fuse(retrieval, dense, lexical_lists, terms, candidate_ids)
    if fused is not None and entities:
        for pid in search._typed(reader, cands, entities) & fused.keys():
            fused[pid] += retrieval.answer_type_bonus
    if fused is None:
        ids = [pid for pid in candidate_ids if pid in dense]
        ids.sort(key=lambda pid: dense[pid][0], reverse=True)
    else:
        ids = [pid for pid in candidate_ids if pid in dense and pid in fused]
        ids.sort(key=lambda pid: (fused[pid], dense[pid][0]), reverse=True)
    taken: dict[tuple[str, int], list[int]] = {}
    result = []
    for pid in ids:
        article, paragraph, _, window = cands.passages[pid]
        windows = taken.setdefault((article, paragraph), [])
        if any(abs(window - w) <= 1 for w in windows):
            continue
        windows.append(window)
        d = dense[pid]
        score = d[0] if fused is None else fused[pid]
        best_lexical = max((lst.get(pid, 0.0) for lst in lexical_lists), default=0.0)
        result.append(search.Scored(pid, score, d[1], d[2], dense=d[0], lexical=best_lexical))
        if len(result) == k:
            break
    if wanted:
        result = [search._answer_type_pick(reader, s, cands, sims, wanted) for s in result]
    return result


def test_ranking_by_columns_equals_a_dict_per_passage_to_the_bit(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """`rank_passages` scores its candidates as numpy columns: every passage, score, sentence and
    similarity equal to the dict-per-passage reference, for every fusion and side, at k = 5 and 20
    (past the candidates of some questions), with and without asked entity kinds."""
    assert _compare_with_reference(EmbeddedReader(multi_index), embedder) > 5000


def test_an_index_of_few_passages_skips_the_sentence_search_to_the_same_ranking(seed_index: Path, embedder):  # type: ignore[no-untyped-def]
    """When the passage search lists every passage (an index of one report), the sentences' own
    search and BM25's sentences can add no candidate: `rank_passages` leaves them out and ranks to
    the bit as the reference that runs them; a larger index still runs the sentence search."""
    from bot.retrieval.fusion import PASSAGE_CANDIDATES

    reader = EmbeddedReader(seed_index)
    assert 0 < reader.count("passages") <= PASSAGE_CANDIDATES
    searched: list[str] = []
    dense = reader.dense

    def counting(kind, vector, k):  # type: ignore[no-untyped-def]
        searched.append(kind)
        return dense(kind, vector, k)

    reader.dense = counting  # type: ignore[method-assign]
    assert _compare_with_reference(reader, embedder, counting=searched) > 500
    assert "passages" in searched and "sentences" not in searched


def _compare_with_reference(reader: EmbeddedReader, embedder, counting: list[str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Rank every question as `rank_passages` and as `_reference_ranking`; assert they are equal.

    Returns how many ranked passages were compared. `counting`: the searched kinds, of
    `rank_passages` alone (the reference's are left out). As the engine ranks too, with the
    candidates planned before the search (`plan.ranking_plan`) on an index of one report.
    """
    from bot.retrieval.fusion import PASSAGE_CANDIDATES, Fusion, LexicalSide, Retrieval
    from bot.retrieval.lexical import lexicon
    from bot.retrieval.plan import ranking_plan
    from bot.retrieval.question_side import bm25_evidence, question_cues
    from bot.retrieval.search import ANSWER_ENTITIES, rank_passages

    lex = lexicon(reader)
    variants = [
        Retrieval(),
        Retrieval(fusion=Fusion.RRF),
        Retrieval(fusion=Fusion.COVERAGE),
        Retrieval(scale_by_coverage=False, furniture_penalty=0.0),
        Retrieval(lexical=LexicalSide.PASSAGE),
        Retrieval(lexical=None),
        Retrieval(dense=False, lexical=LexicalSide.SENTENCE),
        Retrieval(answer_type_bonus=0.0),
    ]
    questions = QUESTIONS + [item["q"] for item in dev_questions()] + ["What do the photos show?", "zzzz qqqq"]
    compared = planned = 0
    for question in questions:
        qv = embedder.encode([question])[0]
        shape = analyse(question)
        for retrieval in variants:
            limits = retrieval.lexical_limits()
            terms, hits = lex.lookup(question, *limits)
            for entities in (ANSWER_ENTITIES.get(shape.kind), ANSWER_ENTITIES["when"]):
                for k in (5, 20):
                    args = (reader, qv, k, question, retrieval, terms, hits, entities)
                    got = rank_passages(*args[:5], terms, hits, entities=entities)
                    cues = question_cues(question)
                    cued = rank_passages(*args[:5], terms, hits, entities=entities, cues=cues)
                    # As the engine ranks: BM25's side, the cues and the plan made before the search.
                    bm25 = bm25_evidence(reader, retrieval, terms, hits)
                    plan = ranking_plan(reader, retrieval, bm25, cues, entities)
                    planned += plan is not None
                    kept = len(counting) if counting is not None else 0
                    made = rank_passages(*args[:5], terms, hits, entities=entities, bm25=bm25, cues=cues, plan=plan)
                    want = _reference_ranking(*args)
                    if counting is not None:
                        del counting[kept:]
                    assert got == want == cued == made, (question, retrieval, k)
                    assert [type(s.score) for s in got] == [float] * len(got)
                    compared += len(got)
    # The plan is made once the version's search has listed every passage: on the seed only.
    assert (planned > 0) == (reader.count("passages") <= PASSAGE_CANDIDATES)
    return compared


def test_the_decision_reads_the_question_beside_the_encode_as_after_it(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """The decision's question side (`decision.asked`) and the best passage's key-term coverage
    (`Bm25Evidence.coverage`), made on the lookup thread, give every feature and confidence the
    features give when they read the question and the index themselves."""
    from bot.engine import _read_question
    from bot.retrieval.decision import decide, features
    from bot.retrieval.decision_inputs import asked

    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    reader = engine.reader
    questions = QUESTIONS + [item["q"] for item in dev_questions()] + ["What did NATO say?", "How many people died?"]
    from_bm25 = 0
    for question in questions:
        text = engine.clean_question(question)[0]
        shape = analyse(text)
        ranked, quotes, terms = engine.evidence(reader, text, 5, shape)
        side = asked(shape, terms)
        alone = features(reader, shape, ranked, quotes, terms)
        assert features(reader, shape, ranked, quotes, terms, side) == alone
        # The best passage's coverage as BM25's side made it beside the encode: the same features.
        coverage = _read_question(engine, reader, text, shape).bm25.coverage
        assert features(reader, shape, ranked, quotes, terms, side, coverage=coverage) == alone
        from_bm25 += bool(ranked) and ranked[0].passage_id in coverage
        verdict = decide(reader, text, ranked, quotes, terms, shape=shape)
        assert engine.answer(question).confidence == verdict.confidence, question
    assert from_bm25 > len(questions) // 2  # most best passages are BM25's too


def test_the_article_sources_kept_answer_as_the_index(multi_index: Path):
    """Whether an article quotes the asked speaker, from its sources' words kept per passage: the
    index's answer for every passage and speaker; a repeat runs no statement."""
    from bot.retrieval.decision_inputs import quoted_in_article
    from bot.retrieval.question import names_meet, speaker_words

    reader = EmbeddedReader(multi_index)
    passages = [r[0] for r in reader.store.query("SELECT id FROM passages ORDER BY id")]
    names = {r[0] for r in reader.store.query("SELECT speaker FROM sentences WHERE speaker_kind = 'source'")}
    asked = [*sorted(names)[:6], "Nobody Atall", "the minister"]
    quoting = 0
    for name in asked:
        wanted = speaker_words(name)
        for pid in passages:
            fresh = EmbeddedReader(multi_index)
            want = any(
                names_meet(wanted, speaker_words(n) | speaker_words(full))
                for _, n, full in fresh.quoted_sources(fresh.article_passage_ids(pid))
            )
            assert quoted_in_article(reader, wanted, pid) == want, (name, pid)
            quoting += want
    assert 0 < quoting < len(asked) * len(passages)
    statements: list[str] = []
    reader.store.db.set_trace_callback(statements.append)
    try:
        for pid in passages:
            quoted_in_article(reader, speaker_words(asked[0]), pid)
    finally:
        reader.store.db.set_trace_callback(None)
    assert statements == []


def test_the_speaker_rankings_facts_kept_answer_as_a_fresh_reader(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """The speaker ranking's per-passage facts (the asked speaker's sentences, quotations), kept per
    version and speaker: every candidate's features as a fresh reader computes them, asked again
    and for another speaker over the same passages."""
    from bot.retrieval.speaker_rank import candidate_features

    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    reader = engine.reader
    names = sorted({r[0] for r in reader.store.query("SELECT speaker FROM sentences WHERE speaker_kind = 'source'")})
    said = [q for q in QUESTIONS + [item["q"] for item in dev_questions()] if analyse(q).asked_speaker]
    said += [f"What did {name} say about the talks?" for name in names[:5]]
    matched = 0
    for question in said:
        shape = analyse(question)
        ranked, terms = engine.candidates(reader, question, 10, shape)
        for speaker in (shape.asked_speaker or "", names[0]):
            got = candidate_features(reader, ranked, speaker, terms)
            assert candidate_features(reader, ranked, speaker, terms) == got
            assert candidate_features(EmbeddedReader(multi_index), ranked, speaker, terms) == got, question
            matched += sum(f["speaker_match"] for f in got)
    assert matched > 0


def test_the_lookup_hand_over_returns_values_and_raises_errors_on_the_callers_side():
    """`beside.Beside` runs each call on one of its threads, not the caller's, and hands back
    its value or raises its error in the caller; many calls at once each get their own result;
    a forked child answers too."""
    import os
    import threading

    from bot.retrieval.beside import Beside

    beside = Beside(2, "test-lookup")
    caller = threading.get_ident()
    pending = [beside.submit(lambda n: (n * n, threading.get_ident()), n) for n in range(200)]
    results = [p.result() for p in pending]
    assert [value for value, _ in results] == [n * n for n in range(200)]
    assert caller not in {thread for _, thread in results}
    assert all(p.done() for p in pending) and pending[0].result()[0] == 0  # asked again: same value

    def fail() -> None:
        raise KeyError("no such passage")

    with pytest.raises(KeyError, match="no such passage"):
        beside.submit(fail).result()
    assert beside.submit(int, "7").result() == 7  # a failed call leaves its thread working
    child = os.fork()
    if child == 0:  # a forked child has no threads of its parent's: it starts its own
        os._exit(0 if beside.submit(int, "8").result() == 8 else 1)
    assert os.waitpid(child, 0)[1] == 0


def test_the_slot_evidence_from_stems_made_beside_the_encode_meets_as_same_word(multi_index: Path, embedder):  # type: ignore[no-untyped-def]
    """`_slot_evidence` compares the quote's slot words with the question's stems made on the
    lookup thread (`Asked.long_stems`, `noun_stem`): the same features as `same_word` over the
    question's words gives, for every question's first quote and each of its quotes."""
    from bot.retrieval import decision
    from bot.retrieval.decision_inputs import NUMBERISH, asked
    from bot.retrieval.question import same_stem, same_word, stem

    words = ["soldiers", "soldier", "begins", "begin", "died", "die", "", "'", "ran", "running", "news", "new"]
    for a in words:
        for b in words:
            assert same_word(a, b) == same_stem(stem(a), stem(b)), (a, b)

    def by_words(shape, quote, q):  # type: ignore[no-untyped-def]
        slots = [decision.kept_slots(s) for s in quote.slots]
        numbers = [n for s in slots for n in s["n"] if n[0] in NUMBERISH]
        dates = [d for s in slots for d in s["d"]]
        if shape.duration:
            numbers += [["DATE", "", verb] for verb, _ in dates]
        qwords = [w for w in shape.words if len(w) > 2]  # the question's longer words, as before
        f = {}
        if shape.asked_noun:
            f["number_counts_noun"] = float(any(n[1] and same_word(n[1], shape.asked_noun) for n in numbers))
        f["number_on_question_word"] = float(
            any(any(same_word(n[1], w) or same_word(n[2], w) for w in qwords if n[1] or n[2]) for n in numbers)
        )
        f["date_on_event"] = float(any(not r and any(same_word(v, w) for w in qwords) for v, r in dates))
        return f

    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    reader = engine.reader
    questions = QUESTIONS + [item["q"] for item in dev_questions()]
    questions += ["How many soldiers were killed?", "When did the strike begin?", "How long will the port close?"]
    met = 0
    for question in questions:
        text = engine.clean_question(question)[0]
        shape = analyse(text)
        _, quotes, terms = engine.evidence(reader, text, 5, shape)
        q = asked(shape, terms)
        for quote in quotes:
            got = decision._slot_evidence(shape, quote, q)
            want = by_words(shape, quote, q)
            assert {name: got[name] for name in want} == want, (question, quote.quote)
            met += sum(want.values())
    assert met > 10  # slot words that meet the question's, not only misses


def test_what_ranking_derives_from_a_candidate_set_is_made_once_and_equals_a_fresh_make(seed_index: Path, embedder):  # type: ignore[no-untyped-def]
    """`search._fixed` keeps the candidates' sentence vectors, passage ids, furniture and typed
    positions per `Candidates` object: on an index of one report every question meets the same
    object, and what is kept equals what the reader gives afresh; the arrays are read only."""
    import numpy as np

    from bot.retrieval import search
    from bot.retrieval.search import ANSWER_ENTITIES, rank_passages

    reader = EmbeddedReader(seed_index)
    seen = set()
    for item in dev_questions():
        qv = embedder.encode([item["q"]])[0]
        rank_passages(reader, qv, 5, item["q"], entities=ANSWER_ENTITIES["when"])
        kept = reader.memo("fixed-candidates", dict)
        seen.update(id(f) for f in kept.values())
    assert len(seen) <= 2  # texts asked for or not: at most two candidate sets on the seed
    fresh = EmbeddedReader(seed_index)
    for fixed in reader.memo("fixed-candidates", dict).values():
        cands = fixed.cands
        assert np.array_equal(fixed.vectors, fresh.vectors("sentences", cands.sentence_ids))
        assert fixed.id_list == cands.passage_ids[cands.starts].tolist() == fixed.ids.tolist()
        kinds = [cands.passages[pid][2] for pid in fixed.id_list]
        assert fixed.furniture == [i for i, kind in enumerate(kinds) if kind in ("standfirst", "caption", "title")]
        typed = search._typed(fresh, cands, ANSWER_ENTITIES["when"])
        assert fixed.typed[search._quoted(ANSWER_ENTITIES["when"])] == [
            i for i, pid in enumerate(fixed.id_list) if pid in typed
        ]
        with pytest.raises(ValueError):
            fixed.vectors[0, 0] = 0.0


def test_quick_init_makes_the_same_frozen_records_as_the_dataclass_init():
    """`frozen.quick_init` fills a frozen dataclass's fields without `object.__setattr__`: the same
    values, defaults and fresh default factories, positional or by keyword, as the generated
    `__init__`; the records stay frozen, equal, hashable and replaceable; classes it cannot keep
    the meaning of are refused."""
    import dataclasses
    import pickle

    from bot.retrieval.answers import Answer
    from bot.retrieval.frozen import quick_init
    from bot.retrieval.search import Scored

    @dataclasses.dataclass(frozen=True)
    class Plain:
        a: int
        b: str = "b"
        c: list[int] = dataclasses.field(default_factory=list)

    @quick_init
    @dataclasses.dataclass(frozen=True)
    class Quick:
        a: int
        b: str = "b"
        c: list[int] = dataclasses.field(default_factory=list)

    for args, kwargs in (((1,), {}), ((1, "x"), {}), ((1, "x", [2]), {}), ((), {"a": 3, "c": [4]}), ((5,), {"b": "y"})):
        assert dataclasses.astuple(Plain(*args, **kwargs)) == dataclasses.astuple(Quick(*args, **kwargs))  # type: ignore[arg-type]
    assert Quick(1).c is not Quick(1).c  # a fresh list each time, as the factory makes it
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]  # a field without a default is still required
    scored = Scored(1, 0.5, 3, 0.25, lexical=2.0)
    assert scored == Scored(passage_id=1, score=0.5, sentence_id=3, sentence_score=0.25, dense=0.0, lexical=2.0)
    assert hash(scored) == hash(Scored(1, 0.5, 3, 0.25, 0.0, 2.0))
    assert dataclasses.replace(scored, sentence_id=4).sentence_id == 4
    assert pickle.loads(pickle.dumps(scored)) == scored
    with pytest.raises(dataclasses.FrozenInstanceError):
        scored.score = 1.0  # type: ignore[misc]
    assert Answer("q", True).quotes == [] and Answer("q", True).quotes is not Answer("q", True).quotes

    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Posted:
        a: int

        def __post_init__(self) -> None:
            pass

    for refused in (Mutable, Slotted, Posted):
        with pytest.raises(TypeError):
            quick_init(refused)


def test_the_encode_slots_admit_at_most_their_number_at_once():
    """`beside.Slots`, the engine's limit on encodes at once: never more holders than slots, a
    waiting one gets in when another leaves, and a holder that raises gives its slot back."""
    import threading
    import time

    from bot.retrieval.beside import Slots

    slots, lock = Slots(2), threading.Lock()
    active = most = 0

    def hold() -> None:
        nonlocal active, most
        with slots:
            with lock:
                active += 1
                most = max(most, active)
            time.sleep(0.01)
            with lock:
                active -= 1

    threads = [threading.Thread(target=hold) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2 and active == 0
    with pytest.raises(RuntimeError), slots:
        raise RuntimeError("the encode failed")
    hold()  # both slots free again


def test_the_model_calls_back_once_the_texts_are_tokenised(embedder):  # type: ignore[no-untyped-def]
    """`Embedder.encode(started=...)`: called once, before the model runs, on a question's single
    batch as on a bulk encode's parallel ones; the vectors are those of an encode without it."""
    from bot.embedding.embedder import Embedder

    onnx = embedder.onnx
    assert onnx is not None
    runs: list[str] = []
    session = onnx.session

    class Watched:
        """The real session, noting when it runs."""

        def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            runs.append("run")
            return session.run(*args, **kwargs)

    onnx.session = Watched()
    try:
        for question in [item["q"] for item in dev_questions()][:5]:
            runs.clear()
            vector = embedder.encode([question], started=lambda: runs.append("started"))
            assert runs == ["started", "run"]
            assert np.array_equal(vector, embedder.encode([question]))
    finally:
        onnx.session = session
    bulk = Embedder(BUNDLED_MODEL, backend="onnx", precision="int8", workers=2)
    bulk.batch_size = 2
    called: list[int] = []
    texts = [item["q"] for item in dev_questions()]
    vectors = bulk.encode(texts, started=lambda: called.append(1))
    assert called == [1] and bulk.onnx is not None and bulk.onnx.bulk_encodes == 1
    assert np.array_equal(vectors, bulk.encode(texts))


def test_the_live_index_is_checked_beside_the_encode(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    """Once a reader is open, whether it is still the live index is checked on the lookup thread:
    the next question after a build answers from the new version, and a missing index still fails
    before the first encode."""
    from bot.embedding.embedder import Embedder
    from bot.errors import IndexUnavailable
    from bot.index.manifest import current_version

    class Counting(Embedder):
        """The session's model, counting encodes."""

        encodes = 0

        def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
            Counting.encodes += 1
            return embedder.encode(texts, **kwargs)

    counting = Counting(BUNDLED_MODEL, backend="onnx", precision="int8")
    index = tmp_path / "index"
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=counting)
    with pytest.raises(IndexUnavailable):
        engine.answer("How many Russian air strikes were counted?")
    assert Counting.encodes == 0
    build_index(SEED_CORPUS, index, embedder)
    first = engine.answer("How many Russian air strikes were counted?")
    assert first.quotes and Counting.encodes == 1
    build_index(MULTI_CORPUS, index, embedder)
    question = QUESTIONS[0]
    assert (
        engine.answer(question).to_dict()
        == Engine(Settings(_env_file=None, index_dir=index), embedder=embedder).answer(question).to_dict()
    )
    assert engine.reader.version == current_version(index)
    assert not engine.answer("?!").answered
