"""The embedded backend's lexical side: SQLite FTS5 BM25, or its postings as arrays when large.

The FTS5 tables live in `store.sqlite` beside the passages and sentences they index (kept in step
by triggers, see `bot/index/writer.py`) and use the Porter stemmer. A large index
(`LEXICAL_POSTINGS_THRESHOLD`) has its FTS5 postings as arrays too (`bot/index/postings.py`):
then term lookups and BM25 run on them, with FTS5's tokens and scores, and FTS5 answers only
what they cannot (phrases of several tokens, case).

Which words are key terms, typos and IDF are retrieval's (`bot/retrieval/lexical.py`); this
module only says which rows hold a word and how they score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.index.postings import LexicalIndex, Postings
from bot.index.records import Hit, Hits, Kind
from bot.index.sqlite import ReadStore, in_list

#: Per kind: the FTS5 table and its BM25 expression (passages weigh their context half).
_TABLES: dict[str, tuple[str, str]] = {
    "passages": ("passages_fts", "bm25(passages_fts, 1.0, 0.5)"),
    "sentences": ("sentences_fts", "bm25(sentences_fts)"),
}


def _phrase(term: str) -> str:
    """A term as an FTS5 string literal (quotes doubled), safe whatever it contains."""
    return '"' + term.replace('"', '""') + '"'


class _Union:
    """SELECTs of two columns (row id, value) run as one `UNION ALL` statement, rows kept apart.

    On a small index each statement costs as much again as its search, so a question's lookups
    and searches go to SQLite together.
    """

    #: Parts and bound values per statement (SQLite allows 500 parts in a compound SELECT and,
    #: unless built otherwise, 32,766 values).
    LIMIT = 400
    MAX_VALUES = 30_000

    def __init__(self) -> None:
        self.parts: list[tuple[str, list[object]]] = []
        self.rows: list[list[tuple[int, Any]]] = []

    def add(self, select: str, params: list[object]) -> list[tuple[int, Any]]:
        """Queue a SELECT; returns the list its rows will be in once `run` has run."""
        self.parts.append((select, params))
        self.rows.append([])
        return self.rows[-1]

    def run(self, store: ReadStore) -> None:
        """Run the queued SELECTs, as few statements as the limits allow."""
        first = 0
        while first < len(self.parts):
            last, values = first, 0
            while last < len(self.parts) and last - first < self.LIMIT:
                if last > first and values + len(self.parts[last][1]) > self.MAX_VALUES:
                    break
                values += len(self.parts[last][1])
                last += 1
            chunk = self.parts[first:last]
            sql = " UNION ALL ".join(f"SELECT {first + i}, * FROM ({select})" for i, (select, _) in enumerate(chunk))
            params = [p for _, ps in chunk for p in ps]
            for part, rowid, value in store.query(sql, params):
                self.rows[part].append((rowid, value))
            first = last


#: How `matching(..., within)` filters an FTS5 table's rows by a list. `MATCH ? AND rowid IN (...)`
#: has SQLite call FTS5 once per listed row, each running the whole query again; `+rowid IN (...)`
#: keeps the list from FTS5, which reads the phrase's rows once, filtered by SQLite. Measured
#: (docs/performance.md, "Query path, 21:30-23:30"): 8 listed rows of the 24-sentence seed, 60 µs
#: against 25; 16 rows of 100,000 (a word in 10% of them), 1.5 ms against 0.9, and 0.32 against
#: 0.11 for a word in 1%. Lookups win only for a few rows of a large table: the list is scanned
#: from `SCAN_LIST` rows on, or when the table has at most `SCAN_PER_LOOKUP` rows per listed row.
SCAN_LIST = 8
SCAN_PER_LOOKUP = 64


class Fts:
    """BM25 and term lookups over one version: postings arrays where the build wrote them, else FTS5."""

    def __init__(
        self,
        store: ReadStore,
        postings: Callable[[str], LexicalIndex | None],
        rows: Callable[[Kind], int] | None = None,
    ) -> None:
        """`rows`: how many rows a kind holds, which chooses how `matching(..., within)` filters."""
        self.store = store
        self.postings = {kind: postings(kind) for kind in _TABLES}
        self.rows = rows

    def matching(
        self, kind: Kind, words: Sequence[str], within: Sequence[int] | None = None
    ) -> list[frozenset[int] | Postings]:
        """For each word, the rows of a kind that hold it (only rows of `within`, if given)."""
        batch = _Union()
        matched = self._matching_in(batch, kind, words, within)
        batch.run(self.store)
        return matched()

    def _matching_in(
        self, batch: _Union, kind: Kind, words: Sequence[str], within: Sequence[int] | None
    ) -> Callable[[], list[frozenset[int] | Postings]]:
        """`matching` as parts of a statement: returns what gives the answer once it has run.

        The postings arrays answer what they can; FTS5 the other words, one `MATCH` each.
        """
        postings, table = self.postings[kind], _TABLES[kind][0]
        found: list[frozenset[int] | Postings] = [frozenset()] * len(words)
        asked: dict[int, list[tuple[int, Any]]] = {}
        marks, within_ids = in_list(within or ())
        where = ""
        if within is not None:
            # `+rowid` keeps the list from FTS5 (one scan of the phrase's rows, filtered by SQLite).
            listed = len(set(within_ids))
            scan = listed >= SCAN_LIST or (self.rows is not None and self.rows(kind) <= SCAN_PER_LOOKUP * listed)
            where = f" AND {'+' if scan else ''}rowid IN ({marks})"
        for i, word in enumerate(words):
            if postings is not None and (hit := postings.postings(word)) is not None:
                found[i] = hit if within is None else hit & within
            else:
                select = f"SELECT rowid, NULL FROM {table} WHERE {table} MATCH ?{where}"
                asked[i] = batch.add(select, [_phrase(word), *within_ids])

        def answer() -> list[frozenset[int] | Postings]:
            for i, rows in asked.items():
                found[i] = frozenset(r for r, _ in rows)
            return found

        return answer

    def bm25(self, words: Sequence[str], passages: int, sentences: int) -> Hits:
        """The best `passages` passages and `sentences` sentences by BM25, (id, score) best first."""
        batch = _Union()
        searched = self._bm25_in(batch, words, {"passages": passages, "sentences": sentences})
        batch.run(self.store)
        return searched()

    def _bm25_in(self, batch: _Union, words: Sequence[str], limits: dict[str, int]) -> Callable[[], Hits]:
        """`bm25` as parts of a statement, for the kinds with a limit above 0."""
        found: dict[str, list[Hit]] = {"passages": [], "sentences": []}
        asked: dict[str, list[tuple[int, Any]]] = {}
        for kind, limit in limits.items():
            if not words or limit <= 0:
                continue
            postings = self.postings[kind]
            if postings is not None and (hits := postings.search(words, limit)) is not None:
                found[kind] = hits
                continue
            table, bm25 = _TABLES[kind]
            select = f"SELECT rowid, -{bm25} FROM {table} WHERE {table} MATCH ? ORDER BY {bm25} LIMIT ?"
            asked[kind] = batch.add(select, [" OR ".join(_phrase(w) for w in words), limit])

        def answer() -> Hits:
            for kind, rows in asked.items():
                # In the table's order already, unless SQLite merged the parts otherwise.
                found[kind] = sorted(rows, key=lambda hit: -hit[1])
            return found["passages"], found["sentences"]

        return answer

    def lookup(
        self, words: Sequence[str], passages: int, sentences: int
    ) -> tuple[list[frozenset[int] | Postings], Hits]:
        """`matching("passages", words)` and `bm25(words, ...)` in one statement.

        FTS5 searches the words as written alongside their lookups: a word no passage holds adds
        no row and no score to `bm25()`. The postings arrays need no statement: they search the
        words found once the lookups have run (an unknown word has no postings to score).
        """
        in_fts = {
            "passages": passages if self.postings["passages"] is None else 0,
            "sentences": sentences if self.postings["sentences"] is None else 0,
        }
        batch = _Union()
        matched = self._matching_in(batch, "passages", words, None)
        searched = self._bm25_in(batch, words, in_fts)
        batch.run(self.store)
        matches = matched()
        found = searched()
        if (in_fts["passages"], in_fts["sentences"]) == (passages, sentences):
            return matches, found
        known = [w for w, m in zip(words, matches, strict=True) if m]
        arrays = self.bm25(known, passages - in_fts["passages"], sentences - in_fts["sentences"])
        return matches, (
            found[0] if in_fts["passages"] else arrays[0],
            found[1] if in_fts["sentences"] else arrays[1],
        )

    def vocabulary(self) -> list[str]:
        """Every (stemmed) term of the passages."""
        postings = self.postings["passages"]
        if postings is not None:  # fts5vocab would count every term's rows: a scan of the whole index
            return postings.vocabulary()
        return [r[0] for r in self.store.query("SELECT term FROM passages_vocab")]

    def written_as_name(self, stem: str) -> bool:
        """The passages write this word capitalised and never in lower case.

        A large index answers from the written forms its postings keep (`bot/index/postings.py`);
        a small one scans its passages, which costs milliseconds there and a second at 1M.
        """
        postings = self.postings["passages"]
        if postings is not None and (known := postings.written_as_name(stem)) is not None:
            return known
        padded = "(' ' || text || ' ')"
        rows = self.store.query(
            f"SELECT EXISTS(SELECT 1 FROM passages WHERE {padded} GLOB ?), "
            f"EXISTS(SELECT 1 FROM passages WHERE {padded} GLOB ?)",
            (f"*[^A-Za-z]{stem.capitalize()}[^A-Za-z]*", f"*[^A-Za-z]{stem}[^A-Za-z]*"),
        )
        return bool(rows[0][0]) and not rows[0][1]
