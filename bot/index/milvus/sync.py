"""Publishing a built index to Milvus: a full copy into a new version, or the changed articles only.

`sync` is what `scripts/build_index.py` and `scripts/add_article.py` call with SEARCH_BACKEND=milvus
once the staging index (INDEX_DIR) has published its version (`bot/index/milvus/source.py` says
why the build goes through it):

- With no live Milvus version, or one of another layout, model or splitter (or when asked for
  in full), every row goes into a new version's collections, which are then published by the
  alias switch (`store.MilvusStore.publish`): readers never see half of it.
- Otherwise only the articles whose content hash changed are copied, in place in the live
  version: their old rows are deleted and their new rows inserted, sentences before passages
  before the article row (a reader that finds the article finds all of it), and the small views
  (sources, publishers, summary, the words those articles touched) are upserted. Copying every
  row of a 100M-passage index to add one article is not an option; `summary.generation` changes,
  so engines reload what they keep per version (the vocabulary, the article list).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import IndexUnavailable
from bot.index.milvus.schema import LAYOUT_VERSION, DenseIndex
from bot.index.milvus.source import WORD, Version
from bot.index.milvus.store import MilvusStore

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What a copy to Milvus did."""

    version: str = ""
    full: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


def _copy_rows(
    store: MilvusStore, target: str, source: Version, articles: list[str] | None, report: SyncReport
) -> None:
    """Insert the rows of some articles (or all), sentences first and articles last."""
    for batch in source.sentences(articles):
        store.insert(target, "sentences", batch)
        report.rows["sentences"] = report.rows.get("sentences", 0) + len(batch)
    for batch in source.passages(articles):
        store.insert(target, "passages", batch)
        report.rows["passages"] = report.rows.get("passages", 0) + len(batch)
    paragraphs = source.paragraphs(articles)
    store.insert(target, "paragraphs", paragraphs)
    rows = source.articles(articles)
    store.insert(target, "articles", rows)
    report.rows["articles"] = report.rows.get("articles", 0) + len(rows)


def _summary_rows(source: Version, generation: str, *, dense: DenseIndex) -> list[dict[str, object]]:
    rows = source.summary()
    facts = json.loads(rows["facts"])
    facts.update(layout=LAYOUT_VERSION, generation=generation, dense=dense.type)
    rows["facts"] = json.dumps(facts)
    rows["generation"] = generation
    return [{"key": k, "value": v, "pad": [0.0, 0.0]} for k, v in rows.items()]


def _replace_views(store: MilvusStore, target: str, source: Version, dense: DenseIndex, generation: str) -> None:
    """Upsert the small per-version views and delete the keys that are gone."""
    for kind, rows, key in (
        ("speakers", source.speakers(), "key"),
        ("publishers", source.publishers(), "publisher"),
    ):
        keep = {r[key] for r in rows}
        old = {r[key] for r in store.query(target, kind, f'{key} != ""' if kind != "publishers" else "", [key])}
        store.upsert(target, kind, rows)
        gone = sorted(old - keep)
        if gone:
            store.delete(target, kind, f"{key} in {json.dumps(gone)}")
    store.upsert(target, "summary", _summary_rows(source, generation, dense=dense))


def full_copy(store: MilvusStore, source: Version, dense: DenseIndex) -> SyncReport:
    """Every row of `source` into a new Milvus version, then the switch."""
    report = SyncReport(full=True)
    started = time.perf_counter()
    target = store.create_version(source.dimension, dense)
    _copy_rows(store, target, source, None, report)
    store.insert(target, "speakers", source.speakers())
    store.insert(target, "publishers", source.publishers())
    store.insert(target, "words", source.words())
    store.insert(target, "summary", _summary_rows(source, "0", dense=dense))
    store.flush(target)
    store.publish(target)
    report.version, report.added = target, sorted(source.hashes())
    report.seconds = time.perf_counter() - started
    return report


