"""The index on disk: FAISS vectors, a SQLite store of passages, and a manifest.

Layout of `index/`::

    CURRENT                 name of the live version (replaced atomically)
    versions/<name>/        manifest.json, store.sqlite, passages.faiss, sentences.faiss
    cache/embeddings.sqlite vectors by (model, text hash), shared by all builds
    build.lock              held while a build runs

A build writes a new version beside the live one and only then points CURRENT at it, so a reader
never sees half an index and a killed build leaves the previous one in place. Versions are
immutable once written, which lets readers open SQLite with `immutable=1` (no locking) and
memory-map the FAISS files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from bot.index import views
from bot.errors import IndexUnavailable
from bot.index.postings import MAX_LEXICAL_SEGMENTS, POSTINGS_FORMAT, TABLES, LexicalIndex, write_segment
from bot.index.postings import segment_files as lexical_files
from bot.index.vectors import (
    IndexPolicy,
    SegmentedIndex,
    build_vector_index,
    describe,
    new_vector_index,
    segment_vectors,
    set_ef_search,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from bot.corpus.articles import ArticleMeta
    from bot.text.passages import Passage

log = logging.getLogger(__name__)

#: 3: the view tables of `bot/index/views.py` (speakers, publishers, example questions).
#: 4: sentences carry their answer slots (`bot/text/slots.py`), parsed at build time.
SCHEMA_VERSION = 4
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.faiss"
KEEP_VERSIONS = 2
#: Appended vector segments a version may carry before a build merges them into one file again.
MAX_SEGMENTS = 8
#: Up to this many passages an incremental build merges the FTS5 segments too (~0.15 s here), so
#: that an index grown article by article answers as fast as one built at once.
FTS_OPTIMIZE_MAX_PASSAGES = 20_000

_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, publisher TEXT, date TEXT, url TEXT,
    byline TEXT, path TEXT, content_hash TEXT NOT NULL, passages INTEGER NOT NULL
);
CREATE TABLE paragraphs (
    article_id TEXT NOT NULL, paragraph INTEGER NOT NULL, kind TEXT NOT NULL,
    section TEXT, text TEXT NOT NULL, PRIMARY KEY (article_id, paragraph)
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, paragraph INTEGER NOT NULL,
    window INTEGER NOT NULL, kind TEXT NOT NULL, section TEXT, text TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE sentences (
    id INTEGER PRIMARY KEY, passage_id INTEGER NOT NULL, position INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    speaker TEXT NOT NULL, speaker_kind TEXT NOT NULL, speaker_via TEXT, speaker_full TEXT,
    speaker_rule TEXT NOT NULL, said_as TEXT, slots TEXT
);
CREATE INDEX passages_by_article ON passages (article_id, paragraph);
CREATE INDEX sentences_by_passage ON sentences (passage_id, position);
CREATE INDEX sentences_by_speaker ON sentences (speaker);
-- The lexical side (BM25). Triggers keep it in step with passages and sentences, so any code that
-- inserts or deletes those rows (a full build, an incremental one) maintains it without knowing.
-- Passages carry their context (article title, section heading) in a column of its own.
CREATE VIRTUAL TABLE passages_fts USING fts5(
    text, context, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE sentences_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, 'row');
CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts (rowid, text, context) VALUES (
        new.id, new.text,
        coalesce((SELECT title FROM articles WHERE id = new.article_id), '') || ' ' || coalesce(new.section, '')
    );
END;
CREATE TRIGGER passages_fts_delete AFTER DELETE ON passages BEGIN
    DELETE FROM passages_fts WHERE rowid = old.id;
END;
CREATE TRIGGER sentences_fts_insert AFTER INSERT ON sentences BEGIN
    INSERT INTO sentences_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER sentences_fts_delete AFTER DELETE ON sentences BEGIN
    DELETE FROM sentences_fts WHERE rowid = old.id;
END;
"""


