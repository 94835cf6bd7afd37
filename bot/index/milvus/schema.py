"""The collections of one index version on Milvus: what each holds and how it is indexed.

They mirror the embedded store's tables (`bot/index/writer.py`, `bot/index/views.py`): the
passages and sentences with their vectors and BM25 tokens, the articles and paragraphs a quote
is shown with, and the small views (sources, publishers, summary) that the faces list. `words`
replaces FTS5's vocabulary: each token with the passages holding it, and each written word with
whether it appears capitalised and in lower case (what typo matching and names need).

Milvus wants a vector field in every collection: the kinds without one carry a 2-float `pad`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient

from bot.index.milvus.analysis import ANALYZER

#: Bumped when a collection's fields change: a version of another layout is refused.
LAYOUT_VERSION = 1
#: FTS5's bm25() constants, so that Milvus ranks with the same saturation and length weight.
BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}
#: The longest text a VARCHAR takes, in bytes (Milvus's limit).
MAX_TEXT = 65_535
NAME = 512
SHORT = 64
PAD_DIM = 2


@dataclass(frozen=True)
class Column:
    """One scalar field: name, type, and for text its maximum length in bytes."""

    name: str
    type: DataType
    length: int = 0
    nullable: bool = False


def _text(name: str, length: int = MAX_TEXT, nullable: bool = False) -> Column:
    return Column(name, DataType.VARCHAR, length, nullable)


def _int(name: str) -> Column:
    return Column(name, DataType.INT64)


@dataclass(frozen=True)
class Kind:
    """A collection: its primary key, scalar columns, and whether it is searched (vectors + BM25)."""

    name: str
    key: Column
    columns: tuple[Column, ...]
    searched: bool = False
    #: Scalar fields filtered on (`article_id == ...`): given an inverted index.
    filtered: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "passages",
            _int("id"),
            (
                _text("article_id", NAME),
                _int("paragraph"),
                _int("window"),
                _text("kind", SHORT),
                _text("section", NAME * 4, nullable=True),
                _text("text"),
                _text("content_hash", SHORT * 2),
                _int("context_len"),
            ),
            searched=True,
            filtered=("article_id",),
        ),
        Kind(
            "sentences",
            _int("id"),
            (
                _int("passage_id"),
                _text("article_id", NAME),
                _int("position"),
                _int("start"),
                _int("end"),
                _text("text"),
                _text("speaker", NAME * 2),
                _text("speaker_key", NAME * 2),
                _text("speaker_kind", SHORT),
                _text("speaker_via", NAME * 2, nullable=True),
                _text("speaker_full", NAME * 2, nullable=True),
                _text("speaker_rule", SHORT),
                _text("said_as", NAME, nullable=True),
                _text("slots", nullable=True),
                _int("context_len"),
            ),
            searched=True,
            filtered=("article_id", "passage_id", "speaker_key"),
        ),
        Kind(
            "articles",
            _text("id", NAME),
            (
                _text("title", NAME * 4),
                _text("publisher", NAME, nullable=True),
                _text("date", SHORT, nullable=True),
                _text("url", NAME * 4, nullable=True),
                _text("byline", NAME * 2, nullable=True),
                _text("path", NAME * 2, nullable=True),
                _text("content_hash", SHORT * 2),
                _int("passages"),
            ),
        ),
        Kind(
            "paragraphs",
            _text("key", NAME + SHORT),
            (
                _text("article_id", NAME),
                _int("paragraph"),
                _text("kind", SHORT),
                _text("section", NAME * 4, nullable=True),
                _text("text"),
            ),
            filtered=("article_id",),
        ),
        Kind(
            "speakers",
            _text("key", NAME * 2),
            (_text("name", NAME * 2), _text("full", NAME * 2, nullable=True), _int("sentences")),
        ),
        Kind(
            "publishers",
            _text("publisher", NAME),
            (
                _int("articles"),
                _int("passages"),
                _text("first_date", SHORT, nullable=True),
                _text("last_date", SHORT, nullable=True),
            ),
        ),
        Kind("summary", _text("key", NAME), (_text("value"),)),
        Kind(
            "words",
            _text("word", NAME),
            (
                _int("passages"),
                _int("sentences"),
                Column("capitalised", DataType.BOOL),
                Column("lower", DataType.BOOL),
            ),
        ),
    )
}


def _add(schema: Any, column: Column, *, primary: bool = False) -> None:
    extra: dict[str, Any] = {"is_primary": True} if primary else {}
    if column.nullable:
        extra["nullable"] = True
    if column.type == DataType.VARCHAR:
        extra["max_length"] = column.length
    schema.add_field(column.name, column.type, **extra)


def schema_of(kind: Kind, dimension: int) -> Any:
    """The collection schema of a kind; searched kinds get `vector`, `terms` and its BM25 `sparse`."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    _add(schema, kind.key, primary=True)
    for column in kind.columns:
        _add(schema, column)
    if kind.searched:
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=MAX_TEXT,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params=ANALYZER,
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
            )
        )
    else:
        schema.add_field("pad", DataType.FLOAT_VECTOR, dim=PAD_DIM)
    return schema


@dataclass(frozen=True)
class DenseIndex:
    """How the `vector` field is indexed: FLAT (exact) or HNSW with its build and search parameters."""

    type: str = "FLAT"
    m: int = 16
    ef_construction: int = 80
    ef_search: int = 128

    def search_params(self) -> dict[str, Any]:
        """What a dense search passes: inner product, and HNSW's candidate list."""
        params: dict[str, Any] = {"ef": self.ef_search} if self.type == "HNSW" else {}
        return {"metric_type": "IP", "params": params}


def index_params_of(kind: Kind, dense: DenseIndex) -> Any:
    """Indexes of a kind's collection: dense (IP), BM25 over `sparse`, inverted on filtered scalars."""
    params = MilvusClient.prepare_index_params()
    if kind.searched:
        build = {"M": dense.m, "efConstruction": dense.ef_construction} if dense.type == "HNSW" else {}
        params.add_index("vector", index_type=dense.type, metric_type="IP", params=build)
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    else:
        params.add_index("pad", index_type="FLAT", metric_type="L2")
    for name in kind.filtered:
        params.add_index(name, index_type="INVERTED")
    return params
