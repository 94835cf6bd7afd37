"""Keeping the embedding cache to what the versions on disk use.

The cache (`bot/embedding/cache.py`) keys vectors by model and text; a version's keys are
recomputed from its stored texts (`bot/index/sqlite.py`'s `stored_rows`), so no list of keys
needs keeping in step with the index.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from bot.build.plan import embedding_text, sentence_embedding_text
from bot.embedding.cache import CACHE_FILE, EmbeddingCache, cache_key
from bot.errors import SQLiteError
from bot.index.manifest import MANIFEST, STORE, VERSIONS, Manifest
from bot.index.sqlite import stored_rows

log = logging.getLogger(__name__)

#: Said when a build on a full disk had to delete the embedding cache to leave the disk as it found it.
CACHE_DROPPED = "the embedding cache was emptied to free space (the next build embeds again)"


def used_cache_keys(index_dir: Path) -> set[str]:
    """Cache keys of every vector the finished versions on disk were built from.

    Recomputed from each version's store (titles, sections, passage and sentence texts) and its
    manifest's model, exactly as `_write_version` embeds them; about 1 s per 400,000 texts.
    """
    keys: set[str] = set()
    root = index_dir / VERSIONS
    if not root.is_dir():
        return keys
    for version in root.iterdir():
        if version.name.endswith(".partial") or not (version / MANIFEST).is_file():
            continue
        model = Manifest.read(version / MANIFEST).model
        store = version / STORE
        keys.update(cache_key(model, embedding_text(t, sec, text)) for t, sec, text in stored_rows(store, "passages"))
        keys.update(cache_key(model, sentence_embedding_text(t)) for (t,) in stored_rows(store, "sentences"))
    return keys


def prune_embedding_cache(index_dir: Path, *, drop_if_stuck: bool = False) -> int:
    """Keep only the cached vectors of the versions on disk (the live one and the one before it).

    Called under the build lock after every build that wrote a version, and after one that failed
    on a full disk. With `drop_if_stuck`, a cache that cannot even be pruned (no room for SQLite's
    journal) is deleted: it only saves re-embedding, and it must not keep the disk full.
    Returns how many vectors were removed.
    """
    path = index_dir / CACHE_FILE
    if not path.is_file():
        return 0
    try:
        keep = used_cache_keys(index_dir)
        cache = EmbeddingCache(index_dir, "")
        try:
            removed = cache.prune(keep)
        finally:
            cache.close()
    except (OSError, SQLiteError, ValueError, KeyError, TypeError) as exc:
        log.debug("could not prune the embedding cache %s: %s", path, exc)
        if not drop_if_stuck:
            return 0
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        return -1
    if removed:
        log.debug("embedding cache: %d vectors no longer used by the kept versions removed", removed)
    return removed


def cache_oversized(index_dir: Path, manifest: Manifest) -> bool:
    """Whether the cache file is clearly bigger than the live version's vectors need (cheap: a stat).

    An up-to-date build then prunes it too, so a cache grown before pruning existed shrinks
    without waiting for the next change.
    """
    try:
        size = (index_dir / CACHE_FILE).stat().st_size
    except OSError:
        return False
    vectors = manifest.counts.get("passages", 0) + manifest.counts.get("sentences", 0)
    # Twice the live version (the one before it is about as big), plus SQLite's key and page overhead.
    return size > 2 * vectors * (manifest.dimension * 4 + 200) + (1 << 20)
