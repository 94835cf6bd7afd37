"""The text Milvus's BM25 analyses: the embedded index's own tokens, so both backends match alike.

The embedded index tokenises with SQLite FTS5's `porter unicode61 remove_diacritics 2`. Milvus's
analysers differ (Milvus has a Snowball `english` analyser; milvus-lite only a word-character tokenizer
with lower-casing): a question stemmed one way and passages stemmed another would match other
rows than on the embedded backend. So the English analysis (Unicode folding, diacritics removed,
Porter stemming) happens here, with FTS5 itself on a scratch table, and Milvus stores and
searches the result: space-separated lower-case tokens that any Milvus tokenizer splits back into
exactly these tokens. A BM25 Function on that field gives the sparse vectors on the server.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from bot.index.postings import TOKENIZE

#: What Milvus is told to analyse the token field with: split on word characters, lower-case.
#: The tokens are already lower case and stemmed; this only splits them again.
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}

_lock = threading.Lock()
_conn: sqlite3.Connection | None = None


def _scratch() -> sqlite3.Connection:
    """An in-memory FTS5 table with the index's tokenizer, opened on first use."""
    global _conn
    if _conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute(f"CREATE VIRTUAL TABLE texts USING fts5(t, tokenize = '{TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE tokens USING fts5vocab(texts, 'instance')")
        _conn = conn
    return _conn


def tokens(texts: Sequence[str]) -> list[list[str]]:
    """Each text's tokens in order, exactly as the embedded index's FTS5 tables hold them."""
    out: list[list[str]] = [[] for _ in texts]
    if not texts:
        return out
    with _lock:
        conn = _scratch()
        conn.executemany("INSERT INTO texts (rowid, t) VALUES (?, ?)", enumerate(texts))
        for doc, term in conn.execute("SELECT doc, term FROM tokens ORDER BY doc, offset"):
            out[doc].append(term)
        conn.execute("DELETE FROM texts")
    return out


def analysed(texts: Sequence[str]) -> list[str]:
    """Each text as the space-separated tokens Milvus stores in the BM25 field."""
    return [" ".join(t) for t in tokens(texts)]
