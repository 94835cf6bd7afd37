"""Splitter: one passage per paragraph, windows for long ones, offsets, sections and kinds."""

from __future__ import annotations

import itertools
from pathlib import Path

from bot.corpus.articles import BlockKind, parse_article
from bot.corpus.files import load_article
from bot.text.passages import MAX_WINDOW_WORDS, split_article
from tests.conftest import SEED_FILE


def test_seed_passages_one_per_paragraph_with_sections():
    passages = split_article(load_article(SEED_FILE))
    assert len(passages) == 18  # standfirst + 13 paragraphs + 4 captions
    assert [p.paragraph for p in passages] == list(range(18))
    by_no = {p.paragraph: p for p in passages}
    assert by_no[0].kind is BlockKind.STANDFIRST and by_no[0].section is None
    assert by_no[5].section == "Russia using cluster bombs in Syria"
    assert by_no[12].section == "Joint operations between Syrian regime and Russia"
    assert by_no[13].kind is BlockKind.CAPTION
    # Headings, credits and the byline are not passages.
    texts = {p.text for p in passages}
    assert "Russia using cluster bombs in Syria" not in texts
    assert not any(t.startswith("Photo by") or t == "TRTWorld and agencies" for t in texts)


def test_sentence_offsets_slice_the_passage_text():
    for passage in split_article(load_article(SEED_FILE)):
        for s in passage.sentences:
            assert passage.text[s.start : s.end] == s.text
        assert passage.sentences[0].start == 0 and passage.sentences[-1].end == len(passage.text)
    twelve = next(p for p in split_article(load_article(SEED_FILE)) if p.paragraph == 12)
    assert [s.text[:12] for s in twelve.sentences] == ["Over 40 air ", "The number o", "However, the"]


def test_long_paragraph_becomes_overlapping_sentence_windows():
    sentences = [f"Sentence number {i} tells one more fact about the harbour and its ships today." for i in range(30)]
    article = parse_article("Harbour news\n\n" + " ".join(sentences) + "\n", Path("long.txt"))
    lead, *windows = split_article(article)
    assert (lead.kind, lead.paragraph, lead.text) == ("title", -1, "Harbour news")  # the title stays searchable
    assert len(windows) > 1
    assert all(len(w.text.split()) <= MAX_WINDOW_WORDS for w in windows)
    assert {w.paragraph for w in windows} == {1}
    assert [w.window for w in windows] == list(range(len(windows)))
    for a, b in itertools.pairwise(windows):
        assert a.sentences[-1].text == b.sentences[0].text  # one sentence of overlap
    covered = {s.text for w in windows for s in w.sentences}
    assert covered == set(sentences)
    for w in windows:  # a window is a verbatim slice of its paragraph
        assert w.text in w.paragraph_text
