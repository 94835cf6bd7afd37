"""Incremental builds: add/change/delete re-embed only what changed, ids stay, the index stays whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import bot.build.plan
import bot.build.write
import bot.index.writer
import bot.text.passages
from bot.build.plan import LiveIndex
from bot.build.run import build_index
from bot.corpus.files import load_corpus
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import CURRENT, MANIFEST, SCHEMA_VERSION, VERSIONS, current_version
from bot.settings import Settings
from tests.conftest import run_script

NEW_ARTICLE = """---
title: Lighthouse keeper retires after forty years
publisher: Harbour Gazette
date: 2024-06-01
---
# Lighthouse keeper retires after forty years

Edda Marrow switched off the Carrick Point lamp for the last time on Saturday, the harbour board said.
"""


def passages_by_text(reader: EmbeddedReader, article_id: str) -> dict[str, tuple[int, np.ndarray]]:
    rows = reader.store.query("SELECT id, text FROM passages WHERE article_id = ? ORDER BY id", (article_id,))
    return {r[1]: (r[0], reader.passage_index.reconstruct(r[0])) for r in rows}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_add_change_delete_embeds_only_what_changed(multi_copy: tuple[Path, Path], embedder: Embedder, tmp_path: Path):
    corpus, index = multi_copy
    old = EmbeddedReader(index)
    untouched = passages_by_text(old, "wildfire")
    strike_before = passages_by_text(old, "port-strike")
    old_max = old.store.query("SELECT max(id) FROM passages")[0][0]

    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")  # added: 1 passage, 1 sentence
    edit(corpus / "port-strike.md", "roughly $40 million a day", "roughly $45 million a day")  # 1 passage, 1 sentence
    (corpus / "flood.txt").unlink()  # removed

    report = build_index(corpus, index, embedder)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 5)
    assert report.reason == "incremental: 1 added, 1 changed, 1 removed, 5 unchanged"
    assert report.embedded == 4  # the new article's passage + sentence, the edited paragraph's passage + sentence

    new = EmbeddedReader(index)  # opens only when SQLite and FAISS agree
    assert new.version != old.version
    # Untouched article: same ids, same vectors.
    assert passages_by_text(new, "wildfire").keys() == untouched.keys()
    for text, (pid, vector) in passages_by_text(new, "wildfire").items():
        assert pid == untouched[text][0]
        np.testing.assert_array_equal(vector, untouched[text][1])
    # Changed article: its unchanged passages kept their vectors (from the cache), under new ids.
    strike_after = passages_by_text(new, "port-strike")
    kept = strike_after.keys() & strike_before.keys()
    assert len(kept) == len(strike_before) - 1 and len(strike_after) == len(strike_before)
    for text in kept:
        np.testing.assert_array_equal(strike_after[text][1], strike_before[text][1])
        assert strike_after[text][0] > old_max  # new rows get ids above the old maximum
    # Removed article: gone from every table and from both FAISS indexes.
    for table, column in (("articles", "id"), ("passages", "article_id"), ("paragraphs", "article_id")):
        assert new.store.query(f"SELECT count(*) FROM {table} WHERE {column} = 'flood'")[0][0] == 0
    flood_ids = [r[0] for r in old.store.query("SELECT id FROM passages WHERE article_id = 'flood'")]
    assert flood_ids and all(new.passage_index.id_map.at(i) not in flood_ids for i in range(new.passage_index.ntotal))
    orphans = new.store.query("SELECT count(*) FROM sentences WHERE passage_id NOT IN (SELECT id FROM passages)")[0][0]
    assert orphans == 0
    assert set(new.manifest.articles) == {a for a in old.manifest.articles if a != "flood"} | {"lighthouse"}

    # The incremental result holds exactly what a full build of the same corpus holds.
    full_index = tmp_path / "full"
    shutil.copytree(index / "cache", full_index / "cache")
    build_index(corpus, full_index, embedder, full=True)
    full = EmbeddedReader(full_index)
    query = "SELECT article_id, paragraph, window, text FROM passages ORDER BY article_id, paragraph, window"
    assert [tuple(r) for r in new.store.query(query)] == [tuple(r) for r in full.store.query(query)]
    query = "SELECT s.text, s.speaker FROM sentences s JOIN passages p ON p.id = s.passage_id ORDER BY p.article_id, p.paragraph, p.window, s.position"
    assert [tuple(r) for r in new.store.query(query)] == [tuple(r) for r in full.store.query(query)]
    assert new.manifest.counts == full.manifest.counts


def test_unchanged_articles_are_not_parsed_again(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    known = LiveIndex.read(index, Embedder.from_settings(Settings(_env_file=None)).model_name).files()
    known = known and known[0]
    assert known is not None and len(known) == 7
    edit(corpus / "port-strike.md", "roughly $40 million a day", "roughly $45 million a day")
    loaded = load_corpus(corpus, known=known)
    parsed = {a.meta.id: a.parsed for a in loaded.articles}
    assert parsed == {a: a == "port-strike" for a in known}
    assert all(a.content_hash == known[a.meta.id] for a in loaded.articles if not a.parsed)
    assert LiveIndex.read(index, "another-model").files() is None  # a different model: nothing is reused


def test_deleting_every_article_but_one_and_adding_back(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    kept = corpus / "wildfire.md"
    for path in corpus.iterdir():
        if path != kept:
            path.unlink()
    report = build_index(corpus, index, embedder)
    assert (report.removed, report.unchanged, report.embedded) == (6, 1, 0)
    reader = EmbeddedReader(index)
    assert reader.manifest.counts["articles"] == 1
    assert reader.passage_index.ntotal == reader.store.query("SELECT count(*) FROM passages")[0][0]


def test_splitter_change_forces_a_full_rebuild_with_the_reason(
    multi_copy: tuple[Path, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
):
    corpus, index = multi_copy
    for module in (bot.build.plan, bot.build.write):  # what the plan compares and the manifest records
        monkeypatch.setattr(module, "SPLITTER_VERSION", bot.text.passages.SPLITTER_VERSION + 1)
    messages: list[str] = []
    report = build_index(corpus, index, embedder, notify=messages.append)
    assert report.full and report.added == report.changed == 0
    assert messages == [report.reason]
    current = bot.text.passages.SPLITTER_VERSION
    assert report.reason.startswith(
        f"full rebuild: index was split with splitter v{current}, this version uses v{current + 1}"
    )
    assert EmbeddedReader(index).manifest.splitter == current + 1


def test_an_index_of_older_answer_slots_is_rebuilt_in_full(multi_copy: tuple[Path, Path], embedder: Embedder):
    """A slots version bump bumps the schema: the next build re-parses every article, none keeps old slots."""
    corpus, index = multi_copy
    version = (index / CURRENT).read_text().strip()
    manifest = index / VERSIONS / version / MANIFEST
    data = json.loads(manifest.read_text())
    data["schema"] = SCHEMA_VERSION - 1
    manifest.write_text(json.dumps(data))
    report = build_index(corpus, index, embedder)
    assert report.full
    assert report.reason == f"full rebuild: index schema {SCHEMA_VERSION - 1} is not this version's ({SCHEMA_VERSION})"
    reader = EmbeddedReader(index)
    assert reader.manifest.schema == SCHEMA_VERSION
    assert reader.manifest.counts["articles"] == len(data["articles"])


def test_dry_run_lists_changes_and_writes_nothing(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")
    edit(corpus / "port-strike.md", "roughly $40 million a day", "roughly $45 million a day")
    (corpus / "flood.txt").unlink()
    (corpus / "empty.md").write_text("", encoding="utf-8")
    version, files = current_version(index), sorted(p.name for p in (index / VERSIONS).iterdir())
    result = run_script("scripts/build_index.py", "--dry-run", "--corpus", str(corpus), "--index", str(index))
    assert result.returncode == 3, result.stderr  # a file would be skipped
    lines = result.stdout.splitlines()
    assert lines[0] == "would update the index (1 added, 1 changed, 1 removed, 5 unchanged):"
    assert lines[1].split() == ["added:", "1", "lighthouse"]
    assert lines[2].split() == ["changed:", "1", "port-strike"]
    assert lines[3].split() == ["removed:", "1", "flood"]
    assert lines[4].split()[:2] == ["unchanged:", "5"]
    assert lines[5].startswith("passages to embed: 2 of ")
    assert "(sentences: 2 of " in lines[5]
    assert "skipped:" in result.stderr and "empty.md" in result.stderr
    assert current_version(index) == version
    assert sorted(p.name for p in (index / VERSIONS).iterdir()) == files

    other_model = run_script(
        "scripts/build_index.py",
        "--dry-run",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        env={"EMBEDDING_MODEL": "sentence-transformers/all-mpnet-base-v2"},
    )
    assert other_model.stdout.startswith(
        "would rebuild everything (full rebuild: index was built with model 'bundled:all-MiniLM-L6-v2#int8-v3', "
        "settings say 'sentence-transformers/all-mpnet-base-v2#int8-v3'): 7 articles"
    ), other_model.stdout + other_model.stderr


def test_dry_run_on_an_up_to_date_index(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    result = run_script("scripts/build_index.py", "--dry-run", "--corpus", str(corpus), "--index", str(index))
    assert result.returncode == 0
    assert result.stdout.strip() == "up to date: 7 articles; a build would change nothing"


def test_engine_picks_up_a_rebuilt_index_on_its_next_question(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
    question = "Who switched off the Carrick Point lamp?"
    before = engine.answer(question)
    assert all(q.article.id != "lighthouse" for q in before.quotes)
    first_version = engine.reader.version
    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")
    build_index(corpus, index, embedder)
    after = engine.answer(question)  # same engine object: no restart
    assert engine.reader.version != first_version
    assert after.answered and after.quotes[0].article.id == "lighthouse"
    assert after.quotes[0].speaker.name == "harbour board"
    assert "Edda Marrow switched off the Carrick Point lamp" in after.quotes[0].text


def test_manifest_records_paths_and_build_time(multi_index: Path):
    manifest = json.loads((multi_index / VERSIONS / current_version(multi_index) / "manifest.json").read_text())
    assert manifest["articles"]["flood"]["path"].endswith("flood.txt")
    assert manifest["build_seconds"] > 0


def fts_segments(index: Path) -> list[int]:
    reader = EmbeddedReader(index)
    return [
        reader.store.query(f"SELECT count(DISTINCT segid) FROM {t}_idx")[0][0]
        for t in ("passages_fts", "sentences_fts")
    ]


def test_an_index_grown_article_by_article_keeps_one_lexical_segment(
    multi_copy: tuple[Path, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
):
    # Each incremental build used to leave FTS5 4-14 segments, every one read for every term.
    corpus, index = multi_copy
    (corpus / "lighthouse.md").write_text(NEW_ARTICLE, encoding="utf-8")
    assert build_index(corpus, index, embedder).added == 1
    assert fts_segments(index) == [1, 1]
    (corpus / "lighthouse.md").unlink()
    monkeypatch.setattr(bot.index.writer, "FTS_OPTIMIZE_MAX_PASSAGES", 0)  # a large index: automerge only
    assert build_index(corpus, index, embedder).removed == 1
    assert fts_segments(index) != [1, 1]
