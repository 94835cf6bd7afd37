"""BM25 on FTS5's postings as arrays (`bot/index/postings.py`) ranks as FTS5 itself does.

Indexes are built with `lexical_threshold=0` so that the small test corpus gets the arrays a
1,000,000-passage index gets; each answer is checked against FTS5's own `bm25()` on the same
store, through a lexicon that lacks the arrays.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.index.fts import _Union
from bot.index.postings import Postings, tokenize
from bot.index.postings_write import written_forms
from bot.retrieval.lexical import Lexicon, key_terms
from bot.retrieval.search import rank_passages
from bot.settings import Settings
from tests.conftest import MULTI_CORPUS, dev_questions
from tests.test_incremental import NEW_ARTICLE, edit

QUESTIONS = [json.loads(line)["q"] for line in (MULTI_CORPUS.parent / "multi_questions.jsonl").read_text().splitlines()]
QUESTIONS += [q["q"] for q in dev_questions()] + ["o'brien harbour", "Carrick Point lamp", "floods flooding flooded"]
QUESTIONS += ["What did D'Arcy say about the floods?"]


def fts_only(reader: EmbeddedReader) -> Lexicon:
    return Lexicon(EmbeddedReader(reader.index_dir, postings=False))


def assert_same_ranking(reader: EmbeddedReader) -> None:
    arrays, fts = Lexicon(reader), fts_only(reader)
    assert reader.lexical_index("passages") is not None and reader.lexical_index("sentences") is not None
    for question in QUESTIONS:
        terms = arrays.terms(question)
        for search in (0, 1):  # passages, sentences
            limits = (20, 0) if search == 0 else (0, 20)
            got, want = arrays.search(terms, *limits)[search], fts.search(terms, *limits)[search]
            # Scores in float32 against FTS5's double: equal to 1e-6.
            assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6), (question, search)
            # Every matching row with its score (the test corpus has fewer than 10,000).
            every = (10_000, 0) if search == 0 else (0, 10_000)
            got = dict(arrays.search(terms, *every)[search])
            want = dict(fts.search(terms, *every)[search])
            assert got.keys() == want.keys(), (question, search)
            assert [got[i] for i in want] == pytest.approx(list(want.values()), rel=1e-6)
        for word in key_terms(question):
            assert set(arrays.passages_with(word)) == set(fts.passages_with(word)), word
        sentence_ids = [r[0] for r in reader.store.query("SELECT id FROM sentences ORDER BY id LIMIT 40")]
        words = key_terms(question)
        assert arrays.sentences_holding_each(words, sentence_ids) == fts.sentences_holding_each(words, sentence_ids)
        # One statement for terms and both searches on FTS5; the arrays answer it without one.
        (got_terms, got), (want_terms, want) = arrays.lookup(question, 20, 30), fts.lookup(question, 20, 30)
        assert [(t.word, t.searched, set(t.passages)) for t in got_terms] == [
            (t.word, t.searched, set(t.passages)) for t in want_terms
        ]
        for got_hits, want_hits in zip(got, want, strict=True):
            assert [i for i, _ in got_hits] == [i for i, _ in want_hits], question
            assert [s for _, s in got_hits] == pytest.approx([s for _, s in want_hits], rel=1e-6)
        # Exactly what the terms and the search give apart, on either side: an unknown word of
        # several tokens ("d'arcy") must not send the arrays' search to FTS5.
        for lex in (arrays, fts):
            assert lex.lookup(question, 20, 30)[1] == lex.search(lex.terms(question), 20, 30), question


def assert_same_names(reader: EmbeddedReader) -> int:
    """The written forms kept with the postings say "name" exactly where the passages' text does."""
    arrays, fts = Lexicon(reader), fts_only(reader)
    words = [w for w in arrays.vocabulary if w.isalpha() and w.isascii()]
    words += ["iran", "marrow", "edda", "carrick", "harbour", "saturday", "point", "lamp"]
    names = 0
    for word in words:
        kept = arrays.reader.written_as_name(word)
        assert kept == fts.reader.written_as_name(word), word
        names += kept
    return names


@pytest.fixture
def multi_arrays(tmp_path: Path, embedder: Embedder) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    build_index(corpus, index, embedder, lexical_threshold=0)
    return corpus, index


def test_postings_rank_as_fts5_bm25(multi_arrays: tuple[Path, Path]):
    _, index = multi_arrays
    reader = EmbeddedReader(index)
    assert [len(reader.manifest.lexical[k]) for k in ("passages", "sentences")] == [1, 1]
    assert_same_ranking(reader)
    assert assert_same_names(reader) > 20  # real names among them, not only "no"


