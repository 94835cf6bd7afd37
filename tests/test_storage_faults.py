"""Full disks, read-only folders and odd paths where the index or corpus goes (issue 16, families 10, 11).

Every case is one line saying what happened and what to do, no traceback; the previous index keeps
answering; nothing is left behind that keeps the disk full.

How the faults are made: a disk that really fills is a small tmpfs mounted for the test (ENOSPC
from the kernel, as on a full disk), and a read-only folder is a read-only bind mount (EROFS).
Both need root (CAP_SYS_ADMIN); without it those tests are skipped. `test_file_size_limit_*`
needs nothing: RLIMIT_FSIZE in the build's process, with SIGXFSZ ignored, makes writes past the
limit fail with EFBIG, the other "no room" error.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.index.embedded import EmbeddedReader
from bot.index.manifest import VERSIONS, current_version
from tests.conftest import MULTI_CORPUS, ROOT, run_script

FLOOD_QUESTION = "How many people were killed in the floods?"
NEW_ARTICLE = (
    "---\ntitle: Ferry timetable changes\npublisher: Harbour Gazette\n---\n"
    "The night ferry to Carrick Point stops running in October, the harbour board said on Monday.\n\n"
    "Passengers will be offered a bus connection instead, a spokesperson for the operator added.\n"
)


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs: a real file system that runs out of space (ENOSPC)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def read_only(tmp_path: Path):
    """Make a folder read-only with a read-only bind mount (EROFS: root cannot write either)."""
    mounted: list[Path] = []

    def make(folder: Path) -> None:
        if not _mount("--bind", "-o", "ro", str(folder), str(folder)):
            pytest.skip("a read-only bind mount needs root (CAP_SYS_ADMIN)")
        mounted.append(folder)

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk up to `leave` free bytes with one file; returns it."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    # ENOSPC at the very end is what we want: a full disk.
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        os.posix_fallocate(fh.fileno(), 0, max(free - leave, 1))
    return filler


def build(corpus: Path, index: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_script("scripts/build_index.py", "--quiet", *extra, "--corpus", str(corpus), "--index", str(index))


def assert_one_clear_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines
    for text in expected:
        assert text in result.stderr, result.stderr


def assert_nothing_left(index: Path) -> None:
    """No unfinished version, no half-written CURRENT, no build owner: nothing that holds space."""
    assert not list((index / VERSIONS).glob("*.partial"))
    assert not list(index.glob(".CURRENT.*"))
    assert not (index / "build.owner").exists()


def answers(index: Path) -> str:
    result = run_script("scripts/query.py", "--json", "--index", str(index), FLOOD_QUESTION)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("leave_kib", [0, 8, 64, 200, 400])
def test_full_index_disk_is_one_line_and_the_previous_index_answers(small_disk: Path, leave_kib: int):
    """Index disk full at different points of a build: one line, the old index answers, no leftovers."""
    corpus, index = small_disk / "corpus", small_disk / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    assert build(corpus, index).returncode == 0
    before = current_version(index)
    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    filler = fill(small_disk, leave_kib * 1024)
    result = build(corpus, index, "--full")
    if result.returncode == 0:  # it fitted after all: nothing to check at this level
        filler.unlink()
        pytest.skip(f"the build fitted in {leave_kib} KiB")
    assert_one_clear_error(result, "is full", "the previous index is unchanged", "df -h")
    assert_nothing_left(index)
    assert current_version(index) == before
    EmbeddedReader(index)
    assert "At least 23 people were killed" in answers(index)
    filler.unlink()
    # With space again, the same build goes through.
    again = build(corpus, index)
    assert again.returncode == 0, again.stderr
    assert EmbeddedReader(index).manifest.counts["articles"] == 8


@pytest.mark.slow
def test_full_corpus_disk_on_add_is_one_line_and_leaves_no_file(small_disk: Path, tmp_path: Path):
    """add_article.py onto a full corpus disk: one line, no half-written or temporary file."""
    corpus = small_disk / "corpus"
    shutil.copytree(MULTI_CORPUS, corpus)
    source = tmp_path / "ferry.md"
    source.write_text(NEW_ARTICLE * 20, encoding="utf-8")
    before = sorted(p.name for p in corpus.iterdir())
    fill(small_disk, 0)
    result = run_script("scripts/add_article.py", str(source), "--no-build", "--corpus", str(corpus))
    assert_one_clear_error(result, "is full", "nothing was added", "df -h")
    assert sorted(p.name for p in corpus.iterdir()) == before


@pytest.mark.slow
def test_file_size_limit_is_one_line_and_the_previous_index_answers(multi_copy: tuple[Path, Path]):
    """RLIMIT_FSIZE (EFBIG, SIGXFSZ ignored): the same one line, no leftovers, the old index answers."""
    corpus, index = multi_copy
    before = current_version(index)
    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    store = index / VERSIONS / str(before) / "store.sqlite"
    limit = store.stat().st_size // 2  # the copy of the store for the new version cannot be written

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "scripts/build_index.py", "--quiet", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=300,
    )
    assert_one_clear_error(result, "file-size limit", "File too large", "the previous index is unchanged")
    assert_nothing_left(index)
    assert current_version(index) == before
    assert "At least 23 people were killed" in answers(index)


@pytest.mark.slow
def test_read_only_index_folder_is_one_line(multi_copy: tuple[Path, Path], read_only):
    """A read-only index folder: one line naming it and what to do; queries still work."""
    corpus, index = multi_copy
    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    read_only(index)
    result = build(corpus, index)
    assert_one_clear_error(result, "Read-only file system", str(index), "writable", "--index")
    assert "At least 23 people were killed" in answers(index)


@pytest.mark.slow
def test_read_only_corpus_folder_on_add_is_one_line(tmp_path: Path, read_only):
    """add_article.py into a read-only corpus folder: one line, exit 1."""
    corpus = tmp_path / "corpus"
    shutil.copytree(MULTI_CORPUS, corpus)
    source = tmp_path / "ferry.md"
    source.write_text(NEW_ARTICLE, encoding="utf-8")
    read_only(corpus)
    result = run_script("scripts/add_article.py", str(source), "--no-build", "--corpus", str(corpus))
    assert_one_clear_error(result, "Read-only file system", "nothing was added", "--corpus")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("build.lock", "build.lock is a folder where a file is needed"),
        ("build.owner", "build.owner is a folder where a file is needed"),
        ("cache", "cache is a file where a folder is needed"),
        ("index-under-a-file", "part of that path is a file"),
    ],
)
def test_odd_paths_in_the_index_folder_are_one_line(multi_copy: tuple[Path, Path], where: str, expected: str):
    """A lock or owner path that is a folder, a cache folder that is a file, an index under a file."""
    corpus, index = multi_copy
    (corpus / "ferry.md").write_text(NEW_ARTICLE, encoding="utf-8")
    target = index
    if where in ("build.lock", "build.owner"):
        (index / where).unlink(missing_ok=True)
        (index / where).mkdir()
    elif where == "cache":
        shutil.rmtree(index / "cache")
        (index / "cache").write_text("not a folder", encoding="utf-8")
    else:
        blocker = index.parent / "a-file"
        blocker.write_text("x", encoding="utf-8")
        target = blocker / "index"
    result = build(corpus, target)
    assert_one_clear_error(result, expected)
    if target == index:
        assert "the previous index is unchanged" in result.stderr
        assert "At least 23 people were killed" in answers(index)
