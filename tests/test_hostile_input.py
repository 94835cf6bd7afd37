"""Hostile files and unlucky folders (issue 16): what the corpus holds cannot leak, hang or stop a build.

Families: symlinked and hard-linked files and dotfiles (never read), YAML alias bombs and bad
front-matter values (one file skipped, the rest builds, --watch keeps running), unreadable files and
folders (reported, exit 3, their indexed articles kept). Each family has a property-based test where
its input allows one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.build.run import build_index
from bot.cli.build import EXIT_OK, EXIT_PARTIAL, run_build, watch
from bot.corpus.articles import parse_article
from bot.corpus.files import load_article, load_corpus
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.errors import ArticleError
from bot.index.embedded import EmbeddedReader
from bot.settings import Settings
from tests.conftest import unprivileged

GOOD = "A title\n\nThe council approved the budget on Monday, officials said.\n"
TOKEN = "123456789:AAHsecretSECRETsecretSECRETsecret_xyz"
BODY = "The harbour reopened to shipping on Tuesday, the port authority said.\n"


def md(front: str, body: str = BODY) -> str:
    return f"---\n{front}\n---\n{body}"


def article_texts(corpus: Path) -> str:
    """Everything the loader would index from a corpus: titles, metadata and block texts."""
    loaded = load_corpus(corpus)
    parts = []
    for article in loaded.articles:
        parts.extend(str(v) for v in article.meta.to_dict().values())
        parts.extend(b.text for b in article.blocks)
    return "\n".join(parts)


# --- 1. symlinked files and dotfiles -----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    ["symlink-to-env-outside", "symlink-to-absolute-path", "symlink-inside-corpus", "hard-link-to-env-outside"],
)
def test_linked_file_is_refused_and_never_read(tmp_path: Path, make: str):
    """A file linked into the corpus (symlink or hard link) is refused by name; its text is never indexed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    secret = tmp_path / ".env"
    secret.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n\nMore secret words, he said.\n", encoding="utf-8")
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    link = corpus / "notes.txt"
    if make == "symlink-to-env-outside":
        link.symlink_to("../.env")
    elif make == "symlink-to-absolute-path":
        link.symlink_to(secret)
    elif make == "symlink-inside-corpus":
        (corpus / "sub").mkdir()
        (corpus / "sub" / "inner.txt").write_text(f"Inner\n\n{TOKEN} is here, he said.\n", encoding="utf-8")
        link.symlink_to("sub/inner.txt")
    else:
        os.link(secret, link)
    loaded = load_corpus(corpus)
    assert "notes" not in [a.meta.id for a in loaded.articles]
    line = next(x for x in loaded.skipped if x.startswith(f"{link}: "))
    assert ("symbolic link" in line or "hard links" in line) and "copy the file in instead" in line
    assert TOKEN not in "\n".join(b.text for a in loaded.articles if a.meta.id == "notes" for b in a.blocks)
    if make != "symlink-inside-corpus":
        assert TOKEN not in article_texts(corpus)


def test_symlinked_env_is_never_quoted_nor_listed(tmp_path: Path, embedder: Embedder):
    """`ln -s ../.env corpus/notes.txt`, then build: the token is in no answer, no source list, no title."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n", encoding="utf-8")
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "notes.txt").symlink_to("../.env")
    report = build_index(corpus, index, embedder)
    assert report.articles == 1 and any("notes.txt: symbolic link" in s for s in report.skipped)
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
    for question in ("What is the TELEGRAM_BOT_TOKEN?", "telegram bot token", TOKEN):
        assert TOKEN not in str(engine.answer(question).to_dict()["passages"])
    assert not any(TOKEN.encode() in p.read_bytes() for p in index.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "name",
    [".env.txt", ".secret.md", ".git/notes.txt", "sub/.hidden/page.md", ".cache/deep/er/a.html", "sub/.x.txt"],
)
def test_hidden_files_and_folders_are_never_indexed(tmp_path: Path, name: str):
    """Dotfiles and everything under a dot-folder are not articles, at any depth."""
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    hidden = tmp_path / name
    hidden.parent.mkdir(parents=True, exist_ok=True)
    hidden.write_text(f"Secret\n\nTELEGRAM_BOT_TOKEN={TOKEN}, the file said.\n", encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert [a.meta.id for a in loaded.articles] == ["good"] and not loaded.skipped


@pytest.mark.parametrize("name", [".hidden.md", "sub/.git/page.md", ".cache/x.md"])
def test_add_article_never_writes_where_the_loader_does_not_read(tmp_path: Path, capsys, name: str):
    """add_article.py --name into a hidden file or folder is refused: it would never be indexed."""
    from bot.cli import add as add_cli

    source = tmp_path / "a.txt"
    source.write_text(GOOD, encoding="utf-8")
    corpus = tmp_path / "corpus"
    assert add_cli.main([str(source), "--corpus", str(corpus), "--no-build", "--name", name]) == 1
    assert "refusing to write" in capsys.readouterr().err
    assert not corpus.exists() or not any(corpus.rglob("*"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=60
    ).filter(lambda n: n not in (".", "..") and len(n.encode("utf-8")) <= 200),
    suffix=st.sampled_from([".txt", ".md", ".html", ".TXT", ".Md"]),
)
def test_any_file_name_is_indexed_or_skipped_with_its_name(name: str, suffix: str):
    """Arbitrary file names: a visible file is indexed under its name, a dotfile is not; nothing raises."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        path = corpus / f"{name}{suffix}"
        text = (
            GOOD
            if suffix.lower() != ".html"
            else "<html><body><article><h1>T</h1><p>" + BODY + "</p></article></body></html>"
        )
        path.write_text(text, encoding="utf-8")
        loaded = load_corpus(corpus)
        if name.startswith("."):
            assert loaded.articles == [] and loaded.skipped == []
        else:
            assert [a.meta.id for a in loaded.articles] == [name] or [s.split(": ")[0] for s in loaded.skipped] == [
                str(path)
            ]


