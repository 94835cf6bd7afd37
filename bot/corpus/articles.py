"""Loading articles: files in `corpus/` become `Article(meta, blocks)`.

A news page pasted as text mixes the story with furniture: title, standfirst, photo credit lines,
captions, section headings and a byline. They are told apart here, once, so that every later step
can rely on `Block.kind`: credits and bylines become metadata, headings become context, and only
paragraphs, captions and the standfirst become passages.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.corpus.normalise import normalise_text, text_hash
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

_CREDIT_LINE = re.compile(r"^(?:photo|image|picture|video|graphic)s?(?:\s+(?:by|credit))?\s*:\s*(?P<who>\S.*)$", re.I)
_TRAILING_CREDIT = re.compile(r"\s*\[(?P<who>[A-Z][\w .&/'-]{1,40})\]\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*$")
_BYLINE = re.compile(r"(?:\band agencies\b|^by\s+[A-Z]|^reporting by\b|^compiled by\b)", re.I)
_TERMINAL = re.compile(r"[.!?:;…\"”’)\]]$")


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
    from bot.corpus.front_matter import MAX_TITLE_CHARS, article_fields, clean_field, split_front_matter

    raw, body = split_front_matter(text, path)
    fields = article_fields(raw, path)
    body = normalise_text(body)
    raw_blocks = [b for b in re.split(r"\n\s*\n", body) if b.strip()]
    meta_title = clean_field(fields.get("title"))
    if meta_title is None and raw_blocks and "\n" in raw_blocks[0]:
        # The first line is the title even when no blank line follows it.
        first, rest = raw_blocks[0].split("\n", 1)
        raw_blocks[:1] = [first, rest]
    byline = clean_field(fields["byline"])
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
