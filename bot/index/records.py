"""What an index reader returns: typed records, the same whichever backend holds the index.

Retrieval, the engine and the faces read these, never rows: a column added to the store or a
second backend (`bot/index/reader.py`) changes how the records are filled, not who reads them.
The small rows a face lists (articles, speakers, publishers, paragraphs) are named tuples, so a
face can unpack them as it always has; the rest are frozen dataclasses. The `*_record` functions
fill records from stored values in the order of the `*_FIELDS` below, which are both the SQLite
store's columns and the Milvus collections' fields: one mapping from storage to records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from bot.corpus.articles import ArticleMeta
from bot.text.speaker import Speaker

#: The two things an index holds vectors and postings of.
Kind = Literal["passages", "sentences"]

#: (row id, score), best first: what a dense or a BM25 search returns.
Hit = tuple[int, float]

#: BM25 hits of passages and of sentences: (id, score), best first.
Hits = tuple[list[Hit], list[Hit]]


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """What /about and the faces say of an index: its version and what built it, and its counts."""

    version: str
    model: str
    dimension: int
    built_at: str
    build_seconds: float
    #: Rows per kind: "articles", "passages", "sentences".
    counts: dict[str, int]
    #: Runtime that made the vectors ("torch" or "onnx").
    backend: str = "torch"
    #: Where the index lives: a folder for the embedded store, a URI for a server.
    location: str = ""

    @property
    def articles(self) -> int:
        """How many articles the index holds."""
        return int(self.counts.get("articles", 0))


class Paragraph(NamedTuple):
    """One paragraph of an article, as `/context` shows it."""

    number: int
    kind: str
    text: str


class ArticleCount(NamedTuple):
    """An indexed article with how many passages it has."""

    meta: ArticleMeta
    passages: int


class SpeakerCount(NamedTuple):
    """A named source as listed (`SOHR (Syrian Observatory for Human Rights)`) and its sentence count."""

    label: str
    sentences: int


class PublisherCount(NamedTuple):
    """Articles, passages and first and last date of one publisher."""

    publisher: str | None  # None: the articles that name no publisher
    articles: int
    passages: int
    first_date: str | None
    last_date: str | None


@dataclass(frozen=True, slots=True)
class SentenceRecord:
    """A stored sentence: where it sits in its passage, who it is attributed to, its answer slots."""

    id: int
    passage_id: int
    position: int
    start: int
    end: int
    text: str
    speaker: Speaker
    #: Its answer slots as the build stored them (JSON, `bot/text/slots.py`), or None.
    slots: str | None = None


@dataclass(frozen=True, slots=True)
class PassageRecord:
    """A stored passage with its place in the article, and its sentences in order when asked for."""

    id: int
    article_id: str
    paragraph: int
    kind: str
    section: str | None
    text: str
    sentences: tuple[SentenceRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceQuote:
    """A sentence attributed to a named source, with the passage it is in (`/who NAME`)."""

    passage: PassageRecord
    sentence: SentenceRecord


@dataclass(frozen=True)
class Candidates:
    """Every sentence of a question's candidate passages, ordered by passage and position.

    Columns rather than records: ranking scores all of them with numpy at once.
    """

    sentence_ids: np.ndarray
    passage_ids: np.ndarray
    #: Index of each passage's first sentence in the arrays above.
    starts: np.ndarray
    #: Sentence texts, when asked for (a question asking for a kind of answer, such as a number).
    texts: list[str] | None
    #: Sentence answer slots (JSON or None), when asked for.
    slots: list[str | None] | None
    #: Per passage: (article id, paragraph, kind, window: its number among the paragraph's windows).
    passages: dict[int, tuple[str, int, str, int]]
    #: Per sentence: its passage.
    owner: dict[int, int] = field(default_factory=dict)


#: A sentence's stored fields, in the order `sentence_record` reads them.
SENTENCE_FIELDS = (
    "id",
    "passage_id",
    "position",
    "start",
    "end",
    "text",
    "speaker",
    "speaker_kind",
    "speaker_via",
    "speaker_full",
    "speaker_rule",
    "said_as",
    "slots",
)
#: A passage's stored fields (without its sentences), in the order `passage_record` reads them.
PASSAGE_FIELDS = ("id", "article_id", "paragraph", "kind", "section", "text")
#: An article's stored fields, in the order `article_record` reads them.
ARTICLE_FIELDS = ("id", "title", "publisher", "date", "url", "byline", "path")


def sentence_record(r: Sequence[Any]) -> SentenceRecord:
    """A sentence from its values in `SENTENCE_FIELDS` order."""
    return SentenceRecord(
        id=r[0],
        passage_id=r[1],
        position=r[2],
        start=r[3],
        end=r[4],
        text=r[5],
        speaker=Speaker(name=r[6], kind=r[7], via=r[8], full_name=r[9], rule=r[10], said_as=r[11]),
        slots=r[12],
    )


def passage_record(r: Sequence[Any], sentences: tuple[SentenceRecord, ...] = ()) -> PassageRecord:
    """A passage from its values in `PASSAGE_FIELDS` order."""
    return PassageRecord(
        id=r[0], article_id=r[1], paragraph=r[2], kind=r[3], section=r[4], text=r[5], sentences=sentences
    )


def article_record(r: Sequence[Any]) -> ArticleMeta:
    """An article's metadata from its values in `ARTICLE_FIELDS` order."""
    return ArticleMeta(id=r[0], title=r[1], publisher=r[2], date=r[3], url=r[4], byline=r[5], path=r[6])
