"""Formats (.txt, .md, .html) and `scripts/add_article.py`: files and web pages into the corpus."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import pytest

from bot.build.run import build_index
from bot.cli import add as add_cli
from bot.corpus.articles import BlockKind
from bot.corpus.files import load_article, load_corpus
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.settings import Settings
from tests.conftest import MULTI_CORPUS, ROOT, SEED_FILE, run_script

HTML = ROOT / "tests" / "data" / "html" / "harbour.html"


def test_html_article_main_text_and_metadata():
    article = load_article(HTML)
    m = article.meta
    assert (m.title, m.publisher, m.date, m.url, m.byline) == (
        "Harbour reopens after storm",
        "Coast Times",
        "2024-03-05",
        "https://coast.example/harbour-reopens",
        "Jane Doe",
    )
    kinds = [(b.kind, b.paragraph) for b in article.blocks]
    assert kinds == [
        (BlockKind.STANDFIRST, 0),
        (BlockKind.PARAGRAPH, 1),
        (BlockKind.HEADING, None),
        (BlockKind.PARAGRAPH, 2),
        (BlockKind.PARAGRAPH, 3),
    ]
    text = " ".join(b.text for b in article.blocks)
    assert "Most read" not in text and "Copyright" not in text and "Home" not in text  # page furniture


def test_each_format_builds_and_answers_with_its_speaker(tmp_path: Path, embedder: Embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(MULTI_CORPUS / "flood.txt", corpus)  # raw text, no front matter
    shutil.copy(MULTI_CORPUS / "port-strike.md", corpus)  # front matter
    shutil.copy(HTML, corpus)  # web page
    shutil.copy(HTML, corpus / "zz-harbour-copy.htm")  # same page twice: reported, indexed once
    report = build_index(corpus, tmp_path / "index", embedder)
    assert report.articles == 3 and not report.skipped
    assert len(report.duplicates) == 1 and "indexed once" in report.duplicates[0]
    engine = Engine(Settings(_env_file=None, index_dir=tmp_path / "index"), embedder=embedder)
    cases = {
        "What did Tom Baker say about the lost work?": ("harbour", "We lost a week of work", "Tom Baker"),
        "How many people were killed in the floods?": ("flood", "At least 23 people were killed", "interior ministry"),
        "How much is the strike costing the economy?": ("port-strike", "$40 million a day", "trade ministry"),
    }
    for question, (article_id, words, speaker) in cases.items():
        quote = next(q for q in engine.answer(question).quotes if words in q.text)
        assert quote.article.id == article_id, question
        assert speaker in quote.speaker.name, (question, quote.speaker)


def test_title_of_a_titleless_text_file_is_its_title_and_a_searchable_lead(tmp_path: Path, embedder: Embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bridge.txt").write_text(
        "Old Kessel bridge to be demolished in May\n\n"
        "Engineers inspected the structure last week and found cracks in two of its piers.\n\n"
        "Traffic has been diverted to the ring road since the inspection, the city council said.\n",
        encoding="utf-8",
    )
    article = load_article(corpus / "bridge.txt")
    assert article.meta.title == "Old Kessel bridge to be demolished in May"
    build_index(corpus, tmp_path / "index", embedder)
    engine = Engine(Settings(_env_file=None, index_dir=tmp_path / "index"), embedder=embedder)
    quotes = engine.answer("When will the bridge be demolished?").quotes
    lead = next(q for q in quotes if q.kind == "title")  # only the title says "May"
    assert lead.quote == "Old Kessel bridge to be demolished in May" and lead.paragraph == -1


def test_html_figcaption_is_a_photo_caption_with_its_credit(tmp_path: Path, embedder: Embedder):
    page = ROOT / "tests" / "data" / "html" / "figure.html"
    article = load_article(page)
    caption = next(b for b in article.blocks if b.kind is BlockKind.CAPTION)
    assert caption.text == "Fishing boats return to Kessel harbour on Monday, March 4, 2024."
    assert caption.credit == "Jane Roe/Example News"
    # It stands where the figure stood: after the first paragraph, before the second.
    kinds = [b.kind for b in article.blocks]
    assert kinds.index(BlockKind.CAPTION) == 2 and kinds[1] is BlockKind.CREDIT
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(page, corpus)
    build_index(corpus, tmp_path / "index", embedder)
    engine = Engine(Settings(_env_file=None, index_dir=tmp_path / "index"), embedder=embedder)
    top = engine.answer("What does the photo of the fishing boats show?").quotes[0]
    assert top.kind == "caption" and "Fishing boats return" in top.quote
    assert "Jane Roe" in top.speaker.label


# --- add_article -------------------------------------------------------------------------------


def test_add_article_from_text_file_writes_normalised_markdown(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    source = str(MULTI_CORPUS / "flood.txt")
    options = ["--index", str(tmp_path / "i"), "--no-build", "--publisher", "Example News", "--date", "2024-05-14"]
    code = add_cli.main([source, "--corpus", str(corpus), *options])
    assert code == 0
    out = capsys.readouterr().out
    written = corpus / "example-news-2024-05-14-flash-floods-kill-at-least-23-in-kessara-province.md"
    assert f"added {written}" in out and "index not updated" in out
    post = frontmatter.loads(written.read_text(encoding="utf-8"))
    assert list(post.metadata) == ["title", "publisher", "date", "url", "byline"]
    assert post["title"] == "Flash floods kill at least 23 in Kessara province"
    assert (post["publisher"], str(post["date"]), post["url"]) == ("Example News", "2024-05-14", None)
    # The normalised file loads to the same blocks as the original (the title is now metadata).
    original, normalised = load_article(MULTI_CORPUS / "flood.txt"), load_article(written)
    assert [(b.kind, b.text) for b in normalised.blocks] == [
        (b.kind, b.text) for b in original.blocks if b.kind is not BlockKind.TITLE
    ]
    assert not (tmp_path / "i").exists()


def test_add_article_from_markdown_keeps_front_matter_and_refuses_to_overwrite(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    args = [str(SEED_FILE), "--corpus", str(corpus), "--no-build"]
    assert add_cli.main(args) == 0
    [written] = corpus.glob("*.md")
    assert written.name == "trt-world-2015-10-08-syrian-regime-initiates-second-russian-backed-offensive.md"
    seed, copy = load_article(SEED_FILE), load_article(written)
    assert (copy.meta.title, copy.meta.publisher, copy.meta.date, copy.meta.url, copy.meta.byline) == (
        seed.meta.title,
        "TRT World",
        "2015-10-08",
        None,
        "TRTWorld and agencies",
    )
    assert [(b.kind, b.text) for b in copy.blocks] == [(b.kind, b.text) for b in seed.blocks]
    capsys.readouterr()
    assert add_cli.main(args) == 0  # same text again: nothing written
    assert "already holds this article" in capsys.readouterr().out
    changed = [*args, "--byline", "Someone else"]
    assert add_cli.main(changed) == 1
    err = capsys.readouterr().err
    assert "already exists with different text" in err and "--force" in err
    assert "TRTWorld and agencies" in written.read_text(encoding="utf-8")
    assert add_cli.main([*changed, "--force"]) == 0
    assert "replaced" in capsys.readouterr().out
    assert "byline: Someone else" in written.read_text(encoding="utf-8")
    assert len(load_corpus(corpus).articles) == 1


def test_add_article_duplicate_text_is_not_written_twice(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    assert add_cli.main([str(HTML), "--corpus", str(corpus), "--no-build"]) == 0
    capsys.readouterr()
    assert add_cli.main([str(HTML), "--corpus", str(corpus), "--no-build", "--name", "again"]) == 0
    assert "already in the corpus as" in capsys.readouterr().out
    assert [p.name for p in corpus.iterdir()] == ["coast-times-2024-03-05-harbour-reopens-after-storm.md"]


@pytest.mark.parametrize("name", ["../outside.md", "/tmp/outside.md", "sub/../../outside.md", ".hidden.md"])
def test_add_article_refuses_names_outside_the_corpus(tmp_path: Path, capsys, name: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    code = add_cli.main([str(HTML), "--corpus", str(corpus), "--no-build", "--name", name])
    assert code == 1
    err = capsys.readouterr().err
    assert "refusing to write" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [corpus] and not list(corpus.iterdir())


def test_add_article_refuses_a_symlink_that_leads_out(tmp_path: Path, capsys):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "escape").symlink_to(outside, target_is_directory=True)
    (corpus / "trap.md").symlink_to(outside / "trap.md")
    for name in ("escape/page.md", "trap.md"):
        assert add_cli.main([str(HTML), "--corpus", str(corpus), "--no-build", "--name", name]) == 1
        assert "outside the corpus folder" in capsys.readouterr().err
    assert not list(outside.iterdir())


def test_add_article_bad_sources_say_why(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")  # 127.0.0.1:9 is refused before connecting otherwise
    corpus = tmp_path / "corpus"
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    cases = {
        str(tmp_path / "missing.md"): "no such file",
        str(tmp_path / "notes.pdf"): "unsupported file type .pdf",
        "http://127.0.0.1:9/nothing-listens-here": "cannot fetch",
    }
    for source, reason in cases.items():
        assert add_cli.main([source, "--corpus", str(corpus), "--no-build"]) == 1
        err = capsys.readouterr().err
        assert reason in err and "Traceback" not in err
    assert add_cli.main([str(HTML), "--corpus", str(corpus), "--no-build", "--date", "5 March"]) == 1
    assert "not an ISO date" in capsys.readouterr().err
    assert not corpus.exists() or not list(corpus.iterdir())


@pytest.fixture
def web_server() -> Iterator[str]:
    """A local HTTP server (http.server in a thread) serving tests/data/html and a 404."""
    pages = {
        "/news/harbour": HTML.read_bytes().replace(
            b'<link rel="canonical" href="https://coast.example/harbour-reopens">', b""
        ),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"<html><body>Not found</body></html>")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_add_article_from_url_writes_and_indexes_only_it(web_server: str, multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    before = EmbeddedReader(index)
    url = f"{web_server}/news/harbour"
    allow = {"FETCH_ALLOW_PRIVATE": "true"}  # the test server is on loopback
    result = run_script(
        "scripts/add_article.py", url, "--corpus", str(corpus), "--index", str(index), "--quiet", env=allow
    )
    assert result.returncode == 0, result.stderr
    written = corpus / "coast-times-2024-03-05-harbour-reopens-after-storm.md"
    assert f"added {written}" in result.stdout
    post = frontmatter.loads(written.read_text(encoding="utf-8"))
    assert post["url"] == url  # no canonical link on this page: the address it was fetched from
    assert (post["title"], post["publisher"], post["byline"]) == (
        "Harbour reopens after storm",
        "Coast Times",
        "Jane Doe",
    )
    assert "incremental: 1 added, 0 changed, 0 removed, 7 unchanged" in result.stdout
    after = EmbeddedReader(index)
    new_passages = after.manifest.counts["passages"] - before.manifest.counts["passages"]
    new_sentences = after.manifest.counts["sentences"] - before.manifest.counts["sentences"]
    assert new_passages == 4
    assert f"({new_passages + new_sentences} texts embedded, 0 reused;" in result.stdout

    missing = run_script(
        "scripts/add_article.py", f"{web_server}/gone", "--corpus", str(corpus), "--no-build", env=allow
    )
    assert missing.returncode == 1
    assert "the server answered 404" in missing.stderr and "Traceback" not in missing.stderr


def test_exit_codes_are_in_help_and_readme():
    from bot.cli import build as build_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for parser in (build_cli.parser(), add_cli.parser()):
        text = parser.format_help()
        assert "3    partial build: some files were skipped" in text
        assert "1    nothing could be indexed" in text
    assert "**3** partial build" in readme and "scripts/add_article.py PATH_OR_URL" in readme
