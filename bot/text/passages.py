"""Splitting articles into passages: the units that are searched and quoted.

One passage per paragraph (captions and the standfirst too, marked by kind). A paragraph longer
than `MAX_WINDOW_WORDS` becomes overlapping windows of whole sentences, so no passage blurs too
many facts into one vector and none is cut mid-sentence. Every passage keeps its sentences with
character offsets and speakers, its section heading and its paragraph number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bot.corpus.articles import Article, ArticleMeta, Block, BlockKind
from bot.text.attribution import Attributor
from bot.text.sentences import Span, sentence_spans
from bot.text.speaker import Speaker, publisher_voice

#: Bumped whenever passages or attribution change shape, so old indexes are rebuilt.
SPLITTER_VERSION = 4
#: The paragraph number of a body title's passage: before the standfirst (0) and paragraph 1.
TITLE_PARAGRAPH = -1
MAX_WINDOW_WORDS = 120
WINDOW_OVERLAP_SENTENCES = 1


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: `passage.text[start:end]` and who said it."""

    start: int
    end: int
    text: str
    speaker: Speaker


@dataclass(frozen=True)
class Passage:
    """A searchable, quotable piece of an article."""

    article_id: str
    paragraph: int
    window: int
    kind: BlockKind
    section: str | None
    text: str
    sentences: tuple[Sentence, ...]
    paragraph_text: str

    @property
    def speaker(self) -> Speaker:
        """The passage's main speaker: its first named source, else the first sentence's."""
        return next((s.speaker for s in self.sentences if s.speaker.is_attributed), self.sentences[0].speaker)

    @property
    def content_hash(self) -> str:
        """Identifies the passage's words; unchanged passages keep their vectors across builds."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _windows(spans_count: int, word_counts: list[int]) -> list[tuple[int, int]]:
    """Sentence ranges [a, b) of at most MAX_WINDOW_WORDS words, overlapping by one sentence."""
    if sum(word_counts) <= MAX_WINDOW_WORDS:
        return [(0, spans_count)]
    windows: list[tuple[int, int]] = []
    start = 0
    while start < spans_count:
        end, words = start, 0
        while end < spans_count and (end == start or words + word_counts[end] <= MAX_WINDOW_WORDS):
            words += word_counts[end]
            end += 1
        windows.append((start, end))
        if end >= spans_count:
            break
        start = max(start + 1, end - WINDOW_OVERLAP_SENTENCES)
    return windows


def _split_clauses(
    text: str,
    spans: list[Span],
    speakers: list[Speaker],
    clauses: dict[tuple[int, int], list[tuple[int, Speaker]]],
    block: int,
) -> tuple[list[Span], list[str], list[Speaker]]:
    """Sentences holding two sources' clauses ("X said ..., while Y argued ...") as two quotable parts."""
    out_spans: list[Span] = []
    out_speakers: list[Speaker] = []
    for i, (span, speaker) in enumerate(zip(spans, speakers, strict=True)):
        cuts = clauses.get((block, i), [])
        start = span.start
        for offset, clause_speaker in cuts:
            cut = span.start + offset
            end = cut
            while end > start and text[end - 1] in " ,;—":
                end -= 1
            if end <= start or cut >= span.end:
                continue
            out_spans.append(Span(start, end))
            out_speakers.append(speaker)
            start, speaker = cut, clause_speaker
        out_spans.append(Span(start, span.end))
        out_speakers.append(speaker)
    return out_spans, [text[s.start : s.end] for s in out_spans], out_speakers


def _title_passage(block: Block, meta: ArticleMeta) -> Passage:
    """The title block as a passage of its own, in the publisher's voice.

    Its own attributor: a headline sets no pronoun's antecedent.
    """
    lead = Attributor(publisher_voice(meta.publisher, meta.byline))
    spans = sentence_spans(block.text)
    texts = [block.text[s.start : s.end] for s in spans]
    speakers = lead.paragraph(texts, None, caption=False)
    return Passage(
        article_id=meta.id,
        paragraph=TITLE_PARAGRAPH,
        window=0,
        kind=block.kind,
        section=None,
        text=block.text,
        sentences=tuple(Sentence(s.start, s.end, t, sp) for s, t, sp in zip(spans, texts, speakers, strict=True)),
        paragraph_text=block.text,
    )


