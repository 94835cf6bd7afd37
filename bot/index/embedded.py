"""The embedded backend: one index version as memory-mapped FAISS files and a SQLite store.

`EmbeddedReader` implements `bot/index/reader.py`'s `IndexReader` for the folders the build
writes (`bot/index/manifest.py`): vectors in FAISS (flat or HNSW, possibly in appended
segments), rows in SQLite (`bot/index/sqlite.py`, `bot/index/views.py`), BM25 in FTS5 or its
postings arrays (`bot/index/fts.py`). Opening checks that they agree, so a damaged version is
refused with a rebuild hint instead of answering wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np

from bot.corpus.articles import ArticleMeta
from bot.errors import IndexUnavailable
from bot.index import views
from bot.index.fts import Fts
from bot.index.manifest import (
    PASSAGE_VECTORS,
    SENTENCE_VECTORS,
    STORE,
    VERSIONS,
    live_manifest,
    rebuild_hint,
    segment_files,
)
from bot.index.memo import Memo
from bot.index.postings import LexicalIndex, Postings
from bot.index.postings import segment_files as lexical_files
from bot.index.records import (
    ArticleCount,
    Candidates,
    Hit,
    Hits,
    IndexFacts,
    Kind,
    Paragraph,
    PassageRecord,
    PublisherCount,
    SourceQuote,
    SpeakerCount,
)
from bot.index.sqlite import ReadStore
from bot.index.vectors import SegmentedIndex, set_ef_search

T = TypeVar("T")


class EmbeddedReader:
    """A read-only view of one index version on this machine; safe to share between threads.

    `passage_index`, `sentence_index` and `store` are the backend's own (benchmarks and storage
    tests reach them); everything else reads through the `IndexReader` methods.
    """

    def __init__(
        self,
        index_dir: Path,
        *,
        model: str | None = None,
        splitter: int | None = None,
        ef_search: int | None = None,
        postings: bool = True,
    ) -> None:
        """Open the live version; `postings=False` reads BM25 from FTS5 alone (what the arrays are checked against)."""
        self.index_dir = index_dir
        self._postings = postings
        hint = rebuild_hint(index_dir)
        self._version, self.manifest = live_manifest(index_dir, model=model, splitter=splitter)
        self.path = index_dir / VERSIONS / self._version
        self.passage_index = self._read_kind("passages", PASSAGE_VECTORS, hint, ef_search)
        self.sentence_index = self._read_kind("sentences", SENTENCE_VECTORS, hint, ef_search)
        db_path = self.path / STORE
        if not db_path.is_file():
            raise IndexUnavailable(f"{db_path} is missing", hint=hint)
        self._check_size(db_path, hint)
        for entries in self.manifest.lexical.values():
            for name in (n for e in entries for n in lexical_files(e["name"])):
                self._check_size(self.path / name, hint)
        self.store = ReadStore(db_path, index_dir)
        self._lexical: dict[str, LexicalIndex | None] = {}
        self._memo = Memo()
        passages, sentences = self.store.counts()
        if (passages, sentences) != (self.passage_index.ntotal, self.sentence_index.ntotal):
            raise IndexUnavailable(
                f"index in {self.path} is inconsistent: SQLite has {passages} passages and "
                f"{sentences} sentences, FAISS {self.passage_index.ntotal} and {self.sentence_index.ntotal}",
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
            hint = rebuild_hint(self.index_dir)
            try:
                self._lexical[kind] = LexicalIndex.load(self.path, entries) if entries else None
            except (OSError, ValueError) as exc:
                raise IndexUnavailable(f"lexical postings in {self.path} are damaged ({exc})", hint=hint) from exc
        return self._lexical[kind]

    # --- the version ---------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The version's folder name under `versions/`."""
        return self._version

    def facts(self) -> IndexFacts:
        """The manifest's facts about this version."""
        m = self.manifest
        return IndexFacts(
            version=self._version,
            model=m.model,
            dimension=m.dimension,
            built_at=m.built_at,
            build_seconds=m.build_seconds,
            counts=dict(m.counts),
            backend=m.backend,
            location=str(self.index_dir),
        )

    def count(self, kind: Kind) -> int:
        """Passages or sentences, as FAISS holds them (checked against SQLite at open)."""
        return int((self.passage_index if kind == "passages" else self.sentence_index).ntotal)

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """`make()` once per reader: dropped with the reader, so an old version's maps are freed."""
        return self._memo.get(key, make)

    # --- articles and their views --------------------------------------------------------

    def articles(self) -> Mapping[str, ArticleMeta]:
        """Every article's metadata by id, read once per version (every quote needs its article's)."""
        return self.memo("articles", self.store.articles)

    def newest_articles(self, limit: int | None = None) -> list[ArticleCount]:
        """Articles with passage counts, newest first (through an index on the date)."""
        metas = self.articles()
        return [ArticleCount(metas[a], n) for a, n in views.newest_articles(self.store, limit)]

    def article_passages(self, article_id: str) -> int | None:
        """How many passages one article has (None when it is not there)."""
        return views.article_passages(self.store, article_id)

    def publishers(self) -> list[PublisherCount]:
        """Per publisher, from the table the build keeps."""
        return views.publishers(self.store)

    def examples(self, n: int = 3) -> list[str]:
        """The example questions the build chose."""
        return views.examples(self.store, n)

    # --- passages and sentences ----------------------------------------------------------

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRecord]:
        """Passages with their sentences, in one statement."""
        return self.store.passages(ids)

    def paragraph_context(self, passage_id: int, around: int = 1) -> list[Paragraph]:
        """The paragraph of a passage and its neighbours."""
        return self.store.paragraph_context(passage_id, around)

    def article_passage_ids(self, passage_id: int) -> set[int]:
        """The passages of a passage's article."""
        return self.store.article_passage_ids(passage_id)

    def candidates(
        self, passage_ids: Iterable[int], sentence_ids: Iterable[int], *, texts: bool, slots: bool
    ) -> Candidates:
        """The candidate passages' sentences as columns, in one statement."""
        return self.store.candidates(passage_ids, sentence_ids, texts=texts, slots=slots)

    def quoted_sources(self, passage_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
        """The named sources quoted in these passages."""
        return self.store.quoted_sources(passage_ids)

    # --- speakers ------------------------------------------------------------------------

    def speakers(self, limit: int | None = None) -> list[SpeakerCount]:
        """Named sources by sentence count, from the table the build keeps."""
        return views.speakers(self.store, limit)

    def speaker_count(self) -> int:
        """How many named sources the index holds."""
        return views.speaker_count(self.store)

    def quotes_by(self, name: str, limit: int) -> list[SourceQuote]:
        """The first sentences of the sources a name means (`views.source_names`)."""
        return views.source_quotes(self.store, views.source_names(self.store, name), limit)

    # --- dense search --------------------------------------------------------------------

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[Hit]:
        """The k nearest passages or sentences by inner product."""
        return self.search(self.passage_index if kind == "passages" else self.sentence_index, vector, k)

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

    def vectors(self, kind: Kind, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored vectors of passages or sentences (every sentence of a candidate is rescored)."""
        return self._vectors(self.passage_index if kind == "passages" else self.sentence_index, ids)

    def _vectors(self, index: faiss.Index | SegmentedIndex, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.manifest.dimension), np.float32)
        if isinstance(index, faiss.Index):  # one call into FAISS instead of one per vector
            return index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return np.vstack([index.reconstruct(int(i)) for i in ids])

    # --- lexical search (BM25) -----------------------------------------------------------

    @cached_property
    def _fts(self) -> Fts:
        return Fts(self.store, self.lexical_index if self._postings else lambda kind: None, self.count)

    def matching(
        self, kind: Kind, words: Sequence[str], within: Sequence[int] | None = None
    ) -> list[frozenset[int] | Postings]:
        """The rows of a kind holding each word."""
        return self._fts.matching(kind, words, within)

    def bm25(self, words: Sequence[str], passages: int, sentences: int) -> Hits:
        """BM25's best passages and sentences."""
        return self._fts.bm25(words, passages, sentences)

    def lookup(
        self, words: Sequence[str], passages: int, sentences: int
    ) -> tuple[list[frozenset[int] | Postings], Hits]:
        """Matching passages per word and BM25's best, in one statement."""
        return self._fts.lookup(words, passages, sentences)

    def vocabulary(self) -> Sequence[str]:
        """The passages' stemmed terms, read once per version."""
        return self.memo("vocabulary", self._fts.vocabulary)

    def written_as_name(self, word: str) -> bool:
        """Whether the passages write the word only capitalised."""
        return self._fts.written_as_name(word)
