"""Telegram HTML for answers, sources and speakers, split into messages Telegram accepts.

Everything that comes from the corpus or the user passes through `html.escape`; the only markup is
ours, from Telegram's HTML subset (<b>, <i>, <blockquote>). `split_html` cuts long replies under
Telegram's 4096-character limit without leaving a tag open or cutting an entity in half.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from bot.corpus.articles import ArticleMeta
from bot.retrieval.answers import Answer, Quote
from bot.text.citation import UNKNOWN_DATE, human_date, source_line
from bot.text.wording import REPORT, Wording

#: Telegram's limit on one message, in UTF-16 code units after entity parsing; we measure the raw
#: HTML, which is never shorter, so a message that fits here fits there.
MAX_MESSAGE = 4096

_TOKEN = re.compile(r"<[^>]*>|\s+|[^<\s]+")
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")
_UNIT = re.compile(r"&[#\w]+;|.", re.S)


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def quote_html(quote: Quote) -> str:
    """The passage verbatim, its best sentence in bold."""
    text = quote.text
    return escape(text[: quote.quote_start]) + f"<b>{escape(quote.quote)}</b>" + escape(text[quote.quote_end :])


def attribution_html(quote: Quote) -> str:
    """Speaker, then the source line: title, publisher, date, paragraph."""
    return f"— <i>{escape(quote.speaker.label)}</i>\n{escape(source_line(quote.article, quote.paragraph, quote.kind))}"


def short_quote_html(quote: Quote, number: int | None = None) -> str:
    """A supporting quote: its best sentence in «», speaker and source."""
    head = f"{number}. " if number is not None else ""
    return f"{head}«{escape(quote.quote)}»\n{attribution_html(quote)}"


def answer_blocks(answer: Answer, offset: int = 0, words: Wording = REPORT) -> list[str]:
    """The answer as HTML blocks (each well-formed), best quote first, worded for the index."""
    blocks: list[str] = []
    if answer.notice:
        blocks.append(f"<i>({escape(answer.notice)})</i>")
    quotes = answer.quotes[offset:]
    if not quotes:
        blocks.append("No more passages." if offset else f"{words.The} {words.has} nothing on this.")
        return blocks
    if not answer.answered and answer.possibly_relevant and not offset:
        # A middling confidence: the closest passage may hold the answer; the reader judges.
        blocks.append(f"{words.The} may not answer this. <i>Possibly relevant</i> (not a sure answer):")
        blocks.append(short_quote_html(quotes[0], 1))
        if len(quotes) > 1:
            blocks.append("<i>Related, not an answer:</i>")
            blocks.extend(short_quote_html(q, i) for i, q in enumerate(quotes[1:], 2))
        return blocks
    if not answer.answered:
        blocks.append(
            f"{words.The} {words.does} not answer this question. "
            "The closest passages are below: <i>related, not an answer</i>."
        )
        blocks.extend(short_quote_html(q, i) for i, q in enumerate(quotes, offset + 1))
        return blocks
    if offset:
        blocks.extend(short_quote_html(q, i) for i, q in enumerate(quotes, offset + 1))
        return blocks
    best, *more = quotes
    blocks.append(f"<blockquote>{quote_html(best)}</blockquote>\n{attribution_html(best)}")
    if more:
        blocks.append(f"<b>Also in {words.the}:</b>")
        blocks.extend(short_quote_html(q, i) for i, q in enumerate(more[:2], 2))
    return blocks


def context_blocks(rows: Sequence[tuple[int, str, str]], focus: int | None, meta: ArticleMeta | None) -> list[str]:
    """A paragraph and its neighbours, the asked-about one in bold."""
    if not rows:
        return ["That passage is no longer in the index; ask the question again."]
    blocks = [f"<b>{escape(meta.title)}</b>"] if meta else []
    for paragraph, kind, text in rows:
        label = kind if kind in ("standfirst", "title") else f"¶{paragraph}"
        body = escape(text)
        blocks.append(f"<b>{label}</b> {body}" if paragraph == focus else f"<i>{label}</i> {body}")
    return blocks


def source_html(meta: ArticleMeta, paragraph: int, kind: str, passages: int | None = None) -> str:
    """An article's metadata, as the Source button shows it."""
    rows = [
        ("Title", meta.title),
        ("Publisher", meta.publisher),
        ("Byline", meta.byline),
        ("Date", human_date(meta.date) or UNKNOWN_DATE),
        ("URL", meta.url or "not recorded"),
        ("Quoted from", source_line(meta, paragraph, kind).rsplit(" · ", 1)[-1]),
        ("Passages indexed", str(passages) if passages is not None else None),
    ]
    return "\n".join(f"<b>{name}:</b> {escape(value)}" for name, value in rows if value)


