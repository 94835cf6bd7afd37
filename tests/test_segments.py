"""Adding articles appends a vector segment and shares the base's files; removing merges them again."""

from __future__ import annotations

import os
from pathlib import Path

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import PASSAGE_VECTORS, SENTENCE_VECTORS, VERSIONS
from bot.index.sqlite import in_list
from bot.index.vectors import SegmentedIndex

ARTICLE = """---
title: {title}
publisher: Harbour Gazette
date: 2024-06-1{n}
---
# {title}

{body}
"""

BODIES = [
    "Edda Marrow switched off the Carrick Point lamp for the last time on Saturday, the harbour board said.",
    "The ferry to Inish Mor carried a record 1,412 passengers on Sunday, according to the operator.",
]


def add(corpus: Path, n: int) -> None:
    title = f"Harbour note {n}"
    (corpus / f"harbour-{n}.md").write_text(ARTICLE.format(title=title, n=n, body=BODIES[n]), encoding="utf-8")


def test_added_articles_go_to_segments_and_removal_merges(multi_copy: tuple[Path, Path], embedder: Embedder) -> None:
    corpus, index = multi_copy
    base = EmbeddedReader(index)
    base_file = base.path / PASSAGE_VECTORS
    before = base.passage_index.ntotal

    add(corpus, 0)
    report = build_index(corpus, index, embedder)
    assert report.embedded == 2  # one passage, one sentence: nothing of the base is re-embedded
    one = EmbeddedReader(index)
    files = one.manifest.vector_index["passages"]["segments"]
    assert files[0] == PASSAGE_VECTORS and len(files) == 2
    assert one.manifest.vector_index["passages"]["vectors"] == before + 1
    # The base's vectors were not rewritten: the new version shares the file.
    assert os.path.samefile(base_file, one.path / PASSAGE_VECTORS)
    assert isinstance(one.passage_index, SegmentedIndex) and one.passage_index.ntotal == before + 1

    add(corpus, 1)
    build_index(corpus, index, embedder)
    two = EmbeddedReader(index)
    assert len(two.manifest.vector_index["sentences"]["segments"]) == 3
    # Search spans the segments: the newest article's sentence is found and its vector reconstructed.
    [row] = two.store.query("SELECT id FROM sentences WHERE text LIKE 'The ferry to Inish Mor%'")
    vector = two.sentence_index.reconstruct(row[0])
    hits = two.search(two.sentence_index, vector, 5)
    assert hits[0][0] == row[0] and abs(hits[0][1] - 1.0) < 1e-4
    # An old passage is still found through the base segment.
    [old] = two.store.query("SELECT id FROM passages ORDER BY id LIMIT 1")
    assert two.search(two.passage_index, two.passage_index.reconstruct(old[0]), 3)[0][0] == old[0]
    answer_ids = {h[0] for h in two.search(two.passage_index, embedder.encode(["record ferry passengers"])[0], 3)}
    [ferry] = two.store.query("SELECT id FROM passages WHERE text LIKE 'The ferry to Inish Mor%'")
    assert ferry[0] in answer_ids

    (corpus / "harbour-0.md").unlink()  # a removal: everything merges into one file again
    build_index(corpus, index, embedder)
    merged = EmbeddedReader(index)
    assert "segments" not in merged.manifest.vector_index["passages"]
    assert not isinstance(merged.sentence_index, SegmentedIndex)
    assert merged.passage_index.ntotal == before + 1
    names = {p.name for p in (index / VERSIONS / merged.version).iterdir()}
    assert names >= {PASSAGE_VECTORS, SENTENCE_VECTORS} and not any("-" in n for n in names if n.endswith(".faiss"))


def test_in_lists_are_padded_to_a_power_of_two_without_changing_the_set():
    assert in_list([]) == ("", [])
    assert in_list([7]) == ("?", [7])
    assert in_list([5, 6, 7]) == ("?,?,?,?", [5, 6, 7, 7])
    marks, params = in_list(range(33))
    assert len(params) == 64 and marks.count("?") == 64 and set(params) == set(range(33))
