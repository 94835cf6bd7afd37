"""The embedded store's tables: what `IndexWriter` creates in a new version's `store.sqlite`.

Rows of articles, paragraphs, passages and sentences, and the FTS5 tables BM25 reads, kept in
step by triggers (`bot/index/views.py` adds the browsing views' tables).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.corpus.articles import ArticleMeta
    from bot.text.passages import Passage

SCHEMA = """
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


@dataclass(frozen=True)
class ArticleRows:
    """One article's rows for the tables above, with ids from the writer's next free ones."""

    article: tuple[Any, ...]
    paragraphs: list[tuple[Any, ...]]
    passages: list[tuple[Any, ...]]
    sentences: list[tuple[Any, ...]]
    #: Sentences per (named source, full name): the speakers view's counts to add.
    sources: Counter[tuple[str, str | None]]


def article_rows(
    meta: ArticleMeta,
    content_hash: str,
    passages: Sequence[Passage],
    slots: Sequence[str | None] | None,
    first_passage: int,
    first_sentence: int,
) -> ArticleRows:
    """The rows of an article, its paragraphs, passages and sentences (`slots`: each sentence's, in order)."""
    paragraphs: dict[int, tuple[Any, ...]] = {}
    passage_rows, sentence_rows = [], []
    sources: Counter[tuple[str, str | None]] = Counter()
    pid, sid = first_passage, first_sentence
    for p in passages:
        paragraphs.setdefault(p.paragraph, (meta.id, p.paragraph, str(p.kind), p.section, p.paragraph_text))
        passage_rows.append((pid, meta.id, p.paragraph, p.window, str(p.kind), p.section, p.text, p.content_hash))
        for pos, s in enumerate(p.sentences):
            sp = s.speaker
            slot = slots[sid - first_sentence] if slots is not None else None
            sentence_rows.append(
                (
                    *(sid, pid, pos, s.start, s.end, s.text),
                    *(sp.name, sp.kind, sp.via, sp.full_name, sp.rule, sp.said_as, slot),
                )
            )
            if sp.kind == "source":
                sources[sp.name, sp.full_name] += 1
            sid += 1
        pid += 1
    article = (meta.id, meta.title, meta.publisher, meta.date, meta.url, meta.byline, meta.path, content_hash)
    return ArticleRows((*article, len(passages)), list(paragraphs.values()), passage_rows, sentence_rows, sources)
