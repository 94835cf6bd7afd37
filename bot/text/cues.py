"""What marks an attribution: cue verbs, source nouns and first names learned from PolNeAR train; quotation marks.

The lexicons are fitted by `scripts/learn_cues.py` into `bot/data/`; the thresholds below were
chosen on train (`docs/quality.md`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
#: How many sentences back a pronoun or description looks for its antecedent.
LOOKBACK_SENTENCES = 40
#: Per paragraph, sentences past this many are the publisher's (a hostile file's one-paragraph
#: flood of reported speech must not hold the build); see also `ARTICLE_SECONDS`.
MAX_SENTENCES_PER_PARAGRAPH = 400
#: A quotation longer than this many sentences is taken for a stray quotation mark (or a
#: transcript), not one speaker's words.
MAX_QUOTE_SENTENCES = 6
#: Time budget per article: past it, the rest of the article is the publisher's words.
ARTICLE_SECONDS = 30.0
#: Sentences parsed per call, between checks of the article's time budget.
PARSE_CHUNK = 256
#: A cue verb learned with a lower precision than this is not used (fitted on train).
MIN_CUE_PRECISION = 0.1
#: Below this precision a cue verb needs a clause or quotation to be an attribution (fitted on train).
STRONG_CUE_PRECISION = 0.125
#: Below this precision a cue verb needs a subject that is a plausible source (fitted on train).
SOURCE_CHECK_PRECISION = 0.3
#: A cue in a relative clause with a subject of its own ("the things X has said") needs this precision.
RELATIVE_CUE_PRECISION = 0.3
#: A noun heading at least this many sources on train is a plausible source.
SOURCE_NOUN_MIN_COUNT = 3


# --- the learned lexicons -------------------------------------------------------------------------


@cache
def cue_verbs() -> dict[str, float]:
    """Cue verb lemma → its precision as a cue on PolNeAR train."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    return {lemma: v["precision"] for lemma, v in data["verbs"].items() if v["precision"] >= MIN_CUE_PRECISION}


@cache
def cue_forms() -> frozenset[str]:
    """Every surface form of a cue verb seen in train, lower-cased: a cheap test before parsing."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    verbs = cue_verbs()
    return frozenset(f for lemma, v in data["verbs"].items() if lemma in verbs for f in v["forms"])


@cache
def source_nouns() -> frozenset[str]:
    """Common nouns that head annotated sources on train ("official", "poll", "spokesman")."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    return frozenset(n for n, count in data.get("source_nouns", {}).items() if count >= SOURCE_NOUN_MIN_COUNT)


def plausible_source(head: Any) -> bool:
    """Whether a weak cue's subject can be a source ("Delegates questioned", not "Photos showed").

    A name, an entity, a pronoun, or a noun that heads sources on train.
    """
    if head.pos_ in ("PROPN", "PRON") or head.ent_type_ in ("PERSON", "ORG", "NORP", "GPE"):
        return True
    return head.lemma_.lower() in source_nouns()


@cache
def first_names() -> dict[str, str]:
    """First name → "m" or "f", learned from train (`scripts/learn_cues.py`)."""
    names: dict[str, str] = json.loads((DATA / "first_names.json").read_text(encoding="utf-8"))["names"]
    return names


# --- quotation marks ------------------------------------------------------------------------------

_OPENERS = "([{—–-/"


def quote_mask(text: str, open_at_start: bool) -> tuple[list[bool], bool, bool]:
    """Which characters of `text` are quoted, whether a quotation is open at its end, any marks at all.

    Curly marks say which way they face. A straight mark `"` or the two-apostrophe mark `''`
    (the New York Times' closing quote) opens after a space, an opening bracket or dash, or at
    the start, and closes elsewhere; "``" always opens.
    """
    inside = open_at_start
    mask = [False] * len(text)
    any_mark = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        width = 1
        kind = None
        if ch == "“" or text.startswith("``", i):
            kind = "open"
            width = 2 if ch == "`" else 1
        elif ch == "”":
            kind = "close"
        elif ch == '"' or text.startswith("''", i):
            width = 2 if ch == "'" else 1
            before = text[i - 1] if i else " "
            after = text[i + width] if i + width < n else " "
            opens = (before.isspace() or before in _OPENERS or i == 0) and not after.isspace()
            kind = "open" if opens else "close"
        if kind is not None:
            any_mark = True
            for k in range(i, i + width):
                mask[k] = True
            inside = kind == "open"
            i += width
            continue
        mask[i] = inside
        i += 1
    return mask, inside, any_mark
