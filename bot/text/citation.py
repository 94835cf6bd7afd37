"""How a quote names its source, shared by every face so they never disagree."""

from __future__ import annotations

from datetime import date

from bot.corpus.articles import ArticleMeta


def human_date(iso: str | None) -> str | None:
    """`2015-10-08` as `8 Oct 2015`; other strings unchanged."""
    if not iso:
        return None
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d:%b %Y}"


def paragraph_label(paragraph: int, kind: str) -> str:
    """`¶12`, or the name of the part for the standfirst and captions."""
    if kind in ("standfirst", "title"):
        return kind
    if kind == "caption":
        return f"¶{paragraph} (photo caption)"
    return f"¶{paragraph}"


#: What a source line shows for an article whose date is not known: never a guessed one.
UNKNOWN_DATE = "date unknown"


def source_line(article: ArticleMeta, paragraph: int, kind: str) -> str:
    """`TRT World · Syrian regime initiates ... · 8 Oct 2015 · ¶12` (`date unknown` when it is)."""
    when = human_date(article.date) or UNKNOWN_DATE
    parts = [article.publisher, article.title, when, paragraph_label(paragraph, kind)]
    return " · ".join(p for p in parts if p)
