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


#: A candidate passage's rows: its sentence ids in order, (article id, paragraph, kind, window),
#: its sentences' texts and answer slots.
_CandidateRows = tuple[tuple[int, ...], tuple[str, int, str, int], tuple[str, ...], tuple[str | None, ...]]
#: Candidate passages whose rows a store keeps (`ReadStore.candidates`); then it starts afresh.
_KEPT_CANDIDATES = 8192
#: Sets of candidate passages whose assembled columns a store keeps; then it starts afresh.
_KEPT_ASSEMBLED = 256


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
        #: `candidates`' rows by passage, and the passage of each sentence in them.
        self._candidate_rows: dict[int, _CandidateRows] = {}
        self._owners: dict[int, int] = {}
        #: `candidates`' columns by the set of passages asked for (read only, shared by threads).
        self._assembled: dict[tuple[frozenset[int], bool, bool], Candidates] = {}

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
        """Every sentence of the candidate passages, and what ranking needs of them.

        Candidates are the passages given and those holding the sentences given. A passage's rows
        never change in a version and questions meet the same passages again (a topic's questions,
        "More", every question on a small index), so they are kept (`_KEPT_CANDIDATES`): a
        statement runs only for passages, or sentences' owners, not read before. Why it matters:
        this statement runs right after the question's encode, which leaves the caches cold, and
        took ~0.12 ms of a ~0.45 ms engine on the seed (docs/performance.md, "Query path,
        2026-12-03"). The columns assembled from the kept rows are kept too, by the set of
        passages: on an index of one report every question's candidates are the same passages,
        and so are a repeated question's ("More"); assembling them cost ~25 µs after the search.
        They are shared: their arrays are read-only.
        """
        kept, owner = self._candidate_rows, self._owners
        wanted = {int(p) for p in passage_ids}
        unowned = []
        for sid in set(sentence_ids):
            pid = owner.get(sid)
            if pid is None:
                unowned.append(sid)
            else:
                wanted.add(pid)
        key = (frozenset(wanted), texts, slots)
        if not unowned and (assembled := self._assembled.get(key)) is not None:
            return assembled
        found = {pid: rows for pid in wanted if (rows := kept.get(pid)) is not None}
        missing = [pid for pid in wanted if pid not in found]
        if missing or unowned:
            fresh = self._read_candidates(missing, unowned)
            found.update(fresh)
            if len(kept) + len(fresh) > _KEPT_CANDIDATES:
                kept.clear()
                owner.clear()
            kept.update(fresh)
            owner.update((sid, pid) for pid, rows in fresh.items() for sid in rows[0])
        columns = _assemble(found, texts, slots)
        if not unowned:
            for array in (columns.sentence_ids, columns.passage_ids, columns.starts):
                array.flags.writeable = False
            if len(self._assembled) >= _KEPT_ASSEMBLED:
                self._assembled.clear()
            self._assembled[key] = columns
        return columns

    def _read_candidates(self, passage_ids: list[int], sentence_ids: list[int]) -> dict[int, _CandidateRows]:
        """The rows of these passages and of those holding these sentences, one statement."""
        parts, params = [], []
        if sentence_ids:
            marks, ids = in_list(sentence_ids)
            parts.append(f"SELECT passage_id FROM sentences WHERE id IN ({marks})")
            params += ids
        if passage_ids:
            marks, ids = in_list(passage_ids)
            parts.append(f"SELECT id FROM passages WHERE id IN ({marks})")
            params += ids
        rows = self.query(
            "SELECT s.passage_id, s.id, s.text, s.slots, p.article_id, p.paragraph, p.kind, p.window "
            f"FROM sentences s JOIN passages p ON p.id = s.passage_id WHERE s.passage_id IN ({' UNION '.join(parts)}) "
            "ORDER BY s.passage_id, s.position",
            params,
        )
        grouped: dict[int, list[tuple[Any, ...]]] = {}
        for r in rows:
            grouped.setdefault(r[0], []).append(r)
        return {
            pid: (
                tuple(r[1] for r in group),
                (group[0][4], group[0][5], group[0][6], group[0][7]),
                tuple(r[2] for r in group),
                tuple(r[3] for r in group),
            )
            for pid, group in grouped.items()
        }

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


def _assemble(found: dict[int, _CandidateRows], texts: bool, slots: bool) -> Candidates:
    """The candidates' columns from their passages' kept rows, in passage order."""
    if not found:
        none = np.zeros(0, dtype=np.int64)
        return Candidates(none, none, none, [] if texts else None, [] if slots else None, {}, {})
    order = sorted(found)
    groups = [found[pid] for pid in order]
    counts = [len(g[0]) for g in groups]
    owners = np.repeat(np.array(order, dtype=np.int64), counts)
    starts = np.zeros(len(order), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    sids = [sid for g in groups for sid in g[0]]
    return Candidates(
        sentence_ids=np.array(sids, dtype=np.int64),
        passage_ids=owners,
        starts=starts,
        texts=[t for g in groups for t in g[2]] if texts else None,
        slots=[x for g in groups for x in g[3]] if slots else None,
        passages={pid: g[1] for pid, g in zip(order, groups, strict=True)},
        owner=dict(zip(sids, owners.tolist(), strict=True)),
    )
