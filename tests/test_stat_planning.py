"""Planning a build from file stats, as git does: unchanged files are not even read, changed ones are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import bot.corpus.files
from bot.build.plan import LiveIndex
from bot.build.run import build_index
from bot.corpus.files import load_article, load_corpus
from bot.embedding.embedder import Embedder
from bot.settings import Settings
from tests.conftest import MULTI_CORPUS

#: The model name the default settings give vectors (with its precision).
MODEL = Embedder.from_settings(Settings(_env_file=None)).model_name


@pytest.fixture
def stat_index(tmp_path: Path, multi_index: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch):
    """A corpus copy and its index, built with stats recorded (the copy is not "racy" here)."""
    monkeypatch.setattr(bot.corpus.files, "RACY_SECONDS", 0)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    shutil.copytree(multi_index / "cache", index / "cache")  # vectors cached: nothing is embedded
    build_index(corpus, index, embedder)
    return corpus, index


def _bump_mtime(path: Path, seconds: int = 10) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 10**9))


def test_manifest_records_each_files_stat_and_a_matching_file_is_not_read(stat_index: tuple[Path, Path]):
    corpus, index = stat_index
    known = LiveIndex.read(index, MODEL).files()
    assert known is not None
    hashes, stats = known
    assert stats.keys() == hashes.keys() and len(stats) == 7
    path = corpus / "port-strike.md"
    assert stats["port-strike"][:2] == (str(path), path.stat().st_size)
    loaded = load_corpus(corpus, known=hashes, stats=stats)
    assert not any(a.parsed for a in loaded.articles)
    # The recorded hash stands for the file without reading it: a record with another hash is
    # taken as it is, which only happens when the file is not read.
    article = load_article(path, corpus, known={**hashes, "port-strike": "recorded"}, stats=stats)
    assert (article.parsed, article.content_hash) == (False, "recorded")


def test_an_edit_that_changes_the_mtime_is_read_and_reembedded(stat_index: tuple[Path, Path], embedder: Embedder):
    corpus, index = stat_index
    path = corpus / "port-strike.md"
    text = path.read_text(encoding="utf-8")
    edited = text.replace("roughly $40 million a day", "roughly $50 million a day")  # same size
    assert len(edited) == len(text) and edited != text
    path.write_text(edited, encoding="utf-8")
    _bump_mtime(path)
    report = build_index(corpus, index, embedder)
    assert (report.changed, report.unchanged) == (1, 6)
    assert report.embedded > 0


def test_touching_a_file_without_changing_it_embeds_nothing(stat_index: tuple[Path, Path], embedder: Embedder):
    corpus, index = stat_index
    path = corpus / "wildfire.md"
    _bump_mtime(path)
    hashes, stats = LiveIndex.read(index, MODEL).files()  # type: ignore[misc]
    loaded = {a.meta.id: a for a in load_corpus(corpus, known=hashes, stats=stats).articles}
    assert loaded["wildfire"].stat != stats["wildfire"]  # read and hashed again ...
    assert not loaded["wildfire"].parsed  # ... and recognised by its hash
    report = build_index(corpus, index, embedder)
    assert report.up_to_date and report.embedded == 0


def test_a_changed_size_is_read_even_with_the_old_mtime(stat_index: tuple[Path, Path], embedder: Embedder):
    corpus, index = stat_index
    path = corpus / "flood.txt"
    before = path.stat()
    path.write_text(path.read_text(encoding="utf-8") + "\nThe river fell overnight, the council said.\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime as recorded; size differs
    report = build_index(corpus, index, embedder)
    assert (report.changed, report.unchanged) == (1, 6)
    assert report.embedded > 0


def test_a_file_changed_just_before_the_build_is_not_trusted_by_its_stat(tmp_path: Path):
    # Git's "racily clean" case: a second edit within the same timestamp tick would keep the stat.
    path = tmp_path / "fresh.md"
    path.write_text("# Fresh\n\nWritten a moment ago, the clerk said.\n", encoding="utf-8")
    assert load_article(path, tmp_path).stat is None
    old = path.stat().st_mtime_ns - 3600 * 10**9
    os.utime(path, ns=(old, old))
    assert load_article(path, tmp_path).stat is None  # its ctime is still new
