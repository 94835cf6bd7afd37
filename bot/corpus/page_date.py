"""A web page's publication date: from its metadata or a clear dateline, never guessed from its text.

trafilatura asks htmldate, which falls back to any year in the body: a page with no date metadata
that mentions "built in 1998" was dated 1998-01-01, and every quote from it cited that date. A
wrong date is worse than none, so only these count, in this order:

1. metadata that says it is the publication date: a `<meta>` whose name, property or itemprop
   speaks of publishing (`article:published_time`, `datePublished`, `DC.date.issued`, `pubdate`)
   or is a bare date term (`date`, `DC.date`); JSON-LD `datePublished`/`dateCreated`; an element
   marked `itemprop="datePublished"` or `<time pubdate>`;
2. the page's address when it holds a full `/YYYY/MM/DD/` path;
3. a dateline that clearly is one: the article's first words, a place in capitals and/or a full
   date, then a dash (`WASHINGTON, Oct. 8, 2015 (Reuters) -`, `8 October 2015 —`).

Anything else leaves the date unknown (None), and the faces say "date unknown".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T\s])")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})/(\d{2})/(\d{2})(?:/|$)")
#: Keys of metadata that name the publication date; "modified"/"updated" dates are not it.
_PUBLISHED_KEY = re.compile(r"publi(?:sh|cation)|pubdate|issued|created|^(?:[a-z]+[.:_])?date$", re.I)
_NOT_PUBLISHED = re.compile(r"modif|updat|expir|review|birth|event|start|end", re.I)
#: A dateline: optional PLACE IN CAPITALS and comma, a full date, optional (Agency), then a dash.
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z .'/-]{1,40},\s+)?"
    r"(?:(?P<day1>\d{1,2})\s+" + _MONTH.replace("month", "month1") + r",?\s+(?P<year1>\d{4})"
    r"|" + _MONTH.replace("month", "month2") + r"\s+(?P<day2>\d{1,2}),?\s+(?P<year2>\d{4})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}))"
    r"\s*(?:\([^()]{1,40}\)\s*)?[—–-]{1,2}\s",
    re.I,
)


def _checked(year: int, month: int, day: int) -> str | None:
    """A real date between 1800 and tomorrow as ISO text, else None."""
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if not date(1800, 1, 1) <= found <= datetime.now(UTC).date() + timedelta(days=1):
        return None
    return found.isoformat()


def parse_date_value(value: str) -> str | None:
    """A metadata value as an ISO date: ISO 8601 (`2015-10-08T10:00Z`) or an RFC 2822 date; else None."""
    value = value.strip()[:100]
    match = _ISO.match(value)
    if match:
        return _checked(int(match[1]), int(match[2]), int(match[3]))
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return _checked(parsed.year, parsed.month, parsed.day)


def _json_dates(data: Any, depth: int = 0) -> list[str]:
    """`datePublished` (then `dateCreated`) values anywhere in a JSON-LD document."""
    if depth > 8:
        return []
    found: list[str] = []
    if isinstance(data, dict):
        for key in ("datePublished", "dateCreated"):
            if isinstance(data.get(key), str):
                found.append(data[key])
        for value in data.values():
            found.extend(_json_dates(value, depth + 1))
    elif isinstance(data, list):
        for value in data[:100]:
            found.extend(_json_dates(value, depth + 1))
    return found


def metadata_date(root: Any) -> str | None:
    """The publication date stated by a parsed page's metadata (see the module docstring), or None."""
    for meta in root.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
        if key and _PUBLISHED_KEY.search(key) and not _NOT_PUBLISHED.search(key):
            found = parse_date_value(meta.get("content") or "")
            if found:
                return found
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text[:200_000])
        except (ValueError, RecursionError):  # broken, or nested past the interpreter's limit
            continue
        for value in _json_dates(data):
            found = parse_date_value(value)
            if found:
                return found
    for element in root.xpath('//*[@itemprop="datePublished"] | //time[@pubdate]'):
        found = parse_date_value(element.get("datetime") or element.get("content") or "")
        if found:
            return found
    return None


def url_date(url: str | None) -> str | None:
    """A full `/YYYY/MM/DD/` date in a page's address, or None."""
    match = _URL_DATE.search(url or "")
    return _checked(int(match[1]), int(match[2]), int(match[3])) if match else None


def dateline_date(first_block: str | None) -> str | None:
    """The date of a dateline opening the article's first block (see the module docstring), or None."""
    match = _DATELINE.match(first_block or "")
    if not match:
        return None
    if match["iso"]:
        return parse_date_value(match["iso"])
    month = (match["month1"] or match["month2"]).lower()
    day, year = match["day1"] or match["day2"], match["year1"] or match["year2"]
    return _checked(int(year), _MONTHS[month], int(day))


def page_date(data: bytes | str, url: str | None, first_block: str | None) -> str | None:
    """The page's publication date from its metadata, its address or a dateline; None when it has none."""
    import lxml.html
    from lxml import etree

    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    try:
        root = lxml.html.document_fromstring(data)
    except (ValueError, etree.ParserError):
        root = None
    return (metadata_date(root) if root is not None else None) or url_date(url) or dateline_date(first_block)
