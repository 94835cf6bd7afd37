"""The browsing views (/start, /who, /sources, --speakers) read tables the build keeps, never a scan
of every passage or sentence; incremental builds keep them equal to a recount; old indexes rebuild."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import bot.terminal
from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.errors import IndexUnavailable
from bot.index import views
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import CURRENT, MANIFEST, SCHEMA_VERSION, VERSIONS
from bot.settings import Settings
from bot.telegram import format as fmt
from bot.terminal import format_sources, format_speakers
from tests.conftest import MULTI_CORPUS

FULL_SCAN = re.compile(r"^SCAN (passages|sentences|s|p)\b")


def recount(reader: EmbeddedReader) -> list[tuple[str, int]]:
    """The speakers list as it was computed before: grouping every sentence."""
    rows = reader.store.query(
        "SELECT speaker, max(speaker_full) AS full, count(*) AS n FROM sentences WHERE speaker_kind = 'source' "
        "GROUP BY speaker COLLATE NOCASE ORDER BY n DESC, speaker"
    )
    return [(views.speaker_label(r[0], r[1]), r[2]) for r in rows]


def test_views_read_no_passage_or_sentence_table_in_full(engine: Engine):
    reader = engine.reader
    statements: list[str] = []
    reader.store.db.set_trace_callback(statements.append)
    try:
        examples = engine.example_questions(3)
        engine.speakers()
        engine.speaker_count()
        quotes = engine.quotes_by("sohr")
        engine.articles(30)
        engine.publishers()
        engine.article_passages(quotes[0].article.id)
    finally:
        reader.store.db.set_trace_callback(None)
    assert len(examples) == 3 and quotes
    assert statements
    for sql in statements:
        plan = [row[3] for row in reader.store.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert not [step for step in plan if FULL_SCAN.match(step)], (sql, plan)


def test_example_questions_are_stored_by_the_build(engine: Engine):
    stored = json.loads(engine.reader.store.query("SELECT value FROM summary WHERE key = 'examples'")[0][0])
    assert engine.example_questions(3) == stored[:3]
    assert stored[:3] == [
        "What does the report say about Russia using cluster bombs in Syria?",
        "What does the report say about joint operations between Syrian regime and Russia?",
        "What did SOHR (Syrian Observatory for Human Rights) say?",
    ]


def test_who_finds_a_source_by_name_full_name_and_list_line(engine: Engine):
    by_acronym = [q.quote for q in engine.quotes_by("SOHR")]  # also "SOHR and rebels on the ground"
    by_full = [q.quote for q in engine.quotes_by("Syrian Observatory for Human Rights")]
    assert len(by_full) == 2 and set(by_full) < set(by_acronym)
    for alias in ("sohr", "the SOHR", "SOHR (Syrian Observatory for Human Rights)"):
        assert [q.quote for q in engine.quotes_by(alias)] == by_acronym
    assert engine.quotes_by("100%_") == []  # LIKE's wildcards are taken literally


def test_incremental_builds_keep_the_views_equal_to_a_recount(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    reader = EmbeddedReader(index)
    assert reader.speakers() == recount(reader)
    (corpus / "port-strike.md").unlink()
    shutil.copy(MULTI_CORPUS / "port-strike.md", corpus / "port-strike-again.md")
    text = (corpus / "wildfire.md").read_text(encoding="utf-8")
    (corpus / "wildfire.md").write_text(text.replace("said", "told reporters", 1), encoding="utf-8")
    report = build_index(corpus, index, embedder)
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
    reader = EmbeddedReader(index)
    assert reader.speakers() == recount(reader)
    publishers = {name: (n, p) for name, n, p, _, _ in reader.publishers()}
    assert sum(n for n, _ in publishers.values()) == reader.manifest.counts["articles"]
    assert sum(p for _, p in publishers.values()) == reader.manifest.counts["passages"]
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
    assert any(meta.id == "port-strike-again" for meta, _ in engine.articles())


def test_an_index_of_the_previous_schema_says_rebuild(seed_index: Path, tmp_path: Path):
    old = tmp_path / "index"
    shutil.copytree(seed_index, old)
    version = (old / CURRENT).read_text().strip()
    manifest = old / VERSIONS / version / MANIFEST
    data = json.loads(manifest.read_text())
    data["schema"] = SCHEMA_VERSION - 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable) as caught:
        EmbeddedReader(old)
    assert f"index schema {SCHEMA_VERSION - 1} is not this version's ({SCHEMA_VERSION})" in str(caught.value)
    assert "rebuild it with: python scripts/build_index.py" in caught.value.hint


def test_large_index_lists_publishers_and_the_newest(multi_index: Path, embedder: Embedder, monkeypatch):
    engine = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    monkeypatch.setattr(bot.terminal, "LIST_ARTICLES", 3)
    text = format_sources(engine)
    assert text.startswith("7 articles in the index, from ")
    assert "The newest 3:" in text and text.count("\n- ") >= 3
    blocks = fmt.sources_blocks(engine.articles(3), 7, engine.publishers())
    assert blocks[0].startswith("<b>7 articles in the index</b>") and blocks[1] == "<b>The newest 3:</b>"
    few = format_speakers(engine, limit=2)
    assert few.count("\n- ") == 2 and f"… and {engine.speaker_count() - 2} more" in few
    assert len(fmt.speakers_blocks(engine.speakers(2), engine.wording(), engine.speaker_count())[0].splitlines()) == 4
