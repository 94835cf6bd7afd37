"""Reading the corpus folder: which files are articles, read safely, each parsed once.

A build reads only files whose stat changed since the live index recorded it (`FileStat`); a
file is opened without following links, bounded in size, and an unreadable one is reported
without dropping its article from the index.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.corpus.articles import (
    HTML_SUFFIXES,
    MAX_ARTICLE_BYTES,
    RACY_SECONDS,
    SUPPORTED_SUFFIXES,
    Article,
    ArticleMeta,
    FileStat,
    parse_article,
)
from bot.corpus.normalise import decode_bytes, text_hash
from bot.errors import ArticleError

log = logging.getLogger(__name__)


def _known_article(article_id: str, path: Path, digest: str, file_stat: FileStat | None) -> Article:
    return Article(ArticleMeta(id=article_id, title="", path=str(path)), [], digest, parsed=False, stat=file_stat)


def file_stat(path: Path, info: Any) -> FileStat | None:
    """What the manifest records of a file to recognise it unchanged; None while it is racy."""
    newest = max(info.st_mtime_ns, info.st_ctime_ns)
    if time.time_ns() - newest < RACY_SECONDS * 10**9:
        return None
    return (str(path), int(info.st_size), int(info.st_mtime_ns), int(info.st_ctime_ns))


class UnreadableFile(ArticleError):
    """A file the build could not read (permissions, I/O error): its indexed article is kept."""


def _regular_stat(path: Path) -> os.stat_result:
    """The stat of a corpus file that may be read; `ArticleError` for what must not be.

    Only a regular file with one name is an article. A symlink is refused (`ln -s ../.env
    corpus/notes.txt` would publish the bot's token), and so is a file with several hard links,
    which may be the same file outside the corpus folder.
    """
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if stat.S_ISLNK(info.st_mode):
        raise ArticleError(
            f"{path}: symbolic link (to {os.readlink(path)!r}), not read: only regular files inside the "
            "corpus folder are articles; copy the file in instead"
        )
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; only regular files are articles.
        raise ArticleError(f"{path}: not a regular file")
    if info.st_nlink > 1:
        raise ArticleError(
            f"{path}: has {info.st_nlink} hard links, not read: it may be a file from outside the corpus "
            "folder; copy the file in instead"
        )
    return info


def _open_regular(path: Path, info: os.stat_result) -> int:
    """Open the file `_regular_stat` checked.

    `O_NOFOLLOW` keeps the refusal of links even if the file is swapped for one between the check
    and the read; `O_NONBLOCK` keeps a FIFO from blocking the open.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArticleError(f"{path}: became a symbolic link while read, not read") from exc
        raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from exc
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise ArticleError(f"{path}: replaced while read; the next build reads it again")
    return fd


def _read_all(fd: int, path: Path, size: int) -> bytes:
    """The file's bytes, at most `MAX_ARTICLE_BYTES` of them (a file may grow while read)."""
    try:
        with os.fdopen(fd, "rb", closefd=True) as handle:
            data = handle.read(MAX_ARTICLE_BYTES + 1)
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"{path}: {max(size, len(data)) / 1e6:.1f} MB is over the {MAX_ARTICLE_BYTES // 2**20} MiB limit"
        )
    return data


