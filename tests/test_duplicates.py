"""The same article body under other metadata (another publisher, title or date) is one article:
detected by its words, reported with the file already holding it, indexed once."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.build.run import build_index
from bot.cli import add as add_cli
from bot.corpus.files import load_corpus
from bot.embedding.embedder import Embedder
from bot.index.embedded import EmbeddedReader
from tests.conftest import MULTI_CORPUS

BODY = """A storm closed the harbour at Carrick Point on Monday, the harbour master said.

Ferries will run again on Wednesday if the wind drops, the operator added.
"""


def article(publisher: str, title: str = "Storm closes Carrick Point harbour") -> str:
    return f"---\ntitle: {title}\npublisher: {publisher}\ndate: 2024-03-05\n---\n{BODY}"


def test_same_body_under_another_publisher_is_a_duplicate(tmp_path: Path):
    (tmp_path / "a-gazette.md").write_text(article("Harbour Gazette"), encoding="utf-8")
    (tmp_path / "b-times.md").write_text(article("Coast Times", "Harbour shut by storm"), encoding="utf-8")
    (tmp_path / "c-other.md").write_text(article("Coast Times").replace("Monday", "Tuesday"), encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert [a.meta.id for a in loaded.articles] == ["a-gazette", "c-other"]  # a changed word is another article
    assert loaded.duplicates == [
        f"{tmp_path / 'b-times.md'}: same article body as {tmp_path / 'a-gazette.md'}, indexed once (skipped)"
    ]


def test_a_copy_of_an_indexed_article_is_skipped_whatever_its_name(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    before = EmbeddedReader(index).manifest.counts
    text = (corpus / "port-strike.md").read_text(encoding="utf-8")
    copy = corpus / "aaa-port-strike-copy.md"  # sorts before the indexed file
    copy.write_text(text.replace("publisher: Coastline Herald", "publisher: Another Wire"), encoding="utf-8")
    report = build_index(corpus, index, embedder)
    assert report.duplicates == [f"{copy}: same article body as {corpus / 'port-strike.md'}, indexed once (skipped)"]
    assert (report.added, report.changed, report.removed) == (0, 0, 0)
    assert EmbeddedReader(index).manifest.counts == before  # not indexed twice
    assert all(entry.get("body") for entry in EmbeddedReader(index).manifest.articles.values())

    # Unread on the next build (unchanged stat), the indexed article still holds its body.
    again = build_index(corpus, index, embedder)
    assert again.up_to_date and again.duplicates == report.duplicates


def test_add_article_with_another_publisher_writes_nothing(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(MULTI_CORPUS / "port-strike.md", corpus)
    source = tmp_path / "story.md"
    source.write_text(
        (MULTI_CORPUS / "port-strike.md").read_text(encoding="utf-8").replace("Coastline Herald", "Another Wire"),
        encoding="utf-8",
    )
    assert add_cli.main([str(source), "--corpus", str(corpus), "--no-build", "--publisher", "Another Wire"]) == 0
    out = capsys.readouterr().out
    assert f"already in the corpus as {corpus / 'port-strike.md'} (the same article body, other metadata)" in out
    assert [p.name for p in corpus.iterdir()] == ["port-strike.md"]
