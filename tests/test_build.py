"""Build → store round trip on real FAISS and SQLite files; bad input and atomic versions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.errors import IndexUnavailable, ReportBotError
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import CURRENT, MANIFEST, VERSIONS, current_version


def test_seed_index_files_and_manifest(seed_index: Path):
    version = current_version(seed_index)
    assert version is not None
    path = seed_index / VERSIONS / version
    assert {p.name for p in path.iterdir()} == {"manifest.json", "store.sqlite", "passages.faiss", "sentences.faiss"}
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["model"] == "bundled:all-MiniLM-L6-v2#int8-v3" and manifest["dimension"] == 384
    assert manifest["counts"] == {"articles": 1, "passages": 18, "sentences": 24}
    assert len(next(iter(manifest["articles"].values()))["hash"]) == 64
    db = sqlite3.connect(path / "store.sqlite")
    assert db.execute("SELECT publisher, date, url FROM articles").fetchall() == [("TRT World", "2015-10-08", None)]
    assert db.execute("SELECT count(*) FROM sentences WHERE speaker = 'SOHR'").fetchone()[0] == 2


def test_rebuild_is_a_no_op_when_nothing_changed(corpus_copy: Path, tmp_path: Path, embedder: Embedder):
    index = tmp_path / "index"
    first = build_index(corpus_copy, index, embedder)
    assert not first.up_to_date and first.embedded == 42
    second = build_index(corpus_copy, index, embedder)
    assert second.up_to_date and second.version == first.version
    third = build_index(corpus_copy, index, embedder, full=True)
    assert not third.up_to_date and third.embedded == 0 and third.reused == 42  # vectors come from the cache
    assert third.version != first.version


def test_bad_article_is_skipped_and_the_rest_build(corpus_copy: Path, tmp_path: Path, embedder: Embedder):
    (corpus_copy / "broken.md").write_text("---\ntitle: [oops\n---\ntext\n", encoding="utf-8")
    (corpus_copy / "blob.txt").write_bytes(b"\x00\xff\x00")
    report = build_index(corpus_copy, tmp_path / "index", embedder)
    assert report.articles == 1
    assert any("broken.md" in s and "front matter" in s for s in report.skipped)
    assert any("blob.txt" in s and "binary" in s for s in report.skipped)


def test_nothing_to_index_raises(tmp_path: Path, embedder: Embedder):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(ReportBotError, match="nothing to index"):
        build_index(tmp_path / "corpus", tmp_path / "index", embedder)


def test_changed_article_publishes_a_new_version_and_keeps_the_old_readable(
    corpus_copy: Path, tmp_path: Path, embedder: Embedder
):
    index = tmp_path / "index"
    build_index(corpus_copy, index, embedder)
    old = EmbeddedReader(index)
    (corpus_copy / "extra.md").write_text(
        "---\ntitle: Harbour reopens\npublisher: Example News\ndate: 2024-01-02\n---\n"
        "The harbour reopened on Monday, the port authority said.\n",
        encoding="utf-8",
    )
    report = build_index(corpus_copy, index, embedder)
    assert report.articles == 2 and report.embedded == 2  # only the new passage and sentence
    assert "1 added" in report.reason
    new = EmbeddedReader(index)
    assert new.version != old.version
    assert old.store.query("SELECT count(*) FROM articles")[0][0] == 1  # the old version is still whole
    assert new.store.query("SELECT count(*) FROM articles")[0][0] == 2


def test_reader_refuses_index_of_another_model(seed_index: Path):
    with pytest.raises(IndexUnavailable, match="built with model") as err:
        EmbeddedReader(seed_index, model="sentence-transformers/other-model")
    assert "--full" in err.value.hint


def test_missing_index_says_how_to_build(tmp_path: Path):
    with pytest.raises(IndexUnavailable) as err:
        EmbeddedReader(tmp_path)
    assert "scripts/build_index.py" in err.value.hint
    assert not (tmp_path / CURRENT).exists()