def test_incremental_builds_append_then_rewrite_segments(multi_arrays: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_arrays
    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")
    build_index(corpus, index, embedder, lexical_threshold=0)
    reader = EmbeddedReader(index)
    assert [len(reader.manifest.lexical[k]) for k in ("passages", "sentences")] == [2, 2]
    assert_same_ranking(reader)
    assert Lexicon(reader).term("marrow").known  # a word only the appended segment holds
    # The appended segment's row lengths start at its own first row, above the base's rows.
    for kind in ("passages", "sentences"):
        base, added = reader.manifest.lexical[kind]
        assert added["first"] >= base["first"] + len(reader.lexical_index(kind).segments[0].lengths)

    edit(corpus / "port-strike.md", "roughly $40 million a day", "roughly $45 million a day")
    build_index(corpus, index, embedder, lexical_threshold=0)
    reader = EmbeddedReader(index)
    assert [len(reader.manifest.lexical[k]) for k in ("passages", "sentences")] == [1, 1]
    assert_same_ranking(reader)


def test_answers_equal_with_and_without_postings(
    multi_arrays: tuple[Path, Path], multi_index: Path, embedder: Embedder
):
    _, index = multi_arrays
    with_arrays = Engine(Settings(index_dir=index), embedder=embedder)
    plain = Engine(Settings(index_dir=multi_index), embedder=embedder)
    assert not plain.reader.manifest.lexical
    for question in QUESTIONS:
        a, b = with_arrays.answer(question).to_dict(), plain.answer(question).to_dict()
        assert a == b, question
        qv = embedder.encode([question])[0]
        ranked = [s.passage_id for s in rank_passages(with_arrays.reader, qv, 5, question)]
        assert ranked == [s.passage_id for s in rank_passages(plain.reader, qv, 5, question)]


def test_written_forms_follow_incremental_builds(multi_arrays: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_arrays

    def name(word: str) -> bool:
        reader = EmbeddedReader(index)
        assert_same_names(reader)
        return reader.written_as_name(word)

    assert not name("marrow")  # nowhere yet
    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")
    build_index(corpus, index, embedder, lexical_threshold=0)
    assert name("marrow") and name("edda")  # "Edda Marrow", in the appended segment only
    marrow = NEW_ARTICLE.replace("Lighthouse keeper", "Surgeon").replace("Edda Marrow switched", "The bone marrow")
    marrow += "\nHervé Neufmarché of Zürich thanked the rich donors.\n"
    (corpus / "surgeon.md").write_text(marrow, encoding="utf-8")
    build_index(corpus, index, embedder, lexical_threshold=0)
    assert len(EmbeddedReader(index).manifest.lexical["passages"]) == 3
    assert not name("marrow") and name("edda")  # now also in lower case, in a later segment
    assert name("herv") and name("neufmarch")  # the index's tokens of "Hervé", "Neufmarché"
    (corpus / "lighthouse.md").unlink()
    build_index(corpus, index, embedder, lexical_threshold=0)
    assert len(EmbeddedReader(index).manifest.lexical["passages"]) == 1
    assert not name("marrow") and not name("edda")  # a removal rewrites the forms too


def test_written_forms_are_capitalised_or_lower_case_words():
    capital, lower = written_forms(["Iran said iPhone IRAN, O'Brien's", "Москва and москва; Zürich 2024 Hervé"])
    assert capital == {"iran", "o", "brien", "москва", "zürich", "z", "hervé", "herv"}
    assert lower == {"said", "s", "and", "москва", "rich"}  # ASCII runs of a wider word, as the scan saw them


def test_a_word_becomes_the_index_tokens():
    assert tokenize("Flooding") == ("flood",)
    assert tokenize("O'Brien") == ("o", "brien")
    assert tokenize("café") == tokenize("cafe")


def test_postings_behave_as_a_set_of_ids():
    import numpy as np

    found = Postings([np.array([1, 5, 9]), np.array([20, 31])])
    assert 5 in found and 31 in found and 6 not in found and "5" not in found
    assert len(found) == 5 and bool(found) and not Postings([np.array([], dtype=np.int32)])
    assert found & {9, 10, 20} == {9, 20}


def test_a_truncated_postings_file_is_refused_with_a_hint(multi_arrays: tuple[Path, Path]):
    from bot.errors import IndexUnavailable

    _, index = multi_arrays
    reader = EmbeddedReader(index)
    path = reader.path / "lexical-passages.docs.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(IndexUnavailable, match="missing or damaged") as err:
        EmbeddedReader(index)
    assert "build_index.py" in err.value.hint


def test_postings_are_six_bytes_with_row_lengths_once(multi_arrays: tuple[Path, Path]):
    import numpy as np

    _, index = multi_arrays
    reader = EmbeddedReader(index)
    for kind, table in (("passages", "passages_fts"), ("sentences", "sentences_fts")):
        (segment,) = reader.lexical_index(kind).segments
        assert (segment.docs.dtype, segment.tf.dtype) == (np.int32, np.uint16)
        # One length per row, as FTS5 counts it (its docsize table: tokens per column).
        sizes = {r[0]: r[1] for r in reader.store.query(f"SELECT id, sz FROM {table}_docsize")}
        assert len(segment.lengths) == max(sizes) + 1 - segment.first
        for row, blob in sizes.items():
            tokens, at = 0, 0
            while at < len(blob):  # FTS5 varints
                value = 0
                while True:
                    byte = blob[at]
                    at += 1
                    value = (value << 7) | (byte & 0x7F)
                    if byte < 0x80:
                        break
                tokens += value
            assert segment.lengths[row - segment.first] == tokens


def test_postings_of_the_old_format_are_refused_with_a_hint(multi_arrays: tuple[Path, Path], embedder: Embedder):
    """An index written when each posting repeated its row's length (format 1) is not misread."""
    from bot.errors import IndexUnavailable

    corpus, index = multi_arrays
    reader = EmbeddedReader(index)
    manifest = json.loads((reader.path / "manifest.json").read_text())
    for entries in manifest["lexical"].values():
        for entry in entries:
            del entry["format"], entry["first"]
    (reader.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match="format 1, this version reads format 2") as err:
        EmbeddedReader(index)
    assert "build_index.py" in err.value.hint
    # The next build rewrites the postings in full rather than appending to the old ones.
    build_index(corpus, index, embedder, lexical_threshold=0)
    assert_same_ranking(EmbeddedReader(index))


@pytest.mark.parametrize("repeat", [3, 40_000])
def test_a_term_frequency_beyond_uint16_keeps_float32(tmp_path: Path, repeat: int):
    """tf is stored in uint16 steps of 0.5 up to 32,767.5; above that the segment keeps float32, scores stay FTS5's."""
    import sqlite3

    import numpy as np

    from bot.index.postings import TOKENIZE, LexicalIndex
    from bot.index.postings_write import write_segment

    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE sentences_fts USING fts5(text, tokenize = '{TOKENIZE}')")
    texts = ["flood " * repeat + "warning", "a flood came", "no water here", "flood flood", *["calm day"] * 6]
    conn.executemany("INSERT INTO sentences_fts (rowid, text) VALUES (?, ?)", enumerate(texts, start=5))
    entry = write_segment(conn, "sentences", tmp_path, "lexical-sentences")
    index = LexicalIndex.load(tmp_path, [entry])
    (segment,) = index.segments
    assert segment.tf.dtype == (np.uint16 if repeat < 32_768 else np.float32)
    assert segment.first == 5 and list(segment.lengths) == [repeat + 1, 3, 3, 2] + [2] * 6
    got = index.search(["flooding"], 10)
    want = conn.execute("SELECT rowid, -bm25(sentences_fts) FROM sentences_fts WHERE sentences_fts MATCH 'flood'")
    assert dict(got) == pytest.approx(dict(want.fetchall()), rel=1e-6)


def test_statements_split_where_sqlite_would_run_out_of_values(multi_arrays: tuple[Path, Path], monkeypatch):
    _, index = multi_arrays
    fts = fts_only(EmbeddedReader(index))
    sentence_ids = [r[0] for r in fts.reader.store.query("SELECT id FROM sentences ORDER BY id LIMIT 40")]
    words = ["flood", "harbour", "strike", "minister", "said"]
    whole = fts.sentences_holding_each(words, sentence_ids)
    statements: list[str] = []
    fts.reader.store.db.set_trace_callback(lambda sql: None if sql.startswith("--") else statements.append(sql))
    monkeypatch.setattr(_Union, "MAX_VALUES", 100)  # each part binds 1 + 64 values
    try:
        assert fts.sentences_holding_each(words, sentence_ids) == whole
    finally:
        fts.reader.store.db.set_trace_callback(None)
    assert len(statements) == 5 and any(whole)
