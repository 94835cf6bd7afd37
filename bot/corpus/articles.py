"""Loading articles: files in `corpus/` become `Article(meta, blocks)`.

A news page pasted as text mixes the story with furniture: title, standfirst, photo credit lines,
captions, section headings and a byline. They are told apart here, once, so that every later step
can rely on `Block.kind`: credits and bylines become metadata, headings become context, and only
paragraphs, captions and the standfirst become passages.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.errors import ArticleError

log = logging.getLogger(__name__)

#: File endings the loader reads; others in the corpus folder are ignored.
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
#: Endings read as web pages: main text and metadata extracted by trafilatura.
HTML_SUFFIXES = (".html", ".htm")
#: Titles longer than this (a first line that is a whole paragraph) are shown shortened; front
#: matter titles over it are refused (`bot/corpus/front_matter.py`).
MAX_TITLE_CHARS = 500
#: Files larger than this are refused instead of swamping the index.
MAX_ARTICLE_BYTES = 5 * 1024 * 1024
#: A file changed this recently when it is read may change again within the same timestamp
#: tick (git's "racily clean" case): its stat is not recorded, so the next build hashes it.
RACY_SECONDS = 2

#: What a build records of an article's file to skip reading it next time: the path it was read
#: from, and its size, mtime_ns and ctime_ns (ctime cannot be set back by `touch -d` or `cp -p`).
FileStat = tuple[str, int, int, int]


class BlockKind(StrEnum):
    """What a blank-line separated block of an article is."""

    TITLE = "title"
    STANDFIRST = "standfirst"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    CAPTION = "caption"
    CREDIT = "credit"
    BYLINE = "byline"


@dataclass(frozen=True)
class ArticleMeta:
    """What a quote's source line shows: title, publisher, date, url and byline."""

    id: str
    title: str
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    byline: str | None = None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `article` in the query contract."""
        return {
            "id": self.id,
            "title": self.title,
            "publisher": self.publisher,
            "date": self.date,
            "url": self.url,
            "byline": self.byline,
        }


@dataclass(frozen=True)
class Block:
    """One block of an article; `paragraph` numbers the paragraphs and captions a reader counts."""

    kind: BlockKind
    text: str
    paragraph: int | None = None
    credit: str | None = None


@dataclass
class Article:
    """A parsed article: its metadata, its blocks in order and a hash of its text."""

    meta: ArticleMeta
    blocks: list[Block]
    content_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    #: False for an article known to be indexed already (same id and hash): only id, path and
    #: hash are set, its text was not parsed. See `load_corpus(known=...)`.
    parsed: bool = True
    #: The file's stat when it was read, for the manifest; None when it was changing then.
    stat: FileStat | None = None
    #: `body_hash` of an unparsed article, as the live index recorded it (None when unknown).
    known_body: str | None = None

    @property
    def body_blocks(self) -> list[Block]:
        """Blocks that hold the report's words (standfirst, paragraphs, captions)."""
        return [b for b in self.blocks if b.kind in PASSAGE_KINDS]

    @property
    def body_hash(self) -> str | None:
        """A hash of the article's words alone (its body blocks, spaces unified), not its metadata.

        The same report saved twice under another publisher, title or date has a different
        `content_hash` but the same body: a build indexes it once and names the file holding it.
        """
        if not self.parsed:
            return self.known_body
        words = "\n\n".join(" ".join(b.text.split()) for b in self.body_blocks)
        return hashlib.sha256(words.encode("utf-8")).hexdigest()


PASSAGE_KINDS = frozenset({BlockKind.STANDFIRST, BlockKind.PARAGRAPH, BlockKind.CAPTION})

_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f\u2000-\u200a\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_CREDIT_LINE = re.compile(r"^(?:photo|image|picture|video|graphic)s?(?:\s+(?:by|credit))?\s*:\s*(?P<who>\S.*)$", re.I)
_TRAILING_CREDIT = re.compile(r"\s*\[(?P<who>[A-Z][\w .&/'-]{1,40})\]\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*$")
_BYLINE = re.compile(r"(?:\band agencies\b|^by\s+[A-Z]|^reporting by\b|^compiled by\b)", re.I)
_TERMINAL = re.compile(r"[.!?:;…\"”’)\]]$")