def split_article(article: Article) -> list[Passage]:
    """All passages of an article, in reading order, with attribution."""
    meta = article.meta
    attributor = Attributor(publisher_voice(meta.publisher, meta.byline))
    passages: list[Passage] = []
    section: str | None = None
    blocks: list[tuple[Block, str | None, list[Span], list[str]]] = []
    for block in article.blocks:
        if block.kind is BlockKind.TITLE:
            # A title taken from the body (a .txt's first line) often holds the story's main fact
            # ("Flash floods kill at least 23"): it stays searchable as the lead.
            passages.append(_title_passage(block, meta))
            continue
        if block.kind is BlockKind.HEADING:
            section = block.text
            continue
        if block.kind not in (BlockKind.STANDFIRST, BlockKind.PARAGRAPH, BlockKind.CAPTION):
            continue
        spans = sentence_spans(block.text)
        blocks.append((block, section, spans, [block.text[s.start : s.end] for s in spans]))
    # One batch for the whole article: the parser runs once over all its sentences.
    all_speakers = attributor.article([(texts, b.credit, b.kind is BlockKind.CAPTION) for b, _, _, texts in blocks])
    for b, ((block, section, spans, sentence_texts), speakers) in enumerate(zip(blocks, all_speakers, strict=True)):
        text = block.text
        spans, sentence_texts, speakers = _split_clauses(text, spans, speakers, attributor.clauses, b)
        word_counts = [len(t.split()) for t in sentence_texts]
        for window_no, (a, b) in enumerate(_windows(len(spans), word_counts)):
            base = spans[a].start
            window_text = text[base : spans[b - 1].end]
            sentences = tuple(
                Sentence(spans[i].start - base, spans[i].end - base, sentence_texts[i], speakers[i])
                for i in range(a, b)
            )
            passages.append(
                Passage(
                    article_id=meta.id,
                    paragraph=block.paragraph or 0,
                    window=window_no,
                    kind=block.kind,
                    section=section,
                    text=window_text,
                    sentences=sentences,
                    paragraph_text=text,
                )
            )
    return passages


@dataclass(frozen=True)
class BodySentence:
    """A sentence of an article with its speaker, placed in the body as the corpus file holds it.

    `start`/`end` are character offsets into the text after the front matter (what PolNeAR's
    offsets and `scripts/attribute.py --json` count); `paragraph` is the reader's paragraph number.
    """

    start: int
    end: int
    text: str
    paragraph: int
    speaker: Speaker


def _squashed(body: str) -> tuple[str, list[int]]:
    """`body` with whitespace runs as one space and zero-width characters gone, and where each char was.

    The loader joins a block's lines and folds its spaces; searching the squashed body for a
    sentence finds it whatever the file's line breaks and spacing were.
    """
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(body):
        if ch in "\u200b\u200c\u200d\u2060\ufeff":
            continue
        if ch.isspace():
            if chars and chars[-1] == " ":
                continue
            ch = " "
        chars.append(ch)
        where.append(i)
    return "".join(chars), where


def body_sentences(article: Article, body: str) -> list[BodySentence]:
    """Every sentence of `article` (each once, in reading order) with its offsets into `body`."""
    squashed, where = _squashed(body)
    cursor = 0
    out: list[BodySentence] = []
    seen: set[tuple[int, int]] = set()
    for passage in split_article(article):
        base = passage.paragraph_text.find(passage.text)
        for s in passage.sentences:
            key = (passage.paragraph, base + s.start)
            if key in seen:  # windows overlap by a sentence
                continue
            seen.add(key)
            needle = " ".join(s.text.split())
            at = squashed.find(needle, cursor)
            if at < 0:
                continue  # not in the body as written (cannot happen for text files)
            end = at + len(needle)
            cursor = end
            out.append(BodySentence(where[at], where[end - 1] + 1, s.text, passage.paragraph, s.speaker))
    return out


def article_body_sentences(path: Path, corpus_dir: Path | None = None) -> list[BodySentence]:
    """`body_sentences` of one corpus file, with the body read as the file holds it."""
    from bot.corpus.articles import HTML_SUFFIXES
    from bot.corpus.files import load_article
    from bot.corpus.normalise import body_of, decode_bytes

    article = load_article(path, corpus_dir)
    data = path.read_bytes()
    if path.suffix.lower() in HTML_SUFFIXES:
        from bot.corpus.html import html_to_document

        text = html_to_document(data, path)
    else:
        text, _ = decode_bytes(data, path)
    return body_sentences(article, body_of(text))