def _rebuild_hint(index_dir: Path) -> str:
    return f"rebuild it with: python scripts/build_index.py --index {index_dir} --full"


def current_version(index_dir: Path) -> str | None:
    """Name of the live version, or None when no build has finished."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def in_list(ids: Iterable[int]) -> tuple[str, list[int]]:
    """`?, ?, …` for an SQL `IN (…)` and its parameters, padded to a power of two.

    SQLite prepares each distinct statement text once per connection (Python keeps a bounded
    number of them): with the list length in the text, almost every question's statements were
    new, and preparing one cost as much as running it. Repeating the last id changes no `IN`.
    """
    params = list(ids)
    if params:
        params += [params[-1]] * ((1 << (len(params) - 1).bit_length()) - len(params))
    return ",".join("?" * len(params)), params


def current_stamp(index_dir: Path | str) -> tuple[int, int, int] | None:
    """Identity of the CURRENT file (inode, mtime, size), or None when there is none.

    A build replaces CURRENT with a new file, so an unchanged stamp means an unchanged version:
    a stat per question instead of opening and reading the file (0.03 ms of a 1 ms answer).
    """
    try:
        st = os.stat(os.path.join(index_dir, CURRENT))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Manifest:
    """What built an index: model, dimension, schema and splitter versions, and per-article hashes."""

    schema: int
    splitter: int
    model: str
    dimension: int
    built_at: str
    build_seconds: float
    articles: dict[str, dict[str, Any]]
    counts: dict[str, int]
    #: Runtime that made the vectors ("torch" or "onnx"); older manifests lack it and mean torch.
    backend: str = "torch"
    #: Per FAISS file ("passages", "sentences"): index type, size and HNSW parameters.
    vector_index: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Byte size of each data file as the build wrote it: memory-mapped FAISS files are not
    #: fully read at load, so a truncated one is caught by its size instead of a crash later.
    files: dict[str, int] = field(default_factory=dict)
    #: Per FTS5 kind ("passages", "sentences"): the segments of its postings as arrays
    #: (`bot/index/postings.py`), written above LEXICAL_POSTINGS_THRESHOLD rows; none below.
    lexical: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest; KeyError, TypeError or ValueError when it is incomplete or not JSON."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def write(self, path: Path) -> None:
        """Save as JSON readable by people as well as by `read`: one line per field and per article.

        Not `json.dumps(indent=2)`: indenting falls back to the pure-Python encoder, 0.4 s for
        10,000 articles on every incremental build; small `dumps` calls use the C one.
        """
        lines = []
        for key, value in sorted(self.__dict__.items()):
            if key == "articles":
                entries = [f"    {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(value.items())]
                body = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
            else:
                body = json.dumps(value, sort_keys=True)
            lines.append(f"  {json.dumps(key)}: {body}")
        path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def live_manifest(index_dir: Path, *, model: str | None = None, splitter: int | None = None) -> tuple[str, Manifest]:
    """The live version's name and manifest, checked against this code's schema and the settings.

    Cheap (no vectors are read), so a build can plan from it. Raises `IndexUnavailable` saying
    why the index cannot be used as it is: none yet, unreadable, or built differently.
    """
    hint = _rebuild_hint(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexUnavailable(
            f"no index in {index_dir}/", hint=f"build it with: python scripts/build_index.py --index {index_dir}"
        )
    path = index_dir / VERSIONS / version
    try:
        manifest = Manifest.read(path / MANIFEST)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailable(f"index manifest in {path} is missing or unreadable ({exc})", hint=hint) from exc
    if manifest.schema != SCHEMA_VERSION:
        raise IndexUnavailable(f"index schema {manifest.schema} is not this version's ({SCHEMA_VERSION})", hint=hint)
    if splitter is not None and manifest.splitter != splitter:
        raise IndexUnavailable(
            f"index was split with splitter v{manifest.splitter}, this version uses v{splitter}", hint=hint
        )
    if model is not None and manifest.model != model:
        raise IndexUnavailable(f"index was built with model {manifest.model!r}, settings say {model!r}", hint=hint)
    # Postings arrays of another layout (format 1 repeated each row's length in every posting)
    # would be misread: refused, and the next build rewrites them in full.
    formats = {e.get("format", 1) for entries in manifest.lexical.values() for e in entries}
    if formats - {POSTINGS_FORMAT}:
        raise IndexUnavailable(
            f"lexical postings in {path} are in format {min(formats - {POSTINGS_FORMAT})}, "
            f"this version reads format {POSTINGS_FORMAT}",
            hint=hint,
        )
    files = [STORE, *segment_files(manifest, "passages", PASSAGE_VECTORS)]
    files += segment_files(manifest, "sentences", SENTENCE_VECTORS)
    files += [name for entries in manifest.lexical.values() for e in entries for name in lexical_files(e["name"])]
    missing = [name for name in files if not (path / name).is_file()]
    if missing:
        raise IndexUnavailable(f"{path} lacks {', '.join(missing)}", hint=hint)
    return version, manifest


def segment_files(manifest: Manifest, kind: str, default: str) -> list[str]:
    """File names holding a kind's vectors in a version: the base file, then appended segments."""
    return list(manifest.vector_index.get(kind, {}).get("segments") or [default])


