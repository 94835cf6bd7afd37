"""The index reader over Milvus: the same records as the embedded reader, from a server.

One reader is one live version, found through the pointer alias at open and read by collection
name from then on (`store.py`). What the embedded backend keeps per version in memory, this one
keeps too (`memo`): the articles, the sources, the publishers and the words, read once.

Lexical search (FTS5's BM25 on Milvus's candidates, term counts, vocabulary, names) is in
`lexical.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from bot.corpus.articles import ArticleMeta
from bot.errors import IndexUnavailable
from bot.index.memo import Memo
from bot.index.milvus.lexical import LexicalSide
from bot.index.milvus.schema import LAYOUT_VERSION, DenseIndex
from bot.index.milvus.store import MilvusStore
from bot.index.records import (
    ARTICLE_FIELDS,
    PASSAGE_FIELDS,
    SENTENCE_FIELDS,
    ArticleCount,
    Candidates,
    Hit,
    IndexFacts,
    Kind,
    Paragraph,
    PassageRecord,
    PublisherCount,
    SentenceRecord,
    SourceQuote,
    SpeakerCount,
    article_record,
    passage_record,
    sentence_record,
)
from bot.index.views import source_matches, speaker_label

#: A Milvus row: field name to value.
Row = dict[str, Any]

_REBUILD = "build it with: SEARCH_BACKEND=milvus python scripts/build_index.py --full"
#: A row's values in the order the records' functions read them (`bot/index/records.py`).
_sentence_values = itemgetter(*SENTENCE_FIELDS)
_passage_values = itemgetter(*PASSAGE_FIELDS)
_article_values = itemgetter(*ARTICLE_FIELDS)
_PUBLISHER_FIELDS = ["publisher", "articles", "passages", "first_date", "last_date"]


def _sentence(r: Row) -> SentenceRecord:
    return sentence_record(_sentence_values(r))


def _passage(r: Row, sentences: tuple[SentenceRecord, ...] = ()) -> PassageRecord:
    return passage_record(_passage_values(r), sentences)


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted({int(v) for v in values}))


class MilvusReader(LexicalSide):
    """A read-only view of the live Milvus version; safe to share between threads."""

    def __init__(self, store: MilvusStore, *, model: str | None, splitter: int | None, ef_search: int = 128):
        self.store = store
        name = store.live_version()
        if name is None:
            raise IndexUnavailable(
                f"no index on Milvus at {store.uri} (prefix {store.prefix})",
                hint="build it with: SEARCH_BACKEND=milvus python scripts/build_index.py",
            )
        self.name = name
        summary = {r["key"]: r["value"] for r in store.query(name, "summary", 'key != ""', ["key", "value"])}
        if "facts" not in summary:
            raise IndexUnavailable(f"the Milvus index {name} has no facts (a build did not finish)", hint=_REBUILD)
        self._summary = summary
        facts: dict[str, Any] = json.loads(summary["facts"])
        if facts.get("layout") != LAYOUT_VERSION:
            raise IndexUnavailable(
                f"the Milvus index has layout {facts.get('layout')}, this version reads {LAYOUT_VERSION}", hint=_REBUILD
            )
        if model is not None and facts.get("model") != model:
            raise IndexUnavailable(
                f"the Milvus index was built with model {facts.get('model')!r}, settings say {model!r}", hint=_REBUILD
            )
        if splitter is not None and facts.get("splitter") != splitter:
            raise IndexUnavailable(
                f"the Milvus index was split with splitter v{facts.get('splitter')}, this version uses v{splitter}",
                hint=_REBUILD,
            )
        self._facts = facts
        self.dense_index = DenseIndex(type=str(facts.get("dense", "FLAT")), ef_search=ef_search)
        self._tokens: dict[str, int] = json.loads(summary.get("tokens", "{}"))
        self._memo = Memo()

    # --- the version ---------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The Milvus version and the generation of its last in-place update."""
        return f"{self.name}.{self._summary.get('generation', '0')}"

    def facts(self) -> IndexFacts:
        """What the build recorded, and where the index lives."""
        f = self._facts
        return IndexFacts(
            version=self.version,
            model=f["model"],
            dimension=int(f["dimension"]),
            built_at=f["built_at"],
            build_seconds=float(f["build_seconds"]),
            counts=dict(f["counts"]),
            backend=f.get("backend", "torch"),
            location=f"{self.store.uri} ({self.store.prefix})",
        )

    def count(self, kind: Kind) -> int:
        """Passages or sentences, as the build counted them."""
        return int(self._facts["counts"].get(kind, 0))

    # --- articles and their views --------------------------------------------------------

    def _article_rows(self) -> list[Row]:
        rows = self._rows("articles", [*ARTICLE_FIELDS, "passages"], 'id != ""', order=itemgetter("title"))
        # ORDER BY date DESC, title as SQLite sorts it: NULL dates last.
        rows.sort(key=lambda r: (r["date"] is not None, r["date"] or ""), reverse=True)
        return rows

    def articles(self) -> Mapping[str, ArticleMeta]:
        """Every article's metadata by id, read once per version."""

        def make() -> dict[str, ArticleMeta]:
            return {r["id"]: article_record(_article_values(r)) for r in self.memo("article-rows", self._article_rows)}

        return self.memo("articles", make)

    def newest_articles(self, limit: int | None = None) -> list[ArticleCount]:
        """Articles with passage counts, newest first."""
        metas = self.articles()
        rows = self.memo("article-rows", self._article_rows)
        return [ArticleCount(metas[r["id"]], r["passages"]) for r in rows[:limit]]

    def article_passages(self, article_id: str) -> int | None:
        """How many passages one article has (None when it is not there)."""
        counts = self.memo("article-passages", lambda: {r["id"]: r["passages"] for r in self._article_rows()})
        return counts.get(article_id)

    def publishers(self) -> list[PublisherCount]:
        """Per publisher, the largest first."""
        rows = self._rows("publishers", _PUBLISHER_FIELDS, "", order=lambda r: (-r["articles"], r["publisher"]))
        return [PublisherCount(*(r[f] for f in _PUBLISHER_FIELDS)) for r in rows]

    def examples(self, n: int = 3) -> list[str]:
        """The example questions the build chose."""
        return list(json.loads(self._summary.get("examples", "[]")))[:n]

    # --- passages and sentences ----------------------------------------------------------

    def _sentences_of(self, passage_ids: Iterable[int], fields: Sequence[str], expr: str = "") -> list[Row]:
        """The sentences of these passages (matching `expr` too, when given), by passage and position."""
        where = f"passage_id in {_ids(passage_ids)}" + (f" and {expr}" if expr else "")
        return self._rows("sentences", fields, where, order=itemgetter("passage_id", "position"))

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRecord]:
        """Passages with their sentences in order."""
        wanted = {int(i) for i in ids}
        if not wanted:
            return {}
        grouped: dict[int, list[SentenceRecord]] = {}
        for r in self._sentences_of(wanted, SENTENCE_FIELDS):
            grouped.setdefault(r["passage_id"], []).append(_sentence(r))
        rows = self._get("passages", wanted, PASSAGE_FIELDS)
        return {
            r["id"]: _passage(r, tuple(grouped[r["id"]]))
            for r in sorted(rows, key=itemgetter("id"))
            if r["id"] in grouped
        }

    def paragraph_context(self, passage_id: int, around: int = 1) -> list[Paragraph]:
        """The paragraph of a passage and its neighbours."""
        found = self._get("passages", [passage_id], ["article_id", "paragraph"])
        if not found:
            return []
        p = found[0]
        expr = (
            f"article_id == {json.dumps(p['article_id'])} and paragraph >= {p['paragraph'] - around} "
            f"and paragraph <= {p['paragraph'] + around}"
        )
        rows = self._rows("paragraphs", ["paragraph", "kind", "text"], expr, order=itemgetter("paragraph"))
        return [Paragraph(r["paragraph"], r["kind"], r["text"]) for r in rows]

    def article_passage_ids(self, passage_id: int) -> set[int]:
        """The passages of a passage's article."""
        found = self._get("passages", [passage_id], ["article_id"])
        if not found:
            return set()
        return {r["id"] for r in self._rows("passages", ["id"], f"article_id == {json.dumps(found[0]['article_id'])}")}

    def candidates(
        self, passage_ids: Iterable[int], sentence_ids: Iterable[int], *, texts: bool, slots: bool
    ) -> Candidates:
        """Every sentence of the passages given and of those holding the sentences given."""
        owners = {int(p) for p in passage_ids}
        owners |= {r["passage_id"] for r in self._get("sentences", {int(s) for s in sentence_ids}, ["passage_id"])}
        fields = ["id", "passage_id", "position"] + (["text"] if texts else []) + (["slots"] if slots else [])
        rows = self._sentences_of(owners, fields) if owners else []
        owned = {r["passage_id"] for r in rows}
        places = self._get("passages", owned, ["id", "article_id", "paragraph", "kind", "window"])
        starts = [i for i, r in enumerate(rows) if i == 0 or rows[i - 1]["passage_id"] != r["passage_id"]]
        return Candidates(
            sentence_ids=np.fromiter((r["id"] for r in rows), dtype=np.int64, count=len(rows)),
            passage_ids=np.fromiter((r["passage_id"] for r in rows), dtype=np.int64, count=len(rows)),
            starts=np.asarray(starts, dtype=np.int64),
            texts=[r["text"] for r in rows] if texts else None,
            slots=[r["slots"] for r in rows] if slots else None,
            passages={p["id"]: (p["article_id"], p["paragraph"], p["kind"], p["window"]) for p in places},
            owner={r["id"]: r["passage_id"] for r in rows},
        )

    def quoted_sources(self, passage_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
        """(passage id, source, full name) of the sentences of these passages with a named source."""
        wanted = {int(p) for p in passage_ids}
        if not wanted:
            return []
        fields = ["passage_id", "position", "speaker", "speaker_full"]
        rows = self._sentences_of(wanted, fields, 'speaker_kind == "source"')
        return [(r["passage_id"], r["speaker"], r["speaker_full"]) for r in rows]

    # --- speakers ------------------------------------------------------------------------

    def _speaker_rows(self) -> list[Row]:
        return self._rows(
            "speakers", ["name", "full", "sentences"], 'key != ""', order=lambda r: (-r["sentences"], r["name"])
        )

    def speakers(self, limit: int | None = None) -> list[SpeakerCount]:
        """Named sources by sentence count, most quoted first."""
        rows = self.memo("speakers", self._speaker_rows)
        return [SpeakerCount(speaker_label(r["name"], r["full"]), r["sentences"]) for r in rows[:limit]]

    def speaker_count(self) -> int:
        """How many named sources the index holds."""
        return len(self.memo("speakers", self._speaker_rows))

    def quotes_by(self, name: str, limit: int) -> list[SourceQuote]:
        """The first `limit` sentences (index order) of the sources a name, full name or acronym means."""
        names = source_matches(name, [(r["name"], r["full"]) for r in self.memo("speakers", self._speaker_rows)])
        ids: list[int] = []
        for source in names:
            ids += sorted(
                r["id"] for r in self._rows("sentences", ["id"], f"speaker_key == {json.dumps(source.lower())}")
            )[:limit]
        ids = sorted(ids)[:limit]
        if not ids:
            return []
        sentences = {r["id"]: r for r in self._get("sentences", ids, SENTENCE_FIELDS)}
        passages = {
            r["id"]: r for r in self._get("passages", {s["passage_id"] for s in sentences.values()}, PASSAGE_FIELDS)
        }
        return [
            SourceQuote(_passage(passages[sentences[i]["passage_id"]]), _sentence(sentences[i]))
            for i in ids
            if i in sentences
        ]

    # --- dense search --------------------------------------------------------------------

    def dense(self, kind: Kind, vector: np.ndarray, k: int) -> list[Hit]:
        """The k nearest passages or sentences by inner product."""
        if self.count(kind) == 0:
            return []
        return self.store.dense(self.name, kind, [np.asarray(vector).reshape(-1).tolist()], k, self.dense_index)[0]

    def vectors(self, kind: Kind, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored vectors of passages or sentences, in the order given."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return np.zeros((0, int(self._facts["dimension"])), np.float32)
        found = {r["id"]: r["vector"] for r in self._get(kind, wanted, ["id", "vector"])}
        return np.asarray([found[i] for i in wanted], dtype=np.float32)