def normalise_text(text: str) -> str:
    """Unify spaces and line ends without changing a single word.

    Non-breaking and other exotic spaces become plain spaces, zero-width characters go, runs of
    spaces fold to one and lines lose their trailing blanks; blank lines (block breaks) are kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def body_of(text: str) -> str:
    """The body of a corpus file as written: the text after the front matter's closing `---` line.

    What attribution offsets (`scripts/attribute.py --json`, PolNeAR's gold) count characters in.
    """
    match = re.match(r"---\r?\n.*?\r?\n---[ \t]*\r?\n", text, re.S)
    return text[match.end() :] if match else text


def decode_bytes(data: bytes, path: Path) -> tuple[str, str | None]:
    """Decode an article's bytes: UTF-8 first, then the best legacy guess, named in a warning."""
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{path}: binary file (NUL bytes), not an article")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only legacy files pay for the import

    best = from_bytes(data, cp_isolation=["cp1252", "latin_1", "iso8859_15", "cp1251", "mac_roman"])
    match = best.best()
    if match is None:
        raise ArticleError(f"{path}: not valid UTF-8 and no single-byte encoding fits")
    return str(match), f"{path}: not UTF-8, decoded as {match.encoding}"


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML front matter between `---` lines and the body; the fields are checked by `article_fields`.

    Parsed by python-frontmatter with a loader that refuses anchors and aliases and keeps every
    value as text (`bot/corpus/front_matter.py`): a hostile header costs at most 64 KiB of parsing.
    """
    if not text.startswith("---"):
        return {}, text
    from bot.corpus.front_matter import split

    return split(text, path)


def article_fields(raw: dict[str, Any], path: Path) -> dict[str, str | None]:
    """The five article fields of raw front matter, validated (real date, bounded text, http(s) url)."""
    if not raw:
        return dict.fromkeys(FRONT_MATTER_FIELDS)
    from bot.corpus.front_matter import validate_fields

    return validate_fields(raw, path)


#: Front matter fields in the order a normalised corpus file lists them.
FRONT_MATTER_FIELDS = ("title", "publisher", "date", "url", "byline")


def format_article(fields: dict[str, Any], body: str) -> str:
    """A normalised corpus file: YAML front matter (title, publisher, date, url, byline) and the body.

    Empty fields are written empty rather than left out, so an editor sees what can be filled in.
    """
    import yaml

    ordered: dict[str, Any] = {
        k: (str(fields[k]) if fields.get(k) not in (None, "") else None) for k in FRONT_MATTER_FIELDS
    }
    if ordered["date"]:
        with contextlib.suppress(ValueError):  # written unquoted, read back as a date
            ordered["date"] = date.fromisoformat(ordered["date"])
    header = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=1000)
    header = re.sub(r": null$", ":", header, flags=re.M)
    return f"---\n{header}---\n\n{normalise_text(body)}\n"


def as_iso_date(value: Any, path: Path) -> str | None:
    """A date as an ISO string; YAML or the command line may hand us a date object or a string.

    Only a real calendar date passes (`2015-02-30` does not), as an `ArticleError` naming the file.
    """
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    from bot.corpus.front_matter import parse_iso_date

    try:
        return parse_iso_date(str(value)[:100])
    except ValueError as exc:
        raise ArticleError(f"{path}: date {str(value)[:40]!r} is {exc}") from None


def _clean(value: Any) -> str | None:
    """A front matter field as a stripped string, or None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def classify_blocks(raw_blocks: list[str], meta_title: str | None, byline: str | None) -> list[Block]:
    """Give each raw block its kind and number the paragraphs a reader would count.

    Rules (see `docs/` and the design notes): the first block is the title unless front matter
    gives a different one; a block right after the title with no closing punctuation is the
    standfirst; `Photo by:` lines are credits; a block ending in `[Agency]` or following a
    credit is a caption; a short single line with no closing punctuation is a heading; a short
    closing line like "X and agencies" is the byline.
    """
    blocks: list[Block] = []
    paragraph = 0
    last = len(raw_blocks) - 1
    for i, raw in enumerate(raw_blocks):
        lines = raw.split("\n")
        one_line = len(lines) == 1
        text = " ".join(lines)
        words = len(text.split())
        previous = blocks[-1].kind if blocks else None
        md = _MD_HEADING.match(text) if one_line else None

        if i == 0 and (meta_title is None or md or text.casefold() == meta_title.casefold()):
            blocks.append(Block(BlockKind.TITLE, md.group("text") if md else text))
            continue
        credited = [m.group("who") for line in lines if (m := _CREDIT_LINE.match(line))]
        if len(credited) == len(lines):
            blocks.append(Block(BlockKind.CREDIT, text, credit=", ".join(dict.fromkeys(credited))))
            continue
        if md:
            blocks.append(Block(BlockKind.HEADING, md.group("text")))
            continue
        if (
            i == last
            and one_line
            and words <= 8
            and (_BYLINE.search(text) or (byline and text.casefold() == byline.casefold()))
        ):
            blocks.append(Block(BlockKind.BYLINE, text))
            continue
        trailing = _TRAILING_CREDIT.search(text)
        if trailing or previous is BlockKind.CREDIT:
            credit = trailing.group("who") if trailing else blocks[-1].credit
            caption = text[: trailing.start()] if trailing else text
            paragraph += 1
            blocks.append(Block(BlockKind.CAPTION, caption, paragraph=paragraph, credit=credit))
            continue
        if previous is BlockKind.TITLE and words >= 8 and not _TERMINAL.search(text):
            blocks.append(Block(BlockKind.STANDFIRST, text, paragraph=0))
            continue
        if one_line and words <= 14 and not _TERMINAL.search(text):
            blocks.append(Block(BlockKind.HEADING, text))
            continue
        paragraph += 1
        blocks.append(Block(BlockKind.PARAGRAPH, text, paragraph=paragraph))
    return blocks


def parse_article(text: str, path: Path, article_id: str | None = None) -> Article:
    """Parse decoded text (with optional front matter) into an `Article`."""
    raw, body = split_front_matter(text, path)
    fields = article_fields(raw, path)
    body = normalise_text(body)
    raw_blocks = [b for b in re.split(r"\n\s*\n", body) if b.strip()]
    meta_title = _clean(fields.get("title"))
    if meta_title is None and raw_blocks and "\n" in raw_blocks[0]:
        # The first line is the title even when no blank line follows it.
        first, rest = raw_blocks[0].split("\n", 1)
        raw_blocks[:1] = [first, rest]
    byline = _clean(fields["byline"])
    blocks = classify_blocks(raw_blocks, meta_title, byline)
    if meta_title:
        # The title from front matter is authoritative; drop a body title that repeats it.
        blocks = [b for b in blocks if b.kind is not BlockKind.TITLE or b.text != meta_title]
    title = meta_title or next((b.text for b in blocks if b.kind is BlockKind.TITLE), None)
    if not title:
        raise ArticleError(f"{path}: no title (empty file or no text)")
    if len(title) > MAX_TITLE_CHARS:  # a first line that is a whole paragraph: shown shortened
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    if byline is None:
        byline = next((b.text for b in blocks if b.kind is BlockKind.BYLINE), None)
    if not any(b.kind in PASSAGE_KINDS for b in blocks):
        raise ArticleError(f"{path}: no paragraphs to index")
    publisher = fields["publisher"]
    if publisher is None and byline:
        publisher = re.sub(r"\s+and agencies$", "", byline, flags=re.I) or None
    meta = ArticleMeta(
        id=article_id or path.stem,
        title=title,
        publisher=publisher,
        date=fields["date"],
        url=fields["url"],
        byline=byline,
        path=str(path),
    )
    return Article(meta=meta, blocks=blocks, content_hash=text_hash(text))


def text_hash(text: str) -> str:
    """The content hash of an article's text (what the index records to detect changes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        try:
            article = load_article(path, corpus_dir, known=known, stats=stats)
        except UnreadableFile as exc:
            result.skipped.append(f"{exc}; its indexed article is kept until it can be read or is deleted")
            result.unreadable.append(_article_id(path, corpus_dir))
            continue
        except ArticleError as exc:
            result.skipped.append(str(exc))
            continue
        except (RecursionError, ValueError, TypeError, LookupError, ArithmeticError, OSError) as exc:
            # A bug's or a hostile file's last line of defence: one file, not the whole build.
            log.debug("unexpected error reading %s", path, exc_info=True)
            result.skipped.append(f"{path}: could not be read as an article ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        if not article.parsed and bodies is not None:
            article.known_body = bodies.get(article.meta.id)
        loaded.append(article)
    # Articles already indexed unchanged claim their body first, so that a copy added later is
    # the one reported, whatever the two files' names; then the rest, in path order.
    holder: dict[str, Article] = {}
    indexed = {id(a) for a in loaded if not a.parsed or (known is not None and known.get(a.meta.id) == a.content_hash)}
    for article in sorted(loaded, key=lambda a: id(a) not in indexed):  # stable: path order within each
        key = article.body_hash or article.content_hash
        first = holder.setdefault(key, article)
        if first is not article:
            same = "same text" if first.content_hash == article.content_hash else "same article body"
            result.duplicates.append(f"{article.meta.path}: {same} as {first.meta.path}, indexed once (skipped)")
    kept = {id(a) for a in holder.values()}
    for article in loaded:
        if id(article) in kept:
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
