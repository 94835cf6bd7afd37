"""Loader: metadata, block kinds, paragraph numbers, normalisation, encodings and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.corpus.articles import BlockKind
from bot.corpus.files import load_article, load_corpus
from bot.corpus.normalise import normalise_text
from bot.errors import ArticleError
from tests.conftest import RAW_SEED, SEED_FILE


def kinds(article):
    return [b.kind for b in article.blocks]


def test_seed_metadata_comes_from_front_matter():
    meta = load_article(SEED_FILE).meta
    assert meta.title == "Syrian regime initiates second Russian-backed offensive"
    assert meta.publisher == "TRT World"
    assert meta.date == "2015-10-08"
    assert meta.url is None  # unknown, never invented
    assert meta.byline == "TRTWorld and agencies"


def test_seed_blocks_are_told_apart():
    article = load_article(SEED_FILE)
    by_kind = {k: [b.text for b in article.blocks if b.kind is k] for k in BlockKind}
    assert by_kind[BlockKind.STANDFIRST] == [
        "Syrian regime announces a large offensive is underway to “Liberate areas from terrorism”, "
        "while Russian warplanes continue to pound opposition targets"
    ]
    assert by_kind[BlockKind.HEADING] == [
        "Russia using cluster bombs in Syria",
        "Joint operations between Syrian regime and Russia",
    ]
    assert by_kind[BlockKind.BYLINE] == ["TRTWorld and agencies"]
    assert len(by_kind[BlockKind.CREDIT]) == 1
    assert len(by_kind[BlockKind.CAPTION]) == 4
    assert len(by_kind[BlockKind.PARAGRAPH]) == 13
    # Captions: the one after "Photo by:" and the three ending in [Reuters], credit kept apart.
    captions = [b for b in article.blocks if b.kind is BlockKind.CAPTION]
    assert all(b.credit == "Reuters" for b in captions)
    assert not any(b.text.endswith("]") for b in captions)
    assert captions[0].text.startswith("A man comforts a woman")


def test_paragraph_numbers_count_paragraphs_and_captions():
    article = load_article(SEED_FILE)
    numbered = {b.paragraph: b.text for b in article.blocks if b.paragraph}
    assert numbered[12].startswith("Over 40 air strikes")  # the design notes' example: ¶12
    assert numbered[16].startswith('"Thirteen regime forces')
    assert max(numbered) == 17


def test_non_breaking_spaces_are_normalised_without_changing_words():
    article = load_article(SEED_FILE)
    text = "\n".join(b.text for b in article.blocks)
    assert "\u00a0" not in text
    assert 'a "big attack" has started on Thursday' in text
    assert "Lieutenant General Ali Abdullah Ayoub said" in text
    assert normalise_text("a\u00a0 b\t\tc  \r\n\r\nd") == "a b c\n\nd"


@pytest.mark.skipif(RAW_SEED is None, reason="../shared/seed not beside the checkout")
def test_raw_seed_without_front_matter_infers_what_it_safely_can():
    article = load_article(RAW_SEED)
    assert article.meta.title == "Syrian regime initiates second Russian-backed offensive"
    assert article.meta.byline == "TRTWorld and agencies"
    assert article.meta.date is None and article.meta.url is None
    assert kinds(article)[:3] == [BlockKind.TITLE, BlockKind.STANDFIRST, BlockKind.CREDIT]


def test_markdown_headings_and_front_matter(tmp_path: Path):
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: Port reopens\npublisher: Example News\ndate: 2024-03-02\nurl: https://example.org/a\n---\n"
        "# Port reopens\n\nThe port reopened on Monday, officials said.\n\n## Trade\n\nShips queued outside.\n",
        encoding="utf-8",
    )
    article = load_article(path)
    assert article.meta.url == "https://example.org/a"
    assert [(b.kind, b.text) for b in article.blocks if b.kind is BlockKind.HEADING] == [(BlockKind.HEADING, "Trade")]
    assert [b.paragraph for b in article.blocks if b.kind is BlockKind.PARAGRAPH] == [1, 2]


def test_legacy_single_byte_file_is_decoded_with_a_warning(tmp_path: Path):
    path = tmp_path / "legacy.txt"
    path.write_bytes(
        "Caf\u00e9 owners protest\n\nThe caf\u00e9 owners said prices rose \u201csharply\u201d.\n".encode("cp1252")
    )
    article = load_article(path)
    assert "café owners said prices rose “sharply”." in article.blocks[-1].text
    assert article.warnings and "not UTF-8" in article.warnings[0]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n  ", "empty file"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"---\ntitle: [unclosed\n---\nBody text here.\n", "malformed front matter"),
        (b"Only a title\n", "no paragraphs"),
        (b"---\ntitle: T\ndate: yesterday\n---\nA paragraph.\n", "not an ISO date"),
    ],
)
def test_bad_files_raise_with_path_and_reason(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    with pytest.raises(ArticleError) as err:
        load_article(path)
    assert str(path) in str(err.value) and reason in str(err.value)


def test_load_corpus_skips_bad_files_and_duplicates(tmp_path: Path):
    (tmp_path / "good.txt").write_text("Title\n\nA paragraph that says something.\n", encoding="utf-8")
    (tmp_path / "copy.txt").write_text("Title\n\nA paragraph that says something.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert [a.meta.id for a in loaded.articles] == ["copy"]
    assert any("good.txt" in s and "indexed once" in s for s in loaded.duplicates)
    assert not any("indexed once" in s for s in loaded.skipped)
    assert any("empty.txt" in s and "empty file" in s for s in loaded.skipped)
    assert not any("notes.json" in s for s in loaded.skipped)
