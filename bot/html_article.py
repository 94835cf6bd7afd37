"""Web pages as articles: main text and metadata extracted by trafilatura.

A saved page is mostly furniture (menus, share buttons, related links). trafilatura finds the
story and its metadata (title, date, author, site name, canonical URL); this module turns its XML
output into the corpus's own format, a front matter document with blank-line separated blocks, so
that the loader's block kinds, paragraph numbers and attribution apply to pages as to text files.
trafilatura takes seconds to import, so it is imported here, when a page is read, and nowhere else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.corpus import format_article
from bot.errors import ArticleError

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
        for cite in element.xpath(".//cite | .//*[contains(@class, 'credit')]"):
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


def _with_captions(blocks: list[str], captions: list[Caption], site: str | None) -> list[str]:
    """The blocks with each caption after the paragraph it followed, as a credit line and a caption.

    The corpus format marks a caption by the `Photo by:` line before it, so the loader gives it
    the kind, paragraph number and speaker (the photo credit) of every other photo caption.
    """
    out = list(blocks)
    for previous, caption, credit in reversed(captions):
        if any(_norm(caption) == _norm(b) for b in out):
            continue  # trafilatura kept it after all
        at = len(out)
        if previous:
            want = _norm(previous)
            at = next((i + 1 for i, b in enumerate(out) if _norm(b) == want), len(out))
        out[at:at] = [f"Photo by: {credit or site or 'unknown'}", caption]
    return out


def extract_html(data: bytes | str, source: str | Path, url: str | None = None) -> tuple[dict[str, Any], str]:
    """Front matter fields and body (blocks separated by blank lines) of a web page.

    `url` is where the page came from, if known; the page's own canonical URL wins over it. Raises
    `ArticleError` when no article text can be found.
    """
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
    )
    if not xml:
        raise ArticleError(f"{source}: no article text found in the page")
    doc = etree.fromstring(xml.encode("utf-8"))
    blocks: list[str] = []
    main = doc.find("main")
    for element in main.iter("head", "p", "item", "quote") if main is not None else ():
        if element.tag in ("p", "quote") and element.getparent() is not None and element.getparent().tag == "quote":
            continue  # a quote's own text is taken whole
        text = _text(element)
        if not text:
            continue
        blocks.append(f"## {text}" if element.tag == "head" else text)
    if not blocks:
        raise ArticleError(f"{source}: no article text found in the page")
    blocks = _with_captions(blocks, figure_captions(data), (doc.get("sitename") or "").strip() or None)
    date = (doc.get("date") or "").strip() or None
    fields = {
        "title": (doc.get("title") or "").strip() or None,
        "publisher": (doc.get("sitename") or "").strip() or None,
        "date": date[:10] if date else None,
        "url": (doc.get("url") or "").strip() or url,
        "byline": (doc.get("author") or "").strip() or None,
    }
    if fields["title"] is None:
        # No <title> or headline: the first block stands in, as in a text file.
        fields["title"] = blocks[0].removeprefix("## ")
        blocks = blocks[1:] or blocks
    return fields, "\n\n".join(blocks)


def html_to_document(data: bytes | str, source: str | Path, url: str | None = None) -> str:
    """A web page as a corpus document: YAML front matter and the article's blocks."""
    fields, body = extract_html(data, source, url)
    return format_article(fields, body)
