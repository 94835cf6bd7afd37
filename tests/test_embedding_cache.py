"""The embedding cache is pruned to the vectors of the live version and the one before it (issue 16, family 17).

It used to keep every vector ever embedded (119 MB after 56k vectors, growing with each edit).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from bot.build.cache import used_cache_keys
from bot.build.run import build_index
from bot.embedding.cache import CACHE_FILE
from bot.embedding.embedder import Embedder
from bot.index.manifest import VERSIONS, current_version


def cached_keys(index: Path) -> set[str]:
    db = sqlite3.connect(index / CACHE_FILE)
    try:
        return {k for (k,) in db.execute("SELECT key FROM vectors")}
    finally:
        db.close()


def edit(corpus: Path, round_no: int) -> None:
    """Change one article's text and replace another (and remove one at first): vectors to drop."""
    (corpus / "wildfire.md").unlink(missing_ok=True)
    flood = corpus / "flood.txt"
    flood.write_text(
        flood.read_text(encoding="utf-8") + f"\n\nUpdate {round_no}: the river fell again, officials said.\n"
    )
    for old in corpus.glob("note-*.md"):
        old.unlink()
    (corpus / f"note-{round_no}.md").write_text(
        f"---\ntitle: Council note {round_no}\npublisher: Example News\n---\n"
        f"The council met for the {round_no + 1}th time on Monday, its chair Mara Quill said.\n",
        encoding="utf-8",
    )


def test_cache_holds_exactly_the_vectors_of_the_live_and_previous_versions(
    multi_copy: tuple[Path, Path], embedder: Embedder
):
    """After each of 5 edits and builds: cache keys == keys of the two kept versions; older ones are gone."""
    corpus, index = multi_copy
    first = used_cache_keys(index)
    assert first and first <= cached_keys(index)
    history = [first]
    for round_no in range(5):
        edit(corpus, round_no)
        report = build_index(corpus, index, embedder)
        assert not report.up_to_date
        kept = sorted(p.name for p in (index / VERSIONS).iterdir())
        assert len(kept) == 2 and current_version(index) in kept
        keys = cached_keys(index)
        assert keys == used_cache_keys(index)
        history.append(keys)
    # The first version's vectors of the removed article are gone; the unchanged articles' stay.
    assert first - cached_keys(index) and first & cached_keys(index)
    # What was kept is exactly what a rebuild needs: a full build embeds nothing.
    assert build_index(corpus, index, embedder, full=True).embedded == 0


def test_recomputed_keys_are_the_keys_the_build_looked_up(multi_copy: tuple[Path, Path], embedder: Embedder):
    """Keys recomputed from a version's store match the build's own: a fresh cache is fully reused."""
    corpus, index = multi_copy
    (index / CACHE_FILE).unlink()
    report = build_index(corpus, index, embedder, full=True)
    assert report.reused == 0 and report.embedded > 0  # everything embedded afresh
    assert cached_keys(index) == used_cache_keys(index)


def test_a_cache_grown_before_pruning_shrinks_on_an_up_to_date_build(multi_copy: tuple[Path, Path], embedder: Embedder):
    """A cache bloated by stale vectors (as old versions left it) is pruned even when nothing changed."""
    corpus, index = multi_copy
    live_keys = used_cache_keys(index)
    db = sqlite3.connect(index / CACHE_FILE)
    with db:
        stale = np.zeros(384, dtype=np.float32).tobytes()
        db.executemany("INSERT INTO vectors VALUES (?, ?)", ((f"stale-{i:08d}", stale) for i in range(20_000)))
    db.close()
    size_before = (index / CACHE_FILE).stat().st_size
    report = build_index(corpus, index, embedder)
    assert report.up_to_date
    assert cached_keys(index) == live_keys
    assert (index / CACHE_FILE).stat().st_size < size_before / 4  # the file shrank, not only the table
