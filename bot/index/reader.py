"""The one interface to an index version: what retrieval, the engine and the tools may read.

Everything above `bot/index/` reads an index through these typed methods and the records of
`bot/index/records.py`; none of it sees SQL, FAISS or a row. The embedded backend (FAISS files
and SQLite, `bot/index/embedded.py`) implements it; a server backend (Milvus, issue 14)
implements the same methods and the engine, the faces and the evaluation do not change.

A reader is one immutable version: a rebuilt index is a new reader. What is worth computing once
per version (the vocabulary's typo matcher, the lexicon) is kept with `memo`, so it lives and dies
with the reader instead of in a module-level cache that keeps old versions alive.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from bot.corpus.articles import ArticleMeta
    from bot.index.postings import Postings
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
    from bot.settings import Settings

T = TypeVar("T")


@runtime_checkable
class IndexReader(Protocol):
    """A read-only view of one index version; safe to share between threads."""

    # --- the version ---------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The version's name: changes with every build that publishes."""
        ...

    def facts(self) -> IndexFacts:
        """The version, the model that built it and the rows it holds (/about, /reload, the chat)."""
        ...

    def count(self, kind: Kind) -> int:
        """How many passages or sentences the version holds."""
        ...

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """`make()` computed once for this reader and kept as long as the reader is."""
        ...

    # --- articles and their views --------------------------------------------------------

    def articles(self) -> Mapping[str, ArticleMeta]:
        """Every indexed article's metadata by id (read once per version)."""
        ...

    def newest_articles(self, limit: int | None = None) -> list[ArticleCount]:
        """Articles with their passage counts, newest first: all, or the first `limit`."""
        ...

    def article_passages(self, article_id: str) -> int | None:
        """How many passages one article has, or None when it is not in the index."""
        ...

    def publishers(self) -> list[PublisherCount]:
        """Articles, passages and dates per publisher, the largest first."""
        ...

    def examples(self, n: int = 3) -> list[str]:
        """Example questions the build chose for /start."""
        ...

    # --- passages and sentences ----------------------------------------------------------

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRecord]:
        """The given passages with their sentences in order (what a quote is made of)."""
        ...

    def paragraph_context(self, passage_id: int, around: int = 1) -> list[Paragraph]:
        """The paragraph holding a passage and `around` paragraphs either side, in order."""
        ...

    def article_passage_ids(self, passage_id: int) -> set[int]:
        """Every passage of the article a passage belongs to (itself included)."""
        ...

    def candidates(
        self, passage_ids: Iterable[int], sentence_ids: Iterable[int], *, texts: bool, slots: bool
    ) -> Candidates:
        """Every sentence of the passages given and of those holding the sentences given."""
        ...

    def quoted_sources(self, passage_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
        """(passage id, source, its full name) of every sentence of these passages with a named source."""
        ...

    # --- speakers ------------------------------------------------------------------------

    def speakers(self, limit: int | None = None) -> list[SpeakerCount]:
        """Named sources and their sentence counts, most quoted first: all, or the first `limit`."""
        ...

    def speaker_count(self) -> int:
        """How many named sources the index holds."""
        ...

    def quotes_by(self, name: str, limit: int) -> list[SourceQuote]:
        """The first `limit` sentences (index order) of the sources a name, full name or acronym means."""
        ...

    # --- dense search --------------------------------------------------------------------

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[Hit]:
        """(id, inner product) of the k passages or sentences nearest to a vector, best first."""
        ...

    def vectors(self, kind: Kind, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of these passages or sentences, in the order given."""
        ...

    # --- lexical search (BM25) -----------------------------------------------------------

    def matching(
        self, kind: Kind, words: Sequence[str], within: Sequence[int] | None = None
    ) -> list[frozenset[int] | Postings]:
        """For each word, the passages (text or context) or sentences holding it after stemming.

        `within`: only these rows are looked at (and returned).
        """
        ...

    def bm25(self, words: Sequence[str], passages: int, sentences: int) -> Hits:
        """The best `passages` passages and `sentences` sentences holding any word, by BM25."""
        ...

    def lookup(
        self, words: Sequence[str], passages: int, sentences: int
    ) -> tuple[list[frozenset[int] | Postings], Hits]:
        """`matching("passages", words)` and `bm25(words, ...)` at once (one round trip when it can)."""
        ...

    def vocabulary(self) -> Sequence[str]:
        """Every (stemmed) term of the passages: what typos are matched against."""
        ...

    def written_as_name(self, word: str) -> bool:
        """Whether the passages write this word capitalised and never in lower case."""
        ...


def open_reader(settings: Settings, index_dir: Path, *, model: str | None, splitter: int | None) -> IndexReader:
    """Open the live version of the index the settings name, checked against the model and splitter.

    Raises `IndexUnavailable` (with a hint) when there is none or it was built otherwise.
    """
    if settings.search_backend == "milvus":
        from bot.index.milvus import store_for
        from bot.index.milvus.reader import MilvusReader

        return MilvusReader(
            store_for(settings), model=model, splitter=splitter, ef_search=settings.faiss_hnsw_ef_search
        )
    from bot.index.embedded import EmbeddedReader

    return EmbeddedReader(index_dir, model=model, splitter=splitter, ef_search=settings.faiss_hnsw_ef_search)


def live_stamp(settings: Settings, index_dir: Path) -> Hashable | None:
    """What changes when a build publishes: CURRENT's identity, or Milvus's live version and generation.

    The engine compares it on every question (a stat, or a Milvus look-up at most once a second).
    """
    if settings.search_backend == "milvus":
        from bot.index.milvus import live_stamp as milvus_stamp

        return milvus_stamp(settings)
    from bot.index.manifest import current_stamp

    return current_stamp(index_dir)


def live_version(settings: Settings, index_dir: Path) -> str | None:
    """The name of the live version (what `IndexReader.version` of a new reader would say)."""
    if settings.search_backend == "milvus":
        from bot.index.milvus import live_stamp as milvus_stamp

        return milvus_stamp(settings)
    from bot.index.manifest import current_version

    return current_version(index_dir)
