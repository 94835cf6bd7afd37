"""Web pages as articles: main text and metadata extracted by trafilatura.

A saved page is mostly furniture (menus, share buttons, related links). trafilatura finds the
story and its metadata (title, date, author, site name, canonical URL); this module turns its XML
output into the corpus's own format, a front matter document with blank-line separated blocks, so
that the loader's block kinds, paragraph numbers and attribution apply to pages as to text files.
trafilatura takes seconds to import, so it is imported here, when a page is read, and nowhere else.
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.corpus.front_matter import MAX_NAME_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, format_article
from bot.corpus.page_date import page_date
from bot.errors import ArticleError

if TYPE_CHECKING:
    from lxml.html import HtmlElement

_SPACES = re.compile(r"\s+")
#: A credit at the end of a caption: "... Photo: Jane Roe/Example News", "(Credit: Reuters)".
_CAPTION_CREDIT = re.compile(
    r"[\s(\[]*(?:photo(?:graph)?|image|picture|credit)s?(?:\s+(?:by|credit))?\s*:\s*(?P<who>[^()\[\]]{2,80}?)[)\]]?\s*$",
    re.I,
)


def _text(element: Any) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


#: A page's figure caption: (text of the paragraph before it, caption, photo credit).
Caption = tuple[str | None, str, str | None]


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def figure_captions(data: bytes | str) -> list[Caption]:
    """Each `<figcaption>` of a page: (text of the paragraph before it, caption, photo credit).

    trafilatura drops figures and their captions, so they are read from the page here and put
    back beside the paragraph they followed. The credit is a `<cite>` or `.credit` element of the
    caption, or a trailing "Photo: ..." in its text; None when the page gives none.
    """
    import lxml.html

    try:
        root = lxml.html.fromstring(data)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[Caption] = []
    previous: str | None = None
    for element in root.iter("p", "figcaption"):
        if element.tag == "p":
            if element.xpath("ancestor::figcaption"):
                continue
            text = _text(element)
            previous = text or previous
            continue
        credit = None
        for cite in _found(element, ".//cite | .//*[contains(@class, 'credit')]"):
            credit = credit or _text(cite) or None
            cite.drop_tree()
        caption = _text(element)
        trailing = _CAPTION_CREDIT.search(caption)
        if trailing and trailing.start() > 0:
            credit = credit or trailing.group("who").strip()
            caption = caption[: trailing.start()].rstrip()
        if caption:
            found.append((previous, caption, credit))
    return found


def _found(element: HtmlElement, path: str) -> list[HtmlElement]:
    """The elements an XPath finds (lxml types `xpath` as any XPath result: text, number, boolean...)."""
    import lxml.html

    found = element.xpath(path)
    return [e for e in found if isinstance(e, lxml.html.HtmlElement)] if isinstance(found, list) else []


def _with_captions(blocks: list[str], captions: list[Caption], site: str | None) -> list[str]:
    """The blocks with each caption after the paragraph it followed, as a credit line and a caption.

    The corpus format marks a caption by the `Photo by:` line before it, so the loader gives it
    the kind, paragraph number and speaker (the photo credit) of every other photo caption.
    Linear in blocks plus captions (a page may hold thousands of each): lookups go through a set
    of the texts present and the first position of each paragraph.
    """
    norms = [_norm(b) for b in blocks]
    present = set(norms)
    first_at: dict[str, int] = {}
    for i, text in enumerate(norms):
        first_at.setdefault(text, i)
    after: dict[int, list[str]] = {}  # block index (len(blocks) = the end) -> lines inserted after it
    for previous, caption, credit in captions:
        key = _norm(caption)
        if key in present:
            continue  # trafilatura kept it after all (or an earlier figure had the same caption)
        present.add(key)
        at = first_at.get(_norm(previous), len(blocks)) if previous else len(blocks)
        after.setdefault(at, []).extend([f"Photo by: {credit or site or 'unknown'}", caption])
    out: list[str] = []
    for i, block in enumerate(blocks):
        out.append(block)
        out.extend(after.get(i, []))
    out.extend(after.get(len(blocks), []))
    return out


@dataclass(frozen=True)
class HtmlLimits:
    """Bounds on the work one page may cost: trafilatura slows down more than linearly on big pages."""

    max_elements: int = 40_000
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls) -> HtmlLimits:
        """HTML_MAX_ELEMENTS and HTML_EXTRACT_TIMEOUT_SECONDS."""
        from bot.settings import get_settings

        settings = get_settings()
        return cls(settings.html_max_elements, settings.html_extract_timeout_seconds)


class _OutOfTime(BaseException):
    """Raised by the alarm inside trafilatura; a BaseException so that its `except Exception` lets it by."""


@contextlib.contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (SIGALRM); only in the main thread, where signals arrive."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def count_elements(data: bytes | str) -> int:
    """HTML elements of a page, counted by lxml's parser (linear, ~0.1 s for 5 MB)."""
    import lxml.html
    from lxml import etree

    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")  # lxml refuses text that declares an encoding
    try:
        root = lxml.html.document_fromstring(data)
    except (ValueError, etree.ParserError):
        return 0
    return sum(1 for _ in root.iter())


