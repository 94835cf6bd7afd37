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


def _text(element: Any) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


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
