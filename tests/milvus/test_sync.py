"""Copying a built index to Milvus: every row in a new version, then only the changed articles."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.index.milvus.store import MilvusStore
from bot.index.milvus.sync import sync_settings
from bot.settings import Settings


def _settings(server, prefix: str, index: Path) -> Settings:
    return Settings(
        _env_file=None, index_dir=index, search_backend="milvus", milvus_uri=server.uri, milvus_collection_prefix=prefix
    )


def _live_store(index: Path) -> sqlite3.Connection:
    version = (index / "CURRENT").read_text().strip()
    return sqlite3.connect(f"file:{index / 'versions' / version / 'store.sqlite'}?mode=ro", uri=True)


def test_a_full_copy_holds_every_row_and_the_token_counts(milvus_server, milvus_prefix, seed_index: Path):
    """A full copy puts every row of the staging index in Milvus, with FTS5's token counts."""
    report = sync_settings(_settings(milvus_server, milvus_prefix, seed_index), seed_index)
    assert report.full
    store = MilvusStore(milvus_server.uri, prefix=milvus_prefix)
    live = store.live_version()
    assert live == report.version
    db = _live_store(seed_index)
    for kind in ("articles", "passages", "sentences", "paragraphs", "speakers", "publishers"):
        assert store.count(live, kind) == db.execute(f"SELECT count(*) FROM {kind}").fetchone()[0], kind
    # Per token, the passages holding it: what FTS5's vocabulary says (so IDF is the same).
    db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, 'passages_fts', 'row')")
    expected = dict(db.execute("SELECT term, doc FROM temp.v WHERE term IN ('sohr', 'russia', 'strike')"))
    rows = store.query(live, "words", 'word in ["sohr", "russia", "strike"]', ["word", "passages"])
    assert {r["word"]: r["passages"] for r in rows} == expected and len(expected) == 3
    facts = json.loads(store.get(live, "summary", ["facts"], ["value"])[0]["value"])
    assert facts["counts"]["passages"] == store.count(live, "passages")
    # The same index again: nothing to copy, the version stays.
    again = sync_settings(_settings(milvus_server, milvus_prefix, seed_index), seed_index)
    assert not again.full and again.version == live and again.added == again.removed == []


def test_removed_and_added_articles_are_copied_in_place(
    milvus_server, milvus_prefix, multi_copy: tuple[Path, Path], embedder: Embedder
):
    """An incremental copy deletes and inserts only the changed articles' rows, in the live version."""
    corpus, index = multi_copy
    settings = _settings(milvus_server, milvus_prefix, index)
    first = sync_settings(settings, index)
    store = MilvusStore(milvus_server.uri, prefix=milvus_prefix)
    before = store.count(first.version, "passages")
    flood = store.query(first.version, "passages", 'article_id == "flood"', ["id"])
    assert flood

    moved = corpus.parent / "flood.txt"
    (corpus / "flood.txt").rename(moved)
    build_index(corpus, index, embedder)
    removed = sync_settings(settings, index)
    assert not removed.full and removed.version == first.version and removed.removed == ["flood"]
    assert store.query(first.version, "passages", 'article_id == "flood"', ["id"]) == []
    assert store.count(first.version, "passages") == before - len(flood)
    assert store.get(first.version, "articles", ["flood"], ["id"]) == []

    moved.rename(corpus / "flood.txt")
    build_index(corpus, index, embedder)
    added = sync_settings(settings, index)
    assert added.added == ["flood"] and added.removed == []
    assert store.count(first.version, "passages") == before
    assert store.live_stamp() != f"{first.version}.0"  # engines see the change and reload
