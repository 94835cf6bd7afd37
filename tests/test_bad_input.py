"""Bad input loses nothing: odd corpus files, damaged indexes and odd questions (issue [reliability])."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.build.run import build_index
from bot.corpus.articles import MAX_ARTICLE_BYTES
from bot.corpus.files import load_corpus
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.errors import IndexUnavailable
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import MANIFEST, VERSIONS, current_version
from bot.settings import Settings
from tests.conftest import SEED_FILE, run_script, unprivileged

GOOD = "A title\n\nThe council approved the budget on Monday, officials said.\n"


def test_odd_corpus_files_are_skipped_with_path_and_reason(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (corpus / "huge.txt").write_bytes(b"word " * (MAX_ARTICLE_BYTES // 5 + 10))
    (corpus / "frontmatter.md").write_text("---\ntitle: [x\n---\nBody.\n", encoding="utf-8")
    (corpus / "notitle.md").write_text("---\ntitle: Only metadata\n---\n", encoding="utf-8")
    (corpus / "loop-a.txt").symlink_to(corpus / "loop-b.txt")
    (corpus / "loop-b.txt").symlink_to(corpus / "loop-a.txt")
    (corpus / "dangling.md").symlink_to(corpus / "missing.md")
    os.mkfifo(corpus / "fifo.txt")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up").symlink_to(corpus, target_is_directory=True)  # a folder loop
    loaded = load_corpus(corpus)
    assert [a.meta.id for a in loaded.articles] == ["good"]
    reasons = "\n".join(loaded.skipped)
    for name, reason in [
        ("empty.txt", "empty file"),
        ("binary.txt", "binary file"),
        ("huge.txt", "MiB limit"),
        ("frontmatter.md", "malformed front matter"),
        ("notitle.md", "no paragraphs"),
        ("loop-a.txt", "symbolic link"),
        ("dangling.md", "symbolic link"),
        ("fifo.txt", "not a regular file"),
    ]:
        line = next((x for x in loaded.skipped if x.startswith(f"{corpus / name}: ")), "")
        assert reason in line, (name, reasons)


def test_invalid_utf8_is_decoded_with_a_warning_not_lost(tmp_path: Path):
    (tmp_path / "latin.txt").write_bytes(b"Titre\n\nLe ma\xefre a dit: \xabnon\xbb, selon l'AFP.\n")
    loaded = load_corpus(tmp_path)
    assert len(loaded.articles) == 1 and "maïre" in loaded.articles[0].blocks[-1].text
    assert loaded.warnings and "latin.txt: not UTF-8" in loaded.warnings[0]


def test_unreadable_file_is_skipped(open_tmp: Path):
    # Permission bits do not stop root (CI runs as root): the load runs as `nobody` then.
    (open_tmp / "good.txt").write_text(GOOD, encoding="utf-8")
    (open_tmp / "unreadable.txt").write_text(GOOD.replace("budget", "plan"), encoding="utf-8")
    (open_tmp / "unreadable.txt").chmod(0o000)
    with unprivileged():
        loaded = load_corpus(open_tmp)
    assert [a.meta.id for a in loaded.articles] == ["good"]
    assert loaded.skipped == [
        f"{open_tmp / 'unreadable.txt'}: cannot read (Permission denied); its indexed article is kept until it "
        "can be read or is deleted"
    ]
    assert loaded.unreadable == ["unreadable"]


@pytest.fixture
def damaged(tmp_path: Path, seed_index: Path) -> Path:
    """A private copy of the seed index to break."""
    dest = tmp_path / "index"
    shutil.copytree(seed_index, dest)
    return dest


def version_dir(index: Path) -> Path:
    return index / VERSIONS / str(current_version(index))


@pytest.mark.parametrize("name", ["sentences.faiss", "passages.faiss"])
@pytest.mark.parametrize("keep", [0, 16, 100, 0.5, -1])
def test_truncated_faiss_file(damaged: Path, name: str, keep: float):
    path = version_dir(damaged) / name
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    path.write_bytes(data[:cut])
    with pytest.raises(IndexUnavailable, match="missing or damaged") as err:
        EmbeddedReader(damaged)
    assert "--full" in err.value.hint


@pytest.mark.parametrize("how", ["garbage", "truncated", "pages"])
def test_corrupted_sqlite(damaged: Path, how: str, embedder: Embedder):
    path = version_dir(damaged) / "store.sqlite"
    data = bytearray(path.read_bytes())
    if how == "garbage":
        data[:100] = b"x" * 100
    elif how == "truncated":
        data = data[: len(data) // 3]
    else:
        for i in range(5000, len(data), 7):
            data[i] = 0x41
    path.write_bytes(bytes(data))
    with pytest.raises(IndexUnavailable, match=r"store\.sqlite is damaged|missing or damaged|inconsistent"):
        engine = Engine(Settings(_env_file=None, index_dir=damaged), embedder=embedder)
        engine.answer("How many Russian air strikes were counted over Idlib and Hama?")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model", "sentence-transformers/other", "built with model"),
        ("schema", 999, "schema 999"),
        ("splitter", 999, "splitter v999"),
        ("dimension", 768, "dimension 384, manifest says 768"),
    ],
)
def test_manifest_from_another_build(damaged: Path, embedder: Embedder, field: str, value: object, message: str):
    path = version_dir(damaged) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest[field] = value
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match=message) as err:
        Engine(Settings(_env_file=None, index_dir=damaged), embedder=embedder).answer("anything")
    assert "build_index.py" in err.value.hint


def test_faiss_and_sqlite_disagree(damaged: Path, tmp_path: Path, embedder: Embedder, corpus_copy: Path):
    other = tmp_path / "other"
    (corpus_copy / "extra.md").write_text("---\ntitle: Extra\n---\nOne more paragraph, officials said.\n")
    build_index(corpus_copy, other, embedder)
    target = version_dir(damaged) / "sentences.faiss"
    shutil.copy(version_dir(other) / "sentences.faiss", target)
    # A file swapped in from another build no longer has the size this build recorded...
    with pytest.raises(IndexUnavailable, match=r"sentences\.faiss is missing or damaged \(\d+ bytes; the build wrote"):
        EmbeddedReader(damaged)
    # ...and even with the manifest agreeing on sizes, the counts of FAISS and SQLite must agree.
    manifest_path = version_dir(damaged) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["sentences.faiss"] = target.stat().st_size
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match="inconsistent: SQLite has 18 passages and 24 sentences"):
        EmbeddedReader(damaged)


@pytest.mark.slow
def test_damaged_index_on_the_command_line_is_one_clear_error(damaged: Path):
    (version_dir(damaged) / "store.sqlite").write_bytes(b"not a database at all" * 50)
    result = run_script("scripts/query.py", "--index", str(damaged), "Where is Maasran?")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "damaged" in lines[0]
    assert lines[1] == f"hint: rebuild it with: python scripts/build_index.py --index {damaged} --full"


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \n\t ",
        "😀🔥🙏",
        "?!...",
        "\x00\x07\x1b[31m",
    ],
)
def test_questions_without_words_are_not_answered(engine: Engine, question: str):
    answer = engine.answer(question)
    assert answer.answered is False and answer.quotes == [] and answer.notice == "ask a question in words"


def test_very_long_question_is_truncated_with_a_notice(engine: Engine):
    answer = engine.answer("How many air strikes were counted over Idlib and Hama? " * 200)
    assert answer.notice == "question shortened to its first 500 characters"
    assert answer.quotes and "Over 40 air strikes" in answer.quotes[0].text


@pytest.mark.parametrize(
    "question",
    [
        "ما هي الضربات الجوية الروسية؟",  # right-to-left
        "<b>Who</b> backed the forces in Al Ghab? <script>alert(1)</script>",
        "**Who** backed the _forces_ in [Al Ghab](http://x)?",
        "Who\u202ebacked\u200f the forces\u0000 in Al Ghab?",
    ],
)
def test_odd_questions_still_get_a_well_formed_answer(engine: Engine, question: str):
    answer = engine.answer(question)
    data = answer.to_dict()
    json.dumps(data)
    assert isinstance(data["answered"], bool)
    for quote in answer.quotes:
        assert quote.quote in quote.text and np.isfinite(quote.score)
    assert SEED_FILE.exists()