def load_article(
    path: Path,
    corpus_dir: Path | None = None,
    *,
    known: Mapping[str, str] | None = None,
    stats: Mapping[str, FileStat] | None = None,
) -> Article:
    """Read one article file; raises `ArticleError` with the path and reason when it cannot.

    Symlinks, hard-linked files, FIFOs and devices are refused (`_regular_stat`); a file that
    cannot be read raises `UnreadableFile`, so that the build keeps what it indexed from it.
    With `known` (article id → content hash of the live index), a file whose hash matches is not
    parsed: an unparsed `Article` stands for it, which keeps large incremental builds fast.
    With `stats` too (article id → the file's stat when the live index read it), a file whose
    path, size, mtime and ctime are unchanged is not even read, as git does for its index: the
    recorded hash stands for it. (Like git, this trusts the file system's timestamps: an edit that
    keeps size, mtime and ctime, e.g. after setting the clock back, is only seen by `--full`.)
    """
    article_id = _article_id(path, corpus_dir)
    info = _regular_stat(path)
    current = file_stat(path, info)
    if known is not None and stats is not None and article_id in known:
        recorded = stats.get(article_id)
        if current is not None and recorded is not None and tuple(recorded) == current:
            return _known_article(article_id, path, known[article_id], current)
    if info.st_size > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{path}: {info.st_size / 1e6:.1f} MB is over the {MAX_ARTICLE_BYTES // 2**20} MiB limit")
    data = _read_all(_open_regular(path, info), path, info.st_size)
    if not data.strip():
        raise ArticleError(f"{path}: empty file")
    if path.suffix.lower() in HTML_SUFFIXES:
        # Pages are hashed as bytes, so an unchanged page is recognised without extracting it.
        digest = hashlib.sha256(data).hexdigest()
        if known is not None and known.get(article_id) == digest:
            return _known_article(article_id, path, digest, current)
        from bot.corpus.html import html_to_document  # trafilatura is slow to import

        article = parse_article(html_to_document(data, path), path, article_id)
        article.content_hash = digest
        article.stat = current
        return article
    text, warning = decode_bytes(data, path)
    if known is not None and known.get(article_id) == text_hash(text):
        return _known_article(article_id, path, text_hash(text), current)
    article = parse_article(text, path, article_id)
    article.stat = current
    if warning:
        article.warnings.append(warning)
    return article


def _article_id(path: Path, corpus_dir: Path | None) -> str:
    """A stable id: the path below the corpus folder without its ending.

    String work rather than `Path.relative_to`: a build asks this for every file of the corpus,
    and at 10,000 files pathlib's parsing was a tenth of planning an incremental build.
    """
    if corpus_dir is not None:
        text, base = str(path), "" if str(corpus_dir) == "." else str(corpus_dir) + os.sep
        if text.startswith(base) and not os.path.isabs(text[len(base) :]):
            return os.path.splitext(text[len(base) :])[0].replace(os.sep, "/")
        try:
            return path.relative_to(corpus_dir).with_suffix("").as_posix()
        except ValueError:
            pass
    return path.stem


def _folder_id(folder: Path, corpus_dir: Path) -> str:
    """The id prefix of the articles below `folder` (`sub/deeper/`); "" for the corpus folder itself."""
    try:
        relative = folder.relative_to(corpus_dir).as_posix()
    except ValueError:
        return ""
    return "" if relative == "." else relative + "/"


def corpus_files(corpus_dir: Path, unreadable: list[tuple[Path, str]] | None = None) -> Iterator[Path]:
    """Article files below `corpus_dir`, sorted, without following symlinked folders (no loops).

    Hidden files and folders (a name starting with `.`: `.env`, `.git/`) are never articles. A
    folder that cannot be listed is appended to `unreadable` with the reason, so that the build
    can report it and keep what it indexed from there. `os.scandir` tells folders from files
    without a `stat` per file (pathlib's rglob plus `is_dir` cost three), which matters when
    planning a build over 10,000 files.
    """
    if not corpus_dir.is_dir():
        return
    found: list[str] = []
    folders = [str(corpus_dir)]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((Path(folder), exc.strerror or str(exc)))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES:
                found.append(entry.path)  # symlinks, FIFOs and the like are reported by load_article
    for path in sorted(found):  # the same order as sorting by as_posix() on POSIX
        yield Path(path)


@dataclass
class CorpusLoad:
    """Articles that loaded and files that were skipped, each with its reason."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Files with the same text as one loaded before them: reported, indexed once.
    duplicates: list[str] = field(default_factory=list)
    #: Article ids (a file's id, or a folder's id followed by `/`) that could not be read: what
    #: the live index holds of them is kept until they are readable again or deleted.
    unreadable: list[str] = field(default_factory=list)

    def keeps(self, article_id: str) -> bool:
        """Whether an indexed article must stay because its file or folder could not be read."""
        return any(
            article_id == u or ((u == "" or u.endswith("/")) and article_id.startswith(u)) for u in self.unreadable
        )


def load_corpus(
    corpus_dir: Path,
    *,
    known: Mapping[str, str] | None = None,
    stats: Mapping[str, FileStat] | None = None,
    bodies: Mapping[str, str] | None = None,
) -> CorpusLoad:
    """Load every article; a bad file is skipped with its reason and the rest still load.

    Whatever goes wrong with one file (hostile front matter, a page that trips the extractor) skips
    that file only. Files and folders that cannot be read are listed in `unreadable`. `known` (id →
    hash of the live index) leaves unchanged articles unparsed, and `stats` (id → recorded file
    stat) unread; see `load_article`.

    Two files with the same article body (the same words under other front matter, e.g. another
    publisher) are one article: the second is listed in `duplicates` with the file already holding
    it, and not loaded. An article the live index holds unchanged keeps its place over a newcomer;
    `bodies` (id → `body_hash` recorded by the live index) stands for the bodies of unread files.
    """
    result = CorpusLoad()
    loaded: list[Article] = []
    folders: list[tuple[Path, str]] = []
    for path in corpus_files(corpus_dir, folders):
        article = _load_one(path, corpus_dir, result, known, stats)
        if article is not None:
            if not article.parsed and bodies is not None:
                article.known_body = bodies.get(article.meta.id)
            loaded.append(article)
    for article in _without_duplicates(loaded, known, result.duplicates):
        result.warnings.extend(article.warnings)
        result.articles.append(article)
    result.duplicates.sort()
    for folder, reason in folders:
        if folder == corpus_dir:
            result.skipped.append(f"{folder}/: cannot read the corpus folder ({reason})")
        else:
            result.skipped.append(
                f"{folder}/: cannot read folder ({reason}); the articles indexed from it are kept until it "
                "can be read or is deleted"
            )
        result.unreadable.append(_folder_id(folder, corpus_dir))
    result.skipped.sort()
    return result


def _load_one(
    path: Path,
    corpus_dir: Path,
    result: CorpusLoad,
    known: Mapping[str, str] | None,
    stats: Mapping[str, FileStat] | None,
) -> Article | None:
    """One file's article, or None with the reason it was skipped added to `result`."""
    try:
        return load_article(path, corpus_dir, known=known, stats=stats)
    except UnreadableFile as exc:
        result.skipped.append(f"{exc}; its indexed article is kept until it can be read or is deleted")
        result.unreadable.append(_article_id(path, corpus_dir))
    except ArticleError as exc:
        result.skipped.append(str(exc))
    except (RecursionError, ValueError, TypeError, LookupError, ArithmeticError, OSError) as exc:
        # A bug's or a hostile file's last line of defence: one file, not the whole build.
        log.debug("unexpected error reading %s", path, exc_info=True)
        result.skipped.append(f"{path}: could not be read as an article ({type(exc).__name__}: {str(exc)[:120]})")
    return None


def _without_duplicates(loaded: list[Article], known: Mapping[str, str] | None, duplicates: list[str]) -> list[Article]:
    """The articles in path order, each body once; the copies skipped are listed in `duplicates`.

    Articles already indexed unchanged claim their body first, so that a copy added later is the
    one reported, whatever the two files' names; then the rest, in path order.
    """
    holder: dict[str, Article] = {}
    indexed = {id(a) for a in loaded if not a.parsed or (known is not None and known.get(a.meta.id) == a.content_hash)}
    for article in sorted(loaded, key=lambda a: id(a) not in indexed):  # stable: path order within each
        key = article.body_hash or article.content_hash
        first = holder.setdefault(key, article)
        if first is not article:
            same = "same text" if first.content_hash == article.content_hash else "same article body"
            duplicates.append(f"{article.meta.path}: {same} as {first.meta.path}, indexed once (skipped)")
    kept = {id(a) for a in holder.values()}
    return [a for a in loaded if id(a) in kept]