def extract_html(
    data: bytes | str, source: str | Path, url: str | None = None, *, limits: HtmlLimits | None = None
) -> tuple[dict[str, Any], str]:
    """Front matter fields and body (blocks separated by blank lines) of a web page.

    `url` is where the page came from, if known; the page's own canonical URL wins over it. Raises
    `ArticleError` when no article text can be found, and when the page is over `limits` (default:
    the settings): more elements than HTML_MAX_ELEMENTS, or extraction longer than
    HTML_EXTRACT_TIMEOUT_SECONDS. A 20,000-row table took 44 s before these bounds.
    """
    limits = limits or HtmlLimits.from_settings()
    elements = count_elements(data)
    if elements > limits.max_elements:
        raise ArticleError(
            f"{source}: the page has {elements:,} HTML elements, over the limit of {limits.max_elements:,} "
            "(HTML_MAX_ELEMENTS); save the article's text as .txt or .md instead, or raise the limit"
        )
    import trafilatura  # noqa: F401  (imported outside the budget: the first import takes a second or two)

    try:
        with _time_budget(limits.timeout_seconds):
            return _extract(data, source, url)
    except _OutOfTime:
        raise ArticleError(
            f"{source}: extracting the page took over {limits.timeout_seconds:g} s "
            "(HTML_EXTRACT_TIMEOUT_SECONDS); save the article's text as .txt or .md instead"
        ) from None


def _extract(data: bytes | str, source: str | Path, url: str | None) -> tuple[dict[str, Any], str]:
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        data,
        url=url,
        output_format="xml",
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_formatting=False,
        include_links=False,
        # Its date is not used (see `page_date`): a cheap search, never the body's free text.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not xml:
        raise ArticleError(f"{source}: no article text found in the page")
    doc = etree.fromstring(xml.encode("utf-8"))
    blocks: list[str] = []
    main = doc.find("main")
    for element in main.iter("head", "p", "item", "quote") if main is not None else ():
        parent = element.getparent()
        if element.tag in ("p", "quote") and parent is not None and parent.tag == "quote":
            continue  # a quote's own text is taken whole
        text = _text(element)
        if not text:
            continue
        blocks.append(f"## {text}" if element.tag == "head" else text)
    if not blocks:
        raise ArticleError(f"{source}: no article text found in the page")
    blocks = _with_captions(blocks, figure_captions(data), (doc.get("sitename") or "").strip() or None)
    fields = {
        "title": (doc.get("title") or "").strip() or None,
        "publisher": (doc.get("sitename") or "").strip() or None,
        "date": None,
        "url": (doc.get("url") or "").strip() or url,
        "byline": (doc.get("author") or "").strip() or None,
    }
    # Metadata, address or dateline only: trafilatura's own date may be any year in the text.
    fields["date"] = page_date(data, fields["url"], blocks[0] if blocks else None)
    if fields["title"] is None:
        # No <title> or headline: the first block stands in, as in a text file.
        fields["title"] = blocks[0].removeprefix("## ")
        blocks = blocks[1:] or blocks
    _bound_fields(fields)
    return fields, "\n\n".join(blocks)


def _bound_fields(fields: dict[str, Any]) -> None:
    """Page metadata within what front matter accepts: over-long text cut, a non-web URL dropped.

    A page is not refused for its metadata (a 2,000-character `<title>`, a `javascript:` canonical
    link): the text is what matters, and the corpus file written from it must load.
    """
    for key, limit in (("title", MAX_TITLE_CHARS), ("publisher", MAX_NAME_CHARS), ("byline", MAX_NAME_CHARS)):
        value = fields.get(key)
        if isinstance(value, str) and len(value) > limit:
            fields[key] = value[: limit - 1].rstrip() + "…"
    url = fields.get("url")
    if url and (len(url) > MAX_URL_CHARS or not re.match(r"https?://[^\s/]+", url, re.I)):
        fields["url"] = None


def html_to_document(data: bytes | str, source: str | Path, url: str | None = None) -> str:
    """A web page as a corpus document: YAML front matter and the article's blocks."""
    fields, body = extract_html(data, source, url)
    return format_article(fields, body)
