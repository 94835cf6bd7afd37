"""Loading articles: files in `corpus/` become `Article(meta, blocks)`.

A news page pasted as text mixes the story with furniture: title, standfirst, photo credit lines,
captions, section headings and a byline. They are told apart here, once, so that every later step
can rely on `Block.kind`: credits and bylines become metadata, headings become context, and only
paragraphs, captions and the standfirst become passages.
"""

from __future__ import annotations

import contextlib
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

    @property
    def body_blocks(self) -> list[Block]:
        """Blocks that hold the report's words (standfirst, paragraphs, captions)."""
        return [b for b in self.blocks if b.kind in PASSAGE_KINDS]


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
    """YAML front matter between `---` lines, parsed by python-frontmatter."""
    if not text.startswith("---"):
        return {}, text
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArticleError(f"{path}: malformed front matter ({first})") from exc
    if not isinstance(post.metadata, dict):
        raise ArticleError(f"{path}: front matter is not a mapping of fields")
    return dict(post.metadata), post.content


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
    """Front matter dates as ISO strings; YAML may hand us a date object or a string."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError as exc:
        raise ArticleError(f"{path}: date {value!r} is not an ISO date (YYYY-MM-DD)") from exc


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
        if all(_CREDIT_LINE.match(line) for line in lines):
            credits = dict.fromkeys(_CREDIT_LINE.match(line).group("who") for line in lines)  # type: ignore[union-attr]
            blocks.append(Block(BlockKind.CREDIT, text, credit=", ".join(credits)))
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
    fields, body = split_front_matter(text, path)
    body = normalise_text(body)
    raw_blocks = [b for b in re.split(r"\n\s*\n", body) if b.strip()]
    meta_title = _clean(fields.get("title"))
    if meta_title is None and raw_blocks and "\n" in raw_blocks[0]:
        # The first line is the title even when no blank line follows it.
        first, rest = raw_blocks[0].split("\n", 1)
        raw_blocks[:1] = [first, rest]
    byline = _clean(fields.get("byline") or fields.get("author"))
    blocks = classify_blocks(raw_blocks, meta_title, byline)
    if meta_title:
        # The title from front matter is authoritative; drop a body title that repeats it.
        blocks = [b for b in blocks if b.kind is not BlockKind.TITLE or b.text != meta_title]
    title = meta_title or next((b.text for b in blocks if b.kind is BlockKind.TITLE), None)
    if not title:
        raise ArticleError(f"{path}: no title (empty file or no text)")
    if byline is None:
        byline = next((b.text for b in blocks if b.kind is BlockKind.BYLINE), None)
    if not any(b.kind in PASSAGE_KINDS for b in blocks):
        raise ArticleError(f"{path}: no paragraphs to index")
    publisher = _clean(fields.get("publisher") or fields.get("site") or fields.get("sitename"))
    if publisher is None and byline:
        publisher = re.sub(r"\s+and agencies$", "", byline, flags=re.I) or None
    meta = ArticleMeta(
        id=article_id or path.stem,
        title=title,
        publisher=publisher,
        date=as_iso_date(fields.get("date"), path),
        url=_clean(fields.get("url")),
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


def load_article(
    path: Path,
    corpus_dir: Path | None = None,
    *,
    known: Mapping[str, str] | None = None,
    stats: Mapping[str, FileStat] | None = None,
) -> Article:
    """Read one article file; raises `ArticleError` with the path and reason when it cannot.

    With `known` (article id → content hash of the live index), a file whose hash matches is not
    parsed: an unparsed `Article` stands for it, which keeps large incremental builds fast.
    With `stats` too (article id → the file's stat when the live index read it), a file whose
    path, size, mtime and ctime are unchanged is not even read, as git does for its index: the
    recorded hash stands for it. (Like git, this trusts the file system's timestamps: an edit that
    keeps size, mtime and ctime, e.g. after setting the clock back, is only seen by `--full`.)
    """
    article_id = _article_id(path, corpus_dir)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device would block or never end; only regular files are articles.
            raise ArticleError(f"{path}: not a regular file")
        current = file_stat(path, info)
        if known is not None and stats is not None and article_id in known:
            recorded = stats.get(article_id)
            if current is not None and recorded is not None and tuple(recorded) == current:
                return _known_article(article_id, path, known[article_id], current)
        size = info.st_size
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"{path}: {size / 1e6:.1f} MB is over the {MAX_ARTICLE_BYTES // 2**20} MiB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise ArticleError(f"{path}: empty file")
    if path.suffix.lower() in HTML_SUFFIXES:
        # Pages are hashed as bytes, so an unchanged page is recognised without extracting it.
        digest = hashlib.sha256(data).hexdigest()
        if known is not None and known.get(article_id) == digest:
            return _known_article(article_id, path, digest, current)
        from bot.html_article import html_to_document  # trafilatura is slow to import

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


def corpus_files(corpus_dir: Path) -> Iterator[Path]:
    """Article files below `corpus_dir`, sorted, without following symlinked folders (no loops).

    `os.scandir` tells folders from files without a `stat` per file (pathlib's rglob plus
    `is_dir` cost three), which matters when planning a build over 10,000 files.
    """
    if not corpus_dir.is_dir():
        return
    found: list[str] = []
    folders = [str(corpus_dir)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue  # an unreadable subfolder: skipped, as rglob did
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif not entry.name.startswith(".") and os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES:
                found.append(entry.path)  # FIFOs, dangling links and the like are reported by load_article
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


def load_corpus(
    corpus_dir: Path, *, known: Mapping[str, str] | None = None, stats: Mapping[str, FileStat] | None = None
) -> CorpusLoad:
    """Load every article; a bad file is skipped with its reason and the rest still load.

    `known` (id → hash of the live index) leaves unchanged articles unparsed, and `stats` (id →
    recorded file stat) unread; see `load_article`.
    """
    result = CorpusLoad()
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        try:
            article = load_article(path, corpus_dir, known=known, stats=stats)
        except ArticleError as exc:
            result.skipped.append(str(exc))
            continue
        if article.content_hash in seen:
            result.duplicates.append(f"{path}: same text as {seen[article.content_hash]}, indexed once")
            continue
        seen[article.content_hash] = str(path)
        result.warnings.extend(article.warnings)
        result.articles.append(article)
    return result