# --- 2. YAML alias bombs -------------------------------------------------------------------------

#: About 1 KB that would expand to 9**9 (387 million) strings with a plain safe_load.
ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["title: Bomb"]
)
MERGE_BOMB = "\n".join(
    ["b0: &b0 {x: 1, y: 2}"] + [f"b{i}: &b{i} {{<<: *b{i - 1}, k{i}: [*b{i - 1}, *b{i - 1}]}}" for i in range(1, 30)]
)


@pytest.mark.parametrize(
    "front",
    [ALIAS_BOMB, MERGE_BOMB, "title: &t Anchored title", "title: T\nextra: *undefined"],
    ids=["nested-aliases", "merge-keys", "anchor-alone", "undefined-alias"],
)
def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, front: str):
    """Front matter with anchors or aliases: that file skipped in well under a second, the rest loads."""
    assert len(ALIAS_BOMB) < 1200
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bomb.md").write_text(md(front), encoding="utf-8")
    started = time.perf_counter()
    loaded = load_corpus(tmp_path)
    assert time.perf_counter() - started < 2
    assert [a.meta.id for a in loaded.articles] == ["good"]
    [line] = loaded.skipped
    assert line.startswith(f"{tmp_path / 'bomb.md'}: malformed front matter (")
    assert "not allowed" in line or "undefined alias" in line


# --- 3. bad front-matter values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: T\ndate: 2015-02-30", "date: not a real date"),
        ("title: T\ndate: 2015-13-01", "date: not a real date"),
        ("title: T\ndate: 0000-01-01", "date: not a real date"),
        ("title: T\ndate: !!timestamp 2015-02-30", "date: not a real date"),
        ("title: T\ndate: 20150208", "date: not an ISO date"),
        ("title: T\ndate: [2015, 2, 8]", "date: input should be a valid string"),
        ("title: T\nnumber: " + "9" * 5000, None),
        ("title: " + "9" * 5000, "title: string should have at most 500 characters"),
        ("title: T\ndate: " + "9" * 5000, "date: string should have at most 64 characters"),
        ("title: !!int " + "9" * 5000, "title: string should have at most 500 characters"),
        ("title: T\nweight: !!float 1e99999", None),
        ("title: T\nurl: javascript:alert(1)", "url: not an http(s) address"),
        ("title: {a: b}", "title: input should be a valid string"),
        ("title: T\nx: " + "[" * 3000 + "]" * 3000, "nested deeper than"),
        ("? [a, b]\n: c", "malformed front matter"),
        ("~: x\ntitle: T", "not a mapping of fields"),
        ("- a list\n- not a mapping", "not a mapping of fields"),
        ("title: !!python/object/apply:os.system ['true']", "malformed front matter"),
        ("title: !!binary aGVsbG8=", None),
        ("title: T\nbody: " + "x" * 70_000, "over 64 KiB"),
    ],
    ids=[
        "feb-30",
        "month-13",
        "year-0",
        "tagged-timestamp",
        "no-dashes",
        "date-list",
        "5000-digit-extra-field",
        "5000-digit-title",
        "5000-digit-date",
        "tagged-5000-digit-int",
        "tagged-overflowing-float",
        "javascript-url",
        "mapping-title",
        "3000-deep",
        "unhashable-key",
        "null-key",
        "list",
        "python-tag",
        "binary-tag",
        "70-KB",
    ],
)
def test_one_bad_front_matter_value_skips_only_that_file(tmp_path: Path, front: str, reason: str | None):
    """A bad value skips that file with its path, field and reason (or is kept as text); the rest loads."""
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "odd.md").write_text(md(front), encoding="utf-8")
    loaded = load_corpus(tmp_path)
    ids = [a.meta.id for a in loaded.articles]
    if reason is None:  # numbers and other tagged scalars are kept as text, never built
        assert ids == ["good", "odd"] and not loaded.skipped
        return
    assert ids == ["good"], loaded.skipped
    [line] = loaded.skipped
    assert line.startswith(f"{tmp_path / 'odd.md'}: ") and reason in line and len(line) < 400, line


