"""Rows of one built embedded version, as the Milvus collections take them.

A Milvus build is the embedded build followed by a copy: the articles are split, attributed,
embedded and counted exactly once, by the code that builds the embedded index (so both backends
hold the same passages, speakers and vectors), into a staging index folder on the build machine;
this module reads that version (`store.sqlite`, the FAISS files, the manifest) back as rows.
Only SQL against the version's own store: the embedded store's schema is the source of truth.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.errors import IndexUnavailable
from bot.index.milvus.analysis import tokens
from bot.index.milvus.schema import MAX_TEXT
from bot.index.vectors import id_mapped

#: A written word as the embedded index's name test reads it: a run of ASCII letters.
WORD = re.compile(r"[A-Za-z]+")
#: Rows read and sent per batch.
BATCH = 1_000

_PASSAGES = (
    "SELECT p.id, p.article_id, p.paragraph, p.window, p.kind, p.section, p.text, p.content_hash, "
    "coalesce(a.title, '') || ' ' || coalesce(p.section, '') "
    "FROM passages p LEFT JOIN articles a ON a.id = p.article_id"
)
_SENTENCES = (
    "SELECT s.id, s.passage_id, p.article_id, s.position, s.start, s.end, s.text, s.speaker, s.speaker_kind, "
    "s.speaker_via, s.speaker_full, s.speaker_rule, s.said_as, s.slots "
    "FROM sentences s JOIN passages p ON p.id = s.passage_id"
)


def _fits(value: str | None, what: str) -> str | None:
    if value is not None and len(value.encode("utf-8")) > MAX_TEXT:
        raise IndexUnavailable(
            f"{what} is {len(value.encode('utf-8'))} bytes, more than a Milvus text field takes ({MAX_TEXT})",
            hint="split the article into shorter paragraphs, or use SEARCH_BACKEND=embedded",
        )
    return value


class Version:
    """One published embedded version, opened read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        uri = f"file:{(path / 'store.sqlite').resolve()}?mode=ro&immutable=1"
        self.db = sqlite3.connect(uri, uri=True)
        self._vectors: dict[str, list[faiss.IndexIDMap]] = {}
        self._where: dict[str, dict[int, tuple[int, int]]] = {}

    @property
    def dimension(self) -> int:
        """The vectors' dimension."""
        return int(self.manifest["dimension"])

    def close(self) -> None:
        """Close the store."""
        self.db.close()

    # --- vectors -------------------------------------------------------------------------

    def _segments(self, kind: str) -> list[faiss.IndexIDMap]:
        if kind not in self._vectors:
            names = self.manifest.get("vector_index", {}).get(kind, {}).get("segments") or [f"{kind}.faiss"]
            self._vectors[kind] = [id_mapped(faiss.read_index(str(self.path / n))) for n in names]
        return self._vectors[kind]

    def vectors(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these rows, as the embedded index searches them."""
        where = self._where.get(kind)
        if where is None:
            where = {}
            for s, index in enumerate(self._segments(kind)):
                for offset, row in enumerate(faiss.vector_to_array(index.id_map).tolist()):
                    where[row] = (s, offset)
            self._where[kind] = where
        segments = self._segments(kind)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for i, row in enumerate(ids):
            s, offset = where[row]
            out[i] = faiss.downcast_index(segments[s].index).reconstruct(offset)
        return out

    # --- rows ----------------------------------------------------------------------------

    def _batches(self, sql: str, where: str, params: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
        cursor = self.db.execute(f"{sql} {where} ORDER BY 1", params)
        while rows := cursor.fetchmany(BATCH):
            yield rows

    def passages(self, articles: Sequence[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Passage rows in batches (of the given articles only, if given), with vectors and BM25 tokens."""
        where, params = _of_articles("p.article_id", articles)
        for rows in self._batches(_PASSAGES, where, params):
            vectors = self.vectors("passages", [r[0] for r in rows])
            text_tokens = tokens([r[6] for r in rows])
            context_tokens = tokens([r[8] for r in rows])
            yield [
                {
                    "id": r[0],
                    "article_id": r[1],
                    "paragraph": r[2],
                    "window": r[3],
                    "kind": r[4],
                    "section": r[5],
                    "text": _fits(r[6], f"passage {r[0]} of {r[1]}"),
                    "content_hash": r[7],
                    "vector": v.tolist(),
                    "terms": _fits(" ".join(t + c), f"passage {r[0]} of {r[1]}"),
                    "context_len": len(c),
                }
                for r, v, t, c in zip(rows, vectors, text_tokens, context_tokens, strict=True)
            ]

    def sentences(self, articles: Sequence[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Sentence rows in batches (of the given articles only, if given), with vectors and BM25 tokens."""
        where, params = _of_articles("p.article_id", articles)
        for rows in self._batches(_SENTENCES, where, params):
            vectors = self.vectors("sentences", [r[0] for r in rows])
            yield [
                {
                    "id": r[0],
                    "passage_id": r[1],
                    "article_id": r[2],
                    "position": r[3],
                    "start": r[4],
                    "end": r[5],
                    "text": r[6],
                    "speaker": r[7],
                    "speaker_key": r[7].lower() if r[8] == "source" else "",
                    "speaker_kind": r[8],
                    "speaker_via": r[9],
                    "speaker_full": r[10],
                    "speaker_rule": r[11],
                    "said_as": r[12],
                    "slots": r[13],
                    "vector": v.tolist(),
                    "terms": " ".join(t),
                    "context_len": 0,
                }
                for r, v, t in zip(rows, vectors, tokens([r[6] for r in rows]), strict=True)
            ]

    def articles(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Article rows (all, or the given ones)."""
        where, params = _of_articles("id", ids)
        rows = self.db.execute(
            f"SELECT id, title, publisher, date, url, byline, path, content_hash, passages FROM articles {where}",
            params,
        )
        names = ("id", "title", "publisher", "date", "url", "byline", "path", "content_hash", "passages")
        return [{**dict(zip(names, r, strict=True)), "pad": [0.0, 0.0]} for r in rows]

    def paragraphs(self, articles: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Paragraph rows (of the given articles only, if given)."""
        where, params = _of_articles("article_id", articles)
        rows = self.db.execute(f"SELECT article_id, paragraph, kind, section, text FROM paragraphs {where}", params)
        return [
            {
                "key": paragraph_key(a, n),
                "article_id": a,
                "paragraph": n,
                "kind": k,
                "section": s,
                "text": _fits(t, f"paragraph {n} of {a}"),
                "pad": [0.0, 0.0],
            }
            for a, n, k, s, t in rows
        ]

    def hashes(self) -> dict[str, str]:
        """Each article's content hash: what an incremental copy compares."""
        return dict(self.db.execute("SELECT id, content_hash FROM articles").fetchall())

    # --- views ---------------------------------------------------------------------------

    def speakers(self) -> list[dict[str, Any]]:
        """The build's per-source counts (`bot/index/views.py`), keyed without case."""
        rows = self.db.execute("SELECT name, full, sentences FROM speakers")
        return [{"key": n.lower(), "name": n, "full": f, "sentences": c, "pad": [0.0, 0.0]} for n, f, c in rows]

    def publishers(self) -> list[dict[str, Any]]:
        """The build's per-publisher counts (a missing publisher is stored as the empty string)."""
        rows = self.db.execute("SELECT publisher, articles, passages, first_date, last_date FROM publishers")
        return [
            {"publisher": p or "", "articles": a, "passages": n, "first_date": f, "last_date": last, "pad": [0.0, 0.0]}
            for p, a, n, f, last in rows
        ]

    def summary(self) -> dict[str, str]:
        """The build's summary rows (example questions) and the facts a Milvus reader checks."""
        rows = dict(self.db.execute("SELECT key, value FROM summary").fetchall())
        m = self.manifest
        facts = {
            k: m.get(k)
            for k in ("model", "dimension", "built_at", "build_seconds", "counts", "backend", "schema", "splitter")
        }
        rows["facts"] = json.dumps({**facts, "source_version": self.path.name})
        # Tokens per kind over every row and column: BM25's average row length, as FTS5 counts it.
        rows["tokens"] = json.dumps({kind: self._total(kind) for kind in ("passages", "sentences")})
        return rows

    def _total(self, kind: str) -> int:
        self.db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{kind}_rows USING fts5vocab(main, '{kind}_fts', 'row')"
        )
        return int(self.db.execute(f"SELECT coalesce(sum(cnt), 0) FROM temp.{kind}_rows").fetchone()[0])

    def words(self, only: set[str] | None = None) -> list[dict[str, Any]]:
        """Per token: the passages and sentences holding it; per written word: its forms.

        `only`: just these keys (an incremental copy redoes the words its articles touched).
        """
        counts: dict[str, dict[str, Any]] = {}

        def row(key: str) -> dict[str, Any]:
            return counts.setdefault(
                key,
                {"word": key, "passages": 0, "sentences": 0, "capitalised": False, "lower": False, "pad": [0.0, 0.0]},
            )

        for kind, table in (("passages", "passages_fts"), ("sentences", "sentences_fts")):
            self.db.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{kind}_rows USING fts5vocab(main, '{table}', 'row')"
            )
            for term, docs in self.db.execute(f"SELECT term, doc FROM temp.{kind}_rows"):
                if only is None or term in only:
                    row(term)[kind] = docs
        forms: Counter[str] = Counter()
        for (text,) in self.db.execute("SELECT text FROM passages"):
            forms.update(set(WORD.findall(text)))
        for form in forms:
            key = form.lower()
            if only is not None and key not in only:
                continue
            if form == key:
                row(key)["lower"] = True
            elif form == key.capitalize():
                row(key)["capitalised"] = True
        return [r for r in counts.values() if len(r["word"].encode("utf-8")) <= 512]


def paragraph_key(article_id: str, paragraph: int) -> str:
    """The primary key of a paragraph row."""
    return f"{article_id}#{paragraph}"


def _of_articles(column: str, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    if ids is None:
        return "", []
    return f"WHERE {column} IN ({','.join('?' * len(ids))})", list(ids)
