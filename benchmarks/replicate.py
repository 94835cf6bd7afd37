"""Bigger indexes from smaller ones: copies of every article under new ids, for sizes this machine cannot build.

Parsing (spaCy) and embedding are what a build spends its time on: 1M passages parse for hours
here (`bench_views.py --replicate`), and 100k passages with their sentences embed for hours
(`bench_milvus.py --replicate`). A store holding K copies of a built one scales what the rows
cost (the tables, FTS5, the views, the vectors, a server's collections) without parsing or
embedding anything. What it does not give: new vocabulary (the copies repeat the texts, so every
term is K times as frequent and the BM25 IDF of each term is the original one), and new answers
(each passage has K - 1 twins with the same vector and text, so retrieval ties K ways).

Copy k of an article `A` is `A-r{k}`; its passages and sentences get the ids of the originals plus
k times the original id span, so ids stay dense and in order.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

#: Per table, the columns a copy changes (every other column is copied as it is).
SHIFTED = {
    "articles": {"id": "id || :suffix"},
    "paragraphs": {"article_id": "article_id || :suffix"},
    "passages": {"id": "id + :passages", "article_id": "article_id || :suffix"},
    "sentences": {"id": "id + :sentences", "passage_id": "passage_id + :passages"},
}


def spans(db: sqlite3.Connection) -> dict[str, int]:
    """What the copies are made from: each table's last original rowid, and the id spans."""
    out = {f"last_{t}": db.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0] for t in SHIFTED}
    for table in ("passages", "sentences"):
        out[table] = db.execute(f"SELECT coalesce(max(id), -1) + 1 FROM {table}").fetchone()[0]
    return out


def copy_rows(db: sqlite3.Connection, k: int, span: dict[str, int]) -> None:
    """Insert copy `k` (from 1) of the original rows: articles first, so the FTS5 trigger finds titles.

    The column lists come from the table itself, so a column added to the schema later is copied too.
    """
    params = {"suffix": f"-r{k}", "passages": k * span["passages"], "sentences": k * span["sentences"]}
    for table, shifted in SHIFTED.items():
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        select = ", ".join(shifted.get(c, c) for c in columns)
        db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} WHERE rowid <= :last",
            {**params, "last": span[f"last_{table}"]},
        )


def replicate_index(source: Path, target: Path, times: int, settings: Settings) -> dict[str, Any]:
    """`target`: a new index whose live version holds `times` copies of `source`'s live version.

    Written by the build's own `IndexWriter` as an incremental build on top of a copy of the
    source version: the copied rows go in by SQL (`copy_rows`), their vectors are the originals'
    under the new ids, and the writer's commit does what a build's does (the views, FTS5
    postings arrays past LEXICAL_POSTINGS_THRESHOLD, HNSW past FAISS_APPROX_THRESHOLD, the
    manifest). Nothing is parsed or embedded. FTS5 is merged as after a full build.
    """
    import faiss
    import numpy as np

    from bot.index.manifest import CURRENT, MANIFEST, VERSIONS, Manifest, current_version, segment_files
    from bot.index.vectors import IndexPolicy, SegmentedIndex, segment_vectors
    from bot.index.writer import IndexWriter

    started = time.perf_counter()
    version = current_version(source)
    if version is None:
        raise SystemExit(f"no built index in {source}")
    shutil.rmtree(target, ignore_errors=True)
    (target / VERSIONS).mkdir(parents=True)
    shutil.copytree(source / VERSIONS / version, target / VERSIONS / version)
    shutil.copyfile(source / CURRENT, target / CURRENT)
    base = Manifest.read(target / VERSIONS / version / MANIFEST)
    writer = IndexWriter(
        target,
        base.dimension,
        base=version,
        base_manifest=base,
        policy=IndexPolicy.from_settings(settings),
        lexical_threshold=settings.lexical_postings_threshold,
    )
    try:
        db = writer.db
        span = spans(db)
        vectors = {}
        for kind in ("passages", "sentences"):
            files = segment_files(base, kind, f"{kind}.faiss")
            index = SegmentedIndex([faiss.read_index(str(target / VERSIONS / version / f)) for f in files])
            vectors[kind] = segment_vectors(index)
        sources = Counter(
            {
                (name, full): n
                for name, full, n in db.execute(
                    "SELECT speaker, speaker_full, count(*) FROM sentences WHERE speaker_kind = 'source' "
                    "GROUP BY speaker, speaker_full"
                )
            }
        )
        for k in range(1, times):
            copy_rows(db, k, span)
            for kind, (ids, vecs) in vectors.items():
                writer.add_vectors(kind, (ids + k * span[kind]).astype(np.int64).tolist(), vecs)
            assert writer.source_changes is not None  # an incremental build counts the sources it adds
            writer.source_changes.update(sources)
            print(f"  copy {k + 1} of {times}: {time.perf_counter() - started:.0f} s", flush=True)
        for table in ("passages_fts", "sentences_fts"):
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        articles = dict(base.articles)
        for k in range(1, times):
            articles.update({f"{a}-r{k}": entry for a, entry in base.articles.items()})
        manifest = replace(
            base,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            articles=articles,
            counts=writer.counts(),
        )
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    return {"copies": times, "replicated_from": str(source), "seconds": time.perf_counter() - started}