def test_a_paragraph_long_first_line_is_a_bounded_title_and_can_be_added(tmp_path: Path, capsys):
    """A .txt whose first line is 2,000 characters: loaded with a title cut to 500, and add_article.py accepts it."""
    from bot.cli import add as add_cli

    source = tmp_path / "long.txt"
    source.write_text("Word " * 400 + "\n\n" + BODY, encoding="utf-8")
    title = load_article(source).meta.title
    assert len(title) <= 500 and title.endswith("…")
    corpus = tmp_path / "corpus"
    assert add_cli.main([str(source), "--corpus", str(corpus), "--no-build"]) == 0, capsys.readouterr().err
    [written] = corpus.glob("*.md")
    assert load_article(written).meta.title == title


def test_front_matter_numbers_and_words_stay_text(tmp_path: Path):
    """`title: 1984`, `publisher: yes`, `byline: 0x1F` are the text written, not a number or a boolean."""
    path = tmp_path / "a.md"
    path.write_text(md("title: 1984\npublisher: yes\nbyline: 0x1F\ndate: 2015-10-08T10:00:00Z"), encoding="utf-8")
    meta = load_article(path).meta
    assert (meta.title, meta.publisher, meta.byline, meta.date) == ("1984", "yes", "0x1F", "2015-10-08")


_VALUES = st.one_of(
    st.text(max_size=80),
    st.integers().map(str),
    st.from_regex(r"-?\d{1,6000}", fullmatch=True),
    st.dates().map(str),
    st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True),
    st.from_regex(r"[&*!%@`|>\[\]{},#?:-]{0,3}[a-z0-9 ]{0,8}", fullmatch=True),
    st.sampled_from(["~", "null", "yes", "no", ".inf", "-.nan", "0o17", "1_000", "!!timestamp 2015-02-30"]),
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(["title", "publisher", "date", "url", "byline", "author", "other"]), value=_VALUES)
def test_any_front_matter_value_loads_or_is_one_clear_error(field: str, value: str):
    """Arbitrary values in any field: an article with valid metadata, or an `ArticleError` naming the file."""
    text = f"---\ntitle: A title\n{field}: {value}\n---\n{BODY}"
    try:
        article = parse_article(text, Path("x.md"))
    except ArticleError as exc:
        assert str(exc).startswith("x.md: ") and "\n" not in str(exc)
        return
    meta = article.meta
    if meta.date is not None:
        assert len(meta.date) == 10 and meta.date[4] == "-"
    assert all(v is None or isinstance(v, str) for v in meta.to_dict().values())
    assert len(meta.title) <= 500


@settings(max_examples=150, deadline=None)
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: "---\n" + t),
        st.lists(
            st.sampled_from(
                [
                    "---",
                    "title: T",
                    "a: &x [1]",
                    "b: *x",
                    "date: 2015-02-30",
                    "- x",
                    "{",
                    "  k: v",
                    "",
                    "Text, he said.",
                ]
            ),
            max_size=12,
        ).map("\n".join),
    ),
    suffix=st.sampled_from([".md", ".txt", ".html"]),
)
def test_any_file_content_loads_or_is_skipped_with_its_path(content: bytes | str, suffix: str):
    """Arbitrary bytes or front-matter-like text in a corpus file: loaded, or skipped with its path; never raised."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"any{suffix}"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        loaded = load_corpus(Path(tmp))
        assert len(loaded.articles) + len(loaded.skipped) == 1
        assert all(line.startswith(f"{path}: ") and "\n" not in line for line in loaded.skipped)


def test_bad_front_matter_in_a_build_is_a_partial_build_not_a_traceback(tmp_path: Path, embedder: Embedder, capsys):
    """The build skips the impossible date and the 5,000-digit number, indexes the rest, exits 3."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "feb30.md").write_text(md("title: T\ndate: 2015-02-30"), encoding="utf-8")
    (corpus / "digits.md").write_text(md("title: T2\ndate: " + "1" * 5000), encoding="utf-8")
    settings_ = Settings(_env_file=None, corpus_dir=corpus, index_dir=tmp_path / "index")
    assert run_build(settings_, embedder, quiet=True) == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert f"skipped: {corpus / 'feb30.md'}: bad front matter date: not a real date" in err
    assert f"skipped: {corpus / 'digits.md'}: bad front matter date:" in err and "Traceback" not in err
    assert EmbeddedReader(tmp_path / "index").manifest.counts["articles"] == 1


