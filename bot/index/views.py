"""The index's browsing views (/start, /who, /sources, --speakers), kept per version at build time.

Why: computed on every call they read the whole index. /start joined every passage's text
(half a gigabyte at 1,000,000 passages) to pick three example questions; `--speakers` and `/who`
grouped or LIKE-scanned every sentence. Instead a build keeps small tables beside the passages:

- `speakers`: each named source (case-insensitive), its full name and its sentence count;
  an incremental build recounts only the sources of the articles it added or removed;
- `publishers`: articles, passages and first/last date per publisher;
- `summary`: the example questions for /start (JSON), chosen once per build.

Readers then answer from these tables and from indexes: `/who NAME` looks the name up among the
sources (not the sentences) and reads each matching source's first sentences through an index.
The reading functions take the version's `ReadStore` (`bot/index/sqlite.py`), so the benchmark
(`benchmarks/bench_views.py`) times the very statements the engine runs.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.index.records import PublisherCount, SourceQuote, SpeakerCount, passage_record, sentence_record
from bot.index.sqlite import PASSAGE_COLUMNS, SENTENCE_COLUMNS
from bot.text.wording import wording

if TYPE_CHECKING:
    from bot.index.sqlite import ReadStore

#: Example questions stored per version (/start shows three).
EXAMPLES = 5
#: Matching sources `/who NAME` reads quotes from, most quoted first.
MAX_NAMES = 50
#: Articles /sources lists (newest first); above it, a line per publisher comes first.
LIST_ARTICLES = 30
#: Sources `/who` lists (most quoted first); `scripts/query.py --speakers` lists them all.
LIST_SPEAKERS = 50

SCHEMA = """
-- Sentence counts per (source, full name) as written: kept by adding and subtracting what a build
-- inserts and deletes, so an incremental build never recounts a much-quoted source.
CREATE TABLE speaker_forms (
    name TEXT NOT NULL, full TEXT NOT NULL, sentences INTEGER NOT NULL, PRIMARY KEY (name, full)
);
CREATE INDEX speaker_forms_by_name ON speaker_forms (name COLLATE NOCASE);
-- What the views read: one row per source (names compared without case), with its fullest name.
CREATE TABLE speakers (name TEXT NOT NULL, full TEXT, sentences INTEGER NOT NULL);
CREATE UNIQUE INDEX speakers_by_name ON speakers (name COLLATE NOCASE);
CREATE INDEX speakers_by_count ON speakers (sentences DESC, name);
CREATE TABLE publishers (
    publisher TEXT PRIMARY KEY, articles INTEGER NOT NULL, passages INTEGER NOT NULL,
    first_date TEXT, last_date TEXT
);
CREATE TABLE summary (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX articles_by_date ON articles (date DESC, title);
-- The passages under a section heading, in order: examples find the first headings at once.
CREATE INDEX passages_with_section ON passages (id) WHERE section IS NOT NULL AND section != '';
-- A source's sentences in index order: /who NAME reads the first few without sorting them all.
CREATE INDEX sentences_by_source ON sentences (speaker COLLATE NOCASE, id) WHERE speaker_kind = 'source';
"""


# --- Written at build time (IndexWriter.commit) ---------------------------------------------


def refresh(db: sqlite3.Connection, changes: Mapping[tuple[str, str | None], int] | None) -> None:
    """Bring the view tables in line with the rows: in full, or by the sentence counts that changed.

    `changes` maps (source, full name) to how many of its sentences this build inserted (positive)
    or deleted (negative); None recounts every source, as a full build does. Only the sources
    named there are redone, from their few forms: no sentence is read. Publishers and examples
    are cheap (a row per article at most): always redone.
    """
    if changes is None:
        db.execute("DELETE FROM speaker_forms")
        db.execute(
            "INSERT INTO speaker_forms SELECT speaker, coalesce(speaker_full, ''), count(*) FROM sentences "
            "WHERE speaker_kind = 'source' GROUP BY speaker, coalesce(speaker_full, '')"
        )
        db.execute("DELETE FROM speakers")
        db.execute(
            "INSERT INTO speakers SELECT name, max(nullif(full, '')), sum(sentences) FROM speaker_forms "
            "GROUP BY name COLLATE NOCASE"
        )
    else:
        for (name, full), delta in changes.items():
            if delta:
                db.execute(
                    "INSERT INTO speaker_forms VALUES (?, ?, ?) "
                    "ON CONFLICT (name, full) DO UPDATE SET sentences = sentences + excluded.sentences",
                    (name, full or "", delta),
                )
        db.execute("DELETE FROM speaker_forms WHERE sentences <= 0")
        for name in {name.casefold(): name for name, _ in changes}.values():
            db.execute("DELETE FROM speakers WHERE name = ? COLLATE NOCASE", (name,))
            db.execute(
                "INSERT INTO speakers SELECT name, max(nullif(full, '')), sum(sentences) FROM speaker_forms "
                "WHERE name = ? COLLATE NOCASE GROUP BY name COLLATE NOCASE",
                (name,),
            )
    db.execute("DELETE FROM publishers")
    db.execute(
        "INSERT INTO publishers SELECT coalesce(publisher, ''), count(*), sum(passages), min(date), max(date) "
        "FROM articles GROUP BY coalesce(publisher, '')"
    )
    db.execute("INSERT OR REPLACE INTO summary VALUES ('examples', ?)", (json.dumps(_examples(db, EXAMPLES)),))


def _examples(db: sqlite3.Connection, n: int) -> list[str]:
    """Questions the index can answer: from its first section headings, its most quoted sources, its titles."""
    (articles,) = db.execute("SELECT count(*) FROM articles").fetchone()
    words = wording(articles)
    about = f"What {words.does} {words.the} say about"
    sections: list[str] = []
    # Sections in the order they first appear (by passage id); stops as soon as enough are found.
    rows = db.execute("SELECT section FROM passages WHERE section IS NOT NULL AND section != '' ORDER BY id")
    for (section,) in rows:
        if section not in sections:
            sections.append(section)
            if len(sections) >= max(n - 1, 1):
                break
    out: list[str] = []
    for section in sections:
        first, _, rest = section.partition(" ")
        # Keep a proper noun's capital ("Russia ..."), lower an ordinary first word ("Joint ...").
        if not _written_capitalised(db, first):
            first = first[:1].lower() + first[1:]
        out.append(f"{about} {' '.join(p for p in (first, rest) if p)}?")
    for name, full in db.execute("SELECT name, full FROM speakers ORDER BY sentences DESC, name LIMIT ?", (n,)):
        out.append(f"What did {speaker_label(name, full)} say?")
    for (title,) in db.execute("SELECT title FROM articles ORDER BY date DESC, title LIMIT ?", (n,)):
        out.append(f"{about} {title}?")
    return list(dict.fromkeys(out))[:n]


def _written_capitalised(db: sqlite3.Connection, word: str) -> bool:
    """Whether the passages write `word` capitalised inside a sentence (a name), found through FTS5."""
    if not word.isalpha():
        return False
    rows = db.execute(
        "SELECT text FROM passages WHERE id IN (SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1000)",
        (f'text : "{word}"',),
    )
    return any(f" {word} " in text for (text,) in rows)


# --- Read by the engine ---------------------------------------------------------------------


def speaker_label(name: str, full: str | None) -> str:
    """`SOHR (Syrian Observatory for Human Rights)` when the report spelled the acronym out."""
    return f"{name} ({full})" if full else name


def examples(store: ReadStore, n: int = 3) -> list[str]:
    """The example questions the build stored."""
    rows = store.query("SELECT value FROM summary WHERE key = 'examples'")
    return json.loads(rows[0][0])[:n] if rows else []


def speakers(store: ReadStore, limit: int | None = None) -> list[SpeakerCount]:
    """Named sources with their sentence counts, most quoted first (all of them, or the first `limit`)."""
    rows = store.query(
        "SELECT name, full, sentences FROM speakers ORDER BY sentences DESC, name LIMIT ?",
        (-1 if limit is None else limit,),
    )
    return [SpeakerCount(speaker_label(name, full), n) for name, full, n in rows]


def speaker_count(store: ReadStore) -> int:
    """How many named sources the index holds."""
    return int(store.query("SELECT count(*) FROM speakers")[0][0])


def _wanted(name: str) -> str:
    """What `/who NAME` looks for: the name without a leading "the" and without a listed full name."""
    wanted = " ".join(name.replace("’", "'").split())
    wanted = re.sub(r"^the\s+", "", wanted, flags=re.I)
    listed = re.fullmatch(r"(?P<name>.+?)\s*\((?P<full>[^()]+)\)", wanted)
    return listed.group("name") if listed else wanted


def source_names(store: ReadStore, name: str) -> list[str]:
    """The sources a `/who NAME` means: by name, full name or acronym, in any case, most quoted first.

    `SOHR`, `sohr`, `the Syrian Observatory for Human Rights` and `SOHR (Syrian Observatory for
    Human Rights)` (a line of the list) all mean SOHR; a part of a name matches too.
    """
    wanted = _wanted(name)
    like = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = store.query(
        "SELECT name FROM speakers WHERE name LIKE ? ESCAPE '\\' OR full LIKE ? ESCAPE '\\' "
        "ORDER BY sentences DESC, name LIMIT ?",
        (like, like, MAX_NAMES),
    )
    return [r[0] for r in rows]


def source_matches(name: str, sources: list[tuple[str, str | None]]) -> list[str]:
    """`source_names` over sources already listed most quoted first, as (name, full name) pairs.

    For a backend without SQL (Milvus): the same match as SQLite's LIKE, which ignores the case
    of ASCII letters only.
    """
    wanted = _fold(_wanted(name))
    found = [n for n, full in sources if wanted in _fold(n) or (full is not None and wanted in _fold(full))]
    return found[:MAX_NAMES]


def _fold(text: str) -> str:
    """ASCII letters in lower case, the others as they are (SQLite's LIKE)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def source_quotes(store: ReadStore, names: list[str], limit: int) -> list[SourceQuote]:
    """The first `limit` sentences (in index order) attributed to any of `names`, with their passages."""
    ids: list[int] = []
    for name in names:  # one index range per source: no sort of a much-quoted source's sentences
        ids += [
            r[0]
            for r in store.query(
                "SELECT id FROM sentences WHERE speaker_kind = 'source' AND speaker = ? COLLATE NOCASE "
                "ORDER BY id LIMIT ?",
                (name, limit),
            )
        ]
    ids = sorted(ids)[:limit]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = store.query(
        f"SELECT {SENTENCE_COLUMNS}, {PASSAGE_COLUMNS} FROM sentences s "
        f"JOIN passages p ON p.id = s.passage_id WHERE s.id IN ({marks}) ORDER BY s.id",
        ids,
    )
    return [SourceQuote(passage_record(r[13:]), sentence_record(r)) for r in rows]


def newest_articles(store: ReadStore, limit: int | None = None) -> list[tuple[str, int]]:
    """(article id, passages) newest first: all of them, or the first `limit` (through an index)."""
    rows = store.query(
        "SELECT id, passages FROM articles ORDER BY date DESC, title LIMIT ?", (-1 if limit is None else limit,)
    )
    return [(r[0], r[1]) for r in rows]


def article_passages(store: ReadStore, article_id: str) -> int | None:
    """How many passages one article has, or None when it is not in the index."""
    rows = store.query("SELECT passages FROM articles WHERE id = ?", (article_id,))
    return int(rows[0][0]) if rows else None


def publishers(store: ReadStore) -> list[PublisherCount]:
    """(publisher, articles, passages, first date, last date), the largest first."""
    rows = store.query(
        "SELECT publisher, articles, passages, first_date, last_date FROM publishers ORDER BY articles DESC, publisher"
    )
    return [PublisherCount(*r) for r in rows]
