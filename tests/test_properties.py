"""Property-based tests (hypothesis): the engine never raises on any text, and the Telegram formatter
turns any answer or corpus text into valid Telegram HTML messages of at most 4096 characters."""

from __future__ import annotations

import html
import json
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.articles import ArticleMeta
from bot.engine import Engine
from bot.retrieval.answers import Answer, Quote
from bot.telegram import format as fmt
from bot.telegram.format import MAX_MESSAGE, tg_len
from bot.text.speaker import Speaker
from tests.test_telegram_format import check_html

# Text as users and corpora send it: any code point (but lone surrogates, which no transport
# carries), weighted towards markup characters, quotes, emoji, right-to-left and control characters.
TRICKY = "<>&\"'`*_[]()#\\ \n\t\u200f\u202e\u0000\x1b" + "😀🔥👍🏽" + "שלום مرحبا" + "é中"
text = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(TRICKY)),
    max_size=400,
)
long_text = st.one_of(text, st.builds(lambda t, n: (t or "x") * n, text, st.integers(1, 60)))
PROPERTY = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(question=long_text)
def test_engine_answers_any_text_without_raising(engine: Engine, question: str):
    """Any text: an Answer whose JSON round-trips, with finite scores and quotes taken from their passages."""
    answer = engine.answer(question)
    data = json.loads(json.dumps(answer.to_dict("id"), ensure_ascii=False, allow_nan=False))
    searched, shortened = engine.clean_question(question)
    # A shortened question is echoed as searched (the engine no longer returns a huge line whole).
    assert isinstance(data["answered"], bool) and data["question"] == (searched if shortened else question)
    for quote, passage in zip(answer.quotes, data["passages"], strict=True):
        assert quote.quote and quote.quote in quote.text
        assert passage["quote"] in passage["text"]
        assert math.isfinite(quote.score)
    _, notice = engine.clean_question(question)
    # Random text may also read as another language: then the notice says questions must be in English.
    assert answer.notice in (notice, "ask a question in words") or "English" in (answer.notice or "")


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    body = draw(long_text.filter(lambda t: t.strip()))
    start = draw(st.integers(0, len(body) - 1))
    end = draw(st.integers(start + 1, len(body)))
    speaker = Speaker(
        name=draw(text),
        kind=draw(st.sampled_from(["source", "publisher", "caption"])),
        via=draw(st.none() | text),
        full_name=draw(st.none() | text),
    )
    article = ArticleMeta(
        id=draw(text),
        title=draw(text),
        publisher=draw(st.none() | text),
        date=draw(st.none() | st.dates().map(str) | text),
        url=draw(st.none() | text),
        byline=draw(st.none() | text),
    )
    return Quote(
        passage_id=draw(st.integers(0, 10**9)),
        text=body,
        quote_start=start,
        quote_end=end,
        score=draw(st.floats(-1, 1)),
        speaker=speaker,
        article=article,
        paragraph=draw(st.integers(0, 500)),
        kind=draw(st.sampled_from(["body", "standfirst", "caption"])),
        section=draw(st.none() | text),
    )


def assert_messages(messages: list[str]) -> None:
    """Each message: at most 4096 UTF-16 units, only Telegram's tags, balanced, entities valid."""
    assert messages
    for message in messages:
        assert message.strip()
        assert tg_len(message) <= MAX_MESSAGE
        check_html(message)


def visible(messages: list[str]) -> str:
    """What the user reads, without markup or whitespace (the splitter may cut at any space)."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", "".join(messages))))


@PROPERTY
@given(
    quote_list=st.lists(quotes(), max_size=4), answered=st.booleans(), notice=st.none() | text, offset=st.integers(0, 2)
)
def test_any_answer_formats_into_valid_telegram_messages(quote_list, answered, notice, offset):
    """Answers with arbitrary corpus text and speakers: valid HTML, under the limit, no quoted text lost."""
    answer = Answer(question="q", answered=answered, quotes=quote_list, notice=notice)
    messages = fmt.pack(fmt.answer_blocks(answer, offset))
    assert_messages(messages)
    shown = visible(messages)
    for quote in quote_list[offset : offset + (3 if answered and not offset else len(quote_list))]:
        assert re.sub(r"\s+", "", quote.quote) in shown
    for quote in quote_list:
        assert_messages(fmt.pack([fmt.inline_html(quote)]))
        assert_messages([fmt.source_html(quote.article, quote.paragraph, quote.kind, 3)])


@PROPERTY
@given(
    rows=st.lists(st.tuples(st.integers(0, 99), st.sampled_from(["body", "standfirst"]), long_text), max_size=4),
    quote=quotes(),
    names=st.lists(st.tuples(text, st.integers(0, 999)), max_size=30),
)
def test_context_sources_and_speakers_format_into_valid_telegram_messages(rows, quote, names):
    """The Context, /sources, /who views over arbitrary corpus text: valid HTML, under the limit."""
    assert_messages(fmt.pack(fmt.context_blocks(rows, rows[0][0] if rows else None, quote.article)))
    assert_messages(fmt.pack(fmt.sources_blocks([(quote.article, 3)] * 40)))
    assert_messages(fmt.pack(fmt.speakers_blocks(names)))
    assert_messages(fmt.pack(fmt.quotes_by_blocks(quote.speaker.name, [quote] * 5)))
