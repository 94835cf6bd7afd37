"""Writing an index version: rows into SQLite, vectors into FAISS, then published at once.

See `bot/index/manifest.py` for the folder's layout. Only this module writes a version.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from bot.index import views
from bot.index.manifest import (
    FTS_OPTIMIZE_MAX_PASSAGES,
    MANIFEST,
    MAX_SEGMENTS,
    PASSAGE_VECTORS,
    SENTENCE_VECTORS,
    STORE,
    VERSIONS,
    Manifest,
    link_or_copy,
    publish,
    segment_files,
)
from bot.index.postings import MAX_LEXICAL_SEGMENTS, TABLES
from bot.index.postings import segment_files as lexical_files
from bot.index.postings_write import write_segment
from bot.index.schema import SCHEMA, article_rows
from bot.index.vectors import (
    IndexPolicy,
    SegmentedIndex,
    build_vector_index,
    describe,
    new_vector_index,
    segment_vectors,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bot.corpus.articles import ArticleMeta
    from bot.text.passages import Passage

log = logging.getLogger(__name__)


class IndexWriter:
    """Writes one new index version aside, then makes it live atomically with `commit()`.

    A full build starts empty; an incremental one starts from a copy of the live version (`base`)
    and removes and inserts whole articles. Every row goes in through `add_article` and out through
    `remove_article`, so a table added later (e.g. a lexical index) is kept in step in one place.
    Ids of untouched rows never change; new rows get ids above the largest one in the base.

    While a build runs its vectors sit in exact (flat) indexes, which can delete by id; at commit
    `policy` (the FAISS_* settings) picks exact or approximate search for the final size.

    A build that only adds rows does not read the base's vectors at all: its new vectors go into a
    small segment file, and the base's files are hard-linked into the new version (versions are
    immutable, so sharing the files is safe). Removing rows, crossing the policy's size threshold or
    reaching MAX_SEGMENTS merges everything into one file again. `base_manifest` is the base's
    manifest when the caller has read it already (a build plans from it), so it is not read twice.
    """

    def __init__(
        self,
        index_dir: Path,
        dimension: int,
        *,
        base: str | None = None,
        base_manifest: Manifest | None = None,
        policy: IndexPolicy,
        lexical_threshold: int,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.notify = notify
        self.policy = policy
        self.lexical_threshold = lexical_threshold
        #: Whether this build removed rows: appended lexical segments can only add.
        self.removed_rows = False
        self.index_dir = index_dir
        self.dimension = dimension
        self.name = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        self.final = index_dir / VERSIONS / self.name
        self.path = self.final.with_name(self.name + ".partial")
        self.path.mkdir(parents=True)
        try:
            self._start(index_dir, dimension, base, base_manifest, policy)
        except BaseException:  # Ctrl-C, SIGTERM or a full disk while starting: no `.partial` left
            self.abort()
            raise

    def _start(
        self,
        index_dir: Path,
        dimension: int,
        base: str | None,
        base_manifest: Manifest | None,
        policy: IndexPolicy,
    ) -> None:
        """Open the new version's store: empty, or a copy of the base version's."""
        self.base_dir: Path | None = None
        self.base_manifest: Manifest | None = None
        # Per kind: the vectors written so far; until `_materialise`, only those added by this build.
        self.passage_index: faiss.Index = new_vector_index("flat", dimension, policy)
        self.sentence_index: faiss.Index = new_vector_index("flat", dimension, policy)
        self.materialised = {"passages": base is None, "sentences": base is None}
        # Per kind: the base's quantised HNSW index, whose trained ranges a rebuild reuses.
        self._quantised_base: dict[str, faiss.Index] = {}
        #: (source, full name) → sentences this build inserted minus those it deleted, for the views'
        #: counts (`views.refresh`); None for a full build, which counts every source once.
        self.source_changes: Counter[tuple[str, str | None]] | None = None if base is None else Counter()
        if base is None:
            self.db = sqlite3.connect(self.path / STORE)
            self.db.executescript(SCHEMA)
            self.db.executescript(views.SCHEMA)
        else:
            self.base_dir = index_dir / VERSIONS / base
            self.base_manifest = base_manifest or Manifest.read(self.base_dir / MANIFEST)
            # Versions are immutable, so a plain file copy is a consistent snapshot (and fast).
            shutil.copyfile(self.base_dir / STORE, self.path / STORE)
            self.db = sqlite3.connect(self.path / STORE)
        self.next_passage_id = self._next_id("passages")
        self.next_sentence_id = self._next_id("sentences")
        self.base_next_id = {"passages": self.next_passage_id, "sentences": self.next_sentence_id}

    @staticmethod
    def _default_file(which: str) -> str:
        return PASSAGE_VECTORS if which == "passages" else SENTENCE_VECTORS

    def _base_files(self, which: str) -> list[str]:
        assert self.base_manifest is not None
        return segment_files(self.base_manifest, which, self._default_file(which))

    def _base_count(self, which: str) -> int:
        if self.materialised[which] or self.base_manifest is None:
            return 0
        return int(self.base_manifest.counts[which])

    def _materialise(self, which: str) -> faiss.Index:
        """All vectors of a kind (base + added) in one flat index, which can delete by id."""
        index = self.passage_index if which == "passages" else self.sentence_index
        if self.materialised[which]:
            return index
        assert self.base_dir is not None
        segments = [faiss.read_index(str(self.base_dir / name)) for name in self._base_files(which)]
        if describe(segments[0]).get("storage", "fp32") != "fp32":
            self._quantised_base[which] = segments[0]
        if len(segments) == 1 and describe(segments[0])["kind"] == "flat":
            merged = segments[0]
        else:
            ids, vectors = segment_vectors(SegmentedIndex(segments))
            merged = new_vector_index("flat", self.dimension, self.policy)
            if len(ids):
                merged.add_with_ids(vectors, ids)
        if index.ntotal:
            ids, vectors = segment_vectors(index)
            merged.add_with_ids(vectors, ids)
        if which == "passages":
            self.passage_index = merged
        else:
            self.sentence_index = merged
        self.materialised[which] = True
        return merged

    def _write_faiss(self, index: faiss.Index, which: str) -> dict[str, Any]:
        """Write one vector file, as the index type the policy picks for its size.

        HNSW cannot be updated in place, so every build that changes an HNSW kind (or makes a flat
        one cross FAISS_APPROX_THRESHOLD) builds its graph anew here, from all the vectors in one
        parallel batch: minutes from 100,000 vectors, which the build says before it starts.
        """
        filename = self._default_file(which)
        n = int(index.ntotal)
        if self.policy.kind_for(n) != "flat":
            p = self.policy
            message = (
                f"building the HNSW index of {n:,} {which} (M={p.hnsw_m}, efConstruction="
                f"{p.hnsw_ef_construction}, {p.hnsw_storage})"
            )
            if self.notify:
                self.notify(message + (": this takes minutes" if n >= 50_000 else ""))
            started = time.perf_counter()
            ids, vectors = segment_vectors(index)
            index, _ = build_vector_index(
                vectors, ids, self.dimension, self.policy, like=self._quantised_base.get(which)
            )
            log.info("%s: %.1f s", message, time.perf_counter() - started)
        faiss.write_index(index, str(self.path / filename))
        return describe(index)

    def _write_kind(self, which: str) -> dict[str, Any]:
        """Write a kind's vectors: a new segment beside the base's linked files, or one merged file."""
        added = self.passage_index if which == "passages" else self.sentence_index
        if not self.materialised[which]:
            assert self.base_manifest is not None and self.base_dir is not None
            base_files = self._base_files(which)
            info = dict(self.base_manifest.vector_index.get(which) or {"kind": "flat"})
            total = self._base_count(which) + int(added.ntotal)
            appendable = self.policy.kind_for(total) == info.get("kind", "flat") and (
                not added.ntotal or len(base_files) < MAX_SEGMENTS
            )
            if appendable:
                files = list(base_files)
                for name in base_files:
                    link_or_copy(self.base_dir / name, self.path / name)
                if added.ntotal:
                    files.append(f"{Path(self._default_file(which)).stem}-{self.name}.faiss")
                    faiss.write_index(added, str(self.path / files[-1]))
                info.update(vectors=total)
                if len(files) > 1:
                    info["segments"] = files
                return info
        return self._write_faiss(self._materialise(which), which)

    def _write_lexical(self, kind: str) -> list[dict[str, Any]]:
        """Write a kind's FTS5 postings as arrays when it is large; returns the manifest's segments.

        A build that only added rows links the base's segments and writes one for its rows (ids
        at or above the base's next id); removing rows or too many segments rewrites one.
        """
        rows = self.db.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]
        if rows < self.lexical_threshold:
            return []
        base = list(self.base_manifest.lexical.get(kind) or []) if self.base_manifest else []
        if base and not self.removed_rows and len(base) < MAX_LEXICAL_SEGMENTS:
            assert self.base_dir is not None
            for name in (n for e in base for n in lexical_files(e["name"])):
                link_or_copy(self.base_dir / name, self.path / name)
            start = self.base_next_id[kind]
            if self.db.execute(f"SELECT EXISTS(SELECT 1 FROM {kind} WHERE id >= ?)", (start,)).fetchone()[0]:
                base.append(write_segment(self.db, kind, self.path, f"lexical-{kind}-{self.name}", min_rowid=start))
            return base
        return [write_segment(self.db, kind, self.path, f"lexical-{kind}")]

    def _next_id(self, table: str) -> int:
        return int(self.db.execute(f"SELECT coalesce(max(id), -1) + 1 FROM {table}").fetchone()[0])

    def add_vectors(self, which: str, ids: list[int], vectors: np.ndarray) -> None:
        """Add vectors under the ids of their passages or sentences."""
        if not ids:
            return
        index = self.passage_index if which == "passages" else self.sentence_index
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove_vectors(self, which: str, ids: list[int]) -> None:
        """Remove the vectors of deleted passages or sentences.

        The one place that deletes vectors; working indexes are always flat, which can.
        """
        if not ids:
            return
        index = self._materialise(which)
        # faiss's Python wrapper takes an id array (its stubs list only IDSelector).
        removed = index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]
        if removed != len(ids):
            raise RuntimeError(f"{which}: {removed} of {len(ids)} vectors removed; the index is inconsistent")

    def add_article(
        self,
        meta: ArticleMeta,
        content_hash: str,
        passages: Sequence[Passage],
        passage_vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        slots: Sequence[str | None] | None = None,
    ) -> tuple[int, int]:
        """Insert an article with its paragraphs, passages, sentences and their vectors.

        `passage_vectors[i]` belongs to `passages[i]`; `sentence_vectors` and `slots` (each
        sentence's answer slots as JSON, `bot/text/slots.py`) to the passages' sentences in order.
        Returns (passages, sentences) inserted.
        """
        rows = article_rows(meta, content_hash, passages, slots, self.next_passage_id, self.next_sentence_id)
        if (len(rows.passages), len(rows.sentences)) != (len(passage_vectors), len(sentence_vectors)):
            raise ValueError(
                f"{meta.id}: {len(rows.passages)} passages and {len(rows.sentences)} sentences but "
                f"{len(passage_vectors)} and {len(sentence_vectors)} vectors"
            )
        if self.source_changes is not None:
            self.source_changes.update(rows.sources)
        self.db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)", rows.article)
        self.db.executemany("INSERT INTO paragraphs VALUES (?,?,?,?,?)", rows.paragraphs)
        self.db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", rows.passages)
        self.db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows.sentences)
        pids = [r[0] for r in rows.passages]
        sids = [r[0] for r in rows.sentences]
        self.add_vectors("passages", pids, passage_vectors)
        self.add_vectors("sentences", sids, sentence_vectors)
        self.next_passage_id += len(pids)
        self.next_sentence_id += len(sids)
        return len(pids), len(sids)

    def remove_article(self, article_id: str) -> int:
        """Delete an article's rows and vectors; returns how many passages it had."""
        db = self.db
        passage_ids = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
        sentence_ids = [
            r[0]
            for r in db.execute(
                "SELECT s.id FROM sentences s JOIN passages p ON p.id = s.passage_id WHERE p.article_id = ?",
                (article_id,),
            )
        ]
        if self.source_changes is not None:
            for name, full, n in db.execute(
                "SELECT s.speaker, s.speaker_full, count(*) FROM sentences s JOIN passages p ON p.id = s.passage_id "
                "WHERE p.article_id = ? AND s.speaker_kind = 'source' GROUP BY s.speaker, s.speaker_full",
                (article_id,),
            ):
                self.source_changes[name, full] -= n
        db.execute(
            "DELETE FROM sentences WHERE passage_id IN (SELECT id FROM passages WHERE article_id = ?)", (article_id,)
        )
        db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
        db.execute("DELETE FROM paragraphs WHERE article_id = ?", (article_id,))
        db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        self.remove_vectors("passages", passage_ids)
        self.remove_vectors("sentences", sentence_ids)
        self.removed_rows = self.removed_rows or bool(passage_ids)
        return len(passage_ids)

    def counts(self) -> dict[str, int]:
        """Rows per table, checked against the vectors: what the manifest records."""
        articles, passages, sentences = self.db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages), (SELECT count(*) FROM sentences)"
        ).fetchone()
        vectors = (
            self._base_count("passages") + self.passage_index.ntotal,
            self._base_count("sentences") + self.sentence_index.ntotal,
        )
        if (passages, sentences) != vectors:
            raise RuntimeError(
                f"refusing to publish: SQLite has {passages} passages and {sentences} sentences, "
                f"FAISS {vectors[0]} and {vectors[1]}"
            )
        return {"articles": articles, "passages": passages, "sentences": sentences}

    def commit(self, manifest: Manifest) -> Path:
        """Flush everything, rename the version into place and point CURRENT at it."""
        views.refresh(self.db, self.source_changes)
        if self.base_dir is None or manifest.counts.get("passages", 0) <= FTS_OPTIMIZE_MAX_PASSAGES:
            # FTS5 writes a segment per flush (an incremental build of one article left 4-14);
            # each term lookup then reads every segment (210 SQLite steps a seed question, 77 after
            # merging them into one). Merging costs ~7 µs a passage (0.08 s at 11k, 0.75 s at
            # 110k): always worth it after a full build; after an incremental one up to
            # FTS_OPTIMIZE_MAX_PASSAGES, above which FTS5's automerge keeps the count bounded.
            for table in ("passages_fts", "sentences_fts"):
                self.db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        self.db.commit()
        self.db.execute("PRAGMA optimize")
        lexical = {kind: entries for kind in TABLES if (entries := self._write_lexical(kind))}
        self.db.close()
        kinds = {"passages": self._write_kind("passages"), "sentences": self._write_kind("sentences")}
        files = {
            p.name: p.stat().st_size
            for p in self.path.iterdir()
            if p.suffix == ".faiss" or p.name == STORE or p.name.startswith("lexical-")
        }
        manifest = replace(manifest, vector_index=kinds, files=files, lexical=lexical)
        manifest.write(self.path / MANIFEST)
        publish(self.index_dir, self.path, self.final)
        return self.final

    def abort(self) -> None:
        """Drop the unfinished version; the live one is untouched."""
        try:
            db = getattr(self, "db", None)  # None when the constructor was cut short before opening it
            if db is not None:
                db.close()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)