def incremental_copy(store: MilvusStore, live: str, source: Version, dense: DenseIndex) -> SyncReport:
    """The articles whose hash changed, in place in the live version; then the views."""
    report = SyncReport(version=live)
    started = time.perf_counter()
    have = {r["id"]: r["content_hash"] for r in store.query(live, "articles", 'id != ""', ["id", "content_hash"])}
    want = source.hashes()
    removed = sorted(a for a, h in have.items() if want.get(a) != h)
    added = sorted(a for a, h in want.items() if have.get(a) != h)
    touched: set[str] = set()
    if removed:
        expr = f"article_id in {json.dumps(removed)}"
        for kind in ("passages", "sentences"):
            for row in store.query(live, kind, expr, ["terms"]):
                touched.update(row["terms"].split())
        for row in store.query(live, "passages", expr, ["text"]):
            touched.update(w.lower() for w in _written(row["text"]))
        store.delete(live, "articles", f"id in {json.dumps(removed)}")
        for kind in ("paragraphs", "passages", "sentences"):
            store.delete(live, kind, expr)
    if added:
        _copy_rows(store, live, source, added, report)
        for batch in source.passages(added):
            for row in batch:
                touched.update(row["terms"].split())
                touched.update(w.lower() for w in _written(row["text"]))
        for batch in source.sentences(added):
            for row in batch:
                touched.update(row["terms"].split())
    if touched:
        words = source.words(touched)
        store.upsert(live, "words", words)
        gone = sorted(touched - {w["word"] for w in words})
        for first in range(0, len(gone), 1000):
            store.delete(live, "words", f"word in {json.dumps(gone[first : first + 1000])}")
    generation = str(time.time_ns())
    _replace_views(store, live, source, dense, generation)
    store.flush(live)
    report.added, report.removed = added, removed
    report.seconds = time.perf_counter() - started
    return report


def _written(text: str) -> set[str]:
    return set(WORD.findall(text))


def live_facts(store: MilvusStore, version: str) -> dict[str, object] | None:
    """The facts row of a Milvus version, or None when it has none."""
    rows = store.get(version, "summary", ["facts"], ["value"])
    return json.loads(rows[0]["value"]) if rows else None


def sync(store: MilvusStore, version_dir: Path, dense: DenseIndex, *, full: bool = False) -> SyncReport:
    """Bring Milvus in line with a published embedded version: incrementally when it can."""
    source = Version(version_dir)
    try:
        live = None if full else store.live_version()
        facts = live_facts(store, live) if live else None
        same = facts is not None and all(
            facts.get(k) == source.manifest.get(k) for k in ("model", "splitter", "schema", "dimension")
        )
        if live is None or not same or (facts or {}).get("layout") != LAYOUT_VERSION:
            report = full_copy(store, source, dense)
        else:
            report = incremental_copy(store, live, source, dense)
    finally:
        source.close()
    log.info(
        "milvus: %s version %s (%d added, %d removed) in %.1f s",
        "published" if report.full else "updated",
        report.version,
        len(report.added),
        len(report.removed),
        report.seconds,
    )
    return report


def dense_index_for(settings: Settings, passages: int) -> DenseIndex:
    """The dense index MILVUS_INDEX asks for (`auto`: as FAISS_INDEX=auto picks, by size)."""
    kind = settings.milvus_index
    if kind == "auto":
        kind = "hnsw" if passages >= settings.faiss_approx_threshold else "flat"
    return DenseIndex(
        type=kind.upper(),
        m=settings.faiss_hnsw_m,
        ef_construction=settings.faiss_hnsw_ef_construction,
        ef_search=settings.faiss_hnsw_ef_search,
    )


def sync_settings(settings: Settings, index_dir: Path, *, full: bool = False) -> SyncReport:
    """`sync` of the staging index's live version to the Milvus the settings name."""
    from bot.index.milvus import store_for

    try:  # the name of the live version (the embedded store's CURRENT file)
        version = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        version = ""
    if not version:
        raise IndexUnavailable(f"no index in {index_dir}/ to copy to Milvus", hint="build it first")
    path = index_dir / "versions" / version
    passages = int(json.loads((path / "manifest.json").read_text(encoding="utf-8"))["counts"]["passages"])
    return sync(store_for(settings), path, dense_index_for(settings, passages), full=full)
