"""Sentence boundaries with character offsets, so a quote can always be cut on a sentence edge.

Uses sentencex (rule-based, maintained by Wikimedia), which keeps a quotation such as
`"Thirteen ... killed. There are ...," he said.` together as one sentence: the attribution that
closes a quote then belongs to every word inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sentencex


@dataclass(frozen=True)
class Span:
    """A sentence as `text[start:end]`, trailing space excluded."""

    start: int
    end: int


def sentence_spans(text: str) -> list[Span]:
    """Split `text` into sentence spans that cover every non-blank character."""
    spans: list[Span] = []
    for boundary in sentencex.get_sentence_boundaries("en", text):
        start, end = boundary["start_index"], boundary["end_index"]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append(Span(start, end))
    return spans or ([Span(0, len(text))] if text.strip() else [])
