"""The embedded backend's rows: read-only SQL against one version's `store.sqlite`, as records.

Only `bot/index/` runs SQL; this module holds the statements a question and the faces need
(the browsing views are in `bot/index/views.py`, BM25 in `bot/index/fts.py`) and turns their
rows into the records of `bot/index/records.py`, so no caller reads a column by position.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bot.corpus.articles import ArticleMeta
from bot.errors import IndexUnavailable
from bot.index.manifest import rebuild_hint
from bot.index.records import (
    ARTICLE_FIELDS,
    PASSAGE_FIELDS,
    SENTENCE_FIELDS,
    Candidates,
    Paragraph,
    PassageRecord,
    article_record,
    passage_record,
    sentence_record,
)

#: The columns of a sentence record, as `sentence_record` reads them.
SENTENCE_COLUMNS = ", ".join(f"s.{f}" for f in SENTENCE_FIELDS)
#: The columns of a passage record (without its sentences), as `passage_record` reads them.
PASSAGE_COLUMNS = ", ".join(f"p.{f}" for f in PASSAGE_FIELDS)


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


def stored_rows(path: Path, what: str) -> Iterator[tuple[Any, ...]]:
    """Stream a version's stored texts: "passages" as (article title, section, text), or "sentences" as (text,).

    What the build embedded, so the embedding cache keeps exactly the vectors versions use;
    streamed, as a large version has millions.
    """
    sql = {
        "passages": "SELECT a.title, p.section, p.text FROM passages p JOIN articles a ON a.id = p.article_id",
        "sentences": "SELECT text FROM sentences",
    }[what]
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True)
    try:
        yield from db.execute(sql)
    finally:
        db.close()


class ReadStore:
    """One version's SQLite store, opened read-only (`immutable=1`) with a connection per thread."""

    def __init__(self, path: Path, index_dir: Path) -> None:
        self.path = path
        self.index_dir = index_dir
        self._local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        """A connection per thread: SQLite connections must not cross threads."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = f"file:{self.path.resolve()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, cached_statements=512)
            self._local.conn = conn
        return conn

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query as tuples; a damaged store becomes `IndexUnavailable`."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexUnavailable(f"{self.path} is damaged ({exc})", hint=rebuild_hint(self.index_dir)) from exc

    def counts(self) -> tuple[int, int]:
        """(passages, sentences) as stored: checked against the vectors when a version is opened."""
        (row,) = self.query("SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM sentences)")
        return int(row[0]), int(row[1])

    def articles(self) -> dict[str, ArticleMeta]:
        """Every article's metadata by id."""
        return {r[0]: article_record(r) for r in self.query(f"SELECT {', '.join(ARTICLE_FIELDS)} FROM articles")}

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRecord]:
        """Passages with their sentences in order: one statement for all of them."""
        marks, params = in_list(set(ids))
        if not params:
            return {}
        rows = self.query(
            f"SELECT {PASSAGE_COLUMNS}, {SENTENCE_COLUMNS} FROM passages p JOIN sentences s ON s.passage_id = p.id "
            f"WHERE p.id IN ({marks}) ORDER BY p.id, s.position",
            params,
        )
        grouped: dict[int, list[tuple[Any, ...]]] = {}
        for r in rows:
            grouped.setdefault(r[0], []).append(r)
        return {
            pid: passage_record(group[0], tuple(sentence_record(r[6:]) for r in group))
            for pid, group in grouped.items()
        }

    def paragraph_context(self, passage_id: int, around: int) -> list[Paragraph]:
        """The paragraph holding a passage and its neighbours."""
        rows = self.query(
            "SELECT g.paragraph, g.kind, g.text FROM passages p JOIN paragraphs g ON g.article_id = p.article_id "
            "AND g.paragraph BETWEEN p.paragraph - ? AND p.paragraph + ? WHERE p.id = ? ORDER BY g.paragraph",
            (around, around, passage_id),
        )
        return [Paragraph(r[0], r[1], r[2]) for r in rows]

    def article_passage_ids(self, passage_id: int) -> set[int]:
        """Every passage of the article a passage belongs to."""
        rows = self.query(
            "SELECT id FROM passages WHERE article_id = (SELECT article_id FROM passages WHERE id = ?)", (passage_id,)
        )
        return {r[0] for r in rows}

    def candidates(
        self, passage_ids: Iterable[int], sentence_ids: Iterable[int], *, texts: bool, slots: bool
    ) -> Candidates:
        """Every sentence of the candidate passages, and what ranking needs of them, in one query.

        Candidates are the passages given and those holding the sentences given.
        """
        parts, params = [], []
        sentence_ids, passage_ids = set(sentence_ids), set(passage_ids)
        if sentence_ids:
            marks, ids = in_list(sentence_ids)
            parts.append(f"SELECT passage_id FROM sentences WHERE id IN ({marks})")
            params += ids
        if passage_ids:
            marks, ids = in_list(passage_ids)
            parts.append(f"SELECT id FROM passages WHERE id IN ({marks})")
            params += ids
        text = ", s.text" if texts else ", NULL"
        slot = ", s.slots" if slots else ", NULL"
        rows = (
            self.query(
                f"SELECT s.id, s.passage_id, p.article_id, p.paragraph, p.kind, p.window{text}{slot} FROM sentences s "
                f"JOIN passages p ON p.id = s.passage_id WHERE s.passage_id IN ({' UNION '.join(parts)}) "
                "ORDER BY s.passage_id, s.position",
                params,
            )
            if parts
            else []
        )
        if not rows:
            none = np.zeros(0, dtype=np.int64)
            return Candidates(none, none, none, [] if texts else None, [] if slots else None, {}, {})
        # By columns (C loops), not a Python step per row: a large index has ~1,000 rows here.
        sids, pids, articles, paragraphs, kinds, windows, text_col, slot_col = zip(*rows, strict=True)
        owners = np.array(pids, dtype=np.int64)
        firsts = np.ones(len(owners), dtype=bool)
        np.not_equal(owners[1:], owners[:-1], out=firsts[1:])
        return Candidates(
            sentence_ids=np.array(sids, dtype=np.int64),
            passage_ids=owners,
            starts=np.flatnonzero(firsts),
            texts=list(text_col) if texts else None,
            slots=list(slot_col) if slots else None,
            passages=dict(zip(pids, zip(articles, paragraphs, kinds, windows, strict=True), strict=True)),
            owner=dict(zip(sids, pids, strict=True)),
        )

    def quoted_sources(self, passage_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
        """(passage id, source, full name) of the sentences of these passages with a named source."""
        marks, ids = in_list(set(passage_ids))
        if not ids:
            return []
        rows = self.query(
            f"SELECT passage_id, speaker, speaker_full FROM sentences WHERE passage_id IN ({marks}) "
            "AND speaker_kind = 'source'",
            ids,
        )
        return [(r[0], r[1], r[2]) for r in rows]
