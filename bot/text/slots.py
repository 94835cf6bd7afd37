"""Answer slots of a sentence, read from a dependency parse when the index is built.

A near miss looks like an answer: every word of "How many buses will be diverted?" is next to
"14,000 vehicles ... buses will be diverted", and "When will repairs begin?" next to "the council
said on Monday". What tells them apart is which word a number counts and which verb a date
modifies. spaCy's parse gives both; it runs once per sentence at build time (the question side
never loads spaCy: `bot/retrieval/decision.py` reads these facts from the index).

Per sentence, a small JSON object:
- `n`: numbers: `[label, counted noun, head word]` ("9 civilians died": `["CARDINAL", "civilian",
  "die"]`; "$5 million" as the object of "cost": `["MONEY", "", "cost"]`);
- `d`: dates and times: `[verb they modify, 1 if that verb is one of reporting]` ("said on Monday":
  `["say", 1]`; "repairs will begin in March": `["begin", 0]`);
- `e`: the kinds of named entity in the sentence (PERSON, ORG, GPE, ...).
"""

from __future__ import annotations

import json
from typing import Any

#: Bumped when what a sentence's slots hold changes: the index records it (schema version).
SLOTS_VERSION = 1

#: Verbs that report speech or thought: a date on one of them dates the report, not the event.
REPORTING_VERBS = frozenset(
    [
        "say",
        "tell",
        "add",
        "announce",
        "report",
        "claim",
        "state",
        "confirm",
        "note",
        "write",
        "tweet",
        "explain",
        "declare",
        "insist",
        "argue",
        "warn",
        "testify",
        "reply",
        "respond",
        "answer",
        "ask",
        "acknowledge",
        "admit",
        "deny",
        "suggest",
        "post",
        "comment",
        "remark",
        "according",
        "describe",
        "indicate",
        "estimate",
        "believe",
        "think",
    ]
)
_NUMBER_LABELS = frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"})
_DATE_LABELS = frozenset({"DATE", "TIME"})


def _verb(token: Any) -> Any:
    """The verb a token hangs from (itself if it is one), or the root of its sentence."""
    t = token
    while t.pos_ not in ("VERB", "AUX") and t.head.i != t.i:
        t = t.head
    return t


def slots_of(doc: Any) -> dict[str, Any]:
    """The answer slots of one parsed sentence (a spaCy Doc or Span)."""
    numbers: list[list[str]] = []
    dates: list[list[Any]] = []
    seen_ent_tokens: set[int] = set()
    for ent in doc.ents:
        root = ent.root
        seen_ent_tokens.update(t.i for t in ent)
        if ent.label_ in _NUMBER_LABELS:
            noun = ""
            head = root.head
            if root.dep_ in ("nummod", "quantmod", "compound", "amod", "npadvmod") and head.pos_ in ("NOUN", "PROPN"):
                noun = head.lemma_.lower()
            elif root.pos_ in ("NOUN",) and root.lemma_.lower() not in ("million", "billion", "thousand", "percent"):
                noun = root.lemma_.lower()
            else:  # "40 of the soldiers", "$800,000 in cash"
                for child in root.children:
                    if child.dep_ == "prep":
                        obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                        if obj is not None and obj.pos_ in ("NOUN", "PROPN"):
                            noun = obj.lemma_.lower()
                            break
            holder = head if noun else root.head
            numbers.append([ent.label_, noun, _verb(holder).lemma_.lower()])
        elif ent.label_ in _DATE_LABELS:
            verb = _verb(root.head)
            lemma = verb.lemma_.lower()
            dates.append([lemma, int(lemma in REPORTING_VERBS)])
    for token in doc:  # bare numerals the entity tagger left out ("14,000 vehicles")
        if token.like_num and token.i not in seen_ent_tokens and token.dep_ in ("nummod", "quantmod"):
            numbers.append(["CARDINAL", token.head.lemma_.lower(), _verb(token.head).lemma_.lower()])
    return {"n": numbers, "d": dates, "e": sorted({e.label_ for e in doc.ents})}


def sentence_slots(texts: list[str]) -> list[str]:
    """The slots of many sentences, as the JSON the index stores (one parse pass, batched)."""
    if not texts:
        return []
    from bot.text.parse import parse

    # The attribution parsed these sentences moments ago while splitting: `parse` has them cached.
    return [json.dumps(slots_of(doc), separators=(",", ":")) for doc in parse(texts)]


def read_slots(value: str | None) -> dict[str, Any]:
    """A stored slots column back as a dict (empty slots for a sentence without any)."""
    if not value:
        return {"n": [], "d": [], "e": []}
    slots: dict[str, Any] = json.loads(value)
    return slots