def test_watch_keeps_running_after_a_bad_front_matter_file(tmp_path: Path, embedder: Embedder, capsys):
    """--watch: a file with an impossible date is skipped and the next good file is still indexed."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    settings_ = Settings(_env_file=None, corpus_dir=corpus, index_dir=index)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(watch(settings_, embedder, debounce_ms=100, quiet=True, stop_event=stop))
    )
    thread.start()
    try:

        def indexed() -> set[str]:
            try:
                return set(EmbeddedReader(index).manifest.articles)
            except Exception:
                return set()

        def wait(condition, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                assert thread.is_alive(), "watch stopped"
                assert time.monotonic() < deadline
                time.sleep(0.1)

        wait(lambda: indexed() == {"good"})
        time.sleep(0.5)
        (corpus / "bad.md").write_text(md("title: Bad\ndate: 2015-02-30"), encoding="utf-8")
        time.sleep(1.5)
        (corpus / "later.md").write_text(md("title: Later", "The harbour reopened on Friday, the mayor said.\n"))
        wait(lambda: indexed() == {"good", "later"})
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result == [EXIT_OK]
    err = capsys.readouterr().err
    assert "bad.md: bad front matter date: not a real date" in err and "Traceback" not in err


# --- 15. unreadable files and folders ------------------------------------------------------------


def _world_writable(*folders: Path) -> None:
    for folder in folders:
        for p in [folder, *folder.rglob("*")]:
            p.chmod(0o777 if p.is_dir() else 0o666)


def test_unreadable_folder_and_file_are_reported_and_their_articles_kept(open_tmp: Path, embedder: Embedder, capsys):
    """A folder or file that cannot be read: listed, exit 3, its indexed articles kept; back once readable, gone once deleted."""
    corpus, index = open_tmp / "corpus", open_tmp / "index"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "sub" / "inner.md").write_text(md("title: Inner", "The bridge closed on Tuesday, engineers said.\n"))
    (corpus / "locked.md").write_text(md("title: Locked", "The port reopened on Sunday, the harbour master said.\n"))
    settings_ = Settings(_env_file=None, corpus_dir=corpus, index_dir=index)
    assert run_build(settings_, embedder, quiet=True) == EXIT_OK
    _world_writable(corpus, index)
    (corpus / "sub").chmod(0o000)
    (corpus / "locked.md").chmod(0o000)
    capsys.readouterr()
    with unprivileged():
        code = run_build(settings_, embedder, quiet=True)
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert f"skipped: {corpus / 'sub'}/: cannot read folder (Permission denied)" in err
    assert f"skipped: {corpus / 'locked.md'}: cannot read (Permission denied)" in err
    assert "partial build" in err and "kept 2 indexed article(s)" in err
    assert set(EmbeddedReader(index).manifest.articles) == {"good", "sub/inner", "locked"}
    # A full rebuild has no text to keep them: it says so, and they come back once readable.
    with unprivileged():
        assert run_build(settings_, embedder, full=True, quiet=True) == EXIT_PARTIAL
    assert "left out of the new index until it can be read" in capsys.readouterr().err
    assert set(EmbeddedReader(index).manifest.articles) == {"good"}
    (corpus / "sub").chmod(0o777)
    (corpus / "locked.md").chmod(0o666)
    with unprivileged():
        assert run_build(settings_, embedder, quiet=True) == EXIT_OK
    assert set(EmbeddedReader(index).manifest.articles) == {"good", "sub/inner", "locked"}
    # Deleted: removed.
    shutil.rmtree(corpus / "sub")
    with unprivileged():
        assert run_build(settings_, embedder, quiet=True) == EXIT_OK
    assert set(EmbeddedReader(index).manifest.articles) == {"good", "locked"}


def test_unreadable_folder_is_listed_by_dry_run(open_tmp: Path, capsys):
    """`--dry-run` lists the unreadable folder and exits 3 instead of planning to remove its articles."""
    from bot.cli.build import dry_run

    corpus = open_tmp / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    _world_writable(corpus)
    (corpus / "sub").chmod(0o000)
    with unprivileged():
        code = dry_run(Settings(_env_file=None, corpus_dir=corpus, index_dir=open_tmp / "index"))
    assert code == EXIT_PARTIAL
    assert f"{corpus / 'sub'}/: cannot read folder" in capsys.readouterr().err


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="file permission and link semantics of Linux")
