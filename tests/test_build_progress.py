"""The build's progress bar tells one story with its summary: it counts texts really embedded, and a
build with nothing to embed (only removals, or every text cached) draws no bar at all."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from tests.conftest import run_script

NEW_ARTICLE = """---
title: Ferry timetable changes for the winter
publisher: Harbour Gazette
date: 2024-10-01
---
The evening ferry to Carrick Point will leave at 18:40 from November, the operator said.

Passengers with season tickets keep their fares, a spokeswoman for the operator added.
"""


def test_progress_counts_only_what_is_embedded(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    calls: list[tuple[int, int]] = []

    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    report = build_index(corpus, index, embedder, progress=lambda done, total: calls.append((done, total)))
    assert report.embedded > 0
    assert calls[0] == (0, report.embedded) and calls[-1] == (report.embedded, report.embedded)
    assert {total for _, total in calls} == {report.embedded}

    calls.clear()
    (corpus / "ferry.md").unlink()  # only a removal: nothing to embed
    report = build_index(corpus, index, embedder, progress=lambda done, total: calls.append((done, total)))
    assert report.removed == 1 and report.embedded == 0 and calls == []

    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")  # back again: every vector is cached
    report = build_index(corpus, index, embedder, progress=lambda done, total: calls.append((done, total)))
    assert report.added == 1 and report.embedded == 0 and report.reused > 0 and calls == []


@pytest.mark.slow
def test_build_script_draws_a_bar_only_for_real_work(multi_copy: tuple[Path, Path], tmp_path: Path):
    corpus, index = multi_copy

    def build() -> tuple[str, str]:
        result = run_script("scripts/build_index.py", "--corpus", str(corpus), "--index", str(index))
        assert result.returncode == 0, result.stderr
        return result.stdout, result.stderr

    removed = tmp_path / "flood.txt"
    shutil.move(corpus / "flood.txt", removed)
    out, err = build()
    assert "0 texts embedded, 0 reused" in out and "embedding" not in err  # was "embedding: 0text"

    shutil.move(removed, corpus / "flood.txt")
    out, err = build()
    assert re.search(r"\b0 texts embedded, [1-9]\d* reused", out) and "embedding" not in err  # was "100% 8/8"

    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    out, err = build()
    embedded = int(re.search(r"(\d+) texts embedded", out).group(1))  # type: ignore[union-attr]
    assert embedded > 0
    assert re.search(rf"embedding: 100%.*\b{embedded}/{embedded}\b", err), err
