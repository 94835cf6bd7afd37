"""Writing FTS5's postings as arrays (`bot/index/postings.py` reads them): one segment per call.

A segment holds a kind's terms, their postings (row ids, term frequencies in `TF_UNIT` steps),
each row's length and, for passages, the forms words are written in. It is derived from the
FTS5 tables the build already filled, so the arrays and FTS5 never disagree.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.index.postings import FORM_SOURCES, POSTINGS_FORMAT, TABLES, TF_UNIT, TOKENIZE

#: A written word: a run of letters (digits, apostrophes and hyphens end it).
_LETTERS = re.compile(r"[^\W\d_]+")
#: Inside a word with letters beyond ASCII, its runs of ASCII letters count as words too ("rich"
#: in "Zürich", "Herv" in "Hervé"), as they did for the `GLOB` scan this replaces: the index's
#: tokens lose their diacritics ("herv"), so those runs are what its words are written as.
_ASCII_LETTERS = re.compile(r"[A-Za-z]+")
_FORMS_BATCH = 10_000


def written_forms(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """(words written capitalised, words written in lower case) in these texts, lower-cased.

    "Iran" adds "iran" to the first, "iran" to the second; "IRAN" and "iPhone" to neither;
    "Hervé" adds "hervé" and "herv" to the first.
    Texts are joined in batches so that the regex, not Python, walks the words.
    """
    forms: set[str] = set()
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) >= _FORMS_BATCH:
            forms.update(_LETTERS.findall("\n".join(batch)))
            batch.clear()
    forms.update(_LETTERS.findall("\n".join(batch)))
    forms.update(run for form in [f for f in forms if not f.isascii()] for run in _ASCII_LETTERS.findall(form))
    capital: set[str] = set()
    lower: set[str] = set()
    for form in forms:
        folded = form.lower()
        if form == folded:
            lower.add(form)
        elif form == folded.capitalize():
            capital.add(folded)
    return capital, lower


def _write_forms(conn: sqlite3.Connection, kind: str, path: Path, min_rowid: int | None) -> None:
    """Write a segment's written forms: one word a line, tab, "C" (capitalised), "L" or "CL"."""
    lines: list[str] = []
    if kind in FORM_SOURCES:
        table, column = FORM_SOURCES[kind]
        rows = conn.execute(f"SELECT {column} FROM {table} WHERE id >= ?", (min_rowid or 0,))
        capital, lower = written_forms(r[0] or "" for r in rows)
        lines = [f"{w}\t{'C' if w in capital else ''}{'L' if w in lower else ''}" for w in sorted(capital | lower)]
    path.write_text("\n".join(lines), encoding="utf-8")


def _read_postings(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], weights: Sequence[float]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Terms, and per posting (term, row): row id, column-weighted tf and raw tf, in term order.

    Read from fts5vocab's 'instance' view (every token occurrence, in term, row, column order),
    one SQL row per term: SQLite streams that grouping, and numpy splits the concatenated ids,
    so a million passages cost seconds rather than one Python object per occurrence.
    """
    vocab = f"lexical_instances_{table}"
    conn.execute(f"CREATE VIRTUAL TABLE temp.{vocab} USING fts5vocab(main, {table}, 'instance')")
    column = "CASE col " + " ".join(f"WHEN '{c}' THEN '{i}'" for i, c in enumerate(columns)) + " END"
    weight_of = np.asarray(weights, dtype=np.float32)
    terms: list[str] = []
    docs_parts: list[np.ndarray] = []
    tf_parts: list[np.ndarray] = []
    raw_parts: list[np.ndarray] = []
    try:
        rows = conn.execute(
            f"SELECT term, group_concat(doc, ' '), group_concat({column}, '') FROM temp.{vocab} GROUP BY term"
        )
        for term, doc_text, col_text in rows:
            docs = np.array(doc_text.split(" "), dtype=np.int64)
            cols = np.frombuffer(col_text.encode("ascii"), dtype=np.uint8) - ord("0")
            if len(docs) > 1 and np.any(docs[1:] < docs[:-1]):
                order = np.argsort(docs, kind="stable")
                docs, cols = docs[order], cols[order]
            starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
            terms.append(term)
            docs_parts.append(docs[starts])
            tf_parts.append(np.add.reduceat(weight_of[cols], starts))
            raw_parts.append(np.diff(np.r_[starts, len(docs)]).astype(np.int32))
    finally:
        conn.execute(f"DROP TABLE temp.{vocab}")
    offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs_parts], out=offsets[1:])

    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    return terms, offsets, joined(docs_parts, np.int64), joined(tf_parts, np.float32), joined(raw_parts, np.int32)


def write_segment(
    conn: sqlite3.Connection, kind: str, directory: Path, prefix: str, *, min_rowid: int | None = None
) -> dict[str, Any]:
    """Write the postings of a kind's FTS5 table (or only of its rows from `min_rowid` on).

    Returns the segment's entry for the manifest: its name, rows and total tokens (what BM25's
    N and average length sum over segments).
    """
    table, columns, weights = TABLES[kind]
    source = conn
    if min_rowid is not None:
        # The added rows alone, tokenised by a scratch table with the same tokenizer: exact, and
        # proportional to what was added rather than to the index.
        source = sqlite3.connect(":memory:")
        cols = ", ".join(columns)
        source.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({cols}, tokenize = '{TOKENIZE}')")
        marks = ", ".join("?" * (len(columns) + 1))
        source.executemany(
            f"INSERT INTO {table} (rowid, {cols}) VALUES ({marks})",
            conn.execute(f"SELECT rowid, {cols} FROM {table} WHERE rowid >= ?", (min_rowid,)),
        )
    try:
        rows_total = int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        terms, offsets, docs, tf, raw = _read_postings(source, table, columns, weights)
    finally:
        if source is not conn:
            source.close()
    # A row's length is its tokens in all columns, as FTS5's xColumnSize(-1) counts them; kept
    # once per row, from the segment's first row id (an appended segment's ids start above the
    # base's), and exact in float32 up to 16M tokens.
    first = int(docs.min()) if len(docs) else 0
    lengths = np.bincount(docs - first, weights=raw).astype(np.float32) if len(docs) else np.zeros(0, np.float32)
    # Every tf in units of 0.5 fits a uint16; a segment with one that does not keeps float32
    # rather than drift from FTS5's scores.
    units = tf / np.float32(TF_UNIT)
    exact = not len(tf) or (np.array_equal(units, np.round(units)) and units.max() <= np.iinfo(np.uint16).max)
    arrays = {
        "offsets": offsets,
        "docs": docs.astype(np.int32) if not len(docs) or docs.max() < 2**31 else docs,
        "tf": units.astype(np.uint16) if exact else tf,
        "lengths": lengths,
    }
    (directory / f"{prefix}.terms").write_text("\n".join(terms), encoding="utf-8")
    _write_forms(conn, kind, directory / f"{prefix}.forms", min_rowid)
    for name, array in arrays.items():
        np.save(directory / f"{prefix}.{name}.npy", array)
    return {
        "name": prefix,
        "rows": rows_total,
        "tokens": int(raw.sum(dtype=np.int64)),
        "forms": kind in FORM_SOURCES,
        "format": POSTINGS_FORMAT,
        "first": first,
    }