class IndexReader:
    """A read-only view of one index version; safe to share between threads."""

    def __init__(
        self,
        index_dir: Path,
        *,
        model: str | None = None,
        splitter: int | None = None,
        ef_search: int | None = None,
    ) -> None:
        self.index_dir = index_dir
        hint = _rebuild_hint(index_dir)
        self.version, self.manifest = live_manifest(index_dir, model=model, splitter=splitter)
        self.path = index_dir / VERSIONS / self.version
        self.passage_index = self._read_kind("passages", PASSAGE_VECTORS, hint, ef_search)
        self.sentence_index = self._read_kind("sentences", SENTENCE_VECTORS, hint, ef_search)
        self._db_path = self.path / STORE
        if not self._db_path.is_file():
            raise IndexUnavailable(f"{self._db_path} is missing", hint=hint)
        self._check_size(self._db_path, hint)
        for entries in self.manifest.lexical.values():
            for name in (n for e in entries for n in lexical_files(e["name"])):
                self._check_size(self.path / name, hint)
        self._local = threading.local()
        self._lexical: dict[str, LexicalIndex | None] = {}
        counts = self.query("SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM sentences)")[0]
        if (counts[0], counts[1]) != (self.passage_index.ntotal, self.sentence_index.ntotal):
            raise IndexUnavailable(
                f"index in {self.path} is inconsistent: SQLite has {counts[0]} passages and "
                f"{counts[1]} sentences, FAISS {self.passage_index.ntotal} and {self.sentence_index.ntotal}",
                hint=hint,
            )

    def _check_size(self, path: Path, hint: str) -> None:
        """Refuse a data file whose size differs from what the build recorded (truncated, replaced)."""
        expected = self.manifest.files.get(path.name)
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexUnavailable(f"{path} is missing or damaged", hint=hint) from None
        if expected is not None and size != expected:
            raise IndexUnavailable(
                f"{path} is missing or damaged ({size} bytes; the build wrote {expected})", hint=hint
            )

    def _read_kind(self, kind: str, name: str, hint: str, ef_search: int | None) -> faiss.Index | SegmentedIndex:
        """The vectors of one kind: its base file, plus the segments later builds appended to it."""
        names = segment_files(self.manifest, kind, name)
        segments = [self._read_faiss(n, hint) for n in names]
        if ef_search is not None:
            for segment in segments:
                set_ef_search(segment, ef_search)
        return segments[0] if len(segments) == 1 else SegmentedIndex(segments)

    def _read_faiss(self, name: str, hint: str) -> faiss.Index:
        """Memory-map the file (flat and HNSW alike): pages are read on use, and shared between processes.

        IO_FLAG_MMAP_IFC maps the vectors (and HNSW's graph) in place; plain IO_FLAG_MMAP still
        copied them into private memory (measured at 100k vectors: +146 MiB and 1.1 s to load,
        against +0 MiB and 0.07-0.25 s).
        """
        path = self.path / name
        self._check_size(path, hint)
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            raise IndexUnavailable(f"{path} is missing or damaged", hint=hint) from exc
        if index.d != self.manifest.dimension:
            raise IndexUnavailable(
                f"{path} has dimension {index.d}, manifest says {self.manifest.dimension}", hint=hint
            )
        return index

    def lexical_index(self, kind: str) -> LexicalIndex | None:
        """The postings of a kind's FTS5 table as memory-mapped arrays, if the build wrote them."""
        if kind not in self._lexical:
            entries = self.manifest.lexical.get(kind) or []
            hint = _rebuild_hint(self.index_dir)
            try:
                self._lexical[kind] = LexicalIndex.load(self.path, entries) if entries else None
            except (OSError, ValueError) as exc:
                raise IndexUnavailable(f"lexical postings in {self.path} are damaged ({exc})", hint=hint) from exc
        return self._lexical[kind]

    @property
    def db(self) -> sqlite3.Connection:
        """A connection per thread: SQLite connections must not cross threads."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = f"file:{self._db_path.resolve()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, cached_statements=512)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = (), *, rows: bool = True) -> list[Any]:
        """Rows of a read-only query; a damaged store becomes `IndexUnavailable`, not a traceback.

        `rows=False` returns plain tuples: cheaper than `sqlite3.Row` on the hot path of a question.
        """
        try:
            if rows:
                return self.db.execute(sql, params).fetchall()
            cursor = self.db.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexUnavailable(f"{self._db_path} is damaged ({exc})", hint=_rebuild_hint(self.index_dir)) from exc

    @staticmethod
    def search(index: faiss.Index | SegmentedIndex, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(id, inner product) of the k nearest vectors, best first.

        One query gains nothing from FAISS's OpenMP threads (it parallelises over queries), but
        waking them costs milliseconds on a busy 2-core machine: search on this thread alone.
        The setting is per thread and restored, so builds keep their threads.
        """
        if index.ntotal == 0:
            return []
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = index.search(vector.reshape(1, -1), min(k, index.ntotal))
        finally:
            faiss.omp_set_num_threads(threads)
        return [(i, s) for i, s in zip(ids[0].tolist(), scores[0].tolist(), strict=True) if i >= 0]

    def sentence_vectors(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """Stored vectors of the given sentences (for scoring every sentence of a candidate)."""
        return self._vectors(self.sentence_index, ids)

    def passage_vectors(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """Stored vectors of the given passages (candidates the passage search did not return)."""
        return self._vectors(self.passage_index, ids)

    def _vectors(self, index: faiss.Index | SegmentedIndex, ids: list[int] | np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.manifest.dimension), np.float32)
        if isinstance(index, faiss.Index):  # one call into FAISS instead of one per vector
            return index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return np.vstack([index.reconstruct(int(i)) for i in ids])


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
        policy: IndexPolicy | None = None,
        lexical_threshold: int | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.notify = notify
        if policy is None or lexical_threshold is None:
            from bot.settings import get_settings

            settings = get_settings()
            policy = policy or IndexPolicy.from_settings(settings)
            lexical_threshold = settings.lexical_postings_threshold if lexical_threshold is None else lexical_threshold
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
        self.passage_index = new_vector_index("flat", dimension, policy)
        self.sentence_index = new_vector_index("flat", dimension, policy)
        self.materialised = {"passages": base is None, "sentences": base is None}
        # Per kind: the base's quantised HNSW index, whose trained ranges a rebuild reuses.
        self._quantised_base: dict[str, faiss.Index] = {}
        #: (source, full name) → sentences this build inserted minus those it deleted, for the views'
        #: counts (`views.refresh`); None for a full build, which counts every source once.
        self.source_changes: Counter[tuple[str, str | None]] | None = None if base is None else Counter()
        if base is None:
            self.db = sqlite3.connect(self.path / STORE)
            self.db.executescript(_SCHEMA)
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
                    _link_or_copy(self.base_dir / name, self.path / name)
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
                _link_or_copy(self.base_dir / name, self.path / name)
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
        removed = index.remove_ids(np.asarray(ids, dtype=np.int64))
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
        db = self.db
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
            (
                meta.id,
                meta.title,
                meta.publisher,
                meta.date,
                meta.url,
                meta.byline,
                meta.path,
                content_hash,
                len(passages),
            ),
        )
        paragraphs: dict[int, tuple[str, str, int, str, str | None, str]] = {}
        passage_rows = []
        sentence_rows = []
        pid0, sid0 = self.next_passage_id, self.next_sentence_id
        pid, sid = pid0, sid0
        for p in passages:
            paragraphs.setdefault(p.paragraph, (meta.id, p.paragraph, str(p.kind), p.section, p.paragraph_text))
            passage_rows.append((pid, meta.id, p.paragraph, p.window, str(p.kind), p.section, p.text, p.content_hash))
            for pos, s in enumerate(p.sentences):
                sp = s.speaker
                slot = slots[sid - sid0] if slots is not None else None
                sentence_rows.append(
                    (
                        *(sid, pid, pos, s.start, s.end, s.text),
                        *(sp.name, sp.kind, sp.via, sp.full_name, sp.rule, sp.said_as, slot),
                    )
                )
                if self.source_changes is not None and sp.kind == "source":
                    self.source_changes[sp.name, sp.full_name] += 1
                sid += 1
            pid += 1
        if (pid - pid0, sid - sid0) != (len(passage_vectors), len(sentence_vectors)):
            raise ValueError(
                f"{meta.id}: {pid - pid0} passages and {sid - sid0} sentences but "
                f"{len(passage_vectors)} and {len(sentence_vectors)} vectors"
            )
        db.executemany("INSERT INTO paragraphs VALUES (?,?,?,?,?)", list(paragraphs.values()))
        db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", passage_rows)
        db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", sentence_rows)
        self.add_vectors("passages", list(range(pid0, pid)), passage_vectors)
        self.add_vectors("sentences", list(range(sid0, sid)), sentence_vectors)
        self.next_passage_id, self.next_sentence_id = pid, sid
        return pid - pid0, sid - sid0

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
        _fsync_tree(self.path)
        os.replace(self.path, self.final)
        tmp = self.index_dir / f".{CURRENT}.{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(self.name + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.index_dir / CURRENT)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk: the previous CURRENT stays, nothing is left over
            if current_version(self.index_dir) != self.name:
                os.replace(self.final, self.path)  # never live: abort() removes it
            raise
        _fsync_dir(self.index_dir)
        prune_versions(self.index_dir)
        return self.final

    def abort(self) -> None:
        """Drop the unfinished version; the live one is untouched."""
        try:
            db = getattr(self, "db", None)  # None when the constructor was cut short before opening it
            if db is not None:
                db.close()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """Share an immutable file with another version (a hard link), or copy it where links fail."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(path)


def prune_versions(index_dir: Path) -> None:
    """Delete unfinished builds and all but the newest KEEP_VERSIONS finished ones."""
    root = index_dir / VERSIONS
    live = current_version(index_dir)
    for stray in index_dir.glob(f".{CURRENT}.*"):  # a CURRENT replacement cut short by a kill
        stray.unlink(missing_ok=True)
    if not root.is_dir():
        return
    # By when each was written (its manifest is written last), not by name: names made within one
    # second differ only in a pid and a clock remainder, which do not sort by time.
    finished = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    keep = {p.name for p in finished[-KEEP_VERSIONS:]} | ({live} if live else set())
    for path in root.iterdir():
        if path.name.endswith(".partial"):
            # Another build may be writing it only if it holds the lock, which the caller does.
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
