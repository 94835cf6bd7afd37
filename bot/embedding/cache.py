"""Vectors kept by (model, text) across builds, so only new or changed text is ever embedded.

Keyed by a hash of the model name and the exact embedded text: a passage whose article changed
elsewhere keeps its vector, and switching models can never serve a stale vector.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_FILE = Path("cache") / "embeddings.sqlite"


def cache_key(model: str, text: str) -> str:
    """Hash of what determines a vector: the model and the exact text."""
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """A SQLite table of vectors; transactional, so a killed build leaves it consistent."""

    def __init__(self, index_dir: Path, model: str) -> None:
        path = index_dir / CACHE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model = model
        try:
            self.db = self._open(path)
        except sqlite3.DatabaseError:
            # A damaged cache only costs re-embedding: start a new one.
            path.unlink(missing_ok=True)
            self.db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return db

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the keys that have one."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: list[tuple[str, np.ndarray]]) -> None:
        """Store vectors; committed at once so that progress survives an interrupted build."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
            )

    def embed(
        self,
        texts: list[str],
        encode: Callable[[list[str]], np.ndarray],
        dimension: Callable[[], int],
        *,
        batch: int = 256,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for `texts` (cached where possible) and how many had to be embedded.

        `on_progress(done, total)` counts the texts really embedded (cached ones are not work):
        first (0, total), then after each chunk; never called when every text is cached.
        """
        keys = [cache_key(self.model, t) for t in texts]
        found = self.get_many(list(dict.fromkeys(keys)))
        text_of = dict(zip(keys, texts, strict=True))
        # Longest first over all missing texts, as the encoder sorts within one call: chunks of
        # `batch` (a multiple of the encoder's batch size) then pad like a single call would.
        missing = sorted(dict.fromkeys(k for k in keys if k not in found), key=lambda k: -len(text_of[k]))
        if on_progress and missing:
            on_progress(0, len(missing))
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors = encode([text_of[k] for k in chunk])
            self.put_many(list(zip(chunk, vectors, strict=True)))
            found.update(zip(chunk, vectors, strict=True))
            if on_progress:
                on_progress(start + len(chunk), len(missing))
        if not texts:
            return np.zeros((0, dimension()), dtype=np.float32), 0
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False), len(missing)

    def rows(self) -> int:
        """How many vectors the cache holds."""
        return int(self.db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def prune(self, keep: set[str]) -> int:
        """Delete every vector whose key is not in `keep`; returns how many went.

        The file shrinks too (VACUUM) once a quarter of it is free pages: deleted rows alone only
        stop it growing. VACUUM needs room for a copy, so on a full disk it is skipped; the free
        pages are then reused by the next build.
        """
        db = self.db
        db.execute("PRAGMA temp_store=MEMORY")  # the key list must not need disk space either
        with db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
            db.execute("DELETE FROM keep")
            db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
            removed = db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)").rowcount
            db.execute("DROP TABLE keep")
        if removed:
            free, pages = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
            try:
                if free * 4 > pages:
                    db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
        return int(removed)

    def close(self) -> None:
        """Close the database; vectors are already committed."""
        self.db.close()


def count_uncached(index_dir: Path, model: str, texts: list[str]) -> int:
    """How many distinct texts a build would have to embed; reads the cache without changing it."""
    keys = list(dict.fromkeys(cache_key(model, t) for t in texts))
    path = index_dir / CACHE_FILE
    if not keys or not path.is_file():
        return len(keys)
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return len(keys)
    try:
        found = 0
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            found += db.execute(f"SELECT count(*) FROM vectors WHERE key IN ({marks})", chunk).fetchone()[0]
    except sqlite3.DatabaseError:
        return len(keys)
    finally:
        db.close()
    return len(keys) - found