def sources_blocks(
    articles: Sequence[tuple[ArticleMeta, int]],
    total: int | None = None,
    publishers: Sequence[tuple[str | None, int, int, str | None, str | None]] | None = None,
) -> list[str]:
    """The indexed articles with dates and passage counts.

    On a large index (`total` above the articles given) a line per publisher comes first, then the
    newest articles: a message, not a hundred thousand lines.
    """
    if not articles:
        return ["The index holds no articles yet."]
    lines = []
    for meta, n in articles:
        where = " · ".join(p for p in (meta.publisher, human_date(meta.date) or UNKNOWN_DATE) if p)
        lines.append(f"• <b>{escape(meta.title)}</b>\n  {escape(where)} · {n} passages")
    if total is None or total <= len(articles):
        return ["<b>Articles in the index:</b>", *lines]
    publishers = publishers or []
    shown = publishers[:20]
    rows = "\n".join(
        f"• {escape(name or 'no publisher')}: {n} articles, {p} passages"
        + (f" ({escape(human_date(first) or '')} to {escape(human_date(last) or '')})" if first and last else "")
        for name, n, p, first, last in shown
    )
    more = f"\n… and {len(publishers) - len(shown)} more publishers" if len(publishers) > len(shown) else ""
    return [
        f"<b>{total} articles in the index</b>, from {len(publishers)} publishers:\n{rows}{more}",
        f"<b>The newest {len(articles)}:</b>",
        *lines,
    ]


def speakers_blocks(
    speakers: Sequence[tuple[str, int]], words: Wording = REPORT, total: int | None = None
) -> list[str]:
    """The named sources with how many sentences the index attributes to each (the first of `total`)."""
    if not speakers:
        return [f"{words.The} name no sources." if not words.one else "The report names no sources."]
    lines = "\n".join(f"• {escape(name)}: {n}" for name, n in speakers)
    more = f"\n… and {total - len(speakers)} more" if total is not None and total > len(speakers) else ""
    return [
        f"<b>Named sources</b> (sentences attributed):\n{lines}{more}",
        "Send <code>/who NAME</code> for their quotes.",
    ]


def quotes_by_blocks(name: str, quotes: list[Quote]) -> list[str]:
    """The quotes attributed to one speaker."""
    if not quotes:
        return [f"No quotes are attributed to “{escape(name)}”. Send /who for the list of sources."]
    return [f"<b>Quotes attributed to “{escape(name)}”:</b>"] + [
        short_quote_html(q, i) for i, q in enumerate(quotes, 1)
    ]


def inline_html(quote: Quote) -> str:
    """What an inline result sends into the chat: the quote and its attribution."""
    return f"«{escape(quote.quote)}»\n{attribution_html(quote)}"


def pack(blocks: list[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Blocks joined by blank lines into as few messages as fit; an over-long block is split."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in split_html(block, limit) if tg_len(block) > limit else [block]:
            joined = f"{current}\n\n{piece}" if current else piece
            if tg_len(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut HTML into pieces of at most `limit`, at spaces, closing and reopening open tags."""
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag)
    current = ""

    def closers() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def flush() -> None:
        nonlocal current
        body = current.rstrip()
        if body and body != "".join(tag for _, tag in stack):
            pieces.append(body + closers())
        current = "".join(tag for _, tag in stack)

    for token in _TOKEN.findall(text):
        tag = _TAG.fullmatch(token)
        if tag:
            if tg_len(current) + tg_len(token) + tg_len(closers()) + 16 > limit:
                flush()
            current += token
            if tag.group(1):
                if stack and stack[-1][0] == tag.group(2):
                    stack.pop()
            else:
                stack.append((tag.group(2), token))
            continue
        for chunk in _word_chunks(token, limit // 4):
            if tg_len(current) + tg_len(chunk) + tg_len(closers()) > limit:
                flush()
                if chunk.isspace():
                    continue
            current += chunk
    flush()
    return pieces


def _word_chunks(token: str, size: int) -> list[str]:
    """A token as pieces of at most `size`, never cutting an entity like `&amp;` in half."""
    if len(token) <= size:
        return [token]
    units = _UNIT.findall(token)
    return ["".join(units[i : i + size]) for i in range(0, len(units), size)]
